// SPDX-License-Identifier: GPL-2.0
/*
 * migrated: one per host. Watches migrations/ in etcd, live-migrates the
 * VMs whose pending records name this host as the source (migrate.c),
 * accepts flow handovers for VMs migrating here (handover.c), and answers
 * on a unix control socket ("status", "cancel VM"). See docs/migrated.8.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/log.h"
#include "migrated/migrated.h"

static const hs_cfg_keys known_keys = {
	"node.name",
	"node.pin",
	"etcd.endpoints",
	"etcd.prefix",
	"etcd.cacert",
	"etcd.cert",
	"etcd.key",
	"libvirt.uri",
	"libvirt.peer_uri",
	"libvirt.migrate_uri",
	"migration.downtime_ms",
	"migration.bandwidth_mib",
	"migration.auto_converge",
	"migration.postcopy_after",
	"migration.forwarding_pointer",
	"migration.forward_seconds",
	"migration.record_on_resume",
	"migration.progress_ms",
	"migration.timeout",
	"migration.stall_seconds",
	"migrated.control",
	"migrated.handover_port",
	"migrated.log_level",
	NULL,
};

static int str_opt(const struct hs_cfg *cfg, const char *sec, const char *key, const char *def,
		   char *out, size_t len)
{
	const char *v;
	int rc = hs_cfg_str(cfg, sec, key, def, &v);

	if (rc && rc != -ENOENT)
		return rc;
	if (!v) {
		out[0] = 0;
		return 0;
	}
	if (strlen(v) >= len) {
		hs_err("config: %s.%s: longer than %zu characters", sec, key, len - 1);
		return -EINVAL;
	}
	snprintf(out, len, "%s", v);
	return 0;
}

static int ok_rc(int rc)
{
	return rc == -ENOENT ? 0 : rc;
}

/* A template must hold exactly one %s and no other conversion. */
static int template_ok(const char *what, const char *t, bool optional)
{
	const char *p = strstr(t, "%s");

	if (optional && !t[0])
		return 0;
	if (!p || strchr(p + 2, '%') || strchr(t, '%') != p) {
		hs_err("config: %s: '%s' must contain exactly one %%s (the destination's address)",
		       what, t);
		return -EINVAL;
	}
	return 0;
}

static int load_conf(const char *path, struct migd_conf *c)
{
	struct hs_cfg *cfg;
	const char *lvl;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = hs_cfg_load(path, &cfg);
	if (rc) {
		hs_err("config: cannot read %s: %s", path, hs_strerr(rc));
		return rc;
	}
	rc = hs_cfg_check_keys(cfg, known_keys);
	rc = rc ?: str_opt(cfg, "node", "name", NULL, c->node, sizeof(c->node));
	rc = rc ?: str_opt(cfg, "node", "pin", "/sys/fs/bpf/heliostat", c->pin, sizeof(c->pin));
	rc = rc
		     ?: str_opt(cfg, "etcd", "endpoints", NULL, c->etcd_endpoints,
				sizeof(c->etcd_endpoints));
	rc = rc
		     ?: str_opt(cfg, "etcd", "prefix", "/heliostat/", c->etcd_prefix,
				sizeof(c->etcd_prefix));
	rc = rc ?: str_opt(cfg, "etcd", "cacert", NULL, c->etcd_ca, sizeof(c->etcd_ca));
	rc = rc ?: str_opt(cfg, "etcd", "cert", NULL, c->etcd_cert, sizeof(c->etcd_cert));
	rc = rc ?: str_opt(cfg, "etcd", "key", NULL, c->etcd_key, sizeof(c->etcd_key));
	rc = rc ?: str_opt(cfg, "libvirt", "uri", "qemu:///system", c->uri, sizeof(c->uri));
	rc = rc
		     ?: str_opt(cfg, "libvirt", "peer_uri", "qemu+tcp://%s/system", c->peer_uri,
				sizeof(c->peer_uri));
	rc = rc
		     ?: str_opt(cfg, "libvirt", "migrate_uri", "tcp://%s", c->migrate_uri,
				sizeof(c->migrate_uri));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migration", "downtime_ms", 300, 0, 60000,
					 &c->downtime_ms));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migration", "bandwidth_mib", 0, 0, 1000000,
					 &c->bandwidth_mib));
	rc = rc ?: ok_rc(hs_cfg_bool(cfg, "migration", "auto_converge", true, &c->auto_converge));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migration", "postcopy_after", 0, 0, 1000,
					 &c->postcopy_after));
	rc = rc
		     ?: ok_rc(hs_cfg_bool(cfg, "migration", "forwarding_pointer", true,
					  &c->handover_pointer));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migration", "forward_seconds", 30, 1, 86400,
					 &c->forward_s));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migration", "progress_ms", 1000, 100, 60000,
					 &c->progress_ms));
	rc = rc ?: ok_rc(hs_cfg_u32(cfg, "migration", "timeout", 0, 0, 86400, &c->timeout_s));
	rc = rc ?: ok_rc(hs_cfg_u32(cfg, "migration", "stall_seconds", 30, 0, 86400, &c->stall_s));
	rc = rc
		     ?: str_opt(cfg, "migrated", "control", "/run/heliostat/migrated.sock",
				c->control, sizeof(c->control));
	rc = rc
		     ?: ok_rc(hs_cfg_u32(cfg, "migrated", "handover_port", MIGD_HANDOVER_PORT, 0,
					 65535, &c->handover_port));
	c->level = HS_LOG_INFO;
	if (!rc && hs_cfg_str(cfg, "migrated", "log_level", NULL, &lvl) == 0 &&
	    hs_log_parse_level(lvl, &c->level)) {
		hs_err("config: migrated.log_level: '%s' is not err, warn, info or debug", lvl);
		rc = -EINVAL;
	}
	hs_cfg_free(cfg);
	if (rc)
		return rc;
	if (!c->node[0] || !hs_schema_name_ok(c->node)) {
		hs_err("config: node.name: required, a host name as in etcd's hosts/");
		return -EINVAL;
	}
	if (!c->etcd_endpoints[0]) {
		hs_err("config: etcd.endpoints: required");
		return -EINVAL;
	}
	if (template_ok("libvirt.peer_uri", c->peer_uri, false) ||
	    template_ok("libvirt.migrate_uri", c->migrate_uri, true))
		return -EINVAL;
	if (strlen(c->control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		hs_err("config: migrated.control: path too long for a unix socket");
		return -EINVAL;
	}
	return 0;
}

/* ---- plumbing ---- */

void migd_notify(struct migd *d)
{
	char b = 1;

	if (write(d->notify[1], &b, 1) < 0) {
		/* full pipe: the loop is already awake */
	}
}

static void silent(void *arg, virErrorPtr err)
{
	/* libvirt errors are read with virGetLastErrorMessage and logged there */
}

static void *event_loop(void *arg)
{
	struct migd *d = arg;

	while (!atomic_load(&d->event_stop))
		if (virEventRunDefaultImpl() < 0)
			usleep(100000);
	return NULL;
}

static void wake(int timer, void *arg)
{
	/* only makes virEventRunDefaultImpl return */
}

static void on_close(virConnectPtr conn, int reason, void *arg)
{
	struct migd *d = arg;

	atomic_store(&d->conn_closed, true);
	migd_notify(d);
}

static void libvirt_close(struct migd *d)
{
	if (!d->conn)
		return;
	if (d->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(d->conn, d->lifecycle_cb);
	if (d->stop_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(d->conn, d->stop_cb);
	virConnectUnregisterCloseCallback(d->conn, on_close);
	virConnectClose(d->conn);
	d->conn = NULL;
	d->lifecycle_cb = -1;
	d->stop_cb = -1;
}

static int libvirt_open(struct migd *d)
{
	d->conn = virConnectOpen(d->c.uri);
	if (!d->conn) {
		hs_warn("libvirt: cannot connect to %s: %s (retrying)", d->c.uri,
			virGetLastErrorMessage());
		return -ECONNREFUSED;
	}
	atomic_store(&d->conn_closed, false);
	virConnectSetKeepAlive(d->conn, 5, 3);
	virConnectRegisterCloseCallback(d->conn, on_close, d, NULL);
	d->lifecycle_cb = virConnectDomainEventRegisterAny(
		d->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(migd_lifecycle), d, NULL);
	if (d->lifecycle_cb < 0)
		hs_warn("libvirt: cannot subscribe to lifecycle events: %s",
			virGetLastErrorMessage());
	/* QEMU's STOP reaches us before libvirt's SUSPENDED (which waits for
	 * libvirt's status file): the pointer is set a few ms sooner */
	d->stop_cb = virConnectDomainQemuMonitorEventRegister(d->conn, NULL, "STOP", migd_qemu_stop,
							      d, NULL, 0);
	if (d->stop_cb < 0)
		hs_warn("libvirt: cannot subscribe to QEMU's STOP events (%s): the pointer waits "
			"for the SUSPENDED event",
			virGetLastErrorMessage());
	hs_info("libvirt: connected to %s", d->c.uri);
	return 0;
}

static struct hs_etcd *etcd_client(const struct migd_conf *c)
{
	struct hs_etcd_opts o = {
		.ca_file = c->etcd_ca[0] ? c->etcd_ca : NULL,
		.cert_file = c->etcd_cert[0] ? c->etcd_cert : NULL,
		.key_file = c->etcd_key[0] ? c->etcd_key : NULL,
	};

	return hs_etcd_new_list(c->etcd_endpoints, &o);
}

static void on_watch(struct hs_etcd_watch *w, const struct hs_etcd_watch_event *ev, void *arg)
{
	struct migd *d = arg;

	d->dirty = true;
}

static void watch_start(struct migd *d)
{
	char dir[HS_SCHEMA_KEY_MAX];
	struct hs_etcd_watch_opts o = {.key = dir,
				       .prefix = true,
				       .start_revision = d->applied + 1,
				       .fn = on_watch,
				       .arg = d};
	int rc;

	hs_schema_key_dir(d->c.etcd_prefix, HS_SCHEMA_MIGRATION, dir, sizeof(dir));
	if (d->w)
		rc = hs_etcd_watch_resume(d->w, d->applied + 1);
	else
		rc = hs_etcd_watch_new(d->e, &o, &d->w);
	if (rc && rc != -EBUSY)
		hs_warn("etcd: cannot watch %s: %s", dir, hs_strerr(rc));
}

/* ---- control socket ---- */

static int ctl_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[256], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return hs_neg_errno();
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		int rc = hs_neg_errno();

		close(fd);
		return rc;
	}
	chmod(path, 0600);
	return fd;
}

static void ctl_serve(struct migd *d)
{
	char req[256] = "", out[4096];
	int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = {.tv_sec = 1};
	ssize_t n;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n > 0) {
		req[n] = 0;
		req[strcspn(req, "\r\n")] = 0;
	}
	if (!strcmp(req, "status")) {
		migd_status(d, out, sizeof(out));
	} else if (!strncmp(req, "cancel ", 7)) {
		char msg[256];
		int rc = migd_cancel(d, req + 7, msg, sizeof(msg));

		snprintf(out, sizeof(out), "%s %s\n", rc ? "error" : "ok", msg);
	} else {
		d->bad_requests++;
		snprintf(out, sizeof(out), "error unknown request (status, cancel VM)\n");
	}
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
		hs_debug("control: reply lost");
	close(fd);
}

/* migrated --cancel VM / --status: one request to a running daemon. */
static int ctl_request(const char *path, const char *req)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[4096];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "migrated: cannot reach the daemon at %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		rc = 1;
	while (!rc && (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = 0;
		fputs(buf, stdout);
		if (!strncmp(buf, "error", 5))
			rc = 1;
	}
	close(fd);
	return rc;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: migrated --config FILE [--check-config]\n"
		   "       migrated --config FILE --cancel VM | --status\n"
		   "\n"
		   "The heliostat live-migration daemon, one per host. Watches migrations/\n"
		   "in etcd and live-migrates the VMs whose pending records name this host\n"
		   "as the source, through libvirt (live, peer-to-peer); at switchover it\n"
		   "turns the VM's local entries into forwarding pointers and hands its\n"
		   "flow entries to the destination. SIGTERM stops it; a migration that\n"
		   "is running continues in libvirt and is picked up on restart.\n"
		   "\n"
		   "  -c, --config FILE   configuration (docs/migrated.8)\n"
		   "      --check-config  parse FILE, print the settings, exit\n"
		   "      --cancel VM     ask the running daemon to cancel VM's migration\n"
		   "      --status        print the running daemon's counters and migrations\n"
		   "  -h, --help          this text\n");
}

static void emit(const char *line, void *arg)
{
	puts(line);
}

/* The data plane's maps, once hs-loader or the agent pinned them. */
static void maps_try(struct migd *d)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/node_config", d->c.pin);
	if (access(path, F_OK))
		return;
	if (hs_maps_open(d->c.pin, false, &d->maps) == 0) {
		d->have_maps = true;
		hs_info("maps: %s opened", d->c.pin);
	}
}

static int run(struct migd *d)
{
	sigset_t set;
	time_t next_maps = 0, next_scan = 0;
	int sfd, rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0 || pipe2(d->notify, O_CLOEXEC | O_NONBLOCK))
		return hs_neg_errno();
	d->ctl_fd = ctl_listen(d->c.control);
	if (d->ctl_fd < 0) {
		hs_err("control: cannot listen on %s: %s", d->c.control, hs_strerr(d->ctl_fd));
		return d->ctl_fd;
	}
	virSetErrorFunc(NULL, silent);
	virEventRegisterDefaultImpl();
	if (pthread_create(&d->event_thread, NULL, event_loop, d))
		return -ENOMEM;
	libvirt_open(d);
	d->dirty = true;
	hs_info("migrated: running (node %s, libvirt %s, etcd %s%s, pin %s%s)", d->c.node, d->c.uri,
		d->c.etcd_endpoints, d->c.etcd_prefix, d->c.pin,
		d->have_maps ? "" : " (no maps: data plane not loaded)");
	for (;;) {
		struct pollfd p[6];
		int np = 0, wi = -1, hi[2] = {-1, -1};

		p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[np++] = (struct pollfd){.fd = d->notify[0], .events = POLLIN};
		p[np++] = (struct pollfd){.fd = d->ctl_fd, .events = POLLIN};
		if (d->w) {
			wi = np;
			p[np++] = (struct pollfd){.fd = hs_etcd_watch_fd(d->w), .events = POLLIN};
		}
		for (int f = 0; f < 2; f++)
			if (d->ho_fd[f] >= 0) {
				hi[f] = np;
				p[np++] = (struct pollfd){.fd = d->ho_fd[f], .events = POLLIN};
			}
		if (poll(p, (nfds_t)np, (int)(d->c.progress_ms < 250 ? d->c.progress_ms : 250)) <
			    0 &&
		    errno != EINTR) {
			rc = hs_neg_errno();
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				hs_info("migrated: %s: stopping (running migrations continue in "
					"libvirt; recovered on restart)",
					strsignal((int)si.ssi_signo));
				break;
			}
		}
		if (p[1].revents & POLLIN) {
			char b[64];

			while (read(d->notify[0], b, sizeof(b)) > 0)
				;
		}
		if (p[2].revents & POLLIN)
			ctl_serve(d);
		if (wi >= 0 && (p[wi].revents & POLLIN) && hs_etcd_watch_dispatch(d->w))
			d->dirty = true;
		for (int f = 0; f < 2; f++)
			if (hi[f] >= 0 && (p[hi[f]].revents & POLLIN))
				migd_ho_accept(d, d->ho_fd[f]);
		if (atomic_load(&d->conn_closed) || !d->conn) {
			static time_t next;

			if (time(NULL) >= next) {
				next = time(NULL) + 1;
				if (d->conn)
					hs_warn("libvirt: connection lost; reconnecting");
				libvirt_close(d);
				libvirt_open(d);
			}
		}
		if (!d->have_maps && time(NULL) >= next_maps) {
			next_maps = time(NULL) + 5;
			maps_try(d);
		}
		if (d->dirty && time(NULL) >= next_scan) {
			int64_t before = d->applied;

			migd_scan(d);
			if (d->dirty) /* etcd unreachable: once a second */
				next_scan = time(NULL) + 1;
			if (!d->dirty && (d->applied != before || !d->w))
				watch_start(d);
			if (d->have_me && d->c.handover_port)
				migd_ho_listen(d);
		}
		migd_tick(d);
	}
	close(sfd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'C'},
		{"cancel", required_argument, NULL, 'x'}, {"status", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	const char *config = NULL, *cancel = NULL;
	bool check = false, status = false;
	struct migd *d;
	int o, rc;

	hs_log_init("migrated", HS_LOG_STDERR, HS_LOG_INFO);
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'x':
			cancel = optarg;
			break;
		case 's':
			status = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !config || (cancel && status)) {
		usage(stderr);
		return 2;
	}
	if (cancel && !hs_schema_name_ok(cancel)) {
		fprintf(stderr, "migrated: --cancel: '%s' is not a VM name\n", cancel);
		return 2;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return 1;
	rc = load_conf(config, &d->c);
	if (rc)
		return 2;
	if (check) {
		struct hs_cfg *cfg;

		if (hs_cfg_load(config, &cfg) == 0) {
			hs_cfg_dump(cfg, emit, NULL);
			hs_cfg_free(cfg);
		}
		return 0;
	}
	if (cancel || status) {
		char req[128];

		snprintf(req, sizeof(req), cancel ? "cancel %s\n" : "status\n", cancel);
		return ctl_request(d->c.control, req);
	}
	hs_log_set_level(d->c.level);
	hs_log_daemon_stamps();
	pthread_mutex_init(&d->lock, NULL);
	d->ho_fd[0] = d->ho_fd[1] = -1;
	d->lifecycle_cb = -1;
	d->stop_cb = -1;
	d->e = etcd_client(&d->c);
	d->e2 = etcd_client(&d->c);
	if (!d->e || !d->e2) {
		hs_err("etcd: cannot set up a client for '%s'", d->c.etcd_endpoints);
		return 1;
	}
	maps_try(d);
	if (!d->have_maps)
		hs_warn("maps: nothing pinned in %s yet: no forwarding pointers or flow handover "
			"until the data plane is loaded",
			d->c.pin);
	rc = run(d);
	atomic_store(&d->event_stop, true);
	libvirt_close(d);
	/* wake the event loop so its thread sees the flag */
	virEventAddTimeout(0, wake, NULL, NULL);
	pthread_join(d->event_thread, NULL);
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->c.control);
	}
	hs_etcd_watch_free(d->w);
	hs_etcd_free(d->e);
	hs_etcd_free(d->e2);
	if (d->have_maps)
		hs_maps_close(&d->maps);
	hs_info("migrated: stopped");
	return rc ? 1 : 0;
}
