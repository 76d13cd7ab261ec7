/* SPDX-License-Identifier: GPL-2.0 */
/*
 * etcd v3 client over etcd's HTTP/JSON gateway (libcurl for HTTP, json-c for
 * JSON): reads, writes, transactions, leases and watches, failing over across
 * several endpoints. Every function returns 0 or -errno and logs what failed
 * and on which endpoint.
 *
 * Threading: a struct hs_etcd and its watches belong to one thread. Key-value
 * and lease calls block, for at most the request timeout per endpoint tried.
 * Watches never block: they run inside the caller's event loop through one
 * file descriptor (hs_etcd_watch_fd, then hs_etcd_watch_dispatch when it is
 * readable), so a single-threaded daemon can watch and serve at once.
 */
#ifndef HS_ETCD_H
#define HS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hs_etcd;
struct hs_etcd_watch;

struct hs_etcd_opts {
	/* "http://host:port" or "https://host:port"; tried in order, starting
	 * from the last one that answered. */
	const char *const *endpoints;
	unsigned int n_endpoints;
	unsigned int connect_timeout_ms; /* 0: 2000 */
	unsigned int request_timeout_ms; /* 0: 5000; per endpoint tried */
	/* TLS, all optional: CA bundle that signs the servers (default: the
	 * system's), client certificate and its key (PEM). */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	/* Longest response (or watch message) accepted; 0: 64 MiB. */
	size_t max_response_bytes;
};

/* NULL with errno set (and a logged reason) on bad options. */
struct hs_etcd *hs_etcd_new(const struct hs_etcd_opts *opts);
/* The same for an endpoint list as configuration files write it ("URL,URL"
 * or "URL URL", at most 16); base's endpoints are ignored, its other fields
 * (TLS, timeouts) used. NULL (logged) when the list holds no URL. */
struct hs_etcd *hs_etcd_new_list(const char *list, const struct hs_etcd_opts *base);
/* Free its watches first. */
void hs_etcd_free(struct hs_etcd *e);
/* The endpoint that answered last (the next one tried first). */
const char *hs_etcd_endpoint(const struct hs_etcd *e);

/*
 * Errors common to every call:
 *   -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EIO: no endpoint answered
 *	(the last endpoint's error is returned; each one is logged);
 *   -EAGAIN: the server answered 5xx (no leader, leader changed, ...);
 *   -EPROTO: a response that is not what the gateway sends;
 *   -EMSGSIZE: a response longer than max_response_bytes;
 *   -EINVAL, -EACCES, ...: the server refused the request (gRPC code mapped).
 * Failover: a request that fails to connect, times out or gets a 5xx answer
 * is sent to the next endpoint. Puts, deletes and lease calls are safe to
 * repeat; a transaction is only resent when it certainly never left (connect
 * failed), since a repeated compare-and-swap could answer the wrong way.
 */

/* A key-value pair as read. key and value are byte strings, NUL-terminated
 * for convenience (the NUL is not counted). Keys given to calls are C
 * strings; values are bytes with a length. */
struct hs_etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

struct hs_etcd_kvs {
	struct hs_etcd_kv *kvs;
	size_t n;
	int64_t revision; /* the store revision the read saw */
};

void hs_etcd_kv_clear(struct hs_etcd_kv *kv);
void hs_etcd_kvs_free(struct hs_etcd_kvs *kvs);

/* One key: 0 and *kv filled (free with hs_etcd_kv_clear), -ENOENT if absent.
 * revision (optional) gets the store revision of the read. */
int hs_etcd_get(struct hs_etcd *e, const char *key, struct hs_etcd_kv *kv, int64_t *revision);
/* Every key starting with prefix ("" for all keys), sorted by key, as of
 * at_revision (0: latest). -ERANGE when at_revision is compacted or in the
 * future. Free with hs_etcd_kvs_free. */
int hs_etcd_get_prefix(struct hs_etcd *e, const char *prefix, int64_t at_revision,
		       struct hs_etcd_kvs *out);
/* lease 0: none. revision (optional): the revision the put created. */
int hs_etcd_put(struct hs_etcd *e, const char *key, const void *value, size_t value_len,
		int64_t lease, int64_t *revision);
/* Deletes key, or every key under it when prefix. deleted and revision are
 * optional; deleting nothing is not an error. */
int hs_etcd_delete(struct hs_etcd *e, const char *key, bool prefix, int64_t *deleted,
		   int64_t *revision);
/* Compacts history up to revision; physical waits until it is on disk. */
int hs_etcd_compact(struct hs_etcd *e, int64_t revision, bool physical);

/* Transactions: if every compare holds, run success, else failure. */
enum hs_etcd_cmp_target {
	HS_ETCD_CMP_VERSION, /* number of puts since creation; 0: absent */
	HS_ETCD_CMP_CREATE, /* create_revision; 0: absent */
	HS_ETCD_CMP_MOD, /* mod_revision */
	HS_ETCD_CMP_VALUE, /* value bytes */
};

enum hs_etcd_cmp_op {
	HS_ETCD_EQUAL,
	HS_ETCD_GREATER,
	HS_ETCD_LESS,
	HS_ETCD_NOT_EQUAL,
};

struct hs_etcd_cmp {
	const char *key;
	enum hs_etcd_cmp_target target;
	enum hs_etcd_cmp_op op;
	int64_t revision; /* VERSION, CREATE, MOD */
	const void *value; /* VALUE */
	size_t value_len;
};

enum hs_etcd_op_type {
	HS_ETCD_OP_PUT,
	HS_ETCD_OP_DELETE,
	HS_ETCD_OP_DELETE_PREFIX,
};

struct hs_etcd_op {
	enum hs_etcd_op_type type;
	const char *key;
	const void *value; /* PUT */
	size_t value_len;
	int64_t lease; /* PUT; 0: none */
};

struct hs_etcd_txn {
	const struct hs_etcd_cmp *cmps;
	size_t n_cmps;
	const struct hs_etcd_op *success;
	size_t n_success;
	const struct hs_etcd_op *failure;
	size_t n_failure;
};

/* *succeeded: whether the compares held; revision (optional): the store
 * revision after the transaction. */
int hs_etcd_txn(struct hs_etcd *e, const struct hs_etcd_txn *txn, bool *succeeded,
		int64_t *revision);

/* Leases. The server may raise ttl to its minimum (granted_ttl, optional). */
int hs_etcd_lease_grant(struct hs_etcd *e, int64_t ttl, int64_t *id, int64_t *granted_ttl);
/* Refreshes the lease; ttl (optional) gets the time left. -ENOENT when the
 * lease is gone (expired or revoked): the keys attached to it are deleted
 * and the caller must grant a new one. */
int hs_etcd_lease_keepalive(struct hs_etcd *e, int64_t id, int64_t *ttl);
/* Deletes the lease and its keys; -ENOENT if it was already gone. */
int hs_etcd_lease_revoke(struct hs_etcd *e, int64_t id);

/*
 * Watches. Events arrive in revision order through fn, called from
 * hs_etcd_watch_dispatch (never from inside libcurl). When the stream breaks
 * the watch reconnects on its own, to the next endpoint, with backoff, and
 * resumes from the revision after the last one delivered: no event is lost
 * or repeated. When that revision has been compacted away, fn gets one
 * HS_ETCD_WATCH_COMPACTED event and the watch stops: the caller resyncs with
 * a full read and calls hs_etcd_watch_resume(read revision + 1).
 */
enum hs_etcd_watch_type {
	HS_ETCD_WATCH_PUT,
	HS_ETCD_WATCH_DELETE,
	HS_ETCD_WATCH_COMPACTED,
};

struct hs_etcd_watch_event {
	enum hs_etcd_watch_type type;
	/* PUT, DELETE: valid during the call only. A DELETE's kv has the key and
	 * the mod_revision of the delete. */
	const struct hs_etcd_kv *kv;
	int64_t compact_revision; /* COMPACTED: oldest revision still kept */
};

typedef void (*hs_etcd_watch_fn)(struct hs_etcd_watch *w, const struct hs_etcd_watch_event *ev,
				 void *arg);

struct hs_etcd_watch_opts {
	const char *key;
	bool prefix; /* every key under key */
	int64_t start_revision; /* 0: from now */
	hs_etcd_watch_fn fn;
	void *arg;
};

/* Starts watching; e must outlive the watch. fn must not free the watch. */
int hs_etcd_watch_new(struct hs_etcd *e, const struct hs_etcd_watch_opts *opts,
		      struct hs_etcd_watch **out);
void hs_etcd_watch_free(struct hs_etcd_watch *w);
/* Poll this for POLLIN (it is an epoll fd holding the watch's sockets and
 * its timer), then call dispatch. */
int hs_etcd_watch_fd(const struct hs_etcd_watch *w);
/* Never blocks. Returns 0 while the watch runs; once stopped, -ESTALE
 * (compacted, see above) or the error that stopped it (a request the server
 * refused, out of memory). */
int hs_etcd_watch_dispatch(struct hs_etcd_watch *w);
/* Convenience loop for callers without an event loop: polls and dispatches
 * until fn calls hs_etcd_watch_break (returns 0), the watch stops (returns
 * dispatch's error) or timeout_ms passes (-ETIMEDOUT). */
int hs_etcd_watch_run(struct hs_etcd_watch *w, int timeout_ms);
void hs_etcd_watch_break(struct hs_etcd_watch *w);
/* Restarts a stopped watch from start_revision; -EBUSY if it is running. */
int hs_etcd_watch_resume(struct hs_etcd_watch *w, int64_t start_revision);
/* The revision the watch resumes from after a disconnect (0: from now). */
int64_t hs_etcd_watch_next_revision(const struct hs_etcd_watch *w);

/*
 * The response parser. Every byte the client reads from a server goes
 * through here: it checks types, ranges and lengths, decodes base64, and
 * fails with -EPROTO (why[] says where) on anything else, never crashing.
 * Exported for the tests and the fuzzer.
 */
enum hs_etcd_msg {
	HS_ETCD_MSG_RANGE,
	HS_ETCD_MSG_PUT,
	HS_ETCD_MSG_DELETE,
	HS_ETCD_MSG_TXN,
	HS_ETCD_MSG_COMPACT,
	HS_ETCD_MSG_LEASE_GRANT,
	HS_ETCD_MSG_LEASE_KEEPALIVE, /* one {"result": ...} stream message */
	HS_ETCD_MSG_LEASE_REVOKE,
	HS_ETCD_MSG_WATCH, /* one {"result": ...} stream message */
	HS_ETCD_MSG_ERROR, /* the body of a non-200 answer */
	HS_ETCD_MSG_COUNT,
};

struct hs_etcd_event {
	enum hs_etcd_watch_type type; /* PUT or DELETE */
	struct hs_etcd_kv kv;
};

struct hs_etcd_resp {
	int64_t revision; /* header.revision */
	/* RANGE */
	struct hs_etcd_kv *kvs;
	size_t n_kvs;
	int64_t count;
	bool more;
	/* DELETE */
	int64_t deleted;
	/* TXN */
	bool succeeded;
	/* LEASE_* */
	int64_t lease_id;
	int64_t ttl;
	bool has_ttl; /* KEEPALIVE: false means the lease is gone */
	/* WATCH */
	struct hs_etcd_event *events;
	size_t n_events;
	bool created;
	bool canceled;
	int64_t compact_revision;
	/* ERROR, or a stream's {"error": ...}, or a grant's error field:
	 * gRPC status code and message (control characters replaced). */
	int code;
	char *message;
	char why[128]; /* on -EPROTO: what was wrong */
};

/* 0, or -EREMOTEIO when a stream message or grant carries an error (code and
 * message set), -EPROTO, -EMSGSIZE (over 2 GiB) or -ENOMEM. Free r with
 * hs_etcd_resp_free whatever the result. */
int hs_etcd_parse(enum hs_etcd_msg kind, const char *buf, size_t len, struct hs_etcd_resp *r);
void hs_etcd_resp_free(struct hs_etcd_resp *r);

#endif
