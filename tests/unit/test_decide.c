/*
 * Unit tests for agent/engine/decide.c and agent/engine/trust.c: the decision order (cache, identity,
 * rules, trusted paths, scan, mode), cacheability, fallbacks and the ownership check;
 * lazy identity (kernel hints, no bytes read), OPEN events, the file's own size and time.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/engine/decide.h"
#include "agent/engine/trust.h"
#include "common/clock.h"
#include "common/hex.h"

static char fake_path[4096];

static bool fake_path_fn(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	(void)ev;
	snprintf(buf, len, "%s", fake_path);
	return fake_path[0] != '\0';
}

static const struct ward_backend_ops fake_ops = { .name = "fake", .path = fake_path_fn };
static ward_backend_t fake_backend = { .ops = &fake_ops };

struct fx {
	char dir[64];
	char file[128];
	char sha[65];
	int fd;
	ward_store_t *st;
	ward_cache_t *cache;
	ward_config_t cfg;
	uint32_t scan_arg_budget; /* the budget scan_clean expects to be given */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct stat sb;

	strcpy(f->dir, "/tmp/warden-decide-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/prog", f->dir);
	int w = open(f->file, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(w >= 0);
	assert_int_equal(write(w, "\177ELFhello", 9), 9);
	close(w);
	f->fd = open(f->file, O_RDONLY);
	assert_true(f->fd >= 0);
	assert_int_equal(fstat(f->fd, &sb), 0);
	ward_identity_t id;
	assert_int_equal(ward_identity_read(f->fd, WARD_ID_SHA256, &id, NULL), WARD_OK);
	ward_hex_encode(id.sha256, 32, f->sha);
	assert_int_equal(ward_store_open(":memory:", WARD_STORE_CREATE, &f->st, NULL), WARD_OK);
	assert_int_equal(ward_cache_create(64, 5000, &f->cache, NULL), WARD_OK);
	ward_config_defaults(&f->cfg);
	snprintf(fake_path, sizeof(fake_path), "%s", f->file);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->fd);
	unlink(f->file);
	rmdir(f->dir);
	ward_store_close(f->st);
	ward_cache_destroy(f->cache);
	free(f);
	return 0;
}

static ward_event_t event(const struct fx *f)
{
	struct stat sb;
	ward_event_t ev = { .kind = WARD_EV_EXEC, .fd = f->fd, .proc = { .pid = 1 } };

	assert_int_equal(fstat(f->fd, &sb), 0);
	ev.key_ok = true;
	ward_filekey_from_stat(&sb, &ev.key);
	ev.st_uid = sb.st_uid;
	ev.st_mode = sb.st_mode;
	return ev;
}

static void add_rule(struct fx *f, ward_policy_t pol, int64_t expires)
{
	ward_rule_t r = { .type = WARD_RT_BINARY, .policy = pol, .source = WARD_SRC_LOCAL,
	                  .identifier = f->sha, .expires_at = expires };
	ward_error_t err = { 0 };
	assert_int_equal(ward_store_put(f->st, &r, &err), WARD_OK);
}

/* Decide once with the current store, mode and scan hook. */
static void decide(struct fx *f, ward_scan_fn scan, ward_verdict_t *v, ward_record_t *rec)
{
	ward_snapshot_t *snap;
	ward_event_t ev = event(f);

	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .cache = f->cache, .backend = &fake_backend,
	                          .scan = scan, .scan_arg = &f->scan_arg_budget, .now_ms = 1000, .now = time(NULL) };
	ward_record_reset(rec, ev.kind);
	ward_decide(&ctx, &ev, rec);
	*v = rec->v;
	ward_snapshot_unref(snap);
}

/* The log's sentence for a record. */
static const char *detail(const ward_record_t *r)
{
	static char buf[1024];
	ward_record_detail(r, buf, sizeof(buf));
	return buf;
}

static void test_rule_allow_then_cache(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	char hex[65];

	add_rule(f, WARD_POL_ALLOWLIST, 0);
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	assert_true(v.has_rule && v.cacheable && !v.cached);
	assert_int_equal(v.rule_type, WARD_RT_BINARY);
	assert_string_equal(rec.rule_identifier, f->sha);
	ward_hex_encode(v.sha256, 32, hex);
	assert_string_equal(hex, f->sha);
	/* Step 1 answers next time, even after the rule is gone (a rule change flushes). */
	ward_event_t ev = event(f);
	ward_cache_insert(f->cache, &ev.key, &v, 1000);
	assert_int_equal(ward_store_remove(f->st, WARD_RT_BINARY, f->sha, WARD_SRC_LOCAL, NULL), WARD_OK);
	decide(f, NULL, &v, &rec);
	assert_true(v.cached);
	assert_int_equal(v.decision, WARD_ALLOW);
	ward_cache_flush(f->cache);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);
}

static void test_blocklists_and_expiry(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	f->cfg.mode = WARD_MODE_MONITOR;
	add_rule(f, WARD_POL_BLOCKLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_false(v.silent);
	add_rule(f, WARD_POL_SILENT_BLOCKLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_true(v.silent);
	add_rule(f, WARD_POL_ALLOWLIST_COMPILER, 0);
	f->cfg.enable_transitive_rules = true;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_true(v.compiler);
	f->cfg.enable_transitive_rules = false;
	/* A rule with an expiry decides, but its verdict must never outlive it. */
	add_rule(f, WARD_POL_ALLOWLIST, time(NULL) + 3600);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_false(v.cacheable);
}

static void test_unknown_by_mode(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	f->cfg.mode = WARD_MODE_MONITOR;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_true(v.cacheable);
	assert_true(ward_decide_loggable(&v, false)); /* unknowns are always logged */
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
}

static void test_unreadable_is_not_cached(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	ward_snapshot_t *snap;
	ward_event_t ev = event(f);

	ev.key_ok = false;
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	assert_int_equal(ward_snapshot_build(&f->cfg, NULL, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .cache = f->cache, .backend = &fake_backend };
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	v = rec.v;
	assert_int_equal(v.reason, WARD_RSN_ERROR);
	assert_int_equal(v.decision, WARD_DENY);
	assert_false(v.cacheable);
	assert_non_null(strstr(detail(&rec), "identity"));
	ward_snapshot_unref(snap);
}

static void test_malformed_container_still_has_a_sha256(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	char hex[65];
	ward_identity_t id;

	/* A Mach-O magic and nothing valid after it: not parsable, still hashable. */
	int w = open(f->file, O_WRONLY | O_TRUNC);
	assert_int_equal(write(w, "\xcf\xfa\xed\xfe\x07\x00\x00\x01garbage", 15), 15);
	close(w);
	assert_int_not_equal(ward_identity_read(f->fd, WARD_ID_SHA256, &id, NULL), WARD_OK);
	assert_int_equal(ward_sha256_fd(f->fd, id.sha256, NULL), WARD_OK);
	ward_hex_encode(id.sha256, 32, f->sha);
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	/* SHA-256 is read only while a BINARY rule could use it: some other file's rule. */
	ward_rule_t other = { .type = WARD_RT_BINARY, .policy = WARD_POL_BLOCKLIST, .source = WARD_SRC_LOCAL,
	                      .identifier = "0000000000000000000000000000000000000000000000000000000000000001" };
	assert_int_equal(ward_store_put(f->st, &other, NULL), WARD_OK);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_int_equal(v.decision, WARD_DENY);
	assert_true(v.has_sha256);
	ward_hex_encode(v.sha256, 32, hex);
	assert_string_equal(hex, f->sha);
	assert_non_null(strstr(detail(&rec), "SHA-256 only"));
	/* and a BINARY rule for that hash decides it */
	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	assert_int_equal(v.decision, WARD_ALLOW);
}

static ward_scanstep_t scan_block(void *arg, const ward_event_t *ev, const char *path,
                                     const ward_identity_t *id, uint64_t deadline_ns,
                                  ward_scan_out_t *out)
{
	(void)arg; (void)ev; (void)path; (void)id; (void)deadline_ns;
	snprintf(out->what, sizeof(out->what), "yara:test:marker");
	return WARD_SCANSTEP_BLOCK;
}

static ward_scanstep_t scan_pending(void *arg, const ward_event_t *ev, const char *path,
                                       const ward_identity_t *id, uint64_t deadline_ns,
                                  ward_scan_out_t *out)
{
	(void)arg; (void)ev; (void)path; (void)id; (void)deadline_ns; (void)out;
	return WARD_SCANSTEP_PENDING;
}

static ward_scanstep_t scan_unscanned(void *arg, const ward_event_t *ev, const char *path,
                                      const ward_identity_t *id, uint64_t deadline_ns,
                                  ward_scan_out_t *out)
{
	(void)arg; (void)ev; (void)path; (void)id; (void)deadline_ns;
	snprintf(out->what, sizeof(out->what), "scan queue full");
	return WARD_SCANSTEP_UNSCANNED;
}

static ward_scanstep_t scan_clean(void *arg, const ward_event_t *ev, const char *path,
                                  const ward_identity_t *id, uint64_t deadline_ns,
                                  ward_scan_out_t *out)
{
	/* what the adapter is given: the event, its path, the identity (no SHA-256: no
	 * BINARY rule needed it; the scan's own read gives it), a deadline within the
	 * scan budget from the event's arrival */
	assert_true(ev->fd >= 0);
	assert_non_null(path);
	assert_false(id->has_sha256);
	assert_true(deadline_ns <= ev->t_recv_ns + (uint64_t)*(uint32_t *)arg * 1000000ull);
	snprintf(out->what, sizeof(out->what), "yara:test:watched");
	out->audit = true;
	out->has_sha256 = true;
	memset(out->sha256, 0xab, sizeof(out->sha256));
	return WARD_SCANSTEP_CLEAN;
}

static void test_scan_step(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	f->cfg.mode = WARD_MODE_MONITOR;
	decide(f, scan_block, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_SCAN);
	assert_true(v.cacheable);
	assert_false(v.scan_pending);
	assert_non_null(strstr(detail(&rec), "yara:test:marker"));
	decide(f, scan_pending, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_false(v.cacheable);
	assert_true(v.scan_pending);
	/* Not scanned this time (queue full, read error): the mode decides, never cached,
	 * and it is not a pending scan either. */
	decide(f, scan_unscanned, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_false(v.cacheable);
	assert_false(v.scan_pending);
	assert_non_null(strstr(detail(&rec), "scan queue full"));
	/* Clean (an audit match only): the mode decides, cacheable, the match in detail. */
	f->scan_arg_budget = f->cfg.scan_budget_ms = 123;
	decide(f, scan_clean, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_true(v.cacheable);
	assert_non_null(strstr(detail(&rec), "yara:test:watched (audit)"));
	assert_true(v.has_sha256 && v.sha256[0] == 0xab); /* one read fed YARA and the SHA-256 */
	/* A block match denies in LOCKDOWN too, with its own reason (not "unknown"). */
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	decide(f, scan_block, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_SCAN);
	decide(f, scan_pending, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_false(v.cacheable);
	f->cfg.mode = WARD_MODE_MONITOR;
	/* A rule decides before any scan. */
	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, scan_block, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_RULE);
}

static void test_fallback_and_logging(void **state)
{
	ward_verdict_t v;
	(void)state;

	ward_decide_fallback(WARD_MODE_LOCKDOWN, true, WARD_RSN_DEADLINE, false, &v);
	assert_int_equal(v.decision, WARD_DENY);
	assert_false(v.cacheable);
	/* The agent's own failure (waited behind other users): FailClosed decides. */
	ward_decide_fallback(WARD_MODE_LOCKDOWN, false, WARD_RSN_DEADLINE, false, &v);
	assert_int_equal(v.decision, WARD_ALLOW);
	/* The file's own time, or its user's own load: LOCKDOWN denies whatever FailClosed. */
	ward_decide_fallback(WARD_MODE_LOCKDOWN, false, WARD_RSN_DEADLINE, true, &v);
	assert_int_equal(v.decision, WARD_DENY);
	ward_decide_fallback(WARD_MODE_MONITOR, false, WARD_RSN_DEADLINE, true, &v);
	assert_int_equal(v.decision, WARD_ALLOW);
	ward_decide_fallback(WARD_MODE_MONITOR, true, WARD_RSN_QUEUE_FULL, false, &v);
	assert_int_equal(v.decision, WARD_ALLOW); /* FailClosed means nothing in MONITOR */
	assert_true(ward_decide_loggable(&v, false));
	ward_verdict_t r = { .decision = WARD_ALLOW, .reason = WARD_RSN_RULE };
	assert_false(ward_decide_loggable(&r, false));
	assert_true(ward_decide_loggable(&r, true));
	r.decision = WARD_DENY;
	assert_true(ward_decide_loggable(&r, false));
	r.cached = true;
	assert_true(ward_decide_loggable(&r, false)); /* every denied attempt */
	ward_verdict_t u = { .decision = WARD_ALLOW, .reason = WARD_RSN_MODE };
	assert_true(ward_decide_loggable(&u, false));
	u.cached = true;
	assert_false(ward_decide_loggable(&u, false)); /* a MONITOR unknown: once, when decided */
	assert_true(ward_decide_loggable(&u, true));
	assert_string_equal(ward_reason_name(WARD_RSN_TRUSTED), "trusted_path");
}

static void test_trust(void **state)
{
	struct fx *f = *state;
	ward_config_t cfg;
	(void)f;

	assert_true(ward_path_under("/usr/bin/true", "/usr"));
	assert_true(ward_path_under("/usr/bin/true", "/usr/"));
	assert_true(ward_path_under("/usr", "/usr"));
	assert_false(ward_path_under("/usrx/bin", "/usr"));
	assert_false(ward_path_under("/us", "/usr"));
	assert_true(ward_path_under("/anything", "/"));

	/* The system's own /usr/bin/true: root's, in root's directories. */
	ward_config_defaults(&cfg);
	ward_trust_canon(&cfg);
	int fd = open("/usr/bin/true", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ward_trust_check(&cfg, fd, "/usr/bin/true", NULL), WARD_TRUST_OK);
	/* ... but not when the path names some other file */
	assert_int_equal(ward_trust_check(&cfg, fd, "/usr/bin/env", NULL), WARD_TRUST_MOVED);
	close(fd);

	/* A program under /tmp, even with /tmp trusted: /tmp is world-writable. */
	snprintf(cfg.trusted_paths[0], WARD_MAX_PATH, "%s", f->dir);
	cfg.ntrusted_paths = 1;
	assert_int_equal(ward_trust_check(&cfg, f->fd, f->file, NULL),
	                 geteuid() == 0 ? WARD_TRUST_DIR_WRITABLE : WARD_TRUST_FILE_WRITABLE);
	assert_non_null(strstr(ward_trust_name(WARD_TRUST_DIR_WRITABLE), "directory above"));
	/* Not under any trusted path: no, and no reason to give. */
	snprintf(cfg.trusted_paths[0], WARD_MAX_PATH, "/opt/none");
	assert_int_equal(ward_trust_check(&cfg, f->fd, f->file, NULL), WARD_TRUST_NOT_UNDER);
}

/* An OPEN is never decided by the exec policy: a BINARY block rule for the very file
 * does not touch it (the file-access policy does; none here: allowed, not cached). */
static void test_open_never_exec_policy(void **state)
{
	struct fx *f = *state;
	ward_record_t rec;
	ward_snapshot_t *snap;
	ward_event_t ev = event(f);

	add_rule(f, WARD_POL_BLOCKLIST, 0);
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	ev.kind = WARD_EV_OPEN;
	ev.access = WARD_ACC_READ;
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .cache = f->cache, .backend = &fake_backend, .now = time(NULL) };
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_int_equal(rec.v.reason, WARD_RSN_NO_POLICY);
	assert_false(rec.v.has_rule);
	assert_false(rec.v.cacheable);
	assert_int_equal(rec.v.allowed, WARD_ACC_READ);
	/* the same file exec'd: the rule blocks it */
	ev.kind = WARD_EV_EXEC;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.reason, WARD_RSN_RULE);
	ward_snapshot_unref(snap);
}

/* With the kernel's identity hints and no BINARY or CERTIFICATE rule, decide reads no
 * byte of the file: the event has no descriptor at all, and a TEAMID / SIGNINGID /
 * CDHASH rule still decides. */
static void test_hints_read_no_byte(void **state)
{
	struct fx *f = *state;
	ward_record_t rec;
	ward_snapshot_t *snap;
	ward_event_t ev = event(f);
	ward_id_hints_t h = { .has_cdhash = true, .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome",
	                      .signature_valid = true };
	ward_rule_t team = { .type = WARD_RT_TEAMID, .policy = WARD_POL_ALLOWLIST, .source = WARD_SRC_LOCAL,
	                     .identifier = "EQHXZ8M8AV" };
	ward_rule_t sid = { .type = WARD_RT_SIGNINGID, .policy = WARD_POL_BLOCKLIST, .source = WARD_SRC_LOCAL,
	                    .identifier = "EQHXZ8M8AV:com.google.Chrome" };
	char cd[41];

	memset(h.cdhash, 0x5a, sizeof(h.cdhash));
	ward_hex_encode(h.cdhash, 20, cd);
	ward_rule_t cdr = { .type = WARD_RT_CDHASH, .policy = WARD_POL_ALLOWLIST, .source = WARD_SRC_LOCAL,
	                    .identifier = cd };
	ev.fd = -1;       /* nothing to read */
	ev.key_ok = false;
	ev.hints = &h;
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	assert_int_equal(ward_store_put(f->st, &team, NULL), WARD_OK);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .backend = &fake_backend, .now = time(NULL) };
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_int_equal(rec.v.reason, WARD_RSN_RULE);
	assert_int_equal(rec.v.rule_type, WARD_RT_TEAMID);
	assert_true(rec.notes & WARD_NOTE_HINTS);
	assert_string_equal(rec.team_id, "EQHXZ8M8AV");
	assert_true(rec.v.has_cdhash && !rec.v.has_sha256);
	ward_snapshot_unref(snap);
	/* precedence holds on hints: SIGNINGID over TEAMID, CDHASH over both */
	assert_int_equal(ward_store_put(f->st, &sid, NULL), WARD_OK);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ctx.snap = snap;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.rule_type, WARD_RT_SIGNINGID);
	ward_snapshot_unref(snap);
	assert_int_equal(ward_store_put(f->st, &cdr, NULL), WARD_OK);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ctx.snap = snap;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_int_equal(rec.v.rule_type, WARD_RT_CDHASH);
	ward_snapshot_unref(snap);
	/* a platform binary's signing ID is keyed platform:<id> */
	ward_match_key_t k;
	ward_match_key_from_signature(NULL, "", "com.apple.ls", true, &k);
	assert_string_equal(k.signing_id, "platform:com.apple.ls");
	/* once a BINARY rule exists, the hints are not enough: the file must be read */
	add_rule(f, WARD_POL_BLOCKLIST, 0);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ctx.snap = snap;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.reason, WARD_RSN_ERROR); /* no descriptor: cannot be checked */
	assert_false(rec.v.cacheable);
	ward_snapshot_unref(snap);
}

/* Without BINARY rules no SHA-256 is taken on the decision path (the log gets it after
 * the answer); with one, it is. */
static void test_sha256_only_for_binary_rules(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	f->cfg.mode = WARD_MODE_LOCKDOWN;
	f->cfg.ntrusted_paths = 0;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_false(v.has_sha256);
	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_true(v.has_sha256);
	assert_int_equal(v.reason, WARD_RSN_RULE);
}

/* A file that a user other than root can write may change through a shared mapping with
 * no event and no ctime change: no verdict of it is ever cached. */
static void test_user_writable_never_cached(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_true(v.cacheable);
	assert_int_equal(fchmod(f->fd, 0775), 0); /* group-writable */
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_false(v.cacheable);
	assert_true(rec.notes & WARD_NOTE_USER_WRITABLE);
	assert_int_equal(fchmod(f->fd, 0755), 0);
	if (geteuid() == 0) {
		assert_int_equal(fchown(f->fd, 1000, 1000), 0); /* a user's own file */
		decide(f, NULL, &v, &rec);
		assert_false(v.cacheable);
	}
}

/* Time is not a way in: a file too big to hash while a BINARY rule could name it, or one
 * that cannot be read before the event's deadline, is denied in LOCKDOWN (allowed and
 * logged in MONITOR), never cached; a CDHASH-ranked decision needs no hash. */
static void test_file_size_and_time_deny(void **state)
{
	struct fx *f = *state;
	ward_record_t rec;
	ward_snapshot_t *snap;
	ward_event_t ev;

	add_rule(f, WARD_POL_BLOCKLIST, 0); /* a BINARY rule exists: SHA-256 is wanted */
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	f->cfg.ntrusted_paths = 0;
	int w = open(f->file, O_WRONLY);
	assert_true(w >= 0);
	assert_int_equal(ftruncate(w, (off_t)WARD_UNKNOWN_MAX_BYTES + 4096), 0); /* sparse */
	close(w);
	ev = event(f);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .backend = &fake_backend, .now = time(NULL) };
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.reason, WARD_RSN_DEADLINE);
	assert_true(rec.notes & WARD_NOTE_TOO_BIG);
	assert_false(rec.v.cacheable);
	/* the same in MONITOR: allowed, logged */
	ward_snapshot_unref(snap);
	f->cfg.mode = WARD_MODE_MONITOR;
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ctx.snap = snap;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_true(ward_decide_loggable(&rec.v, false));
	ward_snapshot_unref(snap);

	/* Under the cap but past the deadline: hashing stops, LOCKDOWN denies. */
	w = open(f->file, O_WRONLY | O_TRUNC);
	assert_int_equal(ftruncate(w, 256 << 20), 0);
	close(w);
	ev = event(f);
	ev.t_recv_ns = ward_mono_ns();
	ev.deadline_ns = ev.t_recv_ns; /* already due */
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ctx.snap = snap;
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.reason, WARD_RSN_DEADLINE);
	assert_true(rec.notes & WARD_NOTE_OUT_OF_TIME);
	assert_non_null(strstr(detail(&rec), "ran out of the decision's time"));
	ward_snapshot_unref(snap);
}

/* Replace the fixture's program with a copy of a committed file. */
static void use_fixture(struct fx *f, const char *name)
{
	char path[256], buf[65536];
	ssize_t n;
	int in, out;

	snprintf(path, sizeof(path), FIXTURES "/%s", name);
	assert_true((in = open(path, O_RDONLY)) >= 0);
	assert_true((out = open(f->file, O_WRONLY | O_TRUNC)) >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void put_rule(struct fx *f, ward_rule_type_t t, const char *id, ward_policy_t p, int64_t exp)
{
	ward_rule_t r = { .type = t, .policy = p, .source = WARD_SRC_LOCAL, .identifier = id,
	                  .expires_at = exp };
	ward_error_t err = { 0 };
	if (ward_store_put(f->st, &r, &err) != WARD_OK)
		fail_msg("put: %s", err.msg);
}

#define MSAL_TEAM      "UBF8T346G9"
#define MSAL_ARM64_CDH "1ae36b0e8d1cd431b97a3a78610ad3547ce1cc7d"
#define MSAL_X86_CDH   "3471a5e71a1d53127fc83a04c12750554ecd8df9"

/*
 * A universal binary on Linux: nothing says which slice a Mac would run, so every slice
 * is decided and the most restrictive result is the file's. The x86_64 slice's CDHash
 * blocked and the team allowed: an Intel Mac would block it, so the agent does, and the
 * log names the slice that decided.
 */
static void test_universal_binary_most_restrictive(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	char hex[41];

	use_fixture(f, "msal-node-runtime-0.20.7-fat.node");
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	put_rule(f, WARD_RT_TEAMID, MSAL_TEAM, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.rule_type, WARD_RT_TEAMID);
	assert_true(v.cacheable);
	assert_int_equal(rec.nslices, 2);

	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_BLOCKLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	assert_int_equal(v.rule_type, WARD_RT_CDHASH);
	assert_string_equal(rec.rule_identifier, MSAL_X86_CDH);
	assert_string_equal(rec.arch, "x86_64");
	ward_hex_encode(v.cdhash, 20, hex);
	assert_string_equal(hex, MSAL_X86_CDH); /* the log names the slice that decided */
	assert_string_equal(rec.team_id, MSAL_TEAM);

	/* The arm64 slice allowed by CDHash, the x86_64 slice by no rule: the mode decides
	 * (LOCKDOWN denies), not the arm64 allow. */
	assert_int_equal(ward_store_remove(f->st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_SRC_LOCAL, NULL), WARD_OK);
	assert_int_equal(ward_store_remove(f->st, WARD_RT_TEAMID, MSAL_TEAM, WARD_SRC_LOCAL, NULL), WARD_OK);
	put_rule(f, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_string_equal(rec.arch, "x86_64");

	/* Both allowed, the x86_64 one until an expiry: allowed, never cached (when that rule
	 * expires the file is unknown again). */
	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_ALLOWLIST, time(NULL) + 3600);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_false(v.cacheable);
	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_true(v.cacheable);
}

/* ES names the slice that runs (its cdhash): the hints decide, and what the file adds
 * (its certificate for a CERTIFICATE rule) comes from that slice. */
static void test_universal_binary_with_hints(void **state)
{
	struct fx *f = *state;
	ward_record_t rec;
	ward_snapshot_t *snap;
	ward_event_t ev;
	ward_id_hints_t h = { .has_cdhash = true, .team_id = MSAL_TEAM, .signing_id = "msal-node-runtime",
	                      .signature_valid = true };

	use_fixture(f, "msal-node-runtime-0.20.7-fat.node");
	assert_true(ward_hex_decode(MSAL_ARM64_CDH, h.cdhash, 20));
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	put_rule(f, WARD_RT_TEAMID, MSAL_TEAM, WARD_POL_ALLOWLIST, 0);
	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_BLOCKLIST, 0);
	put_rule(f, WARD_RT_CERTIFICATE, "78e5ba39022953e1964e3d0e21a3cf51dfb15cfab5dd97c604629e187cfe501f",
	         WARD_POL_ALLOWLIST, 0);
	ev = event(f);
	ev.hints = &h;
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .backend = &fake_backend, .now = time(NULL) };
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	/* an Apple silicon Mac runs the arm64 slice: its certificate rule allows it */
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_int_equal(rec.v.rule_type, WARD_RT_CERTIFICATE);
	assert_string_equal(rec.arch, "arm64");
	/* an Intel Mac runs the x86_64 slice: its CDHash is blocked */
	assert_true(ward_hex_decode(MSAL_X86_CDH, h.cdhash, 20));
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.rule_type, WARD_RT_CDHASH);
	/* a cdhash no slice has: the file adds no certificate, the team decides */
	memset(h.cdhash, 0x42, 20);
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_ALLOW);
	assert_int_equal(rec.v.rule_type, WARD_RT_TEAMID);
	assert_string_equal(rec.arch, "");
	ward_snapshot_unref(snap);
}

/* Too big to hash: a BINARY rule could outrank any slice's rule but a CDHASH one, so the
 * rules decide only a CDHash block, or every slice decided by CDHash. */
static void test_universal_binary_too_big(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	int w;

	use_fixture(f, "msal-node-runtime-0.20.7-fat.node");
	w = open(f->file, O_WRONLY);
	assert_true(w >= 0);
	assert_int_equal(ftruncate(w, (off_t)WARD_UNKNOWN_MAX_BYTES + 4096), 0); /* sparse tail */
	close(w);
	f->cfg.mode = WARD_MODE_MONITOR;
	add_rule(f, WARD_POL_ALLOWLIST, 0);      /* a BINARY rule exists (for the old bytes) */
	put_rule(f, WARD_RT_TEAMID, MSAL_TEAM, WARD_POL_BLOCKLIST, 0);
	put_rule(f, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	/* x86_64 is blocked by its team, which a BINARY rule could lift: out of reach */
	assert_true(rec.notes & WARD_NOTE_TOO_BIG);
	assert_int_equal(v.reason, WARD_RSN_DEADLINE);
	/* a silent CDHash block of x86_64 holds whatever else ranks first */
	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_SILENT_BLOCKLIST, 0);
	put_rule(f, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	assert_int_equal(v.rule_type, WARD_RT_CDHASH);
	assert_string_equal(rec.arch, "x86_64");
	/* both slices allowed by CDHash: allowed by rule */
	put_rule(f, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	assert_int_equal(v.rule_type, WARD_RT_CDHASH);
}

/* ---------------------------------------------------------------- Santa keys */

#define set_regex(dst, fmt, dir) snprintf((dst), WARD_MAX_PATH_REGEX + 1, fmt, dir)

/* AllowedPathRegex / BlockedPathRegex, Santa's order: rules, blocked, allowed, mode. */
static void test_path_regexes(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;

	/* blocked denies in MONITOR, never cached, and says which pattern */
	f->cfg.mode = WARD_MODE_MONITOR;
	set_regex(f->cfg.blocked_path_regex, "%s/pr", f->dir);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_PATH_BLOCKED);
	assert_false(v.cacheable);
	assert_string_equal(ward_reason_name(v.reason), "blocked_path_regex");
	assert_non_null(strstr(detail(&rec), "BlockedPathRegex"));
	assert_true(ward_decide_loggable(&v, false));
	/* a pattern for another directory: the mode decides */
	set_regex(f->cfg.blocked_path_regex, "%s/other/", f->dir);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_int_equal(v.decision, WARD_ALLOW);
	/* Santa anchors at the start: the directory's tail alone does not match */
	set_regex(f->cfg.blocked_path_regex, "%s", strrchr(f->dir, '/'));
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_MODE);

	/* allowed allows in LOCKDOWN, never cached (the cache is by file, not by path) */
	f->cfg.blocked_path_regex[0] = '\0';
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	set_regex(f->cfg.allowed_path_regex, "^%s/[^/]+$", f->dir);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_PATH_ALLOWED);
	assert_false(v.cacheable);
	assert_false(ward_decide_loggable(&v, false)); /* an allow: logged with EventLogAllows */
	/* blocked beats allowed */
	set_regex(f->cfg.blocked_path_regex, "%s/", f->dir);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_PATH_BLOCKED);

	/* a rule beats both: an allow rule runs a file in a blocked path ... */
	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	/* ... and a block rule stops a file in an allowed path */
	f->cfg.blocked_path_regex[0] = '\0';
	add_rule(f, WARD_POL_BLOCKLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_RULE);
}

/* A file that cannot be identified is still denied by a blocked path (no rule can have
 * matched), and a file deleted since it was opened is matched without " (deleted)" by
 * the blocked regex and never by the allowed one. */
static void test_path_regex_edges(void **state)
{
	struct fx *f = *state;
	ward_snapshot_t *snap;
	ward_record_t rec;
	ward_event_t ev = event(f);

	f->cfg.mode = WARD_MODE_MONITOR;
	set_regex(f->cfg.blocked_path_regex, "^%s/prog$", f->dir);
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	ward_decide_ctx_t ctx = { .snap = snap, .cache = NULL, .backend = &fake_backend,
	                          .now_ms = 1000, .now = time(NULL) };
	ev.key_ok = false; /* not identifiable */
	ward_record_reset(&rec, ev.kind);
	ward_decide(&ctx, &ev, &rec);
	assert_int_equal(rec.v.decision, WARD_DENY);
	assert_int_equal(rec.v.reason, WARD_RSN_PATH_BLOCKED);
	ward_snapshot_unref(snap);

	/* deleted: the backend's path ends in " (deleted)" */
	assert_int_equal(unlink(f->file), 0);
	snprintf(fake_path, sizeof(fake_path), "%s (deleted)", f->file);
	ward_verdict_t v;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_PATH_BLOCKED);
	f->cfg.blocked_path_regex[0] = '\0';
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	set_regex(f->cfg.allowed_path_regex, "^%s/", f->dir);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	snprintf(fake_path, sizeof(fake_path), "%s", f->file);
}

/* The allowed regex only for the file its path names here: a path that names another
 * file (a bind mount in the caller's own mount namespace) does not allow. */
static void test_allowed_path_must_name_the_file(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	char other[160];

	snprintf(other, sizeof(other), "%s/allowed", f->dir);
	int w = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(w >= 0);
	close(w);
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	set_regex(f->cfg.allowed_path_regex, "^%s/allowed$", f->dir);
	snprintf(fake_path, sizeof(fake_path), "%s", other); /* the kernel names "allowed" ... */
	decide(f, NULL, &v, &rec);                          /* ... for the file "prog" */
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	assert_false(v.cacheable); /* the file may be allowed at its other path */
	/* the same regex for the file itself: allowed */
	set_regex(f->cfg.allowed_path_regex, "^%s/prog$", f->dir);
	snprintf(fake_path, sizeof(fake_path), "%s", f->file);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.reason, WARD_RSN_PATH_ALLOWED);
	unlink(other);
}

/* EnableTransitiveRules (Santa's default off): a compiler rule is a plain allow and
 * transitive rules do not match; on, both act. */
static void test_transitive_rules_key(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	ward_rule_t t = { .type = WARD_RT_BINARY, .policy = WARD_POL_ALLOWLIST,
	                  .source = WARD_SRC_TRANSITIVE, .identifier = f->sha };

	f->cfg.mode = WARD_MODE_LOCKDOWN;
	assert_int_equal(ward_store_put(f->st, &t, NULL), WARD_OK);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY); /* off: the transitive rule is not there */
	assert_int_equal(v.reason, WARD_RSN_MODE);
	f->cfg.enable_transitive_rules = true;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_RULE);

	add_rule(f, WARD_POL_ALLOWLIST_COMPILER, 0);
	f->cfg.enable_transitive_rules = true;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_true(v.compiler);
	f->cfg.enable_transitive_rules = false;
	f->cfg.enable_transitive_rules = false;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW); /* allows, as ALLOWLIST does ... */
	assert_false(v.compiler);                 /* ... but is not a compiler */
	ward_snapshot_t *snap;
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	assert_false(ward_snapshot_has_compilers(snap)); /* no write watching either */
	ward_snapshot_unref(snap);
}

/* EnableBadSignatureProtection: a tampered Mach-O is denied even in MONITOR unless a
 * rule names its bytes; its untrusted CDHash cannot save it. */
static void test_bad_signature_protection(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	ward_record_t rec;
	ward_identity_t id;
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/go-hello-arm64", &len);
	char cdhash[41];

	assert_int_equal(ward_identity_read_buf(img, len, 0, &id, NULL), WARD_OK);
	ward_hex_encode(id.slices[0].cdhash, 20, cdhash);
	/* the original, with protection on: the mode decides */
	close(f->fd);
	int w = open(f->file, O_WRONLY | O_TRUNC);
	assert_int_equal(write(w, img, len), (ssize_t)len);
	close(w);
	f->fd = open(f->file, O_RDONLY);
	f->cfg.mode = WARD_MODE_MONITOR;
	f->cfg.enable_bad_signature_protection = true;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	/* one byte of code changed (page 1): the pages no longer match the signature */
	img[4096 + 100] ^= 0xff;
	w = open(f->file, O_WRONLY | O_TRUNC);
	assert_int_equal(write(w, img, len), (ssize_t)len);
	close(w);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_BAD_SIGNATURE);
	assert_non_null(strstr(detail(&rec), "code page 1"));
	/* protection off: MONITOR allows it */
	f->cfg.enable_bad_signature_protection = false;
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	f->cfg.enable_bad_signature_protection = true;
	/* the original's CDHash allowed: not this file's (its signature is not trusted) */
	ward_rule_t cd = { .type = WARD_RT_CDHASH, .policy = WARD_POL_ALLOWLIST, .source = WARD_SRC_LOCAL,
	                   .identifier = cdhash };
	assert_int_equal(ward_store_put(f->st, &cd, NULL), WARD_OK);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_BAD_SIGNATURE);
	/* a BINARY rule naming these very bytes: allowed (Santa: "unless allowed by an
	 * explicit rule") */
	assert_int_equal(ward_identity_read_buf(img, len, WARD_ID_SHA256, &id, NULL), WARD_OK);
	ward_hex_encode(id.sha256, 32, f->sha);
	add_rule(f, WARD_POL_ALLOWLIST, 0);
	decide(f, NULL, &v, &rec);
	assert_int_equal(v.decision, WARD_ALLOW);
	assert_int_equal(v.reason, WARD_RSN_RULE);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rule_allow_then_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocklists_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_by_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_is_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_container_still_has_a_sha256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_step, setup, teardown),
		cmocka_unit_test(test_fallback_and_logging),
		cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_never_exec_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hints_read_no_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sha256_only_for_binary_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_writable_never_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_size_and_time_deny, setup, teardown),
		cmocka_unit_test_setup_teardown(test_universal_binary_most_restrictive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_universal_binary_with_hints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_universal_binary_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_regexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_regex_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowed_path_must_name_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transitive_rules_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature_protection, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
