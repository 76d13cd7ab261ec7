// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl migrate and hsctl migration: request a live migration of a VM (a
 * pending migrations/<vm> record, which migrated on the source host takes
 * through running and switchover to done or failed), cancel one that has
 * not started, and show, list or follow the record. Following watches the
 * one key from a known revision, so every version migrated writes is seen,
 * in order, even across reconnects.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"

#define FOLLOW_MAX_S (7 * 86400) /* longest --timeout */
#define STALE_S 5 /* migrated writes progress about every second */
#define BAR_WIDTH 20
#define CANCEL_REASON "cancelled by operator"

static const char migrate_usage[] =
	"migrate VM --to HOST [--reason TEXT] [--follow] [--timeout SECONDS]";
static const char show_usage[] = "migration show VM";
static const char follow_usage[] = "migration follow VM [--timeout SECONDS]";
static const char cancel_usage[] = "migration cancel VM";

/* ---- text ---- */

static const char *bytes_text(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < HS_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

int ctl_mig_percent(const struct hs_schema_migration *m)
{
	const struct hs_schema_mig_progress *p = &m->progress;

	if (m->state == HS_SCHEMA_MIG_DONE)
		return 100;
	if (!m->has_progress || !p->memory_total)
		return -1;
	/* both at most 2^53 - 1 (the schema's range): no overflow */
	return (int)((p->memory_total - p->memory_remaining) * 100 / p->memory_total);
}

const char *ctl_mig_progress_text(const struct hs_schema_migration *m, char *buf, size_t len)
{
	const struct hs_schema_mig_progress *p = &m->progress;
	char left[32], total[32], dirty[32];
	int pct = ctl_mig_percent(m), n = 0;

	if (!m->has_progress) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (pct >= 0)
		n = snprintf(buf, len, "%d%% copied, ", pct);
	if (n < 0 || (size_t)n >= len)
		n = 0;
	snprintf(buf + n, len - (size_t)n,
		 "%s of %s left, dirty %s/s, expected downtime %" PRIu64 " ms",
		 bytes_text(p->memory_remaining, left, sizeof(left)),
		 bytes_text(p->memory_total, total, sizeof(total)),
		 bytes_text(p->dirty_rate, dirty, sizeof(dirty)), p->expected_downtime_ms);
	return buf;
}

/* "done (nyc-1 -> fra-1, 42 s): reason" */
static void print_final(const struct hs_schema_migration *m)
{
	printf("migration of vm %s %s (%s -> %s, %" PRIu64 " s)%s%s\n", m->vm,
	       hs_schema_mig_state_name(m->state), m->from, m->to, m->updated - m->started,
	       m->reason[0] ? ": " : "", m->reason);
}

/* "vm web has no migration record", or "no vm 'web'" when that is why. */
static void no_record(const char *vm)
{
	char key[HS_SCHEMA_KEY_MAX];
	struct hs_etcd_kv kv;
	int rc = hs_schema_key_vm(ctl.prefix, vm, key, sizeof(key));

	if (!rc)
		rc = hs_etcd_get(ctl.etcd, key, &kv, NULL);
	if (!rc)
		hs_etcd_kv_clear(&kv);
	if (rc == -ENOENT)
		hs_err("no vm '%s'", vm);
	else
		hs_err("vm %s has no migration record", vm);
}

/* ---- following ---- */

enum follow_state {
	F_WATCHING,
	F_FINAL, /* the record reached done, failed or cancelled */
	F_GONE, /* the record was deleted */
	F_RESYNC, /* the watch's history was compacted: read again */
};

struct follow {
	const char *vm;
	const char *key;
	bool tty;
	bool line_open; /* a progress bar is drawn, without its newline */
	bool said_hosts; /* "vm web: a1 -> b1" is on the screen */
	char drawn[512]; /* the bar as drawn last */
	bool have; /* m is the last readable version */
	struct hs_schema_migration m;
	int64_t seen_rev; /* mod_revision of the last version handled */
	enum follow_state st;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Finishes a progress bar line before anything else is printed. */
static void end_line(struct follow *f)
{
	if (f->line_open)
		putchar('\n');
	f->line_open = false;
	fflush(stdout);
}

/* One line that fits the terminal: overwritten in place, so it must not wrap. */
static void draw_bar(struct follow *f)
{
	const struct hs_schema_migration *m = &f->m;
	const struct hs_schema_mig_progress *p = &m->progress;
	uint64_t now = (uint64_t)time(NULL);
	int pct = ctl_mig_percent(m), cols = 80, n = 0;
	char line[512], bar[BAR_WIDTH + 1], dirty[32];
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		cols = ws.ws_col;
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = pct >= 0 && i < pct * BAR_WIDTH / 100 ? '#' : '-';
	bar[BAR_WIDTH] = '\0';
	if (!f->said_hosts) {
		end_line(f);
		printf("vm %s: %s -> %s\n", m->vm, m->from, m->to);
		f->said_hosts = true;
	}
	n = snprintf(line, sizeof(line), "%s %-10s [%s] ", m->vm,
		     hs_schema_mig_state_name(m->state), bar);
	if (pct >= 0)
		n += snprintf(line + n, sizeof(line) - n, "%3d%%", pct);
	else
		n += snprintf(line + n, sizeof(line) - n, "%4s", "-");
	if (m->has_progress)
		n += snprintf(line + n, sizeof(line) - n, "  dirty %s/s  downtime %" PRIu64 " ms",
			      bytes_text(p->dirty_rate, dirty, sizeof(dirty)),
			      p->expected_downtime_ms);
	if (now > m->started)
		n += snprintf(line + n, sizeof(line) - n, "  %" PRIu64 ":%02" PRIu64,
			      (now - m->started) / 60, (now - m->started) % 60);
	if (m->state == HS_SCHEMA_MIG_PENDING && now > m->updated + STALE_S)
		snprintf(line + n, sizeof(line) - n, "  (waiting for migrated on %s)", m->from);
	else if (!ctl_mig_final(m->state) && now > m->updated + STALE_S)
		snprintf(line + n, sizeof(line) - n, "  (no update for %" PRIu64 " s)",
			 now - m->updated);
	line[cols - 1 < (int)sizeof(line) ? cols - 1 : (int)sizeof(line) - 1] = '\0';
	if (f->line_open && !strcmp(line, f->drawn))
		return;
	snprintf(f->drawn, sizeof(f->drawn), "%s", line);
	printf("\r%s\033[K", line);
	f->line_open = true;
	fflush(stdout);
}

/* One version of the record: shown as JSON, a bar or a line. */
static void on_version(struct follow *f, const struct hs_etcd_kv *kv)
{
	struct hs_schema_migration m;
	enum hs_log_level level = hs_log_get_level();
	char why[320], text[256];
	char *json = NULL;
	int rc;

	if (kv->mod_revision <= f->seen_rev)
		return; /* already handled (a resync reads the last one again) */
	f->seen_rev = kv->mod_revision;
	/* the parser logs why at warning level: say it after the bar's line */
	hs_log_set_level(HS_LOG_ERR);
	rc = hs_schema_parse_migration(kv->key, kv->value, kv->value_len, &m, why, sizeof(why));
	hs_log_set_level(level);
	if (rc) {
		end_line(f);
		hs_warn("%s; still following", why);
		return;
	}
	if (f->have && !hs_schema_mig_next_ok(f->m.state, m.state)) {
		end_line(f);
		hs_warn("%s: went from %s to %s, which docs/schema.md does not allow", kv->key,
			hs_schema_mig_state_name(f->m.state), hs_schema_mig_state_name(m.state));
	}
	f->m = m;
	f->have = true;
	if (ctl_mig_final(m.state))
		f->st = F_FINAL;
	if (ctl.json) {
		if (!hs_schema_encode_migration(&m, &json))
			puts(json);
		free(json);
		fflush(stdout);
	} else if (f->tty) {
		draw_bar(f);
	} else {
		printf("%s: %s (%s -> %s)", m.vm, hs_schema_mig_state_name(m.state), m.from, m.to);
		if (m.has_progress)
			printf(": %s", ctl_mig_progress_text(&m, text, sizeof(text)));
		putchar('\n');
		fflush(stdout);
	}
}

static void on_event(struct hs_etcd_watch *w, const struct hs_etcd_watch_event *ev, void *arg)
{
	struct follow *f = arg;

	if (f->st != F_WATCHING)
		return; /* the rest of a batch after the end */
	switch (ev->type) {
	case HS_ETCD_WATCH_PUT:
		on_version(f, ev->kv);
		break;
	case HS_ETCD_WATCH_DELETE:
		f->st = F_GONE;
		break;
	case HS_ETCD_WATCH_COMPACTED:
		f->st = F_RESYNC;
		break;
	}
}

/* Reads the record (shown if it is news): 0 with *revision set, or -errno
 * (-ENOENT: gone, not logged). */
static int follow_read(struct follow *f, int64_t *revision)
{
	struct hs_etcd_kv kv;
	int rc = hs_etcd_get(ctl.etcd, f->key, &kv, revision);

	if (rc == -ENOENT)
		return rc;
	if (rc) {
		end_line(f);
		return ctl_etcd_failed("read the migration record", rc);
	}
	on_version(f, &kv);
	hs_etcd_kv_clear(&kv);
	return 0;
}

/* How following ended, as the exit status; timed_out: after timeout_s. */
static int follow_end(struct follow *f, bool timed_out, uint64_t timeout_s)
{
	end_line(f);
	if (f->st == F_FINAL) {
		if (!ctl.json)
			print_final(&f->m);
		return f->m.state == HS_SCHEMA_MIG_DONE ? CTL_OK : CTL_ERR;
	}
	if (f->st == F_GONE) {
		hs_err("%s was deleted; stopped following", f->key);
		return CTL_ERR;
	}
	if (stop_signal && !timed_out)
		hs_err("stopped following the migration of vm %s (%s); it goes on: "
		       "hsctl migration follow %s",
		       f->vm, f->have ? hs_schema_mig_state_name(f->m.state) : "unreadable", f->vm);
	else if (timed_out)
		hs_err("migration of vm %s is still %s after %" PRIu64 " s; stopped following "
		       "(it goes on: hsctl migration follow %s)",
		       f->vm, f->have ? hs_schema_mig_state_name(f->m.state) : "unreadable",
		       timeout_s, f->vm);
	return CTL_ERR;
}

/*
 * Shows every version of migrations/<vm> from revision from_rev on (0: the
 * current one first) until it is final, deleted, timeout_s passes (0:
 * never) or a signal comes. The exit status: 0 if it ended done.
 */
static int follow_run(const char *vm, const char *key, int64_t from_rev, uint64_t timeout_s)
{
	/* migrate has said where from and where to */
	struct follow f = {
		.vm = vm, .key = key, .tty = isatty(STDOUT_FILENO), .said_hosts = from_rev != 0};
	struct hs_etcd_watch_opts wo = {.key = key, .fn = on_event, .arg = &f};
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, orig;
	int64_t deadline = timeout_s ? mono_ms() + (int64_t)timeout_s * 1000 : 0, rev;
	struct hs_etcd_watch *w = NULL;
	bool timed_out = false;
	struct pollfd pfd;
	int rc;

	if (!from_rev) {
		rc = follow_read(&f, &rev);
		if (rc == -ENOENT)
			no_record(vm);
		if (rc)
			return CTL_ERR;
		if (f.st == F_FINAL)
			return follow_end(&f, false, 0);
		from_rev = rev + 1;
	}
	/* SIGINT and SIGTERM arrive only inside ppoll, so none is missed
	 * between the loop's check and the wait */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	wo.start_revision = from_rev;
	rc = hs_etcd_watch_new(ctl.etcd, &wo, &w);
	if (rc) {
		ctl_etcd_failed("watch the migration record", rc);
		return CTL_ERR;
	}
	pfd = (struct pollfd){.fd = hs_etcd_watch_fd(w), .events = POLLIN};
	while (!stop_signal && (f.st == F_WATCHING || f.st == F_RESYNC)) {
		int64_t wait_ms = f.tty && f.line_open ? 1000 : -1;
		struct timespec ts;

		if (f.st == F_RESYNC) {
			/* the history is gone: the current record, then on from there */
			rc = follow_read(&f, &rev);
			if (rc == -ENOENT)
				f.st = F_GONE;
			else if (rc)
				goto failed;
			else if (f.st == F_RESYNC)
				f.st = F_WATCHING;
			if (f.st == F_WATCHING && (rc = hs_etcd_watch_resume(w, rev + 1))) {
				hs_err("cannot watch %s again: %s", key, hs_strerr(rc));
				goto failed;
			}
			continue;
		}
		if (deadline) {
			int64_t left = deadline - mono_ms();

			if (left <= 0) {
				timed_out = true;
				break;
			}
			if (wait_ms < 0 || left < wait_ms)
				wait_ms = left;
		}
		ts = (struct timespec){.tv_sec = wait_ms / 1000,
				       .tv_nsec = wait_ms % 1000 * 1000000};
		if (ppoll(&pfd, 1, wait_ms < 0 ? NULL : &ts, &orig) < 0 && errno != EINTR) {
			hs_err("cannot wait for the etcd watch: %s", hs_strerr(hs_neg_errno()));
			goto failed;
		}
		rc = hs_etcd_watch_dispatch(w);
		if (rc == -ESTALE) {
			f.st = F_RESYNC;
		} else if (rc) {
			end_line(&f);
			hs_err("the watch of %s stopped: %s", key, hs_strerr(rc));
			goto failed;
		}
		if (f.st == F_WATCHING && f.tty && f.line_open && !ctl.json)
			draw_bar(&f); /* the clock and the staleness move on */
	}
	hs_etcd_watch_free(w);
	return follow_end(&f, timed_out, timeout_s);
failed:
	end_line(&f);
	hs_etcd_watch_free(w);
	return CTL_ERR;
}

/* --timeout SECONDS for following; 0 when absent. */
static int parse_follow_timeout(const char *s, uint64_t *out)
{
	*out = 0;
	return s ? ctl_parse_uint("--timeout", s, 1, FOLLOW_MAX_S, out) : 0;
}

/* ---- commands ---- */

int ctl_cmd_migrate(int argc, char **argv)
{
	enum { O_TO = 1, O_REASON, O_FOLLOW, O_TIMEOUT };
	static const struct option opts[] = {{"to", required_argument, NULL, O_TO},
					     {"reason", required_argument, NULL, O_REASON},
					     {"follow", no_argument, NULL, O_FOLLOW},
					     {"timeout", required_argument, NULL, O_TIMEOUT},
					     {NULL, 0, NULL, 0}};
	char vkey[HS_SCHEMA_KEY_MAX], mkey[HS_SCHEMA_KEY_MAX], why[320];
	struct hs_schema_migration r = {.state = HS_SCHEMA_MIG_PENDING};
	const struct ctl_rec *vm, *host, *mig;
	struct ctl_txn t = {0};
	struct ctl_args a;
	struct ctl_snap s;
	uint64_t timeout;
	int64_t revision;
	char *json = NULL;
	bool follow, ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, migrate_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], r.vm))
		return CTL_USAGE;
	if (!a.val[O_TO - 1]) {
		hs_err("migrate: --to is required; usage: hsctl %s", migrate_usage);
		return CTL_USAGE;
	}
	follow = a.val[O_FOLLOW - 1];
	if (a.val[O_TIMEOUT - 1] && !follow) {
		hs_err("migrate: --timeout limits --follow, which is not given; usage: hsctl %s",
		       migrate_usage);
		return CTL_USAGE;
	}
	if (ctl_parse_name("--to", a.val[O_TO - 1], r.to) ||
	    parse_follow_timeout(a.val[O_TIMEOUT - 1], &timeout))
		return CTL_USAGE;
	if (a.val[O_REASON - 1]) {
		if (strlen(a.val[O_REASON - 1]) >= sizeof(r.reason)) {
			hs_err("--reason: longer than %zu bytes", sizeof(r.reason) - 1);
			return CTL_USAGE;
		}
		snprintf(r.reason, sizeof(r.reason), "%s", a.val[O_REASON - 1]);
	}
	/* Check the arguments as a record before anything is sent; the source
	 * host is not known yet, so a stand-in that differs from --to. */
	r.started = r.updated = (uint64_t)time(NULL);
	snprintf(r.from, sizeof(r.from), "%s", strcmp(r.to, "a") ? "a" : "b");
	if (hs_schema_check_migration(&r, why, sizeof(why))) {
		hs_err("migration of vm %s: %s", r.vm, why);
		return CTL_USAGE;
	}
	if (hs_schema_key_vm(ctl.prefix, r.vm, vkey, sizeof(vkey)) ||
	    hs_schema_key_migration(ctl.prefix, r.vm, mkey, sizeof(mkey)))
		return CTL_USAGE;

	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN))
		return CTL_ERR;
	vm = ctl_snap_key(&s, vkey);
	if (!vm) {
		hs_err("no vm '%s'", r.vm);
		goto out;
	}
	if (!vm->ok) {
		hs_err("%s: this build cannot read the record (see above); not migrated", vkey);
		goto out;
	}
	if (!strcmp(vm->r.vm.host, r.to)) {
		hs_err("vm %s already runs on %s", r.vm, r.to);
		goto out;
	}
	host = ctl_need_host(&s, "--to", r.to, HS_SCHEMA_ROLE_HOST);
	if (!host)
		goto out;
	mig = ctl_snap_key(&s, mkey);
	if (mig && !mig->ok) {
		hs_err("%s: this build cannot read the record (see above); not migrated", mkey);
		goto out;
	}
	if (mig && !ctl_mig_final(mig->r.migration.state)) {
		const struct hs_schema_migration *m = &mig->r.migration;
		char how[200] = "";

		if (m->state == HS_SCHEMA_MIG_PENDING)
			snprintf(how, sizeof(how), " or cancel it (hsctl migration cancel %s)",
				 r.vm);
		else if (m->state == HS_SCHEMA_MIG_RUNNING)
			snprintf(how, sizeof(how),
				 " or cancel it on %s (migrated --config FILE --cancel %s)",
				 m->from, r.vm);
		hs_err("vm %s: a migration is under way (%s, %s -> %s); wait for it to end "
		       "(hsctl migration follow %s)%s",
		       r.vm, hs_schema_mig_state_name(m->state), m->from, m->to, r.vm, how);
		goto out;
	}
	snprintf(r.from, sizeof(r.from), "%s", vm->r.vm.host);
	if (hs_schema_encode_migration(&r, &json))
		goto out;
	/* from is where the VM runs as read: the VM record must still say so */
	ctl_cmp_unchanged(&t, vm);
	ctl_cmp_exists(&t, host);
	if (mig)
		ctl_cmp_unchanged(&t, mig);
	else
		ctl_cmp_absent(&t, mkey);
	ctl_op_put(&t, mkey, json);
	if (ctl_txn_run(&t, "request the migration", &ok, &revision))
		goto out;
	if (!ok) {
		hs_err("vm %s, its migration record or host %s changed meanwhile; nothing "
		       "written, look again (hsctl migration show %s)",
		       r.vm, r.to, r.vm);
		goto out;
	}
	rc = CTL_OK;
	if (!follow) {
		if (ctl.json)
			ctl_print_json(json_tokener_parse(json));
		else
			printf("migration of vm %s requested: %s -> %s (pending)\n", r.vm, r.from,
			       r.to);
		goto out;
	}
	if (!ctl.json) {
		printf("migration of vm %s requested: %s -> %s\n", r.vm, r.from, r.to);
		fflush(stdout);
	}
	ctl_snap_free(&s);
	free(json);
	/* from the write on: the pending record is the first version shown */
	return follow_run(r.vm, mkey, revision, timeout);
out:
	ctl_snap_free(&s);
	free(json);
	return rc;
}

static int mig_show(int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char vm[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX], text[256];
	struct hs_schema_migration m;
	struct json_object *o;
	struct ctl_rec rec;
	struct ctl_args a;
	int rc;

	if (ctl_parse_args(argc, argv, opts, 1, 1, show_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], vm) ||
	    hs_schema_key_migration(ctl.prefix, vm, key, sizeof(key)))
		return CTL_USAGE;
	rc = ctl_get(HS_SCHEMA_MIGRATION, key, &rec);
	if (rc == -ENOENT)
		no_record(vm);
	if (rc)
		return CTL_ERR;
	if (ctl.json)
		return ctl_print_rec(&rec);
	m = rec.r.migration;
	o = ctl_rec_json(&rec);
	ctl_rec_free(&rec);
	if (!o)
		return CTL_ERR;
	json_object_object_del(o, "progress");
	ctl_print_fields(o);
	json_object_put(o);
	if (m.has_progress)
		printf("%-14s%s\n", "progress", ctl_mig_progress_text(&m, text, sizeof(text)));
	return CTL_OK;
}

static int mig_follow(int argc, char **argv)
{
	enum { O_TIMEOUT = 1 };
	static const struct option opts[] = {{"timeout", required_argument, NULL, O_TIMEOUT},
					     {NULL, 0, NULL, 0}};
	char vm[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX];
	struct ctl_args a;
	uint64_t timeout;

	if (ctl_parse_args(argc, argv, opts, 1, 1, follow_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], vm) ||
	    parse_follow_timeout(a.val[O_TIMEOUT - 1], &timeout) ||
	    hs_schema_key_migration(ctl.prefix, vm, key, sizeof(key)))
		return CTL_USAGE;
	return follow_run(vm, key, 0, timeout);
}

/* Why a migration in state st cannot be cancelled here; CTL_ERR. */
static int not_cancelled(const struct hs_schema_migration *m)
{
	switch (m->state) {
	case HS_SCHEMA_MIG_RUNNING:
		hs_err("migration of vm %s is running: only migrated on the source host can "
		       "cancel it; on %s run: migrated --config FILE --cancel %s",
		       m->vm, m->from, m->vm);
		break;
	case HS_SCHEMA_MIG_SWITCHOVER:
		hs_err("migration of vm %s is in switchover (the VM is paused): it cannot be "
		       "cancelled any more and ends done or failed",
		       m->vm);
		break;
	default:
		hs_err("migration of vm %s is already %s; nothing to cancel", m->vm,
		       hs_schema_mig_state_name(m->state));
		break;
	}
	return CTL_ERR;
}

static int mig_cancel(int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char vm[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX];
	struct hs_schema_migration r;
	struct ctl_txn t = {0};
	struct ctl_rec rec;
	struct ctl_args a;
	uint64_t now = (uint64_t)time(NULL);
	char *json = NULL;
	bool ok;
	int rc;

	if (ctl_parse_args(argc, argv, opts, 1, 1, cancel_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], vm) ||
	    hs_schema_key_migration(ctl.prefix, vm, key, sizeof(key)))
		return CTL_USAGE;
	rc = ctl_get(HS_SCHEMA_MIGRATION, key, &rec);
	if (rc == -ENOENT)
		no_record(vm);
	else if (rc == -EINVAL || rc == -EPROTONOSUPPORT)
		hs_err("%s: this build cannot read the record (see above); not cancelled", key);
	if (rc)
		return CTL_ERR;
	r = rec.r.migration;
	if (r.state != HS_SCHEMA_MIG_PENDING) {
		ctl_rec_free(&rec);
		return not_cancelled(&r);
	}
	r.state = HS_SCHEMA_MIG_CANCELLED;
	r.updated = now > r.started ? now : r.started; /* never before started */
	snprintf(r.reason, sizeof(r.reason), "%s", CANCEL_REASON);
	rc = CTL_ERR;
	if (!hs_schema_mig_next_ok(rec.r.migration.state, r.state) ||
	    hs_schema_encode_migration(&r, &json))
		goto out;
	/* migrated may take the record at any moment: only the pending one */
	ctl_cmp_unchanged(&t, &rec);
	ctl_op_put(&t, key, json);
	if (ctl_txn_run(&t, "cancel the migration", &ok, NULL))
		goto out;
	if (!ok) {
		struct ctl_rec now_rec;

		if (!ctl_get(HS_SCHEMA_MIGRATION, key, &now_rec)) {
			hs_err("the migration of vm %s changed meanwhile; not cancelled", vm);
			if (now_rec.r.migration.state != HS_SCHEMA_MIG_PENDING)
				not_cancelled(&now_rec.r.migration);
			ctl_rec_free(&now_rec);
		} else {
			hs_err("the migration record of vm %s changed meanwhile; not cancelled",
			       vm);
		}
		goto out;
	}
	if (ctl.json)
		ctl_print_json(json_tokener_parse(json));
	else
		printf("migration of vm %s cancelled (it was pending: %s -> %s)\n", vm, r.from,
		       r.to);
	rc = CTL_OK;
out:
	ctl_rec_free(&rec);
	free(json);
	return rc;
}

int ctl_cmd_migration(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";

	if (!strcmp(v, "list"))
		return ctl_list(HS_SCHEMA_MIGRATION, argc - 1, argv + 1, "migration list");
	if (!strcmp(v, "show"))
		return mig_show(argc - 1, argv + 1);
	if (!strcmp(v, "follow"))
		return mig_follow(argc - 1, argv + 1);
	if (!strcmp(v, "cancel"))
		return mig_cancel(argc - 1, argv + 1);
	hs_err("usage: hsctl migration list | %s | %s | %s", show_usage, follow_usage,
	       cancel_usage);
	return CTL_USAGE;
}
