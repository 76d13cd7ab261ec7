// SPDX-License-Identifier: GPL-2.0
/*
 * etcd v3 client over the HTTP/JSON gateway. Requests are built with json-c
 * and sent with libcurl; every answer goes through hs_etcd_parse. A watch is
 * one long POST /v3/watch answer carrying one JSON message per line, driven
 * by a curl multi handle whose sockets and timer sit in one epoll fd.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/log.h"

#define DEF_CONNECT_TIMEOUT_MS 2000
#define DEF_REQUEST_TIMEOUT_MS 5000
#define DEF_MAX_RESPONSE (64u << 20)
#define MAX_ENDPOINT_LEN 256
#define JSON_MAX_DEPTH 16 /* the gateway's answers nest 6 deep */
#define MSG_MAX 512 /* server messages are cut here for the logs */
#define WATCH_BACKOFF_MIN_MS 50
#define WATCH_BACKOFF_MAX_MS 2000

/* ---- growable byte buffer with a cap ---- */

struct buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	bool overflow;
};

static int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n > b->max - b->len) {
		b->overflow = true;
		return -EMSGSIZE;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n)
			cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- base64 (OpenSSL's codec; the checks make decoding strict) ---- */

static char *b64_encode(const void *data, size_t len)
{
	char *out;

	if (len > INT_MAX / 4 * 3 - 3)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static bool b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Padded standard alphabet only (what Go's encoding/json writes). The output
 * is NUL-terminated. */
static int b64_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	size_t pad = 0, n = len / 4 * 3;
	char *p;

	if (len % 4 || len > INT_MAX)
		return -EPROTO;
	if (len && in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_char((unsigned char)in[i]))
			return -EPROTO;
	p = malloc(n + 1);
	if (!p)
		return -ENOMEM;
	if (len &&
	    EVP_DecodeBlock((unsigned char *)p, (const unsigned char *)in, (int)len) != (int)n) {
		free(p);
		return -EPROTO;
	}
	n -= pad;
	p[n] = '\0';
	*out = p;
	*out_len = n;
	return 0;
}

/* ---- the response parser ---- */

static int bad(struct hs_etcd_resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct hs_etcd_resp *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* Proto3 JSON: an absent or null field is the default value. */
static json_object *field(json_object *o, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static int j_obj(struct hs_etcd_resp *r, json_object *o, const char *name, bool required,
		 json_object **out)
{
	json_object *v = field(o, name);

	*out = NULL;
	if (!v)
		return required ? bad(r, "%s missing", name) : 0;
	if (!json_object_is_type(v, json_type_object))
		return bad(r, "%s is not an object", name);
	*out = v;
	return 0;
}

static int j_array(struct hs_etcd_resp *r, json_object *o, const char *name, json_object **out)
{
	json_object *v = field(o, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(r, "%s is not an array", name);
	*out = v;
	return 0;
}

/* int64 fields are decimal strings in proto3 JSON. */
static int j_i64(struct hs_etcd_resp *r, json_object *o, const char *name, int64_t min,
		 int64_t *out, bool *present)
{
	json_object *v = field(o, name);
	const char *s;
	long long x;
	size_t n, i;
	char *end;

	*out = 0;
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(r, "%s is not a string", name);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	i = s[0] == '-';
	if (n <= i || n > 20)
		return bad(r, "%s is not an int64", name);
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return bad(r, "%s is not an int64", name);
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end != s + n)
		return bad(r, "%s is not an int64", name);
	if (x < min)
		return bad(r, "%s out of range", name);
	*out = x;
	return 0;
}

static int j_int(struct hs_etcd_resp *r, json_object *o, const char *name, int *out)
{
	json_object *v = field(o, name);
	int64_t x;

	*out = 0;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return bad(r, "%s is not an integer", name);
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < INT32_MIN || x > INT32_MAX)
		return bad(r, "%s out of range", name);
	*out = (int)x;
	return 0;
}

static int j_bool(struct hs_etcd_resp *r, json_object *o, const char *name, bool *out)
{
	json_object *v = field(o, name);

	*out = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(r, "%s is not a boolean", name);
	*out = json_object_get_boolean(v);
	return 0;
}

/* A text field for the logs: cut at MSG_MAX, control characters replaced so
 * a server cannot forge log lines. */
static int j_text(struct hs_etcd_resp *r, json_object *o, const char *name, char **out)
{
	json_object *v = field(o, name);
	size_t n;
	char *s;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(r, "%s is not a string", name);
	n = (size_t)json_object_get_string_len(v);
	if (n > MSG_MAX)
		n = MSG_MAX;
	s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, json_object_get_string(v), n);
	s[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
	free(*out);
	*out = s;
	return 0;
}

static int j_bytes(struct hs_etcd_resp *r, json_object *o, const char *name, bool required,
		   char **out, size_t *len)
{
	json_object *v = field(o, name);
	int ret;

	if (!v) {
		if (required)
			return bad(r, "%s missing", name);
		*out = calloc(1, 1);
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad(r, "%s is not a string", name);
	ret = b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), out,
			 len);
	if (ret == -EPROTO)
		return bad(r, "%s is not base64", name);
	return ret;
}

static int parse_kv(struct hs_etcd_resp *r, json_object *o, struct hs_etcd_kv *kv)
{
	int ret;

	if (!json_object_is_type(o, json_type_object))
		return bad(r, "kv is not an object");
	if ((ret = j_bytes(r, o, "key", true, &kv->key, &kv->key_len)) ||
	    (ret = j_bytes(r, o, "value", false, &kv->value, &kv->value_len)) ||
	    (ret = j_i64(r, o, "create_revision", 0, &kv->create_revision, NULL)) ||
	    (ret = j_i64(r, o, "mod_revision", 0, &kv->mod_revision, NULL)) ||
	    (ret = j_i64(r, o, "version", 0, &kv->version, NULL)) ||
	    (ret = j_i64(r, o, "lease", 0, &kv->lease, NULL)))
		return ret;
	if (!kv->key_len)
		return bad(r, "kv with an empty key");
	return 0;
}

static int parse_kvs(struct hs_etcd_resp *r, json_object *o)
{
	json_object *arr;
	size_t n;
	int ret;

	if ((ret = j_array(r, o, "kvs", &arr)) || !arr)
		return ret;
	n = json_object_array_length(arr);
	if (!n)
		return 0;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (!r->kvs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r->n_kvs = i + 1;
		ret = parse_kv(r, json_object_array_get_idx(arr, i), &r->kvs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_events(struct hs_etcd_resp *r, json_object *o)
{
	json_object *arr, *ev, *type, *kv;
	size_t n;
	int ret;

	if ((ret = j_array(r, o, "events", &arr)) || !arr)
		return ret;
	n = json_object_array_length(arr);
	if (!n)
		return 0;
	r->events = calloc(n, sizeof(*r->events));
	if (!r->events)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct hs_etcd_event *e = &r->events[i];

		r->n_events = i + 1;
		ev = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(ev, json_type_object))
			return bad(r, "event is not an object");
		/* PUT is the enum's zero: the gateway leaves it out. */
		type = field(ev, "type");
		if (!type || (json_object_is_type(type, json_type_string) &&
			      !strcmp(json_object_get_string(type), "PUT")))
			e->type = HS_ETCD_WATCH_PUT;
		else if (json_object_is_type(type, json_type_string) &&
			 !strcmp(json_object_get_string(type), "DELETE"))
			e->type = HS_ETCD_WATCH_DELETE;
		else
			return bad(r, "event type is not PUT or DELETE");
		if ((ret = j_obj(r, ev, "kv", true, &kv)) || (ret = parse_kv(r, kv, &e->kv)))
			return ret;
		if (e->kv.mod_revision <= 0)
			return bad(r, "event without a mod_revision");
	}
	return 0;
}

/* {"error": "text", "message": "text", "code": N} from a unary call, or
 * {"error": {"grpc_code": N, "message": "text", ...}} inside a stream. */
static int parse_error(struct hs_etcd_resp *r, json_object *root)
{
	json_object *err = field(root, "error"), *o = root;
	bool has_code = false;
	int ret;

	if (err && json_object_is_type(err, json_type_object)) {
		o = err;
		has_code = field(o, "grpc_code") != NULL;
		ret = j_int(r, o, "grpc_code", &r->code);
	} else {
		has_code = field(o, "code") != NULL;
		ret = j_int(r, o, "code", &r->code);
		if (!ret && err)
			ret = j_text(r, o, "error", &r->message);
	}
	if (!ret)
		ret = j_text(r, o, "message", &r->message);
	if (ret)
		return ret;
	if (!has_code && !r->message)
		return bad(r, "error without code or message");
	return 0;
}

static int parse_body(enum hs_etcd_msg kind, json_object *root, struct hs_etcd_resp *r)
{
	json_object *o = root, *hdr, *unused;
	bool present;
	int ret;

	if (kind == HS_ETCD_MSG_ERROR)
		return parse_error(r, root);
	if (kind == HS_ETCD_MSG_LEASE_KEEPALIVE || kind == HS_ETCD_MSG_WATCH) {
		if (!field(root, "result") && field(root, "error")) {
			ret = parse_error(r, root);
			return ret ? ret : -EREMOTEIO;
		}
		if ((ret = j_obj(r, root, "result", true, &o)))
			return ret;
	}
	if ((ret = j_obj(r, o, "header", true, &hdr)) ||
	    (ret = j_i64(r, hdr, "revision", 0, &r->revision, NULL)))
		return ret;

	switch (kind) {
	case HS_ETCD_MSG_RANGE:
		if ((ret = parse_kvs(r, o)) || (ret = j_i64(r, o, "count", 0, &r->count, NULL)) ||
		    (ret = j_bool(r, o, "more", &r->more)))
			return ret;
		if ((uint64_t)r->count < r->n_kvs)
			return bad(r, "count below the number of kvs");
		return 0;
	case HS_ETCD_MSG_DELETE:
		return j_i64(r, o, "deleted", 0, &r->deleted, NULL);
	case HS_ETCD_MSG_TXN:
		/* The branch's own answers are not returned; check their type. */
		if ((ret = j_bool(r, o, "succeeded", &r->succeeded)))
			return ret;
		return j_array(r, o, "responses", &unused);
	case HS_ETCD_MSG_LEASE_GRANT:
		if ((ret = j_text(r, o, "error", &r->message)))
			return ret;
		if (r->message && r->message[0])
			return -EREMOTEIO;
		if ((ret = j_i64(r, o, "ID", 1, &r->lease_id, &present)))
			return ret;
		if (!present)
			return bad(r, "ID missing");
		if ((ret = j_i64(r, o, "TTL", 1, &r->ttl, &present)))
			return ret;
		if (!present)
			return bad(r, "TTL missing");
		r->has_ttl = true;
		return 0;
	case HS_ETCD_MSG_LEASE_KEEPALIVE:
		if ((ret = j_i64(r, o, "ID", 1, &r->lease_id, &present)))
			return ret;
		if (!present)
			return bad(r, "ID missing");
		/* An expired or unknown lease answers with no TTL (0). */
		if ((ret = j_i64(r, o, "TTL", INT64_MIN, &r->ttl, NULL)))
			return ret;
		r->has_ttl = r->ttl > 0;
		return 0;
	case HS_ETCD_MSG_WATCH:
		if ((ret = j_bool(r, o, "created", &r->created)) ||
		    (ret = j_bool(r, o, "canceled", &r->canceled)) ||
		    (ret = j_i64(r, o, "compact_revision", 0, &r->compact_revision, NULL)) ||
		    (ret = j_text(r, o, "cancel_reason", &r->message)))
			return ret;
		return parse_events(r, o);
	default: /* PUT, COMPACT, LEASE_REVOKE: the header is all */
		return 0;
	}
}

int hs_etcd_parse(enum hs_etcd_msg kind, const char *buf, size_t len, struct hs_etcd_resp *r)
{
	struct json_tokener *tok;
	json_object *root;
	int ret;

	memset(r, 0, sizeof(*r));
	if ((unsigned int)kind >= HS_ETCD_MSG_COUNT)
		return bad(r, "unknown message kind %d", (int)kind);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	if (!len)
		return bad(r, "empty response");
	if (len > INT_MAX) {
		snprintf(r->why, sizeof(r->why), "response of %zu bytes", len);
		return -EMSGSIZE;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (!root && json_tokener_get_error(tok) == json_tokener_success) {
		ret = bad(r, "not a JSON object"); /* null */
	} else if (!root) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		ret = bad(r, "not JSON: %s at byte %zu",
			  jerr == json_tokener_continue ? "truncated"
							: json_tokener_error_desc(jerr),
			  json_tokener_get_parse_end(tok));
	} else if (json_tokener_get_parse_end(tok) != len) {
		ret = bad(r, "trailing bytes at byte %zu", json_tokener_get_parse_end(tok));
	} else if (!json_object_is_type(root, json_type_object)) {
		ret = bad(r, "not a JSON object");
	} else {
		ret = parse_body(kind, root, r);
	}
	json_object_put(root);
	json_tokener_free(tok);
	return ret;
}

void hs_etcd_kv_clear(struct hs_etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void hs_etcd_resp_free(struct hs_etcd_resp *r)
{
	for (size_t i = 0; i < r->n_kvs; i++)
		hs_etcd_kv_clear(&r->kvs[i]);
	for (size_t i = 0; i < r->n_events; i++)
		hs_etcd_kv_clear(&r->events[i].kv);
	free(r->kvs);
	free(r->events);
	free(r->message);
	r->kvs = NULL;
	r->events = NULL;
	r->message = NULL;
	r->n_kvs = r->n_events = 0;
}

void hs_etcd_kvs_free(struct hs_etcd_kvs *kvs)
{
	if (!kvs)
		return;
	for (size_t i = 0; i < kvs->n; i++)
		hs_etcd_kv_clear(&kvs->kvs[i]);
	free(kvs->kvs);
	memset(kvs, 0, sizeof(*kvs));
}

/* ---- client ---- */

struct hs_etcd {
	char **endpoints;
	unsigned int n_endpoints;
	unsigned int cur;
	long connect_timeout_ms;
	long request_timeout_ms;
	char *ca_file;
	char *cert_file;
	char *key_file;
	size_t max_response;
	CURL *curl;
	struct curl_slist *headers;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
};

static int grpc_errno(int code)
{
	switch (code) {
	case 1: /* CANCELLED */
		return -ECANCELED;
	case 3: /* INVALID_ARGUMENT */
	case 9: /* FAILED_PRECONDITION */
		return -EINVAL;
	case 4: /* DEADLINE_EXCEEDED */
		return -ETIMEDOUT;
	case 5: /* NOT_FOUND */
		return -ENOENT;
	case 6: /* ALREADY_EXISTS */
		return -EEXIST;
	case 7: /* PERMISSION_DENIED */
	case 16: /* UNAUTHENTICATED */
		return -EACCES;
	case 8: /* RESOURCE_EXHAUSTED */
		return -ENOSPC;
	case 10: /* ABORTED */
	case 14: /* UNAVAILABLE */
		return -EAGAIN;
	case 11: /* OUT_OF_RANGE: compacted or future revision */
		return -ERANGE;
	case 12: /* UNIMPLEMENTED */
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static int curl_errno(CURLcode rc, bool overflow)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return overflow ? -EMSGSIZE : -EIO;
	default:
		return -EIO;
	}
}

static size_t resp_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hs_etcd *e = arg;

	/* size is 1 (libcurl documents it), so size * nmemb cannot wrap. */
	return buf_append(&e->resp, data, size * nmemb) ? 0 : size * nmemb;
}

/* Options shared by request and watch handles. */
static int setup_curl(struct hs_etcd *e, CURL *c, bool stream)
{
	bool ok = true;

	ok = ok && !curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	ok = ok && !curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
	if (!stream)
		ok = ok && !curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->request_timeout_ms);
	ok = ok && !curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
	ok = ok && !curl_easy_setopt(c, CURLOPT_USERAGENT, "heliostat");
#if LIBCURL_VERSION_NUM >= 0x075500
	ok = ok && !curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	/* A watch can be idle for long: notice a peer that vanished. */
	ok = ok && !curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	ok = ok && !curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
	ok = ok && !curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	if (e->ca_file)
		ok = ok && !curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file)
		ok = ok && !curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert_file);
	if (e->key_file)
		ok = ok && !curl_easy_setopt(c, CURLOPT_SSLKEY, e->key_file);
	return ok ? 0 : -EINVAL;
}

static int copy_file_opt(const char *what, const char *path, char **out)
{
	if (!path)
		return 0;
	if (access(path, R_OK)) {
		int err = hs_neg_errno();

		hs_err("cannot read etcd %s %s: %s", what, path, hs_strerr(err));
		return err;
	}
	*out = strdup(path);
	return *out ? 0 : -ENOMEM;
}

struct hs_etcd *hs_etcd_new_list(const char *list, const struct hs_etcd_opts *base)
{
	struct hs_etcd_opts o = base ? *base : (struct hs_etcd_opts){0};
	char *dup = strdup(list ? list : ""), *tok, *save = NULL;
	const char *eps[16];
	struct hs_etcd *e;

	if (!dup) {
		errno = ENOMEM;
		return NULL;
	}
	o.n_endpoints = 0;
	for (tok = strtok_r(dup, " ,", &save); tok && o.n_endpoints < 16;
	     tok = strtok_r(NULL, " ,", &save))
		eps[o.n_endpoints++] = tok;
	o.endpoints = eps;
	e = hs_etcd_new(&o); /* copies the URLs */
	free(dup);
	return e;
}

struct hs_etcd *hs_etcd_new(const struct hs_etcd_opts *opts)
{
	struct hs_etcd *e;
	int err = -EINVAL;

	if (!opts || !opts->endpoints || !opts->n_endpoints) {
		hs_err("etcd client: no endpoints given");
		errno = EINVAL;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		hs_err("etcd client: cannot initialize libcurl");
		errno = ENOMEM;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_global;
	e->endpoints = calloc(opts->n_endpoints, sizeof(*e->endpoints));
	if (!e->endpoints) {
		err = -ENOMEM;
		goto err_free;
	}
	for (unsigned int i = 0; i < opts->n_endpoints; i++) {
		const char *ep = opts->endpoints[i];
		size_t n;

		if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) ||
		    strlen(ep) > MAX_ENDPOINT_LEN) {
			hs_err("etcd endpoint %s: not an http:// or https:// URL of at most %d "
			       "characters",
			       ep ? ep : "(null)", MAX_ENDPOINT_LEN);
			err = -EINVAL;
			goto err_free;
		}
		e->endpoints[i] = strdup(ep);
		if (!e->endpoints[i]) {
			err = -ENOMEM;
			goto err_free;
		}
		e->n_endpoints = i + 1;
		n = strlen(ep);
		while (n && e->endpoints[i][n - 1] == '/')
			e->endpoints[i][--n] = '\0';
	}
	e->connect_timeout_ms =
		opts->connect_timeout_ms ? opts->connect_timeout_ms : DEF_CONNECT_TIMEOUT_MS;
	e->request_timeout_ms =
		opts->request_timeout_ms ? opts->request_timeout_ms : DEF_REQUEST_TIMEOUT_MS;
	e->max_response = opts->max_response_bytes ? opts->max_response_bytes : DEF_MAX_RESPONSE;
	if ((err = copy_file_opt("CA file", opts->ca_file, &e->ca_file)) ||
	    (err = copy_file_opt("client certificate", opts->cert_file, &e->cert_file)) ||
	    (err = copy_file_opt("client key", opts->key_file, &e->key_file)))
		goto err_free;
	e->resp.max = e->max_response;

	err = -ENOMEM;
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->headers)
		goto err_free;
	/* No "Expect: 100-continue" round trip on larger bodies. */
	if (!curl_slist_append(e->headers, "Expect:"))
		goto err_free;
	e->curl = curl_easy_init();
	if (!e->curl)
		goto err_free;
	if (setup_curl(e, e->curl, false) ||
	    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, resp_write) ||
	    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e) ||
	    curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, e->errbuf)) {
		hs_err("etcd client: cannot set up libcurl (TLS options not supported?)");
		err = -EINVAL;
		goto err_free;
	}
	return e;

err_free:
	hs_etcd_free(e);
	errno = -err;
	return NULL;
err_global:
	curl_global_cleanup();
	errno = ENOMEM;
	return NULL;
}

void hs_etcd_free(struct hs_etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	for (unsigned int i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->resp.p);
	free(e);
	curl_global_cleanup();
}

const char *hs_etcd_endpoint(const struct hs_etcd *e)
{
	return e->endpoints[e->cur];
}

/* One POST to one endpoint. 0 with *status set, or a transport error with
 * *sent telling whether the request may have reached the server. */
static int post_one(struct hs_etcd *e, const char *ep, const char *path, const char *body,
		    long *status, bool *sent)
{
	char url[MAX_ENDPOINT_LEN + 64];
	curl_off_t pretransfer = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", ep, path);
	e->resp.len = 0;
	e->resp.overflow = false;
	e->errbuf[0] = '\0';
	*status = 0;
	*sent = false;
	if (curl_easy_setopt(e->curl, CURLOPT_URL, url) ||
	    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body)))
		return -ENOMEM;
	rc = curl_easy_perform(e->curl);
	if (rc != CURLE_OK) {
		curl_easy_getinfo(e->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
		*sent = pretransfer > 0 && rc != CURLE_COULDNT_CONNECT &&
			rc != CURLE_COULDNT_RESOLVE_HOST && rc != CURLE_SSL_CONNECT_ERROR &&
			rc != CURLE_PEER_FAILED_VERIFICATION;
		if (!e->errbuf[0])
			snprintf(e->errbuf, sizeof(e->errbuf), "%s", curl_easy_strerror(rc));
		return curl_errno(rc, e->resp.overflow);
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* The gateway's error body, for a log line and an errno. */
static int describe_error(struct hs_etcd *e, char *msg, size_t len)
{
	struct hs_etcd_resp r;
	int ret;

	ret = hs_etcd_parse(HS_ETCD_MSG_ERROR, e->resp.p, e->resp.len, &r);
	if (ret)
		snprintf(msg, len, "unreadable error body (%s)", r.why);
	else
		snprintf(msg, len, "%s (code %d)", r.message ? r.message : "no message", r.code);
	ret = ret ? -EIO : grpc_errno(r.code);
	hs_etcd_resp_free(&r);
	return ret;
}

enum call_flags {
	CALL_REPEATABLE = 1, /* safe to send again to another endpoint */
};

/* Sends req to the endpoints in turn until one answers, parses the answer
 * as kind into r (free it whatever the result). */
static int call(struct hs_etcd *e, const char *op, const char *path, json_object *req,
		enum hs_etcd_msg kind, unsigned int flags, struct hs_etcd_resp *r)
{
	const char *body, *ep = NULL;
	char msg[MSG_MAX + 64];
	int ret = -EIO;
	long status;
	bool sent;

	memset(r, 0, sizeof(*r));
	body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!body)
		return -ENOMEM;
	for (unsigned int k = 0; k < e->n_endpoints; k++) {
		unsigned int i = (e->cur + k) % e->n_endpoints;

		ep = e->endpoints[i];
		ret = post_one(e, ep, path, body, &status, &sent);
		if (ret == -EMSGSIZE) {
			hs_err("etcd %s on %s: response longer than %zu bytes", op, ep,
			       e->max_response);
			return ret;
		}
		if (ret) {
			hs_warn("etcd %s on %s failed: %s", op, ep, e->errbuf);
			if (!(flags & CALL_REPEATABLE) && sent) {
				hs_err("etcd %s on %s: outcome unknown, not resending it", op, ep);
				return ret;
			}
			continue;
		}
		if (status >= 500) {
			describe_error(e, msg, sizeof(msg));
			hs_warn("etcd %s on %s: HTTP %ld: %s", op, ep, status, msg);
			ret = -EAGAIN;
			if (!(flags & CALL_REPEATABLE)) {
				hs_err("etcd %s on %s: outcome unknown, not resending it", op, ep);
				return ret;
			}
			continue;
		}
		e->cur = i;
		if (status != 200) {
			ret = describe_error(e, msg, sizeof(msg));
			hs_log(ret == -ENOENT ? HS_LOG_WARN : HS_LOG_ERR,
			       "etcd %s on %s refused: HTTP %ld: %s", op, ep, status, msg);
			return ret;
		}
		ret = hs_etcd_parse(kind, e->resp.p, e->resp.len, r);
		if (ret == -EREMOTEIO)
			hs_err("etcd %s on %s: error in answer: %s", op, ep,
			       r->message ? r->message : "no message");
		else if (ret)
			hs_err("etcd %s on %s: bad answer: %s", op, ep,
			       ret == -ENOMEM ? hs_strerr(ret) : r->why);
		return ret;
	}
	if (e->n_endpoints > 1)
		hs_err("etcd %s failed on all %u endpoints, last %s: %s", op, e->n_endpoints, ep,
		       hs_strerr(ret));
	else
		hs_err("etcd %s on %s failed: %s", op, ep, hs_strerr(ret));
	return ret;
}

/* ---- request building ---- */

static int j_add(json_object *o, const char *name, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, name, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int j_add_array(json_object *arr, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(arr, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_bytes(json_object *o, const char *name, const void *data, size_t len)
{
	char *s = b64_encode(data, len);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = j_add(o, name, json_object_new_string(s));
	free(s);
	return ret;
}

static int add_i64(json_object *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return j_add(o, name, json_object_new_string(s));
}

/* "key" and, for a prefix, "range_end": the key with its last byte below
 * 0xff incremented and the rest cut. The empty prefix (all keys) is key
 * "\0" with range end "\0", etcd's spelling of "from the first key on". */
static int add_key_range(json_object *o, const char *key, bool prefix)
{
	size_t len = strlen(key), n;
	char *end;
	int ret;

	if (prefix && !len) {
		ret = add_bytes(o, "key", "", 1);
		return ret ? ret : add_bytes(o, "range_end", "", 1);
	}
	if ((ret = add_bytes(o, "key", key, len)) || !prefix)
		return ret;
	end = strdup(key);
	if (!end)
		return -ENOMEM;
	for (n = len; n > 0; n--) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			break;
		}
	}
	ret = n ? add_bytes(o, "range_end", end, n) : add_bytes(o, "range_end", "", 1);
	free(end);
	return ret;
}

static json_object *new_req(void)
{
	return json_object_new_object();
}

/* ---- key-value ---- */

int hs_etcd_get(struct hs_etcd *e, const char *key, struct hs_etcd_kv *kv, int64_t *revision)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	memset(kv, 0, sizeof(*kv));
	if (!req || (ret = add_key_range(req, key, false)))
		goto out_req;
	ret = call(e, "range", "/v3/kv/range", req, HS_ETCD_MSG_RANGE, CALL_REPEATABLE, &r);
	if (!ret && r.n_kvs > 1) {
		hs_err("etcd range on %s: %zu keys for one", hs_etcd_endpoint(e), r.n_kvs);
		ret = -EPROTO;
	} else if (!ret && r.n_kvs == 1 &&
		   (r.kvs[0].key_len != strlen(key) ||
		    memcmp(r.kvs[0].key, key, r.kvs[0].key_len))) {
		hs_err("etcd range on %s: answered another key", hs_etcd_endpoint(e));
		ret = -EPROTO;
	}
	if (!ret) {
		if (revision)
			*revision = r.revision;
		if (r.n_kvs) {
			*kv = r.kvs[0];
			memset(&r.kvs[0], 0, sizeof(r.kvs[0]));
		} else {
			ret = -ENOENT;
		}
	}
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_get_prefix(struct hs_etcd *e, const char *prefix, int64_t at_revision,
		       struct hs_etcd_kvs *out)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (at_revision < 0)
		ret = -EINVAL;
	else if (!req || (ret = add_key_range(req, prefix, true)) ||
		 (at_revision && (ret = add_i64(req, "revision", at_revision))))
		goto out_req;
	ret = call(e, "range", "/v3/kv/range", req, HS_ETCD_MSG_RANGE, CALL_REPEATABLE, &r);
	if (!ret) {
		out->kvs = r.kvs;
		out->n = r.n_kvs;
		out->revision = r.revision;
		r.kvs = NULL;
		r.n_kvs = 0;
	}
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_put(struct hs_etcd *e, const char *key, const void *value, size_t value_len,
		int64_t lease, int64_t *revision)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	if (!req || (ret = add_key_range(req, key, false)) ||
	    (ret = add_bytes(req, "value", value, value_len)) ||
	    (lease && (ret = add_i64(req, "lease", lease))))
		goto out_req;
	ret = call(e, "put", "/v3/kv/put", req, HS_ETCD_MSG_PUT, CALL_REPEATABLE, &r);
	if (!ret && revision)
		*revision = r.revision;
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_delete(struct hs_etcd *e, const char *key, bool prefix, int64_t *deleted,
		   int64_t *revision)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	if (!req || (ret = add_key_range(req, key, prefix)))
		goto out_req;
	ret = call(e, "deleterange", "/v3/kv/deleterange", req, HS_ETCD_MSG_DELETE, CALL_REPEATABLE,
		   &r);
	if (!ret && deleted)
		*deleted = r.deleted;
	if (!ret && revision)
		*revision = r.revision;
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_compact(struct hs_etcd *e, int64_t revision, bool physical)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	if (!req || (ret = add_i64(req, "revision", revision)) ||
	    (ret = j_add(req, "physical", json_object_new_boolean(physical))))
		goto out_req;
	ret = call(e, "compaction", "/v3/kv/compaction", req, HS_ETCD_MSG_COMPACT, CALL_REPEATABLE,
		   &r);
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

/* ---- transactions ---- */

static int add_cmp(json_object *arr, const struct hs_etcd_cmp *c)
{
	static const char *const targets[] = {"VERSION", "CREATE", "MOD", "VALUE"};
	static const char *const results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
	static const char *const fields[] = {"version", "create_revision", "mod_revision"};
	json_object *o;
	int ret = -ENOMEM;

	if (!c->key || (unsigned int)c->target >= HS_ARRAY_SIZE(targets) ||
	    (unsigned int)c->op >= HS_ARRAY_SIZE(results) ||
	    (c->target == HS_ETCD_CMP_VALUE && !c->value && c->value_len))
		return -EINVAL;
	o = json_object_new_object();
	if ((ret = j_add_array(arr, o)))
		return ret;
	if ((ret = add_key_range(o, c->key, false)) ||
	    (ret = j_add(o, "target", json_object_new_string(targets[c->target]))) ||
	    (ret = j_add(o, "result", json_object_new_string(results[c->op]))))
		return ret;
	if (c->target == HS_ETCD_CMP_VALUE)
		return add_bytes(o, "value", c->value ? c->value : "", c->value_len);
	return add_i64(o, fields[c->target], c->revision);
}

static int add_op(json_object *arr, const struct hs_etcd_op *op)
{
	json_object *o, *inner;
	int ret = -ENOMEM;

	if (!op->key || (unsigned int)op->type > HS_ETCD_OP_DELETE_PREFIX ||
	    (op->type == HS_ETCD_OP_PUT && !op->value && op->value_len))
		return -EINVAL;
	o = json_object_new_object();
	if ((ret = j_add_array(arr, o)))
		return ret;
	inner = json_object_new_object();
	if ((ret = j_add(o, op->type == HS_ETCD_OP_PUT ? "request_put" : "request_delete_range",
			 inner)) ||
	    (ret = add_key_range(inner, op->key, op->type == HS_ETCD_OP_DELETE_PREFIX)))
		return ret;
	if (op->type != HS_ETCD_OP_PUT)
		return 0;
	if ((ret = add_bytes(inner, "value", op->value ? op->value : "", op->value_len)))
		return ret;
	return op->lease ? add_i64(inner, "lease", op->lease) : 0;
}

int hs_etcd_txn(struct hs_etcd *e, const struct hs_etcd_txn *txn, bool *succeeded,
		int64_t *revision)
{
	json_object *req = new_req(), *cmps, *succ, *fail;
	struct hs_etcd_resp r;
	int ret = -ENOMEM;

	if (!req)
		return -ENOMEM;
	cmps = json_object_new_array();
	succ = json_object_new_array();
	fail = json_object_new_array();
	if ((ret = j_add(req, "compare", cmps)) || (ret = j_add(req, "success", succ)) ||
	    (ret = j_add(req, "failure", fail)))
		goto out_req;
	for (size_t i = 0; i < txn->n_cmps && !ret; i++)
		ret = add_cmp(cmps, &txn->cmps[i]);
	for (size_t i = 0; i < txn->n_success && !ret; i++)
		ret = add_op(succ, &txn->success[i]);
	for (size_t i = 0; i < txn->n_failure && !ret; i++)
		ret = add_op(fail, &txn->failure[i]);
	if (ret) {
		if (ret == -EINVAL)
			hs_err("etcd txn: bad compare or operation");
		goto out_req;
	}
	ret = call(e, "txn", "/v3/kv/txn", req, HS_ETCD_MSG_TXN, 0, &r);
	if (!ret) {
		*succeeded = r.succeeded;
		if (revision)
			*revision = r.revision;
	}
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

/* ---- leases ---- */

int hs_etcd_lease_grant(struct hs_etcd *e, int64_t ttl, int64_t *id, int64_t *granted_ttl)
{
	struct hs_etcd_resp r;
	json_object *req;
	int ret = -ENOMEM;

	if (ttl <= 0)
		return -EINVAL;
	req = new_req();
	if (!req || (ret = add_i64(req, "TTL", ttl)))
		goto out_req;
	ret = call(e, "lease grant", "/v3/lease/grant", req, HS_ETCD_MSG_LEASE_GRANT,
		   CALL_REPEATABLE, &r);
	if (!ret) {
		*id = r.lease_id;
		if (granted_ttl)
			*granted_ttl = r.ttl;
	}
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_lease_keepalive(struct hs_etcd *e, int64_t id, int64_t *ttl)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	if (!req || (ret = add_i64(req, "ID", id)))
		goto out_req;
	ret = call(e, "lease keepalive", "/v3/lease/keepalive", req, HS_ETCD_MSG_LEASE_KEEPALIVE,
		   CALL_REPEATABLE, &r);
	if (!ret && r.lease_id != id) {
		hs_err("etcd lease keepalive on %s: answered for lease %" PRId64 ", not %" PRId64,
		       hs_etcd_endpoint(e), r.lease_id, id);
		ret = -EPROTO;
	} else if (!ret && !r.has_ttl) {
		hs_warn("etcd lease %" PRId64 " lost: keep-alive on %s answered without a TTL", id,
			hs_etcd_endpoint(e));
		ret = -ENOENT;
	} else if (!ret && ttl) {
		*ttl = r.ttl;
	}
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

int hs_etcd_lease_revoke(struct hs_etcd *e, int64_t id)
{
	struct hs_etcd_resp r;
	json_object *req = new_req();
	int ret = -ENOMEM;

	if (!req || (ret = add_i64(req, "ID", id)))
		goto out_req;
	ret = call(e, "lease revoke", "/v3/lease/revoke", req, HS_ETCD_MSG_LEASE_REVOKE,
		   CALL_REPEATABLE, &r);
	hs_etcd_resp_free(&r);
out_req:
	json_object_put(req);
	return ret;
}

/* ---- watches ---- */

enum watch_state {
	W_RUNNING, /* a transfer is attached to the multi handle */
	W_RETRY, /* waiting for retry_at to reconnect */
	W_STOPPED, /* compacted or failed for good: err says which */
};

struct hs_etcd_watch {
	struct hs_etcd *e;
	CURLM *multi;
	CURL *curl;
	int epfd;
	int tfd;
	char *key;
	bool prefix;
	hs_etcd_watch_fn fn;
	void *arg;
	enum watch_state state;
	int err;
	bool attached;
	bool brk;
	unsigned int ep;
	unsigned int failures; /* consecutive, for the logs */
	int64_t next_rev;
	int64_t curl_deadline; /* ms, CLOCK_MONOTONIC; -1: none */
	int64_t retry_at;
	int64_t created_at; /* when this transfer's watch was created; 0: not yet */
	unsigned int backoff_ms;
	long status;
	struct buf in;
	size_t tail; /* start of the unterminated line in in */
	char *body;
	char errbuf[CURL_ERROR_SIZE];
};

static const char *w_ep(const struct hs_etcd_watch *w)
{
	return w->e->endpoints[w->ep];
}

static int w_sock_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct hs_etcd_watch *w = arg;
	struct epoll_event ev = {.data.fd = s};

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (!epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev))
		return 0;
	if (errno == ENOENT && !epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev))
		return 0;
	hs_err("etcd watch: cannot poll socket %d: %s", s, strerror(errno));
	return -1;
}

static int w_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct hs_etcd_watch *w = arg;

	w->curl_deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

/* The one timer: curl's deadline or the reconnect time, whichever is first. */
static void w_arm(struct hs_etcd_watch *w)
{
	struct itimerspec its = {0};
	int64_t t = w->curl_deadline;

	if (w->state == W_RETRY && (t < 0 || w->retry_at < t))
		t = w->retry_at;
	if (t >= 0) {
		if (t < 1)
			t = 1; /* 0 would disarm */
		its.it_value.tv_sec = t / 1000;
		its.it_value.tv_nsec = (t % 1000) * 1000000;
	}
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		hs_err("etcd watch: cannot arm timer: %s", strerror(errno));
}

static size_t w_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hs_etcd_watch *w = arg;
	size_t n = size * nmemb, old = w->in.len;
	const char *nl;

	if (!w->status)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &w->status);
	if (buf_append(&w->in, data, n))
		return 0;
	nl = memrchr(data, '\n', n);
	if (nl)
		w->tail = old + (size_t)(nl - data) + 1;
	if (w->in.len - w->tail > w->e->max_response) {
		w->in.overflow = true;
		return 0;
	}
	return n;
}

static void w_detach(struct hs_etcd_watch *w)
{
	if (w->attached)
		curl_multi_remove_handle(w->multi, w->curl);
	w->attached = false;
	w->in.len = 0;
	w->in.overflow = false;
	w->tail = 0;
	w->status = 0;
}

static void w_stop(struct hs_etcd_watch *w, int err)
{
	w_detach(w);
	w->state = W_STOPPED;
	w->err = err;
}

/* Reconnect to the next endpoint: at once after a stream that worked for a
 * while, else with doubling delays, so endpoints that keep failing (or a
 * server that drops every stream at once) are not hammered. */
static void w_retry(struct hs_etcd_watch *w)
{
	int64_t now = now_ms();

	if (w->created_at && now - w->created_at >= WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = 0;
	w_detach(w);
	w->ep = (w->ep + 1) % w->e->n_endpoints;
	w->retry_at = now + w->backoff_ms;
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : WATCH_BACKOFF_MIN_MS;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
	w->failures++;
	w->state = W_RETRY;
}

static int w_build_body(struct hs_etcd_watch *w)
{
	json_object *req = json_object_new_object(), *cr = json_object_new_object();
	const char *s;
	int ret;

	if (!req || !cr) {
		json_object_put(req);
		json_object_put(cr);
		return -ENOMEM;
	}
	/* progress_notify: an idle watch still learns the current revision,
	 * so a reconnect resumes close to the head. */
	if ((ret = j_add(req, "create_request", cr)) ||
	    (ret = add_key_range(cr, w->key, w->prefix)) ||
	    (w->next_rev && (ret = add_i64(cr, "start_revision", w->next_rev))) ||
	    (ret = j_add(cr, "progress_notify", json_object_new_boolean(1))))
		goto out;
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	free(w->body);
	w->body = s ? strdup(s) : NULL;
	ret = w->body ? 0 : -ENOMEM;
out:
	json_object_put(req);
	return ret;
}

static void w_start(struct hs_etcd_watch *w)
{
	char url[MAX_ENDPOINT_LEN + 16];
	int ret;

	w_detach(w);
	snprintf(url, sizeof(url), "%s/v3/watch", w_ep(w));
	w->errbuf[0] = '\0';
	ret = w_build_body(w);
	if (!ret && (curl_easy_setopt(w->curl, CURLOPT_URL, url) ||
		     curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->body) ||
		     curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(w->body)) ||
		     curl_multi_add_handle(w->multi, w->curl)))
		ret = -ENOMEM;
	if (ret) {
		hs_err("etcd watch of %s on %s: cannot start: %s", w->key, w_ep(w), hs_strerr(ret));
		w_stop(w, ret);
		return;
	}
	w->attached = true;
	w->created_at = 0;
	w->state = W_RUNNING;
}

/* One stream message. Returns true when it ended the transfer. */
static bool w_message(struct hs_etcd_watch *w, const char *line, size_t len)
{
	struct hs_etcd_watch_event ev = {0};
	struct hs_etcd_resp r;
	int64_t next = w->next_rev;
	bool ended = true;
	int ret;

	ret = hs_etcd_parse(HS_ETCD_MSG_WATCH, line, len, &r);
	if (ret == -EREMOTEIO) {
		hs_warn("etcd watch of %s on %s: error %d: %s; reconnecting", w->key, w_ep(w),
			r.code, r.message ? r.message : "no message");
		w_retry(w);
	} else if (ret) {
		hs_err("etcd watch of %s on %s: bad message: %s; reconnecting", w->key, w_ep(w),
		       ret == -ENOMEM ? hs_strerr(ret) : r.why);
		w_retry(w);
	} else if (r.canceled && r.compact_revision > 0) {
		hs_warn("etcd watch of %s on %s: revision %" PRId64
			" compacted (oldest kept %" PRId64 "), the caller must resync",
			w->key, w_ep(w), w->next_rev, r.compact_revision);
		w_stop(w, -ESTALE);
		ev.type = HS_ETCD_WATCH_COMPACTED;
		ev.compact_revision = r.compact_revision;
		w->fn(w, &ev, w->arg);
	} else if (r.canceled) {
		hs_warn("etcd watch of %s on %s canceled: %s; reconnecting", w->key, w_ep(w),
			r.message ? r.message : "no reason given");
		w_retry(w);
	} else {
		ended = false;
		if (r.created) {
			/* "From now" becomes a revision, so a reconnect loses nothing. */
			if (!next && r.revision > 0)
				next = r.revision + 1;
			if (w->failures)
				hs_info("etcd watch of %s on %s: watching from revision %" PRId64
					" after %u failed attempts",
					w->key, w_ep(w), next, w->failures);
			w->created_at = now_ms();
			w->failures = 0;
			w->e->cur = w->ep;
		} else if (!r.n_events && r.revision >= next) {
			/* A progress notification: everything up to header.revision
			 * has been sent. */
			next = r.revision + 1;
		}
		for (size_t i = 0; i < r.n_events; i++) {
			const struct hs_etcd_event *e = &r.events[i];

			/* Never deliver a revision twice, whatever the server sends. */
			if (e->kv.mod_revision < w->next_rev)
				continue;
			ev.type = e->type;
			ev.kv = &e->kv;
			w->fn(w, &ev, w->arg);
			if (e->kv.mod_revision >= next)
				next = e->kv.mod_revision + 1;
		}
		w->next_rev = next;
	}
	hs_etcd_resp_free(&r);
	return ended;
}

static void w_process(struct hs_etcd_watch *w)
{
	size_t start = 0;
	char *nl;

	if (w->state != W_RUNNING || w->status != 200)
		return;
	while ((nl = memchr(w->in.p + start, '\n', w->in.len - start))) {
		const char *line = w->in.p + start;
		size_t len = (size_t)(nl - line);

		start += len + 1;
		if (len && w_message(w, line, len))
			return; /* the buffer went with the transfer */
	}
	memmove(w->in.p, w->in.p + start, w->in.len - start);
	w->in.len -= start;
	w->tail -= start;
}

static void w_done(struct hs_etcd_watch *w)
{
	char msg[MSG_MAX + 64];
	CURLMsg *m;
	CURLcode rc;
	int left;

	while ((m = curl_multi_info_read(w->multi, &left))) {
		if (m->msg != CURLMSG_DONE || m->easy_handle != w->curl || w->state != W_RUNNING)
			continue;
		rc = m->data.result;
		if (w->status && w->status != 200) {
			struct hs_etcd *e = w->e;
			int err;

			/* describe_error reads e->resp: lend it the body. */
			struct buf saved = e->resp;

			e->resp = w->in;
			err = describe_error(e, msg, sizeof(msg));
			e->resp = saved;
			if (w->status >= 500) {
				hs_warn("etcd watch of %s on %s: HTTP %ld: %s; reconnecting",
					w->key, w_ep(w), w->status, msg);
				w_retry(w);
			} else {
				hs_err("etcd watch of %s on %s refused: HTTP %ld: %s", w->key,
				       w_ep(w), w->status, msg);
				w_stop(w, err);
			}
		} else if (rc == CURLE_WRITE_ERROR && w->in.overflow) {
			hs_err("etcd watch of %s on %s: message longer than %zu bytes; "
			       "reconnecting",
			       w->key, w_ep(w), w->e->max_response);
			w_retry(w);
		} else {
			/* Log the first failure; the rest until it works are noise. */
			hs_log(w->failures ? HS_LOG_DEBUG : HS_LOG_WARN,
			       "etcd watch of %s on %s ended: %s; reconnecting from revision "
			       "%" PRId64,
			       w->key, w_ep(w),
			       rc == CURLE_OK ? "server closed the stream"
			       : w->errbuf[0] ? w->errbuf
					      : curl_easy_strerror(rc),
			       w->next_rev);
			w_retry(w);
		}
	}
}

int hs_etcd_watch_new(struct hs_etcd *e, const struct hs_etcd_watch_opts *opts,
		      struct hs_etcd_watch **out)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct hs_etcd_watch *w;
	int err = -ENOMEM;

	*out = NULL;
	if (!opts || !opts->key || !opts->fn || opts->start_revision < 0) {
		hs_err("etcd watch: needs a key, a callback and a revision >= 0");
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->e = e;
	w->epfd = w->tfd = -1;
	w->fn = opts->fn;
	w->arg = opts->arg;
	w->prefix = opts->prefix;
	w->next_rev = opts->start_revision;
	w->ep = e->cur;
	w->curl_deadline = -1;
	w->in.max = SIZE_MAX / 2; /* w_write bounds each line */
	w->key = strdup(opts->key);
	if (!w->key)
		goto err_free;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = w->tfd;
	if (w->epfd < 0 || w->tfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev)) {
		err = hs_neg_errno();
		hs_err("etcd watch: cannot create its poll set: %s", hs_strerr(err));
		goto err_free;
	}
	w->multi = curl_multi_init();
	w->curl = curl_easy_init();
	if (!w->multi || !w->curl)
		goto err_free;
	if (curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, w_sock_cb) ||
	    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w) ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, w_timer_cb) ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w) || setup_curl(e, w->curl, true) ||
	    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, w_write) ||
	    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w) ||
	    curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->errbuf)) {
		hs_err("etcd watch: cannot set up libcurl");
		err = -EINVAL;
		goto err_free;
	}
	w_start(w);
	if (w->state == W_STOPPED) {
		err = w->err;
		goto err_free;
	}
	w_arm(w);
	*out = w;
	return 0;

err_free:
	hs_etcd_watch_free(w);
	return err;
}

void hs_etcd_watch_free(struct hs_etcd_watch *w)
{
	if (!w)
		return;
	w_detach(w);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->tfd >= 0)
		close(w->tfd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->in.p);
	free(w->body);
	free(w->key);
	free(w);
}

int hs_etcd_watch_fd(const struct hs_etcd_watch *w)
{
	return w->epfd;
}

int hs_etcd_watch_dispatch(struct hs_etcd_watch *w)
{
	struct epoll_event evs[8];
	int n, running;

	n = epoll_wait(w->epfd, evs, HS_ARRAY_SIZE(evs), 0);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, flags = 0;
		uint64_t expirations;

		if (fd == w->tfd) {
			if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
				hs_warn("etcd watch: cannot read timer: %s", strerror(errno));
			continue;
		}
		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(w->multi, fd, flags, &running);
	}
	if (w->curl_deadline >= 0 && now_ms() >= w->curl_deadline) {
		w->curl_deadline = -1;
		curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	/* Deliver what arrived before looking at how the transfer ended. */
	w_process(w);
	w_done(w);
	if (w->state == W_RETRY && now_ms() >= w->retry_at)
		w_start(w);
	w_arm(w);
	return w->state == W_STOPPED ? w->err : 0;
}

int hs_etcd_watch_run(struct hs_etcd_watch *w, int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd pfd = {.fd = w->epfd, .events = POLLIN};

	for (;;) {
		int64_t left;

		if (w->brk) {
			w->brk = false;
			return 0;
		}
		if (w->state == W_STOPPED)
			return w->err;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return hs_neg_errno();
		hs_etcd_watch_dispatch(w);
	}
}

void hs_etcd_watch_break(struct hs_etcd_watch *w)
{
	w->brk = true;
}

int hs_etcd_watch_resume(struct hs_etcd_watch *w, int64_t start_revision)
{
	if (w->state != W_STOPPED)
		return -EBUSY;
	if (start_revision < 0)
		return -EINVAL;
	w->next_rev = start_revision;
	w->err = 0;
	w->failures = 0;
	w->backoff_ms = 0;
	w->retry_at = now_ms();
	w->state = W_RETRY;
	w_arm(w);
	return 0;
}

int64_t hs_etcd_watch_next_revision(const struct hs_etcd_watch *w)
{
	return w->next_rev;
}
