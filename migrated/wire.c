// SPDX-License-Identifier: GPL-2.0
/* The flow handover's checks: what the destination accepts (wire.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/parse.h"
#include "loader/state.h"
#include "migrated/wire.h"

int migd_ho_check_hdr(const struct migd_ho_hdr *h, char *why, size_t len)
{
	char name[HS_SCHEMA_NAME_MAX];

	if (ntohl(h->magic) != MIGD_HO_MAGIC) {
		snprintf(why, len, "bad magic 0x%08x", ntohl(h->magic));
		return -EINVAL;
	}
	if (ntohs(h->version) != MIGD_HO_VERSION) {
		snprintf(why, len, "version %u; this build speaks %u", ntohs(h->version),
			 MIGD_HO_VERSION);
		return -EINVAL;
	}
	if (h->reserved) {
		snprintf(why, len, "reserved field not zero");
		return -EINVAL;
	}
	if (ntohl(h->count) > MIGD_HO_MAX_FLOWS) {
		snprintf(why, len, "%u flows, more than %u", ntohl(h->count), MIGD_HO_MAX_FLOWS);
		return -EINVAL;
	}
	if (!memchr(h->vm, 0, sizeof(h->vm))) {
		snprintf(why, len, "VM name not terminated");
		return -EINVAL;
	}
	memcpy(name, h->vm, sizeof(name));
	if (!hs_schema_name_ok(name)) {
		snprintf(why, len, "bad VM name");
		return -EINVAL;
	}
	if (!ntohl(h->vm_id)) {
		snprintf(why, len, "VM id 0");
		return -EINVAL;
	}
	return 0;
}

int migd_ho_check_flow(const struct migd_ho_flow *f, const struct hs_schema_vm *vm, char *why,
		       size_t len)
{
	static const uint8_t zero[3];
	bool v4 = hs_ip_is_v4(f->key.vm.b);

	if (hs_ip_is_zero(&f->key.vm) ||
	    !(hs_ip_eq(&f->key.vm, &vm->address) || hs_ip_eq(&f->key.vm, &vm->address6))) {
		snprintf(why, len, "a flow of an address that is not the VM's");
		return -EINVAL;
	}
	if (hs_ip_is_zero(&f->key.client) || hs_ip_is_v4(f->key.client.b) != v4) {
		snprintf(why, len, "a flow whose client address is zero or of the other family");
		return -EINVAL;
	}
	switch (f->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		break;
	default:
		snprintf(why, len, "a flow of protocol %u", f->key.proto);
		return -EINVAL;
	}
	if (memcmp(f->key.pad, zero, sizeof(f->key.pad)) || f->val.pad) {
		snprintf(why, len, "padding not zero");
		return -EINVAL;
	}
	if (hs_ip_is_zero(&f->val.entry)) {
		snprintf(why, len, "a flow without a front-end");
		return -EINVAL;
	}
	if (f->val.vm_id != vm->id) {
		snprintf(why, len, "a flow of VM id %u, not %u", f->val.vm_id, vm->id);
		return -EINVAL;
	}
	return 0;
}
