// SPDX-License-Identifier: GPL-2.0
/*
 * hs-loader: attaches heliostat's XDP programs, manages the node's
 * data-plane state in the pinned maps with one-shot commands, and runs as
 * the node agent (agent.c). See docs/hs-loader.8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "loader/agent.h"
#include "loader/attach.h"
#include "loader/cli.h"
#include "loader/state.h"

static const char *pin = HS_PIN_DIR;
static bool json;

static const char usage_text[] =
	"usage: hs-loader [--pin DIR] [--json] [--log-level LEVEL] COMMAND [ARGS]\n"
	"\n"
	"Programs:\n"
	"  attach uplink|vmside DEV [--hook xdp|tc] [--mode auto|native|skb] [--force]\n"
	"  detach DEV\n"
	"  status [DEV...]\n"
	"Node state (written to the maps pinned under --pin; no agent needed):\n"
	"  config show\n"
	"  config set [--underlay4 ADDR] [--underlay6 ADDR] [--vni N] [--port N]\n"
	"             [--mtu N] [--uplink DEV] [--frag-forward on|off] [--enable on|off]\n"
	"  binding add PUB VM [--proto tcp|udp --port N [--vm-port N]] [--id N]\n"
	"  binding del PUB [--proto tcp|udp --port N]\n"
	"  binding list\n"
	"  vm local ADDR --dev DEV --mac MAC [--gw-mac MAC] [--entry ADDR] [--epoch N] [--id N]\n"
	"  vm remote|forward ADDR --host ADDR [--mac MAC] [--entry ADDR] [--epoch N] [--id N]\n"
	"  vm del ADDR\n"
	"  vm list\n"
	"  peer add ADDR [--id N]\n"
	"  peer del ADDR\n"
	"  peer list\n"
	"  flows list | flows flush\n"
	"  nexthops flush\n"
	"  counters [--reset] [--all]\n"
	"Agent:\n"
	"  agent --config FILE [--check-config]\n"
	"\n"
	"--pin defaults to " HS_PIN_DIR ". --json prints machine-readable output.\n";

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int parse_ip_arg(const char *what, const char *s, struct hs_ip *ip)
{
	int fam;

	if (!s || hs_parse_ip(s, ip->b, &fam)) {
		hs_err("%s: '%s' is not an IPv4 or IPv6 address", what, s ? s : "");
		return -EINVAL;
	}
	return 0;
}

static int parse_u32_arg(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint32_t v;

	if (hs_parse_u32(s, &v) || v < min || v > max) {
		hs_err("%s: '%s' is not a number in %u..%u", what, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_mac_arg(const char *what, const char *s, uint8_t mac[6])
{
	if (hs_parse_mac(s, mac)) {
		hs_err("%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", what, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_dev_arg(const char *s, int *ifindex)
{
	*ifindex = if_nametoindex(s);
	if (!*ifindex) {
		hs_err("no interface named '%s'", s);
		return -ENODEV;
	}
	return 0;
}

static int parse_proto(const char *s, uint8_t *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else {
		hs_err("protocol '%s': expected tcp or udp", s);
		return -EINVAL;
	}
	return 0;
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "any";
}

static const char *fmt_ip(const struct hs_ip *ip, char *buf)
{
	return hs_format_ip(ip->b, buf, 64);
}

static const char *fmt_mac(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static int open_maps(struct hs_maps *m, bool create)
{
	return hs_maps_open(pin, create, m);
}

/* ---- programs ---- */

static int cmd_attach(int argc, char **argv)
{
	static const char usage[] =
		"attach uplink|vmside DEV [--hook xdp|tc] [--mode auto|native|skb] [--force]";
	struct cli_opt opts[] = {{"mode", true}, {"hook", true}, {"force", false}, {NULL}};
	enum hs_xdp_mode mode = HS_MODE_AUTO;
	enum hs_hook hook = HS_HOOK_DEFAULT;
	struct hs_attach_info info;
	struct hs_progs *p;
	struct cli_opt *o;
	enum hs_role role;
	struct cli c;
	int ifindex, rc;

	if (cli_parse(&c, opts, argc, argv, 2, 2, usage))
		return -EINVAL;
	if (!strcmp(c.pos[0], "uplink"))
		role = HS_ROLE_UPLINK;
	else if (!strcmp(c.pos[0], "vmside"))
		role = HS_ROLE_VMSIDE;
	else {
		hs_err("role '%s': expected uplink or vmside", c.pos[0]);
		return -EINVAL;
	}
	o = cli_get(&c, "mode");
	if (o) {
		if (!strcmp(o->val, "native"))
			mode = HS_MODE_NATIVE;
		else if (!strcmp(o->val, "skb"))
			mode = HS_MODE_SKB;
		else if (strcmp(o->val, "auto")) {
			hs_err("mode '%s': expected auto, native or skb", o->val);
			return -EINVAL;
		}
	}
	if ((o = cli_get(&c, "hook"))) {
		if (hs_hook_parse(o->val, &hook)) {
			hs_err("hook '%s': expected xdp or tc", o->val);
			return -EINVAL;
		}
		if (hook == HS_HOOK_TC && cli_get(&c, "mode")) {
			hs_err("--mode is the XDP attach mode; the tc hook has none");
			return -EINVAL;
		}
	}
	rc = parse_dev_arg(c.pos[1], &ifindex);
	if (rc)
		return rc;
	rc = hs_progs_load(pin, &p);
	if (rc)
		return rc;
	rc = hs_attach_hook(p, role, ifindex, hook, mode, cli_get(&c, "force"));
	hs_progs_free(p);
	if (rc == -ENODEV)
		hs_err("attach: %s went away", c.pos[1]);
	if (rc)
		return rc;
	hs_attach_query(pin, ifindex, &info);
	if (hook == HS_HOOK_TC)
		hs_info("attached %s to %s (tc ingress, cls_bpf direct action)", hs_role_name(role),
			c.pos[1]);
	else
		hs_info("attached %s to %s (%s, %s)", hs_role_name(role), c.pos[1],
			info.dispatcher ? "libxdp dispatcher" : "single program",
			info.native ? "native" : "generic");
	return 0;
}

static int cmd_detach(int argc, char **argv)
{
	struct cli_opt opts[] = {{NULL}};
	struct cli c;
	int ifindex, rc;

	if (cli_parse(&c, opts, argc, argv, 1, 1, "detach DEV"))
		return -EINVAL;
	rc = parse_dev_arg(c.pos[0], &ifindex);
	if (rc)
		return rc;
	rc = hs_detach(pin, ifindex);
	if (rc == -ENOENT)
		hs_err("%s has no heliostat program of this node (pin %s)", c.pos[0], pin);
	else if (rc)
		hs_err("cannot detach from %s: %s", c.pos[0], hs_strerr(rc));
	return rc;
}

static const char *role_str(int role)
{
	return role >= 0 ? hs_role_name(role) : role == -2 ? "other-node" : "foreign";
}

/* One interface: the XDP program when there is one (it sees every packet
 * first), else the TC filter at heliostat's place; "hook" says which, and
 * "tc_program_id" a TC filter of ours behind an XDP program. */
static struct json_object *status_json(const char *dev, const struct hs_attach_info *i)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "interface", json_object_new_string(dev));
	json_object_object_add(o, "attached", json_object_new_boolean(i->attached));
	if (!i->attached)
		return o;
	if (!i->xdp) {
		json_object_object_add(o, "heliostat", json_object_new_boolean(i->tc_ours));
		json_object_object_add(o, "role", json_object_new_string(role_str(i->tc_role)));
		json_object_object_add(o, "program", json_object_new_string(i->tc_prog_name));
		json_object_object_add(o, "program_id", json_object_new_int64(i->tc_prog_id));
		json_object_object_add(o, "hook", json_object_new_string("tc"));
		json_object_object_add(o, "attach", json_object_new_string("tc-ingress"));
		json_object_object_add(o, "mode", json_object_new_string("skb"));
		return o;
	}
	json_object_object_add(o, "heliostat", json_object_new_boolean(i->ours));
	json_object_object_add(o, "role", json_object_new_string(role_str(i->role)));
	json_object_object_add(o, "program", json_object_new_string(i->prog_name));
	json_object_object_add(o, "program_id", json_object_new_int64(i->prog_id));
	json_object_object_add(o, "hook", json_object_new_string("xdp"));
	json_object_object_add(o, "attach",
			       json_object_new_string(i->dispatcher ? "dispatcher" : "single"));
	json_object_object_add(o, "mode", json_object_new_string(i->native ? "native" : "skb"));
	if (i->tc)
		json_object_object_add(o, "tc_program_id", json_object_new_int64(i->tc_prog_id));
	return o;
}

static int cmd_status(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	struct if_nameindex *ifs = if_nameindex(), *it;
	struct hs_node_config cfg = {0};
	struct hs_maps m;
	bool have_maps;

	have_maps = !hs_maps_open(pin, false, &m);
	if (have_maps) {
		hs_config_get(&m, &cfg);
		hs_maps_close(&m);
	}
	for (it = ifs; it && it->if_index; it++) {
		struct hs_attach_info info;
		bool wanted = argc == 0;

		for (int i = 0; i < argc; i++)
			wanted |= !strcmp(argv[i], it->if_name);
		if (!wanted || hs_attach_query(pin, it->if_index, &info))
			continue;
		if (!info.attached && argc == 0)
			continue;
		json_object_array_add(arr, status_json(it->if_name, &info));
	}
	if_freenameindex(ifs);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "pin", json_object_new_string(pin));
		json_object_object_add(o, "maps", json_object_new_boolean(have_maps));
		json_object_object_add(o, "enabled",
				       json_object_new_boolean(cfg.flags & HS_CFG_F_ENABLED));
		json_object_object_add(o, "interfaces", arr);
		print_json(o);
		return 0;
	}
	printf("pin %s: %s\n", pin,
	       !have_maps ? "no maps"
	       : cfg.flags & HS_CFG_F_ENABLED
		       ? "maps present, node configured"
		       : "maps present, node not configured (all traffic passes)");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		const char *dev = json_object_get_string(json_object_object_get(o, "interface"));

		if (!json_object_get_boolean(json_object_object_get(o, "attached"))) {
			printf("%-16s no XDP program\n", dev);
			continue;
		}
		v = json_object_object_get(o, "role");
		if (!strcmp(json_object_get_string(json_object_object_get(o, "hook")), "tc")) {
			printf("%-16s %-8s %s id %d, tc hook (clsact ingress)\n", dev,
			       json_object_get_string(v),
			       json_object_get_string(json_object_object_get(o, "program")),
			       json_object_get_int(json_object_object_get(o, "program_id")));
			continue;
		}
		printf("%-16s %-8s %s id %d, %s attach, %s mode", dev, json_object_get_string(v),
		       json_object_get_string(json_object_object_get(o, "program")),
		       json_object_get_int(json_object_object_get(o, "program_id")),
		       json_object_get_string(json_object_object_get(o, "attach")),
		       json_object_get_string(json_object_object_get(o, "mode")));
		if ((v = json_object_object_get(o, "tc_program_id")))
			printf(", and a tc hook (id %d)", json_object_get_int(v));
		printf("\n");
	}
	json_object_put(arr);
	return 0;
}

/* ---- config ---- */

static int parse_onoff(const char *what, const char *s, bool *out)
{
	if (hs_parse_bool(s, out)) {
		hs_err("%s: '%s' is not on/off", what, s);
		return -EINVAL;
	}
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	static const char usage[] =
		"config show | config set [--underlay4 ADDR] [--underlay6 ADDR] [--vni N] "
		"[--port N] [--mtu N] [--uplink DEV] [--frag-forward on|off] [--enable on|off]";
	struct cli_opt opts[] = {{"underlay4", true},	 {"underlay6", true}, {"vni", true},
				 {"port", true},	 {"mtu", true},	      {"uplink", true},
				 {"frag-forward", true}, {"enable", true},    {NULL}};
	struct hs_node_config c;
	bool have_maps = false;
	char path[300];
	struct hs_maps m;
	struct cli cl;
	struct cli_opt *o;
	uint32_t v;
	bool b;
	int rc;

	if (cli_parse(&cl, opts, argc, argv, 1, 1, usage))
		return -EINVAL;
	if (!strcmp(cl.pos[0], "show")) {
		char a[64], b6[64], dev[IF_NAMESIZE] = "";

		if (open_maps(&m, false))
			return -ENOENT;
		rc = hs_config_get(&m, &c);
		hs_maps_close(&m);
		if (rc)
			return rc;
		if (c.uplink_ifindex && !if_indextoname(c.uplink_ifindex, dev))
			snprintf(dev, sizeof(dev), "#%u", c.uplink_ifindex);
		if (json) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(
				j, "underlay4",
				json_object_new_string(hs_ip_is_zero(&c.underlay4)
							       ? ""
							       : fmt_ip(&c.underlay4, a)));
			json_object_object_add(
				j, "underlay6",
				json_object_new_string(hs_ip_is_zero(&c.underlay6)
							       ? ""
							       : fmt_ip(&c.underlay6, b6)));
			json_object_object_add(j, "vni", json_object_new_int64(c.vni));
			json_object_object_add(j, "port", json_object_new_int(ntohs(c.vxlan_port)));
			json_object_object_add(j, "mtu", json_object_new_int(c.underlay_mtu));
			json_object_object_add(j, "uplink", json_object_new_string(dev));
			json_object_object_add(j, "enabled",
					       json_object_new_boolean(c.flags & HS_CFG_F_ENABLED));
			json_object_object_add(
				j, "frag_forward",
				json_object_new_boolean(c.flags & HS_CFG_F_FRAG_FORWARD));
			print_json(j);
			return 0;
		}
		printf("underlay4 %s\nunderlay6 %s\nvni %u\nport %u\nmtu %u\nuplink %s\n"
		       "enabled %s\nfrag-forward %s\n",
		       hs_ip_is_zero(&c.underlay4) ? "-" : fmt_ip(&c.underlay4, a),
		       hs_ip_is_zero(&c.underlay6) ? "-" : fmt_ip(&c.underlay6, b6), c.vni,
		       ntohs(c.vxlan_port), c.underlay_mtu, dev[0] ? dev : "-",
		       c.flags & HS_CFG_F_ENABLED ? "on" : "off",
		       c.flags & HS_CFG_F_FRAG_FORWARD ? "on" : "off");
		return 0;
	}
	if (strcmp(cl.pos[0], "set")) {
		hs_err("config: '%s': expected show or set", cl.pos[0]);
		return -EINVAL;
	}
	/* read the current config, apply every option to a copy, validate,
	 * and write once: a bad option leaves the map as it was */
	/* a node with no maps yet starts from zero; they are created only
	 * once every option is valid */
	snprintf(path, sizeof(path), "%s/node_config", pin);
	memset(&c, 0, sizeof(c));
	if (!access(path, F_OK)) {
		if (open_maps(&m, false))
			return -ENOENT;
		have_maps = true;
		rc = hs_config_get(&m, &c);
		if (rc)
			goto out;
	}
	if (!c.vxlan_port)
		c.vxlan_port = htons(HS_VXLAN_PORT);
	rc = -EINVAL;
	if ((o = cli_get(&cl, "underlay4"))) {
		if (parse_ip_arg("--underlay4", o->val, &c.underlay4))
			goto out;
		if (!hs_ip_is_v4(c.underlay4.b)) {
			hs_err("--underlay4: %s is not an IPv4 address", o->val);
			goto out;
		}
	}
	if ((o = cli_get(&cl, "underlay6"))) {
		if (parse_ip_arg("--underlay6", o->val, &c.underlay6))
			goto out;
		if (hs_ip_is_v4(c.underlay6.b)) {
			hs_err("--underlay6: %s is not an IPv6 address", o->val);
			goto out;
		}
	}
	if ((o = cli_get(&cl, "vni"))) {
		if (parse_u32_arg("--vni", o->val, 0, 0xffffff, &v))
			goto out;
		c.vni = v;
	}
	if ((o = cli_get(&cl, "port"))) {
		if (parse_u32_arg("--port", o->val, 1, 65535, &v))
			goto out;
		c.vxlan_port = htons(v);
	}
	if ((o = cli_get(&cl, "mtu"))) {
		if (parse_u32_arg("--mtu", o->val, 0, 65535, &v))
			goto out;
		if (v && v < 1280) {
			hs_err("--mtu: %u is below 1280 (0 turns the check off)", v);
			goto out;
		}
		c.underlay_mtu = v;
	}
	if ((o = cli_get(&cl, "uplink"))) {
		int ifindex;

		if (parse_dev_arg(o->val, &ifindex))
			goto out;
		c.uplink_ifindex = ifindex;
	}
	if ((o = cli_get(&cl, "frag-forward"))) {
		if (parse_onoff("--frag-forward", o->val, &b))
			goto out;
		c.flags = b ? c.flags | HS_CFG_F_FRAG_FORWARD : c.flags & ~HS_CFG_F_FRAG_FORWARD;
	}
	b = !hs_ip_is_zero(&c.underlay4) || !hs_ip_is_zero(&c.underlay6);
	if ((o = cli_get(&cl, "enable")) && parse_onoff("--enable", o->val, &b))
		goto out;
	if (b && hs_ip_is_zero(&c.underlay4) && hs_ip_is_zero(&c.underlay6)) {
		hs_err("config: cannot enable a node with no underlay address");
		goto out;
	}
	c.flags = b ? c.flags | HS_CFG_F_ENABLED : c.flags & ~HS_CFG_F_ENABLED;
	if (!have_maps) {
		rc = open_maps(&m, true);
		if (rc)
			return -ENOENT;
		have_maps = true;
	}
	rc = hs_config_put(&m, &c);
	if (rc)
		hs_err("config: cannot write node_config: %s", hs_strerr(rc));
out:
	if (have_maps)
		hs_maps_close(&m);
	return rc;
}

/* ---- bindings ---- */

static int binding_row(const void *key, const void *value, void *arg)
{
	const struct hs_binding_key *k = key;
	const struct hs_binding *v = value;
	char a[64], b[64];

	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "public", json_object_new_string(fmt_ip(&k->pub, a)));
		json_object_object_add(o, "proto", json_object_new_string(proto_name(k->proto)));
		json_object_object_add(o, "port", json_object_new_int(ntohs(k->port)));
		json_object_object_add(
			o, "vm",
			json_object_new_string(hs_ip_is_zero(&v->vm) ? "" : fmt_ip(&v->vm, b)));
		json_object_object_add(o, "vm_port", json_object_new_int(ntohs(v->vm_port)));
		json_object_object_add(o, "vm_id", json_object_new_int64(v->vm_id));
		json_object_object_add(o, "marker", json_object_new_boolean(hs_ip_is_zero(&v->vm)));
		json_object_object_add(o, "has_ports",
				       json_object_new_boolean(v->flags & HS_BIND_F_PORTS));
		json_object_array_add(arg, o);
		return 0;
	}
	if (hs_ip_is_zero(&v->vm))
		printf("%s (port bindings only)\n", fmt_ip(&k->pub, a));
	else if (k->port)
		printf("%s %s/%u -> %s port %u (vm %u)\n", fmt_ip(&k->pub, a), proto_name(k->proto),
		       ntohs(k->port), fmt_ip(&v->vm, b),
		       v->vm_port ? ntohs(v->vm_port) : ntohs(k->port), v->vm_id);
	else
		printf("%s -> %s (vm %u)%s\n", fmt_ip(&k->pub, a), fmt_ip(&v->vm, b), v->vm_id,
		       v->flags & HS_BIND_F_PORTS ? ", has port bindings" : "");
	return 0;
}

static int list_map(int fd, uint32_t ks, uint32_t vs, int (*fn)(const void *, const void *, void *))
{
	struct json_object *arr = json ? json_object_new_array() : NULL;
	int rc = hs_map_each(fd, ks, vs, fn, arr);

	if (arr) {
		if (rc)
			json_object_put(arr);
		else
			print_json(arr);
	}
	return rc;
}

static int cmd_binding(int argc, char **argv)
{
	static const char usage[] = "binding add PUB VM [--proto tcp|udp --port N [--vm-port N]] "
				    "[--id N] | binding del PUB [--proto tcp|udp --port N] | "
				    "binding list";
	struct cli_opt opts[] = {
		{"proto", true}, {"port", true}, {"vm-port", true}, {"id", true}, {NULL}};
	struct hs_binding_spec b = {0};
	struct cli_opt *o;
	struct hs_maps m;
	struct cli c;
	uint32_t v;
	int rc;

	if (cli_parse(&c, opts, argc, argv, 1, 3, usage))
		return -EINVAL;
	if (!strcmp(c.pos[0], "list")) {
		if (c.npos != 1) {
			hs_err("binding list: unexpected argument '%s'", c.pos[1]);
			return -EINVAL;
		}
		if (open_maps(&m, false))
			return -ENOENT;
		rc = list_map(m.bindings, sizeof(struct hs_binding_key), sizeof(struct hs_binding),
			      binding_row);
		hs_maps_close(&m);
		return rc;
	}
	if (strcmp(c.pos[0], "add") && strcmp(c.pos[0], "del")) {
		hs_err("binding: '%s': expected add, del or list", c.pos[0]);
		return -EINVAL;
	}
	if (c.npos != (strcmp(c.pos[0], "add") ? 2 : 3)) {
		hs_err("binding: wrong number of arguments; usage: %s", usage);
		return -EINVAL;
	}
	if (parse_ip_arg("public address", c.pos[1], &b.pub))
		return -EINVAL;
	if ((o = cli_get(&c, "proto")) && parse_proto(o->val, &b.proto))
		return -EINVAL;
	if ((o = cli_get(&c, "port"))) {
		if (parse_u32_arg("--port", o->val, 1, 65535, &v))
			return -EINVAL;
		b.port = v;
	}
	if (!!b.port != !!b.proto) {
		hs_err("binding: --port and --proto go together");
		return -EINVAL;
	}
	if ((o = cli_get(&c, "vm-port"))) {
		if (parse_u32_arg("--vm-port", o->val, 1, 65535, &v))
			return -EINVAL;
		b.vm_port = v;
	}
	if ((o = cli_get(&c, "id")) && parse_u32_arg("--id", o->val, 0, UINT32_MAX, &b.vm_id))
		return -EINVAL;
	if (!strcmp(c.pos[0], "del")) {
		if (cli_get(&c, "vm-port") || cli_get(&c, "id")) {
			hs_err("binding del takes only --proto and --port");
			return -EINVAL;
		}
		if (open_maps(&m, false))
			return -ENOENT;
		rc = hs_binding_del(&m, &b.pub, b.port, b.proto);
		if (rc == -ENOENT)
			hs_err("binding del: no such binding %s %s/%u", c.pos[1],
			       proto_name(b.proto), b.port);
		hs_maps_close(&m);
		return rc;
	}
	if (parse_ip_arg("VM address", c.pos[2], &b.vm) || hs_binding_check(&b))
		return -EINVAL;
	if (open_maps(&m, true))
		return -ENOENT;
	rc = hs_binding_add(&m, &b);
	hs_maps_close(&m);
	return rc;
}

/* ---- VMs ---- */

static const char *kind_name(uint32_t k)
{
	return k == HS_VM_LOCAL	     ? "local"
	       : k == HS_VM_REMOTE   ? "remote"
	       : k == HS_VM_FORWARD  ? "forward"
	       : k == HS_VM_INCOMING ? "incoming"
				     : "?";
}

static int vm_row(const void *key, const void *value, void *arg)
{
	const struct hs_ip *k = key;
	const struct hs_vm *v = value;
	char a[64], h[64], e[64], mac[18], gw[18], dev[IF_NAMESIZE] = "";

	if (v->kind == HS_VM_LOCAL && !if_indextoname(v->ifindex, dev))
		snprintf(dev, sizeof(dev), "#%u", v->ifindex);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(fmt_ip(k, a)));
		json_object_object_add(o, "kind", json_object_new_string(kind_name(v->kind)));
		if (v->kind == HS_VM_LOCAL) {
			json_object_object_add(o, "dev", json_object_new_string(dev));
			json_object_object_add(o, "ifindex", json_object_new_int64(v->ifindex));
			json_object_object_add(o, "gw_mac",
					       json_object_new_string(fmt_mac(v->gw_mac, gw)));
		} else {
			json_object_object_add(o, "host",
					       json_object_new_string(fmt_ip(&v->host, h)));
		}
		json_object_object_add(o, "mac", json_object_new_string(fmt_mac(v->mac, mac)));
		json_object_object_add(o, "entry",
				       json_object_new_string(hs_ip_is_zero(&v->entry)
								      ? ""
								      : fmt_ip(&v->entry, e)));
		json_object_object_add(o, "epoch", json_object_new_int64(v->epoch));
		json_object_object_add(o, "vm_id", json_object_new_int64(v->vm_id));
		json_object_array_add(arg, o);
		return 0;
	}
	printf("%s %s %s mac %s entry %s epoch %u vm %u\n", fmt_ip(k, a), kind_name(v->kind),
	       v->kind == HS_VM_LOCAL ? dev : fmt_ip(&v->host, h), fmt_mac(v->mac, mac),
	       hs_ip_is_zero(&v->entry) ? "-" : fmt_ip(&v->entry, e), v->epoch, v->vm_id);
	return 0;
}

static int cmd_vm(int argc, char **argv)
{
	static const char usage[] =
		"vm local ADDR --dev DEV --mac MAC [--gw-mac MAC] [--entry ADDR] [--epoch N] "
		"[--id N] | vm remote|forward ADDR --host ADDR [--mac MAC] [--entry ADDR] "
		"[--epoch N] [--id N] | vm del ADDR | vm list";
	struct cli_opt opts[] = {{"dev", true},	  {"mac", true}, {"gw-mac", true}, {"entry", true},
				 {"epoch", true}, {"id", true},	 {"host", true},   {NULL}};
	struct hs_vm v = {.epoch = 1};
	struct hs_ip addr;
	struct cli_opt *o;
	struct hs_maps m;
	struct cli c;
	const char *verb;
	int rc, ifindex;

	if (cli_parse(&c, opts, argc, argv, 1, 2, usage))
		return -EINVAL;
	verb = c.pos[0];
	if (!strcmp(verb, "list")) {
		if (c.npos != 1) {
			hs_err("vm list: unexpected argument '%s'", c.pos[1]);
			return -EINVAL;
		}
		if (open_maps(&m, false))
			return -ENOENT;
		rc = list_map(m.vms, sizeof(struct hs_ip), sizeof(struct hs_vm), vm_row);
		hs_maps_close(&m);
		return rc;
	}
	if (c.npos != 2) {
		hs_err("vm %s: needs the VM's address; usage: %s", verb, usage);
		return -EINVAL;
	}
	if (parse_ip_arg("VM address", c.pos[1], &addr))
		return -EINVAL;
	if (!strcmp(verb, "del")) {
		if (open_maps(&m, false))
			return -ENOENT;
		rc = hs_vm_del(&m, &addr);
		if (rc == -ENOENT)
			hs_err("vm del: no VM %s", c.pos[1]);
		hs_maps_close(&m);
		return rc;
	}
	if (!strcmp(verb, "local")) {
		v.kind = HS_VM_LOCAL;
		if (!cli_get(&c, "dev") || !cli_get(&c, "mac") || cli_get(&c, "host")) {
			hs_err("vm local: needs --dev and --mac, takes no --host");
			return -EINVAL;
		}
		rc = parse_dev_arg(cli_get(&c, "dev")->val, &ifindex);
		if (rc)
			return rc;
		v.ifindex = ifindex;
		if ((o = cli_get(&c, "gw-mac"))) {
			if (parse_mac_arg("--gw-mac", o->val, v.gw_mac))
				return -EINVAL;
		} else if (hs_if_mac(cli_get(&c, "dev")->val, v.gw_mac)) {
			hs_err("vm local: cannot read the MAC of %s; give --gw-mac",
			       cli_get(&c, "dev")->val);
			return -EINVAL;
		}
	} else if (!strcmp(verb, "remote") || !strcmp(verb, "forward")) {
		v.kind = verb[0] == 'r' ? HS_VM_REMOTE : HS_VM_FORWARD;
		if (!cli_get(&c, "host") || cli_get(&c, "dev") || cli_get(&c, "gw-mac")) {
			hs_err("vm %s: needs --host, takes no --dev or --gw-mac", verb);
			return -EINVAL;
		}
		if (parse_ip_arg("--host", cli_get(&c, "host")->val, &v.host))
			return -EINVAL;
	} else {
		hs_err("vm: '%s': expected local, remote, forward, del or list", verb);
		return -EINVAL;
	}
	if ((o = cli_get(&c, "mac")) && parse_mac_arg("--mac", o->val, v.mac))
		return -EINVAL;
	if ((o = cli_get(&c, "entry")) && parse_ip_arg("--entry", o->val, &v.entry))
		return -EINVAL;
	if ((o = cli_get(&c, "epoch")) && parse_u32_arg("--epoch", o->val, 0, UINT32_MAX, &v.epoch))
		return -EINVAL;
	if ((o = cli_get(&c, "id")) && parse_u32_arg("--id", o->val, 0, UINT32_MAX, &v.vm_id))
		return -EINVAL;
	if (open_maps(&m, true))
		return -ENOENT;
	rc = hs_vm_put(&m, &addr, &v);
	if (rc)
		hs_err("vm %s %s: cannot write: %s", verb, c.pos[1], hs_strerr(rc));
	hs_maps_close(&m);
	return rc;
}

/* ---- peers ---- */

static int peer_row(const void *key, const void *value, void *arg)
{
	const struct hs_peer *p = value;
	char a[64];

	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(fmt_ip(key, a)));
		json_object_object_add(o, "host_id", json_object_new_int64(p->host_id));
		json_object_array_add(arg, o);
		return 0;
	}
	printf("%s host %u\n", fmt_ip(key, a), p->host_id);
	return 0;
}

static int cmd_peer(int argc, char **argv)
{
	static const char usage[] = "peer add ADDR [--id N] | peer del ADDR | peer list";
	struct cli_opt opts[] = {{"id", true}, {NULL}};
	struct hs_peer p = {0};
	struct hs_ip addr;
	struct hs_maps m;
	struct cli_opt *o;
	struct cli c;
	int rc;

	if (cli_parse(&c, opts, argc, argv, 1, 2, usage))
		return -EINVAL;
	if (!strcmp(c.pos[0], "list")) {
		if (c.npos != 1) {
			hs_err("peer list: unexpected argument '%s'", c.pos[1]);
			return -EINVAL;
		}
		if (open_maps(&m, false))
			return -ENOENT;
		rc = list_map(m.peers, sizeof(struct hs_ip), sizeof(struct hs_peer), peer_row);
		hs_maps_close(&m);
		return rc;
	}
	if (c.npos != 2 || (strcmp(c.pos[0], "add") && strcmp(c.pos[0], "del"))) {
		hs_err("usage: %s", usage);
		return -EINVAL;
	}
	if (parse_ip_arg("peer address", c.pos[1], &addr))
		return -EINVAL;
	if ((o = cli_get(&c, "id")) && parse_u32_arg("--id", o->val, 0, UINT32_MAX, &p.host_id))
		return -EINVAL;
	if (open_maps(&m, c.pos[0][0] == 'a'))
		return -ENOENT;
	rc = c.pos[0][0] == 'a' ? hs_peer_put(&m, &addr, &p) : hs_peer_del(&m, &addr);
	if (rc)
		hs_err("peer %s %s: %s", c.pos[0], c.pos[1], hs_strerr(rc));
	hs_maps_close(&m);
	return rc;
}

/* ---- flows, nexthops, counters ---- */

static int flow_row(const void *key, const void *value, void *arg)
{
	const struct hs_flow_key *k = key;
	const struct hs_flow *f = value;
	char c[64], v[64], e[64];

	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "client", json_object_new_string(fmt_ip(&k->client, c)));
		json_object_object_add(o, "client_port",
				       json_object_new_int(ntohs(k->client_port)));
		json_object_object_add(o, "vm", json_object_new_string(fmt_ip(&k->vm, v)));
		json_object_object_add(o, "vm_port", json_object_new_int(ntohs(k->vm_port)));
		json_object_object_add(o, "proto", json_object_new_int(k->proto));
		json_object_object_add(o, "entry", json_object_new_string(fmt_ip(&f->entry, e)));
		json_object_array_add(arg, o);
		return 0;
	}
	printf("proto %u %s:%u -> %s:%u via %s\n", k->proto, fmt_ip(&k->client, c),
	       ntohs(k->client_port), fmt_ip(&k->vm, v), ntohs(k->vm_port), fmt_ip(&f->entry, e));
	return 0;
}

static int cmd_flows(int argc, char **argv)
{
	struct cli_opt opts[] = {{NULL}};
	struct hs_maps m;
	struct cli c;
	int rc;

	if (cli_parse(&c, opts, argc, argv, 1, 1, "flows list | flows flush"))
		return -EINVAL;
	if (strcmp(c.pos[0], "list") && strcmp(c.pos[0], "flush")) {
		hs_err("flows: '%s': expected list or flush", c.pos[0]);
		return -EINVAL;
	}
	if (open_maps(&m, false))
		return -ENOENT;
	if (c.pos[0][1] == 'i')
		rc = list_map(m.flows, sizeof(struct hs_flow_key), sizeof(struct hs_flow),
			      flow_row);
	else {
		rc = hs_map_flush(m.flows, sizeof(struct hs_flow_key));
		if (rc >= 0) {
			hs_info("flushed %d flow entries", rc);
			rc = 0;
		}
	}
	hs_maps_close(&m);
	return rc;
}

static int cmd_nexthops(int argc, char **argv)
{
	struct cli_opt opts[] = {{NULL}};
	struct hs_maps m;
	struct cli c;
	int rc;

	if (cli_parse(&c, opts, argc, argv, 1, 1, "nexthops flush"))
		return -EINVAL;
	if (strcmp(c.pos[0], "flush")) {
		hs_err("nexthops: '%s': expected flush", c.pos[0]);
		return -EINVAL;
	}
	if (open_maps(&m, false))
		return -ENOENT;
	rc = hs_map_flush(m.nexthops, sizeof(struct hs_ip));
	hs_maps_close(&m);
	return rc < 0 ? rc : 0;
}

static int cmd_counters(int argc, char **argv)
{
	struct cli_opt opts[] = {{"reset", false}, {"all", false}, {NULL}};
	uint64_t v[HS_R_MAX];
	struct hs_maps m;
	struct cli c;
	int rc;

	if (cli_parse(&c, opts, argc, argv, 0, 0, "counters [--reset] [--all]"))
		return -EINVAL;
	if (open_maps(&m, false))
		return -ENOENT;
	rc = cli_get(&c, "reset") ? hs_counters_reset(&m) : hs_counters_read(&m, v);
	hs_maps_close(&m);
	if (rc || cli_get(&c, "reset"))
		return rc;
	if (json) {
		struct json_object *o = json_object_new_object();

		for (int r = 0; r < HS_R_MAX; r++)
			json_object_object_add(o, hs_reason_name(r), json_object_new_int64(v[r]));
		print_json(o);
		return 0;
	}
	for (int r = 0; r < HS_R_MAX; r++)
		if (v[r] || cli_get(&c, "all"))
			printf("%-22s %12llu  %s\n", hs_reason_name(r), (unsigned long long)v[r],
			       hs_reason_desc(r));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{"attach", cmd_attach},	    {"detach", cmd_detach},   {"status", cmd_status},
	{"config", cmd_config},	    {"binding", cmd_binding}, {"vm", cmd_vm},
	{"peer", cmd_peer},	    {"flows", cmd_flows},     {"nexthops", cmd_nexthops},
	{"counters", cmd_counters},
};

int main(int argc, char **argv)
{
	static const struct option lopts[] = {{"pin", required_argument, NULL, 'p'},
					      {"json", no_argument, NULL, 'j'},
					      {"log-level", required_argument, NULL, 'l'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	enum hs_log_level level = HS_LOG_INFO;
	int opt, rc;

	hs_log_init("hs-loader", HS_LOG_STDERR, level);
	hs_log_route_libbpf();
	hs_log_route_libxdp();
	/* "+": options stop at the command; the command parses the rest */
	while ((opt = getopt_long(argc, argv, "+hj", lopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pin = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'l':
			if (hs_log_parse_level(optarg, &level)) {
				hs_err("--log-level: '%s': expected err, warn, info or debug",
				       optarg);
				return 2;
			}
			hs_log_set_level(level);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (strlen(pin) >= 200 || pin[0] != '/') {
		hs_err("--pin: '%s' must be an absolute path shorter than 200 bytes", pin);
		return 2;
	}
	if (!strcmp(argv[optind], "agent")) {
		rc = hs_agent_main(pin, argc - optind - 1, argv + optind + 1);
		return rc == -EINVAL ? 2 : rc ? 1 : 0;
	}
	/* --json may also follow the command */
	for (int i = optind + 1, j = optind + 1; i <= argc; i++) {
		if (i < argc && !strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		argv[j++] = argv[i];
		if (i == argc)
			argc = j - 1;
	}
	for (size_t i = 0; i < HS_ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		rc = cmds[i].fn(argc - optind - 1, argv + optind + 1);
		return rc == -EINVAL ? 2 : rc ? 1 : 0;
	}
	hs_err("unknown command '%s' (hs-loader --help lists them)", argv[optind]);
	return 2;
}
