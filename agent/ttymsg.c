/* The denied user's terminal line (agent/ttymsg.h). Linux: /proc. */
#include "agent/ttymsg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "agent/backends/procinfo.h"
#include "common/blockmsg.h"
#include "common/clock.h"
#include "common/hex.h"
#include "profiles/plist.h"

/* What one denial needs, copied out of the record (which is much larger). */
struct job {
	pid_t pid, ppid, sid;
	uid_t uid;                  /* real uid */
	uid_t euid;
	uint32_t tty;
	uint64_t start;
	bool silent;
	ward_reason_t reason;
	bool has_rule, has_cdhash, cached;
	int64_t rule_id;
	uint8_t cdhash_raw[WARD_CDHASH_LEN];
	char sha256[2 * WARD_SHA256_LEN + 1];
	char cdhash[2 * WARD_CDHASH_LEN + 1];
	char team_id[WARD_MAX_TEAM_ID + 1];
	char signing_id[WARD_MAX_SIGNING_ID + 1];
	char rule_msg[WARD_MAX_RULE_TEXT + 1];
	char rule_url[WARD_MAX_RULE_TEXT + 1];
	char path[PATH_MAX];
};

struct ward_ttymsg {
	ward_engine_t *engine;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop;
	struct job ring[WARD_TTYMSG_RING];
	unsigned head, count;
	ward_ttymsg_stats_t st;
	ward_ttyrate_t rate;        /* the thread's */
	struct job cur;             /* the thread's */
};

/* ---------------------------------------------------------------- rate limit */

void ward_ttyrate_init(ward_ttyrate_t *r)
{
	memset(r, 0, sizeof(*r));
}

bool ward_ttyrate_take(ward_ttyrate_t *r, uint32_t tty, uint64_t now_ms, unsigned *suppressed)
{
	unsigned i, found = WARD_TTYMSG_TTYS, victim = 0;

	for (i = 0; i < WARD_TTYMSG_TTYS; i++) {
		if (r->slot[i].used && r->slot[i].tty == tty) {
			found = i;
			break;
		}
		/* a free slot, else the one written longest ago */
		if (!r->slot[victim].used)
			continue;
		if (!r->slot[i].used || r->slot[i].last_ms < r->slot[victim].last_ms)
			victim = i;
	}
	if (found < WARD_TTYMSG_TTYS && now_ms - r->slot[found].last_ms < WARD_TTYMSG_INTERVAL_MS) {
		r->slot[found].suppressed++;
		return false;
	}
	if (now_ms - r->second_ms >= 1000) {
		r->second_ms = now_ms;
		r->in_second = 0;
	}
	if (r->in_second >= WARD_TTYMSG_PER_SECOND) {
		if (found < WARD_TTYMSG_TTYS)
			r->slot[found].suppressed++;
		return false;
	}
	r->in_second++;
	if (found == WARD_TTYMSG_TTYS) {
		found = victim;
		r->slot[found].used = true;
		r->slot[found].tty = tty;
		r->slot[found].suppressed = 0;
	}
	*suppressed = r->slot[found].suppressed;
	r->slot[found].suppressed = 0;
	r->slot[found].last_ms = now_ms;
	return true;
}

bool ward_ttymsg_device_ok(uint32_t dev)
{
	unsigned ma = major(dev), mi = minor(dev);

	if (ma == 4)
		return mi >= 1; /* tty1..63 (consoles), ttyS* (64..); not tty0, the current one */
	return ma == 3 || (ma >= 136 && ma <= 143) || ma == 166 || ma == 188 || ma == 204;
}

/* ---------------------------------------------------------------- the subscriber */

ward_err_t ward_ttymsg_create(ward_engine_t *e, ward_ttymsg_t **out, ward_error_t *err)
{
	ward_ttymsg_t *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "ttymsg: out of memory");
	t->engine = e;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	ward_ttyrate_init(&t->rate);
	*out = t;
	return WARD_OK;
}

static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void ward_ttymsg_record(void *arg, const ward_record_t *r)
{
	ward_ttymsg_t *t = arg;
	struct job *j;

	if (r->v.decision != WARD_DENY ||
	    !(r->kind == WARD_EV_EXEC ||
	      (r->kind == WARD_EV_OPEN && ((r->notes & WARD_NOTE_PROGRAM) ||
	                                   r->v.reason == WARD_RSN_FILE_ACCESS))))
		return;
	pthread_mutex_lock(&t->mu);
	if (t->count == WARD_TTYMSG_RING || t->stop) {
		t->st.dropped++;
		pthread_mutex_unlock(&t->mu);
		return;
	}
	j = &t->ring[(t->head + t->count) % WARD_TTYMSG_RING];
	j->pid = r->proc.pid;
	j->ppid = r->pinfo.ok ? r->pinfo.ppid : 0;
	j->sid = r->pinfo.ok ? r->pinfo.sid : 0;
	j->uid = r->pinfo.ok ? r->pinfo.uid : (uid_t)-1;
	j->euid = r->proc.creds_ok ? r->proc.uid : (uid_t)-1;
	j->tty = r->pinfo.ok ? r->pinfo.tty : 0;
	j->start = r->pinfo.ok ? r->pinfo.start_time : 0;
	j->silent = r->v.silent || (r->notes & WARD_NOTE_TTY_SILENT);
	j->reason = r->v.reason;
	j->has_rule = r->v.has_rule;
	j->rule_id = r->v.rule_id;
	j->cached = r->v.cached;
	j->has_cdhash = r->v.has_cdhash;
	memcpy(j->cdhash_raw, r->v.cdhash, sizeof(j->cdhash_raw));
	j->sha256[0] = j->cdhash[0] = '\0';
	if (r->v.has_sha256)
		ward_hex_encode(r->v.sha256, WARD_SHA256_LEN, j->sha256);
	if (r->v.has_cdhash)
		ward_hex_encode(r->v.cdhash, WARD_CDHASH_LEN, j->cdhash);
	copy(j->team_id, sizeof(j->team_id), r->team_id);
	copy(j->signing_id, sizeof(j->signing_id), r->signing_id);
	copy(j->rule_msg, sizeof(j->rule_msg), r->rule_msg);
	copy(j->rule_url, sizeof(j->rule_url), r->rule_url);
	copy(j->path, sizeof(j->path), r->path);
	t->count++;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* ---------------------------------------------------------------- facts for the URL */

static void read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
}

/* MachineID, else MachineIDPlist's MachineIDKey, else /etc/machine-id: what warden-sync
 * sends the server as machine_id (agent/sync/warden-sync.c). */
static void machine_id(const ward_sync_config_t *sc, char *out, size_t cap)
{
	out[0] = '\0';
	if (sc->machine_id[0]) {
		snprintf(out, cap, "%s", sc->machine_id);
		return;
	}
	if (sc->machine_id_plist[0]) {
		static char buf[65536];
		int fd = open(sc->machine_id_plist, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		json_t *root = NULL;
		if (fd >= 0)
			close(fd);
		if (n > 0 && (size_t)n < sizeof(buf) &&
		    ward_plist_parse(buf, (size_t)n, &root, NULL, NULL) == WARD_OK) {
			const char *id = json_string_value(json_object_get(root, sc->machine_id_key[0] ?
			                                   sc->machine_id_key : "MachineID"));
			if (id != NULL)
				snprintf(out, cap, "%s", id);
		}
		json_decref(root);
		if (out[0])
			return;
	}
	read_small("/etc/machine-id", out, cap);
}

/* ---------------------------------------------------------------- the terminal */

enum { FIND_OK, FIND_NONE, FIND_REFUSED };

/*
 * A write descriptor on the terminal j->tty that process p holds open, or -1 (*why).
 * The device is reached through p's own descriptor (O_PATH: no driver open, no side
 * effect), checked, and only then reopened for writing from our O_PATH descriptor,
 * which nobody else can change under us. Nothing here follows a path a user names.
 */
static int from_process(const struct job *j, pid_t p, int *why)
{
	static const int fds[] = { 0, 1, 2, 255 }; /* bash keeps the terminal at 255 */

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		char path[64];
		struct stat a, b;
		int o, w;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)p, fds[i]);
		if ((o = open(path, O_PATH | O_CLOEXEC)) < 0)
			continue;
		if (fstat(o, &a) != 0 || !S_ISCHR(a.st_mode) || major(a.st_rdev) != major(j->tty) ||
		    minor(a.st_rdev) != minor(j->tty)) {
			close(o); /* not the terminal (a pipe, a file, another device) */
			continue;
		}
		if (!ward_ttymsg_device_ok((uint32_t)a.st_rdev) ||
		    !(a.st_uid == j->uid || j->uid == 0 || j->euid == 0)) {
			close(o);
			*why = FIND_REFUSED;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", o);
		w = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		close(o);
		if (w < 0)
			continue; /* a hung-up pty whose master is gone */
		if (fstat(w, &b) != 0 || b.st_dev != a.st_dev || b.st_ino != a.st_ino ||
		    b.st_rdev != a.st_rdev || !isatty(w)) {
			close(w);
			*why = FIND_REFUSED;
			continue;
		}
		return w;
	}
	return -1;
}

/* The denied process if it is still the one (same start time), else its parent, else
 * its session leader: each only while its controlling terminal is still j->tty. */
static int find_terminal(const struct job *j, int *why)
{
	pid_t cands[3] = { j->pid, j->ppid, j->sid };

	*why = FIND_NONE;
	for (int i = 0; i < 3; i++) {
		pid_t sid;
		uint32_t tty;
		uint64_t start;
		int fd;

		if (cands[i] <= 1 || (i > 0 && cands[i] == cands[i - 1]) || (i == 2 && cands[i] == j->pid))
			continue;
		if (!ward_procinfo_stat(cands[i], &sid, &tty, &start) || tty != j->tty)
			continue;
		if (i == 0 && start != j->start)
			continue; /* the pid was reused */
		if ((fd = from_process(j, cands[i], why)) >= 0)
			return fd;
	}
	return -1;
}

/* ---------------------------------------------------------------- the thread */

/*
 * A denial from the verdict cache carries the rule's id, not its texts: find the rule
 * again in the snapshot (the same identity matches the same rule while it is in force)
 * and take its custom_msg / custom_url if it is still that rule.
 */
static void rule_texts(const ward_snapshot_t *s, struct job *j)
{
	ward_match_key_t key;
	const ward_rule_t *rule;

	if (!j->has_rule || !j->cached || s->ix == NULL)
		return;
	ward_match_key_from_signature(j->has_cdhash ? j->cdhash_raw : NULL, j->team_id, j->signing_id,
	                              false, &key);
	snprintf(key.sha256, sizeof(key.sha256), "%s", j->sha256);
	rule = ward_index_match(s->ix, &key, (int64_t)time(NULL));
	if (rule == NULL || rule->id != j->rule_id || !ward_policy_blocks(rule->policy))
		return;
	copy(j->rule_msg, sizeof(j->rule_msg), rule->custom_msg ? rule->custom_msg : "");
	copy(j->rule_url, sizeof(j->rule_url), rule->custom_url ? rule->custom_url : "");
}

static void handle(ward_ttymsg_t *t, struct job *j)
{
	ward_snapshot_t *s = ward_engine_snapshot(t->engine, NULL);
	const ward_notify_config_t *n = &s->cfg.notify;
	uint64_t *bucket;
	char url[WARD_MAX_DETAIL_URL * 3 + 1], line[WARD_TTYMSG_LINE_MAX];
	char user[128] = "", mid[WARD_MAX_MACHINE_ID + 1] = "", host[256] = "", uuid[64] = "",
	     serial[128] = "";
	const char *tmpl, *msg;
	unsigned suppressed = 0;
	int fd = -1, why;
	size_t len;

	if (j->silent) {
		bucket = &t->st.silent_rule;
		goto done;
	}
	if (n->silent_mode || n->silent_tty_mode) {
		bucket = &t->st.silent_config;
		goto done;
	}
	if (j->tty == 0) {
		bucket = &t->st.no_terminal;
		goto done;
	}
	if (!ward_ttymsg_device_ok(j->tty)) {
		bucket = &t->st.refused; /* /dev/console, a pty master, ... */
		goto done;
	}
	/* the terminal first: a refused one is refused however often it is tried */
	fd = find_terminal(j, &why);
	if (fd < 0) {
		bucket = why == FIND_REFUSED ? &t->st.refused : &t->st.no_terminal;
		goto done;
	}
	if (!ward_ttyrate_take(&t->rate, j->tty, ward_mono_ns() / 1000000, &suppressed)) {
		bucket = &t->st.rate_limited;
		goto done;
	}

	rule_texts(s, j);
	/* Santa: the rule's custom URL, else EventDetailURL; "null" in either: none. */
	tmpl = j->rule_url[0] ? j->rule_url : n->event_detail_url;
	if (ward_blockmsg_uses(tmpl, "username") && j->uid != (uid_t)-1) {
		struct passwd pw, *res = NULL;
		static char pwbuf[16384];
		if (getpwuid_r(j->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
			snprintf(user, sizeof(user), "%s", res->pw_name);
		else
			snprintf(user, sizeof(user), "%u", (unsigned)j->uid);
	}
	if (ward_blockmsg_uses(tmpl, "machine_id"))
		machine_id(&s->cfg.sync, mid, sizeof(mid));
	if (ward_blockmsg_uses(tmpl, "hostname"))
		gethostname(host, sizeof(host) - 1);
	if (ward_blockmsg_uses(tmpl, "uuid"))
		read_small("/sys/class/dmi/id/product_uuid", uuid, sizeof(uuid));
	if (ward_blockmsg_uses(tmpl, "serial"))
		read_small("/sys/class/dmi/id/product_serial", serial, sizeof(serial));
	ward_blockmsg_facts_t f = {
		.file_sha256 = j->sha256, .team_id = j->team_id, .signing_id = j->signing_id,
		.cdhash = j->cdhash, .username = user, .machine_id = mid, .hostname = host,
		.uuid = uuid, .serial = serial,
	};
	if (!ward_blockmsg_expand_url(tmpl, &f, url, sizeof(url)))
		url[0] = '\0';

	/* Santa: the rule's message, else BannedBlockMessage for a denial by policy (a rule,
	 * a YARA match), UnknownBlockMessage for an unknown program; else the defaults. */
	if (j->rule_msg[0])
		msg = j->rule_msg;
	else if (j->reason == WARD_RSN_FILE_ACCESS)
		msg = WARD_BLOCKMSG_DEFAULT_FILE_ACCESS;
	else if (j->reason == WARD_RSN_RULE || j->reason == WARD_RSN_SCAN)
		msg = n->banned_block_message[0] ? n->banned_block_message : WARD_BLOCKMSG_DEFAULT_BANNED;
	else
		msg = n->unknown_block_message[0] ? n->unknown_block_message : WARD_BLOCKMSG_DEFAULT_UNKNOWN;
	ward_blockmsg_line_t l = { .message = msg, .path = j->path, .url = url,
	                           .url_label = n->event_detail_text, .suppressed = suppressed };
	len = ward_blockmsg_compose(line, sizeof(line), &l);
	bucket = write(fd, line, len) == (ssize_t)len ? &t->st.written : &t->st.failed;
done:
	if (fd >= 0)
		close(fd);
	ward_snapshot_unref(s);
	pthread_mutex_lock(&t->mu);
	(*bucket)++;
	t->st.denials++;
	pthread_mutex_unlock(&t->mu);
}

static void *run(void *arg)
{
	ward_ttymsg_t *t = arg;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (t->count == 0 && !t->stop)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->stop)
			break;
		t->cur = t->ring[t->head];
		t->head = (t->head + 1) % WARD_TTYMSG_RING;
		t->count--;
		pthread_mutex_unlock(&t->mu);
		handle(t, &t->cur);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

ward_err_t ward_ttymsg_start(ward_ttymsg_t *t, ward_error_t *err)
{
	int e = pthread_create(&t->thread, NULL, run, t);

	if (e != 0)
		return ward_error_set(err, WARD_E_IO, "ttymsg: thread: %s", strerror(e));
	t->started = true;
	return WARD_OK;
}

void ward_ttymsg_stats(ward_ttymsg_t *t, ward_ttymsg_stats_t *out)
{
	pthread_mutex_lock(&t->mu);
	*out = t->st;
	pthread_mutex_unlock(&t->mu);
}

json_t *ward_ttymsg_status_json(ward_ttymsg_t *t)
{
	ward_ttymsg_stats_t s;

	if (t == NULL)
		return json_null();
	ward_ttymsg_stats(t, &s);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                 "denials", (json_int_t)s.denials, "written", (json_int_t)s.written,
	                 "silent_rule", (json_int_t)s.silent_rule,
	                 "silent_config", (json_int_t)s.silent_config,
	                 "no_terminal", (json_int_t)s.no_terminal, "refused", (json_int_t)s.refused,
	                 "rate_limited", (json_int_t)s.rate_limited, "failed", (json_int_t)s.failed,
	                 "dropped", (json_int_t)s.dropped);
}

void ward_ttymsg_destroy(ward_ttymsg_t *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	if (t->started)
		pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
