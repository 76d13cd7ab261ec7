// SPDX-License-Identifier: GPL-2.0
/*
 * The flow handover's checks (migrated/wire.c): what a destination accepts
 * off the untrusted underlay. Every field of the header and of a flow is
 * broken once; each must be refused with a reason, and a valid one kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "lib/parse.h"
#include "migrated/wire.h"
#include "selftests/test.h"

static void good_hdr(struct migd_ho_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = htonl(MIGD_HO_MAGIC);
	h->version = htons(MIGD_HO_VERSION);
	h->vm_id = htonl(5);
	h->epoch = htonl(3);
	h->count = htonl(2);
	strcpy(h->vm, "web");
}

static void ip(struct hs_ip *a, const char *s)
{
	int family;

	memset(a, 0, sizeof(*a));
	hs_parse_ip(s, a->b, &family);
}

static void good_vm(struct hs_schema_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	strcpy(vm->name, "web");
	vm->id = 5;
	ip(&vm->address, "10.1.0.5");
	ip(&vm->address6, "fd01::5");
}

static void good_flow(struct migd_ho_flow *f, bool v6)
{
	memset(f, 0, sizeof(*f));
	ip(&f->key.client, v6 ? "2001:db8:100::10" : "198.51.100.10");
	ip(&f->key.vm, v6 ? "fd01::5" : "10.1.0.5");
	f->key.client_port = htons(40000);
	f->key.vm_port = htons(7);
	f->key.proto = IPPROTO_TCP;
	ip(&f->val.entry, "10.0.1.1");
	f->val.vm_id = 5;
}

/* one broken field per case; every one must be refused with a reason */
static void break_hdr(struct migd_ho_hdr *h, int i)
{
	switch (i) {
	case 0:
		h->magic = htonl(MIGD_HO_MAGIC + 1);
		break;
	case 1:
		h->magic = MIGD_HO_MAGIC;
		break; /* host order */
	case 2:
		h->version = htons(MIGD_HO_VERSION + 1);
		break;
	case 3:
		h->version = 0;
		break;
	case 4:
		h->reserved = htons(1);
		break;
	case 5:
		h->count = htonl(MIGD_HO_MAX_FLOWS + 1);
		break;
	case 6:
		h->count = 0xffffffff;
		break;
	case 7:
		memset(h->vm, 'a', sizeof(h->vm));
		break; /* not terminated */
	case 8:
		strcpy(h->vm, "");
		break;
	case 9:
		strcpy(h->vm, "Web");
		break;
	case 10:
		strcpy(h->vm, "a/b");
		break;
	case 11:
		strcpy(h->vm, "-web");
		break;
	case 12:
		h->vm_id = 0;
		break;
	}
}
#define N_BAD_HDR 13

static enum hs_result header(void)
{
	struct migd_ho_hdr h;
	char why[128];

	ASSERT_EQ(sizeof(h), 84);
	good_hdr(&h);
	ASSERT_EQ(migd_ho_check_hdr(&h, why, sizeof(why)), 0);
	h.count = htonl(MIGD_HO_MAX_FLOWS);
	ASSERT_EQ(migd_ho_check_hdr(&h, why, sizeof(why)), 0);
	h.count = 0;
	ASSERT_EQ(migd_ho_check_hdr(&h, why, sizeof(why)), 0);
	for (int i = 0; i < N_BAD_HDR; i++) {
		good_hdr(&h);
		break_hdr(&h, i);
		why[0] = 0;
		if (!CHECK_EQ(migd_ho_check_hdr(&h, why, sizeof(why)), -EINVAL) || !CHECK(why[0])) {
			HS_FAILF("header case %d accepted", i);
			return HS_FAIL;
		}
	}
	return HS_PASS;
}

static void break_flow(struct migd_ho_flow *f, int i, bool v6)
{
	switch (i) {
	case 0:
		ip(&f->key.vm, "10.1.0.6");
		break; /* another VM's address */
	case 1:
		memset(&f->key.vm, 0, sizeof(f->key.vm));
		break;
	case 2:
		memset(&f->key.client, 0, sizeof(f->key.client));
		break;
	case 3:
		ip(&f->key.client, v6 ? "198.51.100.9" : "2001:db8::1");
		break; /* family */
	case 4:
		f->key.proto = IPPROTO_SCTP;
		break;
	case 5:
		f->key.proto = 0;
		break;
	case 6:
		f->key.pad[1] = 1;
		break;
	case 7:
		f->val.pad = 1;
		break;
	case 8:
		memset(&f->val.entry, 0, sizeof(f->val.entry));
		break;
	case 9:
		f->val.vm_id = 6;
		break;
	case 10:
		f->val.vm_id = 0;
		break;
	}
}
#define N_BAD_FLOW 11

static enum hs_result flows(void)
{
	struct hs_schema_vm vm;
	struct migd_ho_flow f;
	char why[128];

	ASSERT_EQ(sizeof(f), 64);
	good_vm(&vm);
	for (int v6 = 0; v6 < 2; v6++) {
		good_flow(&f, v6);
		ASSERT_EQ(migd_ho_check_flow(&f, &vm, why, sizeof(why)), 0);
		f.key.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		ASSERT_EQ(migd_ho_check_flow(&f, &vm, why, sizeof(why)), 0);
		for (int i = 0; i < N_BAD_FLOW; i++) {
			good_flow(&f, v6);
			break_flow(&f, i, v6);
			why[0] = 0;
			if (!CHECK_EQ(migd_ho_check_flow(&f, &vm, why, sizeof(why)), -EINVAL) ||
			    !CHECK(why[0])) {
				HS_FAILF("flow case %d (%s) accepted", i, v6 ? "IPv6" : "IPv4");
				return HS_FAIL;
			}
		}
	}
	/* a VM with one family: a flow of the other is not its */
	memset(&vm.address6, 0, sizeof(vm.address6));
	good_flow(&f, true);
	CHECK_EQ(migd_ho_check_flow(&f, &vm, why, sizeof(why)), -EINVAL);
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"header", header},
	{"flows", flows},
};
HS_TEST_MAIN("migrated/handover", tests)
