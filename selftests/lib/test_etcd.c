// SPDX-License-Identifier: GPL-2.0
/*
 * Tests for lib/etcd against a real etcd on loopback (own data dir in a
 * mktemp directory, own ports, killed by PID and removed at exit), plus
 * fake HTTP servers for answers etcd never gives (5xx, garbage, oversize,
 * a watch stream dripped a few bytes at a time) and the parser on its own.
 * Subtests that need etcd SKIP when the binary is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/log.h"
#include "selftests/test.h"

/* ---- captured log ---- */

static char logbuf[16384];
static size_t loglen;

static void capture(enum hs_log_level level, const char *line)
{
	int n;

	if (getenv("HS_TEST_VERBOSE"))
		printf("    log %s: %s\n", hs_log_level_name(level), line);
	n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s: %s\n", hs_log_level_name(level),
		     line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

static void log_clear(void)
{
	loglen = 0;
	logbuf[0] = '\0';
}

static bool log_has(const char *s)
{
	return strstr(logbuf, s) != NULL;
}

/* ---- processes and files this test owns ---- */

static char tmpdir[] = "/tmp/hs-test-etcd-XXXXXX";
static bool have_tmpdir;
static pid_t children[8];
static pid_t owner;
static int port_cursor;

struct etcd_srv {
	pid_t pid;
	const char *name;
	int port;
	int peer_port;
	bool tls;
	char url[64];
};

static struct etcd_srv main_srv = {.name = "main"};
static struct etcd_srv tls_srv = {.name = "tls", .tls = true};

static void track(pid_t pid)
{
	for (unsigned int i = 0; i < HS_ARRAY_SIZE(children); i++) {
		if (!children[i]) {
			children[i] = pid;
			return;
		}
	}
}

static void untrack(pid_t pid)
{
	for (unsigned int i = 0; i < HS_ARRAY_SIZE(children); i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void reap(pid_t pid)
{
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			untrack(pid);
			return;
		}
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	untrack(pid);
}

/* SIGTERM, then SIGKILL after 5 s: etcd flushes its data dir on SIGTERM. */
static void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	reap(pid);
}

/* In a forked child: default signal handling, killed with its parent. */
static void child_setup(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	for (unsigned int i = 0; i < HS_ARRAY_SIZE(children); i++)
		if (children[i] > 0)
			stop_child(children[i]);
	if (have_tmpdir && !getenv("HS_TEST_KEEP"))
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	have_tmpdir = false;
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static int setup_once(void)
{
	static bool done;

	if (done)
		return have_tmpdir ? 0 : -1;
	done = true;
	if (!mkdtemp(tmpdir)) {
		HS_FAILF("mkdtemp: %s", strerror(errno));
		return -1;
	}
	have_tmpdir = true;
	owner = getpid();
	atexit(cleanup);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	hs_log_set_hook(capture);
	port_cursor = 23790 + getpid() % 1000;
	return 0;
}

static bool port_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));

	if (fd >= 0)
		close(fd);
	return ok;
}

static int next_port(void)
{
	while (!port_free(port_cursor))
		port_cursor++;
	return port_cursor++;
}

/* A bound socket that never listens: connecting to it is refused, and no one
 * else can take the port while the test holds it. */
static int dead_port(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(*fd, (struct sockaddr *)&a, &len))
		return -1;
	return ntohs(a.sin_port);
}

static bool have_etcd(void)
{
	const char *path = getenv("PATH");
	char buf[512], *dirs, *d, *save = NULL;
	bool found = false;

	dirs = strdup(path ? path : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/etcd", d);
		found = !access(buf, X_OK);
	}
	free(dirs);
	return found;
}

static struct hs_etcd *client(const char *const *eps, unsigned int n)
{
	struct hs_etcd_opts o = {.endpoints = eps,
				 .n_endpoints = n,
				 .connect_timeout_ms = 500,
				 .request_timeout_ms = 3000};

	return hs_etcd_new(&o);
}

static struct hs_etcd *client1(const char *ep)
{
	const char *eps[] = {ep};

	return client(eps, 1);
}

static void tls_paths(struct hs_etcd_opts *o, char *ca, char *crt, char *key, size_t len)
{
	snprintf(ca, len, "%s/ca.crt", tmpdir);
	snprintf(crt, len, "%s/client.crt", tmpdir);
	snprintf(key, len, "%s/client.key", tmpdir);
	o->ca_file = ca;
	o->cert_file = crt;
	o->key_file = key;
}

static void show_log_tail(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -5 %s/%s.log | sed 's/^/    etcd: /'", tmpdir, name);
	if (system(cmd))
		return;
}

/* Starts (or restarts, same data dir and ports) an etcd and waits until it
 * answers. */
static int start_etcd_once(struct etcd_srv *s, bool quiet)
{
	char data[128], logf[128], curls[64], purl[64], cluster[96];
	char ca[128], crt[128], key[128];
	struct hs_etcd_opts o = {.connect_timeout_ms = 200, .request_timeout_ms = 1000};
	const char *eps[1];
	struct hs_etcd *e;
	pid_t pid;
	int ret = -ETIMEDOUT;

	if (!s->port) {
		s->port = next_port();
		s->peer_port = next_port();
	}
	snprintf(s->url, sizeof(s->url), "%s://127.0.0.1:%d", s->tls ? "https" : "http", s->port);
	snprintf(curls, sizeof(curls), "%s", s->url);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", s->peer_port);
	snprintf(cluster, sizeof(cluster), "%s=%s", s->name, purl);
	snprintf(data, sizeof(data), "%s/%s.etcd", tmpdir, s->name);
	snprintf(logf, sizeof(logf), "%s/%s.log", tmpdir, s->name);
	if (s->tls)
		tls_paths(&o, ca, crt, key, sizeof(ca));

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		char srv_crt[128], srv_key[128];
		const char *argv[40] = {
			"etcd", "--name", s->name, "--data-dir", data, "--listen-client-urls",
			curls, "--advertise-client-urls", curls, "--listen-peer-urls", purl,
			"--initial-advertise-peer-urls", purl, "--initial-cluster", cluster,
			/* a fast election: ready in well under a second */
			"--heartbeat-interval", "10", "--election-timeout", "100", "--logger",
			"zap", "--log-level", "warn"};
		int n = 21, fd;

		child_setup();
		fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (s->tls) {
			snprintf(srv_crt, sizeof(srv_crt), "%s/server.crt", tmpdir);
			snprintf(srv_key, sizeof(srv_key), "%s/server.key", tmpdir);
			argv[n++] = "--cert-file";
			argv[n++] = srv_crt;
			argv[n++] = "--key-file";
			argv[n++] = srv_key;
			argv[n++] = "--trusted-ca-file";
			argv[n++] = ca;
			argv[n++] = "--client-cert-auth";
		}
		argv[n] = NULL;
		execvp("etcd", (char *const *)argv);
		_exit(127);
	}
	s->pid = pid;
	track(pid);

	eps[0] = s->url;
	o.endpoints = eps;
	o.n_endpoints = 1;
	e = hs_etcd_new(&o);
	if (!e)
		return -errno;
	for (int i = 0; i < 100; i++) {
		struct hs_etcd_kv kv;

		if (waitpid(pid, NULL, WNOHANG) == pid) {
			untrack(pid);
			if (!quiet) {
				HS_FAILF("etcd %s exited at start", s->name);
				show_log_tail(s->name);
			}
			s->pid = 0;
			ret = -ECHILD;
			break;
		}
		ret = hs_etcd_get(e, "hs-test-ready", &kv, NULL);
		if (!ret || ret == -ENOENT) {
			ret = 0;
			break;
		}
		usleep(100000);
	}
	hs_etcd_free(e);
	log_clear();
	if (ret && ret != -ECHILD)
		show_log_tail(s->name);
	return ret;
}

static int start_etcd(struct etcd_srv *s)
{
	char data[128];
	int ret;

	if (s->port)
		return start_etcd_once(s, false);
	/* New ports: another test run may take them between our check and
	 * etcd's bind. Then etcd exits at once; try others. */
	for (int i = 0; i < 4; i++) {
		ret = start_etcd_once(s, i < 3);
		if (ret != -ECHILD)
			break;
		snprintf(data, sizeof(data), "%s/%s.etcd", tmpdir, s->name);
		nftw(data, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		s->port = 0;
	}
	return ret;
}

static void stop_etcd(struct etcd_srv *s)
{
	stop_child(s->pid);
	s->pid = 0;
}

/* For subtests that need the main etcd: start it once. */
#define NEED_ETCD()                                                                       \
	do {                                                                              \
		if (!have_etcd())                                                         \
			HS_SKIP_BECAUSE("etcd binary not found (Debian: apt-get install " \
					"etcd-server)");                                  \
		ASSERT_EQ(setup_once(), 0);                                               \
		if (!main_srv.pid)                                                        \
			ASSERT_EQ(start_etcd(&main_srv), 0);                              \
	} while (0)

/* A fake server: answers every connection with resp (dripped in 7-byte
 * pieces when drip), then closes it. */
static pid_t fake_server(const char *resp, bool drip, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	pid = fork();
	if (pid) {
		close(lfd);
		if (pid > 0)
			track(pid);
		return pid;
	}
	child_setup();
	signal(SIGPIPE, SIG_IGN); /* clients hang up mid-answer */
	for (;;) {
		char req[8192];
		size_t got = 0, len = strlen(resp);
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		/* Read the headers and the body they announce. */
		for (;;) {
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
			char *hend, *cl;

			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			hend = strstr(req, "\r\n\r\n");
			if (!hend)
				continue;
			cl = strcasestr(req, "content-length:");
			if (!cl || got >= (size_t)(hend + 4 - req) + strtoul(cl + 15, NULL, 10))
				break;
		}
		for (size_t off = 0; off < len;) {
			size_t chunk = drip && len - off > 7 ? 7 : len - off;
			ssize_t n = write(fd, resp + off, chunk);

			if (n <= 0)
				break;
			off += (size_t)n;
			if (drip)
				usleep(2000);
		}
		close(fd);
	}
}

static char *http_response(const char *status, const char *body)
{
	char *s;

	if (asprintf(&s,
		     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     status, strlen(body), body) < 0)
		return NULL;
	return s;
}

/* ---- watch event collector ---- */

struct seen {
	int want;
	int n;
	struct {
		enum hs_etcd_watch_type type;
		char key[64];
		char value[64];
		int64_t rev;
	} ev[32];
	int compacted;
	int64_t compact_revision;
};

static void on_event(struct hs_etcd_watch *w, const struct hs_etcd_watch_event *ev, void *arg)
{
	struct seen *s = arg;

	if (ev->type == HS_ETCD_WATCH_COMPACTED) {
		s->compacted++;
		s->compact_revision = ev->compact_revision;
		return;
	}
	if (s->n < (int)HS_ARRAY_SIZE(s->ev)) {
		s->ev[s->n].type = ev->type;
		snprintf(s->ev[s->n].key, sizeof(s->ev[0].key), "%s", ev->kv->key);
		snprintf(s->ev[s->n].value, sizeof(s->ev[0].value), "%s", ev->kv->value);
		s->ev[s->n].rev = ev->kv->mod_revision;
	}
	s->n++;
	if (s->n >= s->want)
		hs_etcd_watch_break(w);
}

/* ---- the parser ---- */

#define HDR                                                                                     \
	"\"header\":{\"cluster_id\":\"14443903163313418560\",\"revision\":\"7\",\"raft_term\":" \
	"\"2\"}"

static enum hs_result parse_valid(void)
{
	struct hs_etcd_resp r = {0};

	/* Answers captured from etcd 3.4's gateway. */
	{
		static const char range[] =
			"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
			"\"mod_revision\":\"5\",\"version\":\"3\",\"value\":\"YmFy\","
			"\"lease\":\"99\"},{\"key\":\"Zm9vMg==\"}],\"count\":\"2\"}\n";

		ASSERT_EQ(hs_etcd_parse(HS_ETCD_MSG_RANGE, range, sizeof(range) - 1, &r), 0);
	}
	CHECK_EQ(r.revision, 7);
	ASSERT_EQ(r.n_kvs, 2);
	CHECK_EQ(r.count, 2);
	CHECK_STR(r.kvs[0].key, "foo");
	CHECK_EQ(r.kvs[0].key_len, 3);
	CHECK_STR(r.kvs[0].value, "bar");
	CHECK_EQ(r.kvs[0].create_revision, 2);
	CHECK_EQ(r.kvs[0].mod_revision, 5);
	CHECK_EQ(r.kvs[0].version, 3);
	CHECK_EQ(r.kvs[0].lease, 99);
	CHECK_STR(r.kvs[1].key, "foo2");
	CHECK_EQ(r.kvs[1].value_len, 0); /* empty values are left out */
	CHECK_STR(r.kvs[1].value, "");
	hs_etcd_resp_free(&r);

#define PARSE(kind, s) hs_etcd_parse(kind, s, strlen(s), &r)
	/* A failed transaction leaves "succeeded" out (false is the default). */
	ASSERT_EQ(PARSE(HS_ETCD_MSG_TXN, "{" HDR ",\"responses\":[{\"response_range\":{}}]}"), 0);
	CHECK(!r.succeeded);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_TXN, "{" HDR ",\"succeeded\":true}"), 0);
	CHECK(r.succeeded);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_DELETE, "{" HDR ",\"deleted\":\"4\"}"), 0);
	CHECK_EQ(r.deleted, 4);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_LEASE_GRANT,
			"{" HDR ",\"ID\":\"2228897068072550667\",\"TTL\":\"5\"}"),
		  0);
	CHECK_EQ(r.lease_id, 2228897068072550667LL);
	CHECK_EQ(r.ttl, 5);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_LEASE_GRANT, "{" HDR ",\"error\":\"too many leases\"}"),
		  -EREMOTEIO);
	CHECK_STR(r.message, "too many leases");
	hs_etcd_resp_free(&r);

	/* Keep-alive: a stream message; an expired lease has no TTL. */
	ASSERT_EQ(PARSE(HS_ETCD_MSG_LEASE_KEEPALIVE,
			"{\"result\":{" HDR ",\"ID\":\"12345\",\"TTL\":\"9\"}}\n"),
		  0);
	CHECK(r.has_ttl);
	CHECK_EQ(r.ttl, 9);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_LEASE_KEEPALIVE, "{\"result\":{" HDR ",\"ID\":\"12345\"}}\n"),
		  0);
	CHECK(!r.has_ttl);
	CHECK_EQ(r.lease_id, 12345);
	hs_etcd_resp_free(&r);

	/* Watch messages: created, a PUT (type left out) and a DELETE, a
	 * compaction cancel (its header has no revision). */
	ASSERT_EQ(PARSE(HS_ETCD_MSG_WATCH, "{\"result\":{" HDR ",\"created\":true}}"), 0);
	CHECK(r.created);
	CHECK_EQ(r.n_events, 0);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_WATCH,
			"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\","
			"\"mod_revision\":\"2\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\","
			"\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}}]}}"),
		  0);
	ASSERT_EQ(r.n_events, 2);
	CHECK_EQ(r.events[0].type, HS_ETCD_WATCH_PUT);
	CHECK_STR(r.events[0].kv.value, "bar");
	CHECK_EQ(r.events[1].type, HS_ETCD_WATCH_DELETE);
	CHECK_EQ(r.events[1].kv.mod_revision, 3);
	hs_etcd_resp_free(&r);
	ASSERT_EQ(PARSE(HS_ETCD_MSG_WATCH,
			"{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,"
			"\"compact_revision\":\"4\"}}"),
		  0);
	CHECK(r.canceled);
	CHECK_EQ(r.compact_revision, 4);
	CHECK_EQ(r.revision, 0);
	hs_etcd_resp_free(&r);

	/* Error bodies: unary and in-stream shapes. */
	ASSERT_EQ(PARSE(HS_ETCD_MSG_ERROR,
			"{\"error\":\"etcdserver: requested lease not found\",\"message\":"
			"\"etcdserver: requested lease not found\",\"code\":5}"),
		  0);
	CHECK_EQ(r.code, 5);
	CHECK_STR(r.message, "etcdserver: requested lease not found");
	hs_etcd_resp_free(&r);
	ASSERT_EQ(
		PARSE(HS_ETCD_MSG_WATCH,
		      "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"no\\nleader\","
		      "\"http_status\":\"Service Unavailable\"}}"),
		-EREMOTEIO);
	CHECK_EQ(r.code, 14);
	CHECK_STR(r.message, "no?leader"); /* no forged log lines */
	hs_etcd_resp_free(&r);
#undef PARSE
	return HS_PASS;
}

static const struct {
	enum hs_etcd_msg kind;
	const char *in;
	int ret;
} malformed[] = {
	{HS_ETCD_MSG_PUT, "", -EPROTO},
	{HS_ETCD_MSG_PUT, "   \n", -EPROTO},
	{HS_ETCD_MSG_PUT, "<html>502 Bad Gateway</html>", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{}", -EPROTO}, /* truncated */
	{HS_ETCD_MSG_PUT, "{\"header\":{}}{}", -EPROTO}, /* trailing */
	{HS_ETCD_MSG_PUT, "{\"header\":{}} x", -EPROTO},
	{HS_ETCD_MSG_PUT, "[{\"header\":{}}]", -EPROTO}, /* not an object */
	{HS_ETCD_MSG_PUT, "\"header\"", -EPROTO},
	{HS_ETCD_MSG_PUT, "{}", -EPROTO}, /* no header */
	{HS_ETCD_MSG_PUT, "{\"header\":[]}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":7}}", -EPROTO}, /* int64 as number */
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\"\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\"-1\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\"1e3\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\" 12\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\"9223372036854775808\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"revision\":\"123456789012345678901\"}}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{},}", -EPROTO},
	{HS_ETCD_MSG_PUT, "{\"header\":{\"x\":\"\xff\xfe\"}}", -EPROTO}, /* bad UTF-8 */
	{HS_ETCD_MSG_PUT,
	 "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]"
	 "]]]]]"
	 "]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"header\":{}}",
	 -EPROTO}, /* too deep */
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":{}}", -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[1]}", -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{}],\"count\":\"1\"}", -EPROTO}, /* no key */
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"\"}],\"count\":\"1\"}", -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9\"}],\"count\":\"1\"}", -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm=v\"}],\"count\":\"1\"}",
	 -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\\n\"}],\"count\":\"1\"}",
	 -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Z===\"}],\"count\":\"1\"}",
	 -EPROTO},
	{HS_ETCD_MSG_RANGE,
	 "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\",\"value\":5}],\"count\":\"1\"}", -EPROTO},
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"kvs\":[{\"key\":\"Zm9v\"}]}", -EPROTO}, /* count 0 */
	{HS_ETCD_MSG_RANGE, "{\"header\":{},\"more\":\"true\"}", -EPROTO},
	{HS_ETCD_MSG_DELETE, "{\"header\":{},\"deleted\":\"-2\"}", -EPROTO},
	{HS_ETCD_MSG_TXN, "{\"header\":{},\"succeeded\":1}", -EPROTO},
	{HS_ETCD_MSG_TXN, "{\"header\":{},\"responses\":{}}", -EPROTO},
	{HS_ETCD_MSG_LEASE_GRANT, "{\"header\":{},\"TTL\":\"5\"}", -EPROTO}, /* no ID */
	{HS_ETCD_MSG_LEASE_GRANT, "{\"header\":{},\"ID\":\"0\",\"TTL\":\"5\"}", -EPROTO},
	{HS_ETCD_MSG_LEASE_GRANT, "{\"header\":{},\"ID\":\"7\"}", -EPROTO}, /* no TTL */
	{HS_ETCD_MSG_LEASE_KEEPALIVE, "{\"header\":{},\"ID\":\"7\"}", -EPROTO}, /* no result */
	{HS_ETCD_MSG_LEASE_KEEPALIVE, "{\"result\":{\"header\":{}}}", -EPROTO},
	{HS_ETCD_MSG_LEASE_KEEPALIVE, "{\"result\":[]}", -EPROTO},
	{HS_ETCD_MSG_WATCH,
	 "{\"result\":{\"header\":{},\"events\":[{\"type\":\"PATCH\","
	 "\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"2\"}}]}}",
	 -EPROTO},
	{HS_ETCD_MSG_WATCH,
	 "{\"result\":{\"header\":{},\"events\":[{\"type\":1,"
	 "\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"2\"}}]}}",
	 -EPROTO},
	{HS_ETCD_MSG_WATCH, "{\"result\":{\"header\":{},\"events\":[{}]}}", -EPROTO}, /* no kv */
	{HS_ETCD_MSG_WATCH, "{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}",
	 -EPROTO}, /* no mod_revision */
	{HS_ETCD_MSG_WATCH, "{\"result\":{\"header\":{},\"canceled\":\"yes\"}}", -EPROTO},
	{HS_ETCD_MSG_WATCH, "{\"result\":{\"header\":{},\"cancel_reason\":7}}", -EPROTO},
	{HS_ETCD_MSG_WATCH, "{\"error\":{\"grpc_code\":\"14\"}}", -EPROTO},
	{HS_ETCD_MSG_WATCH, "{\"error\":{}}", -EPROTO},
	{HS_ETCD_MSG_ERROR, "{}", -EPROTO},
	{HS_ETCD_MSG_ERROR, "{\"code\":99999999999}", -EPROTO},
	{HS_ETCD_MSG_ERROR, "{\"code\":5.5}", -EPROTO},
	{HS_ETCD_MSG_COUNT, "{\"header\":{}}", -EPROTO},
};

/* Valid messages the mutation loop starts from. */
static const struct {
	enum hs_etcd_msg kind;
	const char *in;
} samples[] = {
	{HS_ETCD_MSG_RANGE, "{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
			    "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}],"
			    "\"count\":\"1\",\"more\":true}"},
	{HS_ETCD_MSG_TXN, "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":{}}]}"},
	{HS_ETCD_MSG_LEASE_KEEPALIVE, "{\"result\":{" HDR ",\"ID\":\"12345\",\"TTL\":\"3\"}}"},
	{HS_ETCD_MSG_WATCH, "{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":{"
			    "\"key\":\"Zm9v\",\"mod_revision\":\"3\"}},{\"kv\":{\"key\":\"YQ==\","
			    "\"mod_revision\":\"4\",\"value\":\"AAE=\"}}]}}"},
	{HS_ETCD_MSG_ERROR, "{\"error\":\"x\",\"message\":\"x\",\"code\":11}"},
};

static enum hs_result parse_malformed(void)
{
	static const int allowed[] = {0, -EPROTO, -EREMOTEIO, -EMSGSIZE};
	struct hs_etcd_resp r;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char buf[1024];

	for (unsigned int i = 0; i < HS_ARRAY_SIZE(malformed); i++) {
		int ret = hs_etcd_parse(malformed[i].kind, malformed[i].in, strlen(malformed[i].in),
					&r);

		if (!CHECK_EQ(ret, malformed[i].ret))
			printf("    input %u: %s\n", i, malformed[i].in);
		if (ret == -EPROTO && !CHECK(r.why[0]))
			printf("    input %u: no reason given\n", i);
		hs_etcd_resp_free(&r);
	}
	/* Not NUL-terminated, with a NUL inside: lengths rule. */
	memcpy(buf, "{\"header\":{}}\0{}", 16);
	CHECK_EQ(hs_etcd_parse(HS_ETCD_MSG_PUT, buf, 16, &r), -EPROTO);
	hs_etcd_resp_free(&r);
	CHECK_EQ(hs_etcd_parse(HS_ETCD_MSG_PUT, buf, 13, &r), 0);
	hs_etcd_resp_free(&r);

	/* Mutations of valid messages: flips, cuts, inserted bytes. Only the
	 * documented results, and nothing to crash on (the libFuzzer harness,
	 * fuzz_etcd, does this under ASan). */
	for (int round = 0; round < 20000; round++) {
		unsigned int k = round % HS_ARRAY_SIZE(samples);
		size_t len = strlen(samples[k].in);
		bool ok = false;
		int ret;

		memcpy(buf, samples[k].in, len);
		for (int m = 0; m < 1 + round % 4; m++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			switch (rng % 4) {
			case 0:
				buf[rng / 4 % len] ^= (char)(1 << (rng >> 32) % 8);
				break;
			case 1:
				len = rng / 4 % len + 1;
				break;
			case 2:
				buf[rng / 4 % len] = "{}[]\",:\\0-9ntf "[(rng >> 40) % 16];
				break;
			default:
				if (len < sizeof(buf) - 1) {
					size_t at = rng / 4 % len;

					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = (char)(rng >> 48);
					len++;
				}
			}
		}
		ret = hs_etcd_parse(samples[k].kind, buf, len, &r);
		for (unsigned int a = 0; a < HS_ARRAY_SIZE(allowed); a++)
			ok |= ret == allowed[a];
		if (!ok) {
			HS_FAILF("round %d: unexpected result %d", round, ret);
			hs_etcd_resp_free(&r);
			return HS_FAIL;
		}
		for (size_t i = 0; !ret && i < r.n_kvs; i++)
			ASSERT(r.kvs[i].key[r.kvs[i].key_len] == '\0');
		hs_etcd_resp_free(&r);
	}
	return HS_PASS;
}

/* ---- options ---- */

static enum hs_result options(void)
{
	const char *bad_scheme[] = {"ftp://127.0.0.1:2379"};
	const char *ok[] = {"http://127.0.0.1:1/"};
	struct hs_etcd_opts o = {.endpoints = ok, .n_endpoints = 1, .ca_file = "/nonexistent/ca"};
	struct hs_etcd *e;

	log_clear();
	hs_log_set_hook(capture);
	errno = 0;
	CHECK(hs_etcd_new(NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(client(bad_scheme, 1) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(log_has("ftp://127.0.0.1:2379"));
	errno = 0;
	CHECK(hs_etcd_new(&o) == NULL);
	CHECK_EQ(errno, ENOENT);
	CHECK(log_has("/nonexistent/ca"));
	e = client(ok, 1);
	ASSERT(e != NULL);
	CHECK_STR(hs_etcd_endpoint(e), "http://127.0.0.1:1"); /* trailing '/' dropped */
	hs_etcd_free(e);
	return HS_PASS;
}

/* ---- against etcd ---- */

static enum hs_result kv(void)
{
	struct hs_etcd_kvs kvs;
	struct hs_etcd_kv got;
	int64_t r1, r2, rev, n;
	struct hs_etcd *e;

	NEED_ETCD();
	e = client1(main_srv.url);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/kv/a", "1", 1, 0, &r1), 0);
	CHECK(r1 > 0);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/kv/a", &got, &rev), 0);
	CHECK_STR(got.value, "1");
	CHECK_EQ(got.mod_revision, r1);
	CHECK_EQ(got.create_revision, r1);
	CHECK_EQ(got.version, 1);
	CHECK(rev >= r1);
	hs_etcd_kv_clear(&got);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/kv/a", "2", 1, 0, &r2), 0);
	CHECK(r2 > r1);
	/* binary and empty values */
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/kv/b", "x\0y\xff", 4, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/kv/c", NULL, 0, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/kvx", "outside", 7, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/kv/b", &got, NULL), 0);
	CHECK_EQ(got.value_len, 4);
	CHECK_MEM(got.value, "x\0y\xff", 4);
	hs_etcd_kv_clear(&got);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/kv/c", &got, NULL), 0);
	CHECK_EQ(got.value_len, 0);
	hs_etcd_kv_clear(&got);
	CHECK_EQ(hs_etcd_get(e, "/hs-test/kv/none", &got, NULL), -ENOENT);

	ASSERT_EQ(hs_etcd_get_prefix(e, "/hs-test/kv/", 0, &kvs), 0);
	ASSERT_EQ(kvs.n, 3);
	CHECK_STR(kvs.kvs[0].key, "/hs-test/kv/a");
	CHECK_STR(kvs.kvs[0].value, "2");
	CHECK_STR(kvs.kvs[2].key, "/hs-test/kv/c");
	CHECK(kvs.revision > r2);
	hs_etcd_kvs_free(&kvs);
	/* as of r1: only a, with its old value */
	ASSERT_EQ(hs_etcd_get_prefix(e, "/hs-test/kv/", r1, &kvs), 0);
	ASSERT_EQ(kvs.n, 1);
	CHECK_STR(kvs.kvs[0].value, "1");
	hs_etcd_kvs_free(&kvs);
	/* a future revision is refused */
	log_clear();
	hs_log_set_hook(capture);
	CHECK_EQ(hs_etcd_get_prefix(e, "/hs-test/kv/", r2 + 1000000, &kvs), -ERANGE);
	CHECK(log_has(main_srv.url));
	CHECK(log_has("future revision"));

	ASSERT_EQ(hs_etcd_delete(e, "/hs-test/kv/a", false, &n, &rev), 0);
	CHECK_EQ(n, 1);
	CHECK(rev > r2);
	ASSERT_EQ(hs_etcd_delete(e, "/hs-test/kv/a", false, &n, NULL), 0);
	CHECK_EQ(n, 0);
	ASSERT_EQ(hs_etcd_delete(e, "/hs-test/kv/", true, &n, NULL), 0);
	CHECK_EQ(n, 2);
	ASSERT_EQ(hs_etcd_get_prefix(e, "/hs-test/kv/", 0, &kvs), 0);
	CHECK_EQ(kvs.n, 0);
	hs_etcd_kvs_free(&kvs);
	/* the prefix did not reach /hs-test/kvx */
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/kvx", &got, NULL), 0);
	hs_etcd_kv_clear(&got);
	hs_etcd_free(e);
	return HS_PASS;
}

static enum hs_result txn(void)
{
	struct hs_etcd_cmp absent = {.key = "/hs-test/txn/k",
				     .target = HS_ETCD_CMP_CREATE,
				     .op = HS_ETCD_EQUAL,
				     .revision = 0};
	struct hs_etcd_op put1 = {
		.type = HS_ETCD_OP_PUT, .key = "/hs-test/txn/k", .value = "v1", .value_len = 2};
	struct hs_etcd_op put2 = {
		.type = HS_ETCD_OP_PUT, .key = "/hs-test/txn/k", .value = "v2", .value_len = 2};
	struct hs_etcd_op lost = {
		.type = HS_ETCD_OP_PUT, .key = "/hs-test/txn/lost", .value = "1", .value_len = 1};
	struct hs_etcd_txn t = {.cmps = &absent,
				.n_cmps = 1,
				.success = &put1,
				.n_success = 1,
				.failure = &lost,
				.n_failure = 1};
	struct hs_etcd_cmp cmp;
	struct hs_etcd_kv got;
	int64_t r1, r2;
	struct hs_etcd *e;
	bool ok;

	NEED_ETCD();
	e = client1(main_srv.url);
	ASSERT(e != NULL);
	/* create if absent: first wins, second fails and runs the failure branch */
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, &r1), 0);
	CHECK(ok);
	t.success = &put2;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, &r2), 0);
	CHECK(!ok);
	CHECK_EQ(r2, r1 + 1); /* the failure branch's put */
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/txn/k", &got, NULL), 0);
	CHECK_STR(got.value, "v1");
	CHECK_EQ(got.mod_revision, r1);
	hs_etcd_kv_clear(&got);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/txn/lost", &got, NULL), 0);
	hs_etcd_kv_clear(&got);

	/* compare-and-swap on mod_revision */
	t.n_failure = 0;
	cmp = (struct hs_etcd_cmp){.key = "/hs-test/txn/k",
				   .target = HS_ETCD_CMP_MOD,
				   .op = HS_ETCD_EQUAL,
				   .revision = r1};
	t.cmps = &cmp;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, &r2), 0);
	CHECK(ok);
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(!ok);
	cmp.op = HS_ETCD_LESS;
	cmp.revision = r2 + 1;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, &r2), 0);
	CHECK(ok);
	cmp.op = HS_ETCD_GREATER;
	cmp.revision = r2;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(!ok);
	cmp.revision = r1;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(ok);
	/* on the value, then delete */
	cmp = (struct hs_etcd_cmp){.key = "/hs-test/txn/k",
				   .target = HS_ETCD_CMP_VALUE,
				   .op = HS_ETCD_EQUAL,
				   .value = "v1",
				   .value_len = 2};
	put1 = (struct hs_etcd_op){.type = HS_ETCD_OP_DELETE_PREFIX, .key = "/hs-test/txn/"};
	t.success = &put1;
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(!ok); /* it is v2 now */
	cmp.value = "v2";
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(ok);
	CHECK_EQ(hs_etcd_get(e, "/hs-test/txn/k", &got, NULL), -ENOENT);
	CHECK_EQ(hs_etcd_get(e, "/hs-test/txn/lost", &got, NULL), -ENOENT);
	/* a bad operation never leaves */
	put1.type = (enum hs_etcd_op_type)7;
	log_clear();
	hs_log_set_hook(capture);
	CHECK_EQ(hs_etcd_txn(e, &t, &ok, NULL), -EINVAL);
	CHECK(log_has("bad compare or operation"));
	hs_etcd_free(e);
	return HS_PASS;
}

static enum hs_result lease(void)
{
	int64_t id, id2, ttl, granted;
	struct hs_etcd_kv got;
	struct hs_etcd *e;
	int ret = 0;

	NEED_ETCD();
	e = client1(main_srv.url);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_lease_grant(e, 1, &id, &granted), 0);
	CHECK(id > 0);
	CHECK(granted >= 1);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/lease/short", "x", 1, id, NULL), 0);
	ASSERT_EQ(hs_etcd_lease_keepalive(e, id, &ttl), 0);
	CHECK(ttl >= 1);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/lease/short", &got, NULL), 0);
	CHECK_EQ(got.lease, id);
	hs_etcd_kv_clear(&got);

	/* revoke takes its keys along */
	ASSERT_EQ(hs_etcd_lease_grant(e, 60, &id2, NULL), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/lease/long", "y", 1, id2, NULL), 0);
	ASSERT_EQ(hs_etcd_lease_revoke(e, id2), 0);
	CHECK_EQ(hs_etcd_get(e, "/hs-test/lease/long", &got, NULL), -ENOENT);
	log_clear();
	hs_log_set_hook(capture);
	CHECK_EQ(hs_etcd_lease_revoke(e, id2), -ENOENT);
	CHECK(log_has("lease not found"));
	/* a put on a dead lease is refused */
	CHECK_EQ(hs_etcd_put(e, "/hs-test/lease/long", "y", 1, id2, NULL), -ENOENT);

	/* let the short one expire: its key goes, and a keep-alive answers 200
	 * without a TTL */
	for (int i = 0; i < 60; i++) {
		ret = hs_etcd_get(e, "/hs-test/lease/short", &got, NULL);
		if (ret)
			break;
		hs_etcd_kv_clear(&got);
		usleep(100000);
	}
	ASSERT_EQ(ret, -ENOENT);
	log_clear();
	CHECK_EQ(hs_etcd_lease_keepalive(e, id, &ttl), -ENOENT);
	CHECK(log_has("answered without a TTL"));
	CHECK_EQ(hs_etcd_lease_revoke(e, id), -ENOENT);
	CHECK_EQ(hs_etcd_lease_grant(e, 0, &id, NULL), -EINVAL);
	hs_etcd_free(e);
	return HS_PASS;
}

static enum hs_result watch_restart(void)
{
	struct seen s = {.want = 3};
	struct hs_etcd_watch_opts wo = {
		.key = "/hs-test/w/", .prefix = true, .fn = on_event, .arg = &s};
	struct hs_etcd_watch *w;
	int64_t r0, rc, rd;
	struct hs_etcd *e;

	NEED_ETCD();
	e = client1(main_srv.url);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/w/a", "1", 1, 0, &r0), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/other", "1", 1, 0, NULL), 0);
	/* from a past revision: a is history, b and the delete are live */
	wo.start_revision = r0;
	ASSERT_EQ(hs_etcd_watch_new(e, &wo, &w), 0);
	CHECK(hs_etcd_watch_fd(w) >= 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/w/b", "2", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_delete(e, "/hs-test/w/a", false, NULL, NULL), 0);
	ASSERT_EQ(hs_etcd_watch_run(w, 5000), 0);
	ASSERT_EQ(s.n, 3);
	CHECK_STR(s.ev[0].key, "/hs-test/w/a");
	CHECK_EQ(s.ev[0].rev, r0);
	CHECK_EQ(s.ev[1].type, HS_ETCD_WATCH_PUT);
	CHECK_STR(s.ev[1].key, "/hs-test/w/b");
	CHECK_STR(s.ev[1].value, "2");
	CHECK_EQ(s.ev[2].type, HS_ETCD_WATCH_DELETE);
	CHECK_STR(s.ev[2].key, "/hs-test/w/a");
	CHECK_EQ(hs_etcd_watch_next_revision(w), s.ev[2].rev + 1);

	/* Restart etcd on the same data dir. The writes land while the watch
	 * is disconnected; it must resume from its revision and get them. */
	stop_etcd(&main_srv);
	ASSERT_EQ(start_etcd(&main_srv), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/w/c", "3", 1, 0, &rc), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/w/d", "4", 1, 0, &rd), 0);
	log_clear();
	hs_log_set_hook(capture);
	s.want = 5;
	ASSERT_EQ(hs_etcd_watch_run(w, 10000), 0);
	ASSERT_EQ(s.n, 5);
	CHECK_STR(s.ev[3].key, "/hs-test/w/c");
	CHECK_EQ(s.ev[3].rev, rc);
	CHECK_STR(s.ev[4].key, "/hs-test/w/d");
	CHECK_EQ(s.ev[4].rev, rd);
	CHECK(log_has("reconnecting from revision"));
	/* nothing more, nothing repeated */
	CHECK_EQ(hs_etcd_watch_run(w, 300), -ETIMEDOUT);
	CHECK_EQ(s.n, 5);
	CHECK_EQ(hs_etcd_watch_resume(w, 1), -EBUSY);
	hs_etcd_watch_free(w);

	/* "from now" resumes without gaps too */
	memset(&s, 0, sizeof(s));
	s.want = 1;
	wo.start_revision = 0;
	ASSERT_EQ(hs_etcd_watch_new(e, &wo, &w), 0);
	CHECK_EQ(hs_etcd_watch_run(w, 300), -ETIMEDOUT); /* connects, sees nothing */
	CHECK_EQ(hs_etcd_watch_next_revision(w), rd + 1);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/w/e", "5", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_watch_run(w, 5000), 0);
	CHECK_STR(s.ev[0].key, "/hs-test/w/e");
	hs_etcd_watch_free(w);
	hs_etcd_free(e);
	return HS_PASS;
}

static enum hs_result compaction(void)
{
	struct seen s = {.want = 1};
	struct hs_etcd_watch_opts wo = {.key = "/hs-test/c/x", .fn = on_event, .arg = &s};
	struct hs_etcd_kvs kvs;
	struct hs_etcd_watch *w;
	int64_t r1, r3;
	struct hs_etcd *e;

	NEED_ETCD();
	e = client1(main_srv.url);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/c/x", "1", 1, 0, &r1), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/c/x", "2", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/c/x", "3", 1, 0, &r3), 0);
	ASSERT_EQ(hs_etcd_compact(e, r3, true), 0);
	log_clear();
	hs_log_set_hook(capture);
	CHECK_EQ(hs_etcd_get_prefix(e, "/hs-test/c/", r1, &kvs), -ERANGE);
	CHECK(log_has("compacted"));

	/* A watch from before the compaction is told so, once, and stops. */
	wo.start_revision = r1;
	ASSERT_EQ(hs_etcd_watch_new(e, &wo, &w), 0);
	CHECK_EQ(hs_etcd_watch_run(w, 5000), -ESTALE);
	CHECK_EQ(s.compacted, 1);
	CHECK_EQ(s.compact_revision, r3);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(hs_etcd_watch_dispatch(w), -ESTALE);
	CHECK(log_has("must resync"));

	/* Resync: full read, then watch from the revision after it. */
	ASSERT_EQ(hs_etcd_get_prefix(e, "/hs-test/c/", 0, &kvs), 0);
	ASSERT_EQ(kvs.n, 1);
	CHECK_STR(kvs.kvs[0].value, "3");
	ASSERT_EQ(hs_etcd_watch_resume(w, kvs.revision + 1), 0);
	hs_etcd_kvs_free(&kvs);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/c/x", "4", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_watch_run(w, 5000), 0);
	ASSERT_EQ(s.n, 1);
	CHECK_STR(s.ev[0].value, "4");
	hs_etcd_watch_free(w);
	hs_etcd_free(e);
	return HS_PASS;
}

static enum hs_result failover(void)
{
	struct hs_etcd_op put = {
		.type = HS_ETCD_OP_PUT, .key = "/hs-test/f/txn", .value = "1", .value_len = 1};
	struct hs_etcd_txn t = {.success = &put, .n_success = 1};
	struct seen s = {.want = 1};
	struct hs_etcd_watch_opts wo = {.key = "/hs-test/f/w", .fn = on_event, .arg = &s};
	char dead[64], busy[64], deadmsg[96];
	const char *eps[2];
	struct hs_etcd_watch *w;
	struct hs_etcd_kv got;
	struct hs_etcd *e;
	int dfd, port;
	char *resp;
	pid_t fake;
	bool ok;

	NEED_ETCD();
	ASSERT((port = dead_port(&dfd)) > 0);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", port);
	snprintf(deadmsg, sizeof(deadmsg), "on %s failed", dead);
	resp = http_response("503 Service Unavailable",
			     "{\"error\":\"etcdserver: leader changed\",\"message\":"
			     "\"etcdserver: leader changed\",\"code\":14}");
	ASSERT(resp != NULL);
	fake = fake_server(resp, false, &port);
	free(resp);
	ASSERT(fake > 0);
	snprintf(busy, sizeof(busy), "http://127.0.0.1:%d", port);
	log_clear();
	hs_log_set_hook(capture);

	/* a dead first endpoint: the call goes on to the next, which is then
	 * tried first */
	eps[0] = dead;
	eps[1] = main_srv.url;
	e = client(eps, 2);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/f/k", "1", 1, 0, NULL), 0);
	CHECK(log_has(deadmsg));
	CHECK_STR(hs_etcd_endpoint(e), main_srv.url);
	log_clear();
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/f/k", &got, NULL), 0);
	hs_etcd_kv_clear(&got);
	CHECK_EQ(loglen, 0);
	/* a transaction that never left is safe to send elsewhere */
	hs_etcd_free(e);
	e = client(eps, 2);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_txn(e, &t, &ok, NULL), 0);
	CHECK(ok);
	/* a watch starts on the dead one and moves on */
	hs_etcd_free(e);
	e = client(eps, 2);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_watch_new(e, &wo, &w), 0);
	ASSERT_EQ(hs_etcd_watch_run(w, 2000), -ETIMEDOUT); /* connected by now */
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/f/w", "1", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_watch_run(w, 5000), 0);
	CHECK_EQ(s.n, 1);
	hs_etcd_watch_free(w);
	hs_etcd_free(e);

	/* 503: a put goes on to the next endpoint; a transaction does not, it
	 * may have been applied */
	log_clear();
	eps[0] = busy;
	e = client(eps, 2);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/f/k", "2", 1, 0, NULL), 0);
	CHECK(log_has("HTTP 503: etcdserver: leader changed (code 14)"));
	hs_etcd_free(e);
	e = client(eps, 2);
	ASSERT(e != NULL);
	log_clear();
	CHECK_EQ(hs_etcd_txn(e, &t, &ok, NULL), -EAGAIN);
	CHECK(log_has("outcome unknown, not resending it"));
	hs_etcd_free(e);

	/* nothing answers */
	eps[1] = dead;
	e = client(eps, 2);
	ASSERT(e != NULL);
	log_clear();
	CHECK_EQ(hs_etcd_get(e, "/hs-test/f/k", &got, NULL), -ECONNREFUSED);
	CHECK(log_has("failed on all 2 endpoints"));
	CHECK(log_has(dead));
	hs_etcd_free(e);
	e = client1(busy);
	ASSERT(e != NULL);
	CHECK_EQ(hs_etcd_put(e, "/hs-test/f/k", "2", 1, 0, NULL), -EAGAIN);
	hs_etcd_free(e);

	stop_child(fake);
	close(dfd);
	return HS_PASS;
}

static enum hs_result bad_answers(void)
{
	static const char *const bodies[] = {
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"not base64!\"}],"
		"\"count\":\"1\"}",
		"{\"header\":{\"revision\":\"3\"}",
		"null",
	};
	struct hs_etcd_opts o = {.n_endpoints = 1, .max_response_bytes = 1024};
	char url[64], big[4096];
	struct hs_etcd_kv got;
	const char *eps[1];
	struct hs_etcd *e;
	char *resp;
	pid_t fake;
	int port;

	ASSERT_EQ(setup_once(), 0);
	log_clear();
	hs_log_set_hook(capture);
	for (unsigned int i = 0; i < HS_ARRAY_SIZE(bodies); i++) {
		resp = http_response("200 OK", bodies[i]);
		ASSERT(resp != NULL);
		fake = fake_server(resp, false, &port);
		free(resp);
		ASSERT(fake > 0);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
		e = client1(url);
		ASSERT(e != NULL);
		log_clear();
		CHECK_EQ(hs_etcd_get(e, "k", &got, NULL), -EPROTO);
		CHECK(log_has("bad answer"));
		CHECK(log_has(url));
		hs_etcd_free(e);
		stop_child(fake);
	}

	/* longer than max_response_bytes */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "{\"header\":{}}", 13);
	resp = http_response("200 OK", big);
	ASSERT(resp != NULL);
	fake = fake_server(resp, false, &port);
	free(resp);
	ASSERT(fake > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	eps[0] = url;
	o.endpoints = eps;
	e = hs_etcd_new(&o);
	ASSERT(e != NULL);
	log_clear();
	CHECK_EQ(hs_etcd_put(e, "k", "v", 1, 0, NULL), -EMSGSIZE);
	CHECK(log_has("longer than 1024 bytes"));
	hs_etcd_free(e);
	stop_child(fake);
	return HS_PASS;
}

/* A fake watch stream, dripped 7 bytes at a time so messages arrive in
 * pieces, then closed; every reconnect gets the same events again, and the
 * watch must not deliver them twice. A bad line makes it reconnect. */
static enum hs_result watch_stream(void)
{
	static const char stream[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
		"{\"result\":{\"header\":{\"revision\":\"10\"},\"created\":true}}\n"
		"{\"result\":{\"header\":{\"revision\":\"10\"},\"events\":[{\"kv\":{\"key\":"
		"\"YQ==\",\"mod_revision\":\"9\",\"value\":\"MQ==\"}},{\"type\":\"DELETE\","
		"\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"10\"}}]}}\n"
		"\n"
		"{\"result\":{\"header\":{\"revision\":\"12\"}}}\n"
		"{\"result\":{\"header\":{\"revision\":oops}}\n";
	struct seen s = {.want = 100};
	struct hs_etcd_watch_opts wo = {
		.key = "", .prefix = true, .start_revision = 5, .fn = on_event, .arg = &s};
	struct hs_etcd_watch *w;
	struct hs_etcd *e;
	char url[64];
	pid_t fake;
	int port;

	ASSERT_EQ(setup_once(), 0);
	fake = fake_server(stream, true, &port);
	ASSERT(fake > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	e = client1(url);
	ASSERT(e != NULL);
	log_clear();
	hs_log_set_hook(capture);
	ASSERT_EQ(hs_etcd_watch_new(e, &wo, &w), 0);
	CHECK_EQ(hs_etcd_watch_run(w, 1500), -ETIMEDOUT);
	ASSERT_EQ(s.n, 2);
	CHECK_STR(s.ev[0].key, "a");
	CHECK_STR(s.ev[0].value, "1");
	CHECK_EQ(s.ev[1].type, HS_ETCD_WATCH_DELETE);
	CHECK_STR(s.ev[1].key, "b");
	/* the progress notification moved the resume point past 12 */
	CHECK_EQ(hs_etcd_watch_next_revision(w), 13);
	CHECK(log_has("bad message"));
	hs_etcd_watch_free(w);
	hs_etcd_free(e);
	stop_child(fake);
	return HS_PASS;
}

/* TLS with client certificates, if openssl(1) is there to make them. */
static enum hs_result tls(void)
{
	static const char gen[] =
		"cd %s && exec >openssl.log 2>&1 && "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout ca.key -out ca.crt -days 1 -subj /CN=hs-test-ca && "
		/* etcd's gateway dials etcd with the server certificate */
		"for n in server client; do eku=clientAuth; [ $n = server ] && "
		"eku=serverAuth,$eku; "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout $n.key -out $n.csr -subj /CN=hs-test-$n && "
		"printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=%%s\\n' $eku > $n.ext && "
		"openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		"-days 1 -extfile $n.ext -out $n.crt || exit 1; done";
	char cmd[1024], ca[128], crt[128], key[128];
	struct hs_etcd_opts o = {.n_endpoints = 1, .connect_timeout_ms = 1000};
	const char *eps[1];
	struct hs_etcd_kv got;
	struct hs_etcd *e;

	if (!have_etcd())
		HS_SKIP_BECAUSE("etcd binary not found (Debian: apt-get install etcd-server)");
	if (system("command -v openssl >/dev/null"))
		HS_SKIP_BECAUSE("openssl(1) not found to make test certificates");
	ASSERT_EQ(setup_once(), 0);
	snprintf(cmd, sizeof(cmd), gen, tmpdir);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_EQ(start_etcd(&tls_srv), 0);
	eps[0] = tls_srv.url;
	o.endpoints = eps;
	tls_paths(&o, ca, crt, key, sizeof(ca));
	e = hs_etcd_new(&o);
	ASSERT(e != NULL);
	ASSERT_EQ(hs_etcd_put(e, "/hs-test/tls", "1", 1, 0, NULL), 0);
	ASSERT_EQ(hs_etcd_get(e, "/hs-test/tls", &got, NULL), 0);
	CHECK_STR(got.value, "1");
	hs_etcd_kv_clear(&got);
	hs_etcd_free(e);

	log_clear();
	hs_log_set_hook(capture);
	/* no client certificate: the server refuses the handshake */
	o.cert_file = o.key_file = NULL;
	e = hs_etcd_new(&o);
	ASSERT(e != NULL);
	CHECK(hs_etcd_get(e, "/hs-test/tls", &got, NULL) < 0);
	CHECK(log_has(tls_srv.url));
	hs_etcd_free(e);
	/* no CA: the server is not trusted */
	log_clear();
	tls_paths(&o, ca, crt, key, sizeof(ca));
	o.ca_file = NULL;
	e = hs_etcd_new(&o);
	ASSERT(e != NULL);
	CHECK(hs_etcd_get(e, "/hs-test/tls", &got, NULL) < 0);
	CHECK(log_has("certificate"));
	hs_etcd_free(e);
	stop_etcd(&tls_srv);
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"parse_valid", parse_valid},
	{"parse_malformed", parse_malformed},
	{"options", options},
	{"kv", kv},
	{"txn", txn},
	{"lease", lease},
	{"watch_restart", watch_restart},
	{"compaction", compaction},
	{"failover", failover},
	{"bad_answers", bad_answers},
	{"watch_stream", watch_stream},
	{"tls", tls},
};
HS_TEST_MAIN("lib/etcd", tests)
