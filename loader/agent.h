/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node agent: applies the node's configuration file to the pinned maps,
 * attaches the uplink program, and watches rtnetlink so that a VM's tap or
 * veth gets the VM-side program and a local location entry as soon as it
 * appears, and loses the entry when it goes. The data plane never depends on
 * the agent running: programs stay attached and maps stay pinned when it
 * stops.
 */
#ifndef HS_LOADER_AGENT_H
#define HS_LOADER_AGENT_H

/* `hs-loader agent` with its own arguments; returns 0 or -errno
 * (-EINVAL: bad arguments or configuration). */
int hs_agent_main(const char *pin, int argc, char **argv);

#endif
