/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixture tables for the data-plane tests: description, input packet (made
 * with the builder), expected verdict, expected output (made with the
 * builder from scratch; NULL means "the input, unchanged"), expected
 * counter changes, and optional extra assertions. fx_main() runs a table and
 * prints one PASS/FAIL/SKIP line per fixture. Every DP_VMSIDE fixture runs
 * on both hooks of the VM-side program, XDP and TC, with the same
 * expectations (the TC verdict being what the XDP one does to the packet);
 * DP_VMSIDE_TC fixtures are for the TC hook only (GSO) and give TC_ACT_*.
 */
#ifndef HS_TEST_FIXTURE_H
#define HS_TEST_FIXTURE_H

#include <linux/bpf.h>
#include <stdio.h>

#include "selftests/bpf/harness.h"

#define FX_NONE (-1)

struct fx {
	const char *name;
	enum dp_prog prog;
	bool remote; /* std maps with the VMs on HOSTB */
	int (*prep)(struct dp *d); /* extra map setup, may be NULL */
	void (*in)(struct pkt *p);
	void (*out)(struct pkt *p); /* NULL: output must equal input */
	int verdict; /* XDP_*; TC_ACT_* (DP_TC_ACT_*) for DP_VMSIDE_TC */
	int reason; /* verdict counter that must rise by one */
	int side[2]; /* side counters that must rise by one, FX_NONE */
	int ingress; /* 0: uplink or VM 1 veth, by prog; -1: VM 2 veth */
	bool (*post)(struct dp *d); /* extra assertions, may be NULL */
	void (*mutate)(struct pkt *p); /* applied after pk_finish(): malformed input */
	const void *arg; /* for table-driven builders: see fx_current */
	uint16_t gso_size; /* TC runs: the input is a GSO skb with this gso_size */
	const char *tc_skip; /* why this XDP fixture cannot run on the TC hook */
};

/* The fixture being run, for builders shared by several fixtures. */
extern const struct fx *fx_current;

/* Asserts the flow entry: entry NULL means "must not exist". */
bool fx_flow_is(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, const char *entry);

int fx_main(const char *suite, const struct fx *t, size_t n, int argc, char **argv);
/* Runs one fixture; prints details on failure. */
bool fx_run(struct dp *d, const struct fx *f);

#define FX_TABLE_MAIN(suite, table)                                                         \
	int main(int argc, char **argv)                                                     \
	{                                                                                   \
		return fx_main(suite, table, sizeof(table) / sizeof(table[0]), argc, argv); \
	}

#endif
