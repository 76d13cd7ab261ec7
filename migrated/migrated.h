/* SPDX-License-Identifier: GPL-2.0 */
/*
 * migrated: the per-host live-migration daemon (docs/migrated.8).
 *
 * main.c     options, configuration, the event loop, the control socket
 * migrate.c  one migration: libvirt job, switchover, etcd records, recovery
 * handover.c flow entries handed from the source host to the destination
 */
#ifndef HS_MIGRATED_H
#define HS_MIGRATED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "bpf/hs_abi.h"
#include "lib/etcd.h"
#include "lib/schema.h"
#include "loader/state.h"

#define MIGD_MAX 16 /* migrations this host runs at once */
#define MIGD_HANDOVER_PORT 7411

struct migd_conf {
	char node[HS_SCHEMA_NAME_MAX];
	char pin[256];
	char etcd_endpoints[512];
	char etcd_prefix[128];
	char etcd_ca[256], etcd_cert[256], etcd_key[256];
	char uri[512]; /* the local libvirtd */
	char peer_uri[256]; /* printf template, %s = destination underlay address */
	char migrate_uri[256]; /* template for QEMU's stream; "" = libvirt's choice */
	uint32_t downtime_ms; /* 0: QEMU's default */
	uint32_t bandwidth_mib; /* MiB/s, 0: unlimited */
	bool auto_converge;
	uint32_t postcopy_after; /* start post-copy after N passes; 0: never */
	bool handover_pointer; /* forwarding pointer at switchover (bench: off) */
	bool record_on_resume; /* destination writes vms/<vm> on RESUMED (bench: off) */
	uint32_t forward_s; /* how long the old host keeps the pointer */
	uint32_t progress_ms;
	uint32_t timeout_s; /* a migration running longer fails; 0: none */
	uint32_t stall_s; /* one sending nothing for this long fails; 0: never */
	char control[256]; /* unix socket */
	uint32_t handover_port; /* TCP, on this host's underlay addresses; 0: off */
	enum hs_log_level level;
};

enum migd_phase {
	MIGD_STARTING, /* record read, not yet running */
	MIGD_RUNNING, /* libvirt job runs, VM at the source */
	MIGD_SWITCHED, /* VM paused here: forwarding pointer written */
	MIGD_FINISHED, /* the libvirt call returned: result set */
	MIGD_RECOVERING, /* found after a restart: waiting for libvirt's job */
};

struct migd;

struct migd_mig {
	struct migd *d;
	bool used;
	char vm[HS_SCHEMA_NAME_MAX];
	struct hs_schema_migration rec;
	int64_t rec_rev; /* mod_revision of migrations/<vm> as we last wrote it */
	struct hs_schema_vm vmrec; /* vms/<vm> when the migration started */
	struct hs_ip dest; /* destination's underlay address (reachable from here) */
	char dest_uri[512];
	virDomainPtr dom;
	pthread_t thread;
	bool thread_running;
	_Atomic int phase;
	/* written by the libvirt call's thread before it sets FINISHED */
	int result; /* 0 done, -ECANCELED cancelled, other -errno failed */
	char error[HS_SCHEMA_TEXT_MAX];
	/* the local entries the pointer replaced, restored if it fails */
	struct hs_ip addr[2];
	struct hs_vm saved[2];
	bool has_saved[2];
	_Atomic bool pointer_set;
	_Atomic bool cancel; /* by the operator */
	_Atomic bool aborted; /* by us (timeout, stall): error says why */
	uint64_t processed; /* bytes sent, last seen */
	int64_t progressed_ns; /* when processed last grew */
	bool switch_recorded; /* state switchover written to etcd */
	bool downtime_set, postcopy_started;
	int throttle; /* auto-converge's last CPU throttle, percent */
	int64_t started_ns;
	uint64_t downtime_ms, total_ms; /* from libvirt's completed job */
	int64_t next_progress; /* monotonic ms */
	time_t next_retry;
	uint64_t flows_sent;
};

struct migd {
	struct migd_conf c;
	struct hs_maps maps;
	bool have_maps;
	virConnectPtr conn;
	int lifecycle_cb;
	int stop_cb; /* QEMU's STOP events (libvirt-qemu) */
	pthread_t event_thread;
	_Atomic bool event_stop;
	_Atomic bool conn_closed;
	struct hs_etcd *e; /* the loop's */
	struct hs_etcd *e2; /* libvirt's event thread's */
	struct hs_etcd_watch *w;
	bool dirty;
	int64_t applied;
	int notify[2]; /* threads -> loop: something changed */
	int ctl_fd;
	int ho_fd[2]; /* handover listeners, IPv4 and IPv6 */
	pthread_mutex_t lock; /* migs[] between the loop and libvirt's callbacks */
	struct migd_mig migs[MIGD_MAX];
	struct hs_schema_host me;
	bool have_me;
	/* counters, in the status line and the log */
	uint64_t started, done, failed, cancelled, handovers_in, handovers_refused, flows_in,
		bad_requests;
};

/* main.c */
void migd_notify(struct migd *d);

/* migrate.c */
void migd_scan(struct migd *d); /* read migrations/, act on ours */
void migd_tick(struct migd *d); /* progress, finished jobs, retries */
int migd_cancel(struct migd *d, const char *vm, char *msg, size_t len);
void migd_status(struct migd *d, char *buf, size_t len);
int migd_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *arg);
void migd_qemu_stop(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
		    unsigned int micros, const char *details, void *arg);
int migd_read_host(struct migd *d, const char *name, struct hs_schema_host *out);

#include "migrated/wire.h"

/* What the source sends, copied out of the migration's slot. */
struct migd_ho_job {
	char vm[HS_SCHEMA_NAME_MAX];
	struct hs_ip addr[2];
	struct hs_ip dest;
	uint32_t vm_id, epoch;
};

/* Source: sends the VM's flow entries to the destination's handover port;
 * returns the count sent or -errno. */
int migd_ho_send(struct migd *d, const struct migd_ho_job *j);
int migd_ho_listen(struct migd *d);
void migd_ho_accept(struct migd *d, int fd);

#endif
