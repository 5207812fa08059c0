/*
 * The decision path. Reads like ../DESIGN.md: each numbered step either decides and
 * returns, or falls through to the next. No SQLite, no locks held across steps, no
 * logging and no formatting: the record is typed data; the pipeline answers the kernel
 * first and its subscribers log afterwards.
 */
#include "agent/engine/decide.h"
#include "agent/progopen.h"

#include <string.h>
#include <sys/stat.h>

#include "agent/engine/trust.h"
#include "common/limits.h"

static void by_mode(const ward_config_t *cfg, ward_reason_t why, bool cacheable,
                    ward_verdict_t *v)
{
	v->decision = cfg->mode == WARD_MODE_LOCKDOWN ? WARD_DENY : WARD_ALLOW;
	v->reason = why;
	v->cacheable = cacheable;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void by_rule(const ward_config_t *cfg, const ward_rule_t *rule, bool expiring, ward_record_t *r)
{
	ward_verdict_t *v = &r->v;

	v->has_rule = true;
	v->rule_type = rule->type;
	v->rule_policy = rule->policy;
	v->rule_id = rule->id;
	v->reason = WARD_RSN_RULE;
	v->decision = (rule->policy == WARD_POL_BLOCKLIST || rule->policy == WARD_POL_SILENT_BLOCKLIST)
	                  ? WARD_DENY : WARD_ALLOW;
	v->silent = rule->policy == WARD_POL_SILENT_BLOCKLIST;
	/* EnableTransitiveRules off (Santa's default): a compiler rule allows like ALLOWLIST
	 * and what the program writes is not remembered. */
	v->compiler = rule->policy == WARD_POL_ALLOWLIST_COMPILER && cfg->enable_transitive_rules;
	/* An expiring rule must stop matching on the second: never cache what it decided,
	 * nor what a universal binary's other slices' expiring rules let through. */
	v->cacheable = rule->expires_at == 0 && !expiring;
	copy_str(r->rule_identifier, sizeof(r->rule_identifier), rule->identifier);
	if (v->decision == WARD_DENY && !v->silent) {
		copy_str(r->rule_msg, sizeof(r->rule_msg), rule->custom_msg ? rule->custom_msg : "");
		copy_str(r->rule_url, sizeof(r->rule_url), rule->custom_url ? rule->custom_url : "");
	}
}

/* What the log keeps of an identity read from the file: its SHA-256 and the slice
 * (WARD_NO_SLICE: none) that decided. */
static void keep_identity(const ward_identity_t *id, unsigned slice, ward_record_t *r)
{
	const ward_slice_t *s = slice < id->nslices ? &id->slices[slice] : NULL;

	if (id->has_sha256) {
		r->v.has_sha256 = true;
		memcpy(r->v.sha256, id->sha256, sizeof(r->v.sha256));
	}
	r->nslices = (uint8_t)id->nslices;
	if (s == NULL)
		return;
	if (s->has_cdhash) {
		r->v.has_cdhash = true;
		memcpy(r->v.cdhash, s->cdhash, sizeof(r->v.cdhash));
	}
	copy_str(r->team_id, sizeof(r->team_id), s->team_id);
	copy_str(r->signing_id, sizeof(r->signing_id), s->signing_id);
	copy_str(r->arch, sizeof(r->arch), s->arch);
}

/*
 * The slice of a file that the kernel's hints name: the one whose CDHash they give
 * (EndpointSecurity reports the slice that is executing), or WARD_NO_SLICE.
 */
static unsigned hinted_slice(const ward_identity_t *id, const ward_id_hints_t *h)
{
	for (unsigned i = 0; h->has_cdhash && i < id->nslices; i++)
		if (id->slices[i].has_cdhash && memcmp(id->slices[i].cdhash, h->cdhash, WARD_CDHASH_LEN) == 0)
			return i;
	return WARD_NO_SLICE;
}

/* The same from the kernel's hints. */
static void keep_hints(const ward_id_hints_t *h, ward_record_t *r)
{
	if (h->has_cdhash) {
		r->v.has_cdhash = true;
		memcpy(r->v.cdhash, h->cdhash, sizeof(r->v.cdhash));
	}
	copy_str(r->team_id, sizeof(r->team_id), h->team_id);
	copy_str(r->signing_id, sizeof(r->signing_id), h->signing_id);
}

/*
 * Step 2: the target's identity, reading no more of the file than a rule could use.
 * SHA-256 only while BINARY rules exist; with kernel hints the file is read only when a
 * BINARY or CERTIFICATE rule needs its bytes. A file that is not a well-formed
 * container (a truncated Mach-O, say) is still named by its SHA-256, as `wardenctl rule
 * --path` names it. Returns false when the file could not be identified (r->notes and
 * r->err_code say why; WARD_NOTE_OUT_OF_TIME or WARD_NOTE_TOO_BIG when it was the
 * file's size or speed).
 *
 * The keys (*nkeys of them): with hints, one, the executing slice's (ES names it). From
 * the file, one per Mach-O slice: nothing on Linux says which slice of a universal
 * binary a Mac would run (there is no Mach-O exec here, and an Intel Mac and an Apple
 * silicon Mac run different ones), so every slice is decided and the most restrictive
 * result is the file's (ward_index_match_keys).
 */
static bool identify(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_identity_t *id,
                     ward_match_key_t keys[WARD_MAX_SLICES], unsigned *nkeys, ward_record_t *r)
{
	ward_match_key_t *key = &keys[0]; /* the one key of kernel hints */
	const ward_snapshot_t *snap = ctx->snap;
	bool need_sha = ward_snapshot_has_type(snap, WARD_RT_BINARY);
	bool need_cert = ward_snapshot_has_type(snap, WARD_RT_CERTIFICATE);
	const ward_id_hints_t *h = ev->hints;
	ward_error_t err = { 0 };
	ward_err_t rc;

	memset(id, 0, sizeof(*id));
	*nkeys = 1;
	if (h != NULL) {
		ward_match_key_from_signature(h->has_cdhash ? h->cdhash : NULL, h->team_id,
		                              h->signing_id, h->platform, key);
		keep_hints(h, r);
		if (!need_sha && !need_cert && !snap->cfg.enable_bad_signature_protection) {
			r->notes |= WARD_NOTE_HINTS;
			return true;
		}
	}
	if (!ev->key_ok || ev->fd < 0) {
		r->notes |= WARD_NOTE_NOSTAT;
		return false;
	}
	if (ctx->fast && ev->key.size > WARD_READER_MAX_BYTES) {
		/* the event reader parses and hashes only small files */
		r->notes |= WARD_NOTE_TO_WORKER;
		return false;
	}
	if (need_sha && ev->key.size > WARD_UNKNOWN_MAX_BYTES) {
		/* Too big to hash within any budget: a BINARY rule could name it, so it is
		 * neither known nor unknown. */
		r->notes |= WARD_NOTE_TOO_BIG;
		need_sha = false;
	}
	/* Bad-signature protection checks the code pages too, as codesign does. */
	rc = ward_identity_read_until(ev->fd, (need_sha ? WARD_ID_SHA256 : 0) |
	                              (snap->cfg.enable_bad_signature_protection ? WARD_ID_VERIFY_PAGES : 0),
	                              ev->deadline_ns, id, &err);
	if (rc == WARD_E_IO || rc == WARD_E_NOMEM || rc == WARD_E_TIMEOUT) {
		r->err_code = rc;
		r->notes |= rc == WARD_E_TIMEOUT ? WARD_NOTE_OUT_OF_TIME : WARD_NOTE_UNREADABLE;
		return false;
	}
	if (rc != WARD_OK) {
		/* Not a well-formed container: the bytes are its only identity. */
		memset(id, 0, sizeof(*id));
		id->file_size = ev->key.size;
		r->err_code = rc;
		r->notes |= WARD_NOTE_SHA_ONLY;
		if (need_sha) {
			rc = ward_sha256_fd_until(ev->fd, ev->deadline_ns, id->sha256, &err);
			if (rc != WARD_OK) {
				r->err_code = rc;
				r->notes |= rc == WARD_E_TIMEOUT ? WARD_NOTE_OUT_OF_TIME : WARD_NOTE_UNREADABLE;
				return false;
			}
			id->has_sha256 = true;
		}
	}
	if (h != NULL) {
		/* Hints name the signature; the file adds what they lack: its SHA-256, and the
		 * certificate of the slice that runs (none when no slice has the hinted CDHash). */
		unsigned sl = hinted_slice(id, h);
		ward_match_key_t fk;
		ward_match_key_from_slice(id, sl, &fk);
		memcpy(key->sha256, fk.sha256, sizeof(key->sha256));
		memcpy(key->certificate, fk.certificate, sizeof(key->certificate));
		if (id->has_sha256) {
			r->v.has_sha256 = true;
			memcpy(r->v.sha256, id->sha256, sizeof(r->v.sha256));
		}
		if (sl < id->nslices)
			copy_str(r->arch, sizeof(r->arch), id->slices[sl].arch);
		return true;
	}
	*nkeys = ward_match_keys_from_identity(id, keys);
	return true;
}

/*
 * The rule that decides the file, or NULL. A file too big to hash has no SHA-256 key,
 * and a BINARY rule naming it would outrank every type but CDHASH: its rules decide
 * only when no BINARY rule could change the answer, i.e. a slice blocked by CDHASH (no
 * BINARY rule lifts that) or every slice decided by CDHASH.
 */
static const ward_rule_t *deciding_rule(const ward_file_match_t *m, const ward_record_t *r)
{
	bool all_cdhash = true;

	if (!(r->notes & WARD_NOTE_TOO_BIG))
		return m->rule;
	for (unsigned k = 0; k < m->n; k++)
		if (m->each[k] != NULL && m->each[k]->type == WARD_RT_CDHASH &&
		    ward_policy_blocks(m->each[k]->policy))
			return m->each[k];
	for (unsigned k = 0; k < m->n; k++)
		all_cdhash &= m->each[k] != NULL && m->each[k]->type == WARD_RT_CDHASH;
	return all_cdhash ? m->rule : NULL;
}

bool ward_decide_cached(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v)
{
	return ctx->cache != NULL && ev->key_ok &&
	       ward_cache_lookup(ctx->cache, &ev->key, ctx->now_ms, v);
}

/*
 * Step 3b: EnableBadSignatureProtection. A Mach-O with a slice whose signature is
 * present but wrong, or a Mach-O container too broken to read its signature, is denied
 * in every mode (Santa: "blocked even in MONITOR mode, unless the binary is allowed by
 * an explicit rule"; only a BINARY rule can name an invalid file, its other identities
 * being untrusted).
 */
static bool bad_signature(const ward_config_t *cfg, const ward_identity_t *id, ward_record_t *r)
{
	if (!cfg->enable_bad_signature_protection)
		return false;
	if (r->notes & WARD_NOTE_SHA_ONLY) {
		snprintf(r->decide_why, sizeof(r->decide_why), "bad signature protection: not a "
		         "well-formed Mach-O (%s)", ward_strerror(r->err_code));
	} else {
		unsigned i;
		for (i = 0; i < id->nslices; i++)
			if (id->slices[i].status == WARD_SIG_INVALID)
				break;
		if (i == id->nslices)
			return false;
		snprintf(r->decide_why, sizeof(r->decide_why), "bad signature protection: %s slice: %s",
		         id->slices[i].arch, id->slices[i].invalid_reason);
	}
	r->v.decision = WARD_DENY;
	r->v.reason = WARD_RSN_BAD_SIGNATURE;
	r->v.cacheable = false;
	return true;
}

/*
 * Step 3c: the path regexes, Santa's order: BlockedPathRegex denies in every mode, then
 * AllowedPathRegex allows (may_allow: only when no rule could have decided). They match
 * the path the backend gives for the file being executed: the real path, symlinks
 * resolved (a link's own name never matches). A file deleted since it was opened shows
 * as "PATH (deleted)": the blocked regex sees PATH, the allowed one never matches it;
 * nor does it match a path that names another file in the agent's mount namespace.
 * An ALLOW by path is never cached: the caches are keyed by the file, which other
 * paths (hard links, bind mounts) may also name. docs/threat-model.md has the rest.
 */
/*
 * Whether path, looked up in the agent's own mount namespace, names the very file being
 * executed. The kernel's path of a file is relative to the mounts of the process that
 * exec'd it: in a mount namespace of its own (unshare -Urm) a user can bind-mount any
 * file over an allowed path, and the agent would read that path. Only an ALLOW needs
 * this; a DENY by path can only be stricter.
 */
static bool same_file_here(const ward_event_t *ev, const char *path)
{
	struct stat a, b;

	return ev->fd >= 0 && fstat(ev->fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool path_regexes(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_record_t *r,
                         bool may_allow)
{
	static const char del[] = " (deleted)";
	const ward_snapshot_t *snap = ctx->snap;
	char buf[PATH_MAX];
	const char *p = r->path;
	bool deleted = false;
	size_t n;

	if (snap->blocked_re == NULL && (!may_allow || snap->allowed_re == NULL))
		return false;
	if (!r->path[0] && (ctx->backend == NULL ||
	                    !ctx->backend->ops->path(ctx->backend, ev, r->path, sizeof(r->path))))
		return false; /* no path: nothing to match */
	n = strlen(p);
	if (n > sizeof(del) - 1 && strcmp(p + n - (sizeof(del) - 1), del) == 0 && ev->fd >= 0) {
		struct stat sb;
		if (fstat(ev->fd, &sb) == 0 && sb.st_nlink == 0) {
			deleted = true;
			memcpy(buf, p, n - (sizeof(del) - 1));
			buf[n - (sizeof(del) - 1)] = '\0';
			p = buf;
		}
	}
	if (snap->blocked_re != NULL && ward_pathregex_match(snap->blocked_re, p)) {
		r->v.decision = WARD_DENY;
		r->v.reason = WARD_RSN_PATH_BLOCKED;
		r->v.cacheable = false;
		snprintf(r->decide_why, sizeof(r->decide_why), "BlockedPathRegex \"%.180s\"",
		         ward_pathregex_pattern(snap->blocked_re));
		return true;
	}
	if (may_allow && !deleted && snap->allowed_re != NULL && ward_pathregex_match(snap->allowed_re, p) &&
	    same_file_here(ev, p)) {
		r->v.decision = WARD_ALLOW;
		r->v.reason = WARD_RSN_PATH_ALLOWED;
		r->v.cacheable = false;
		snprintf(r->decide_why, sizeof(r->decide_why), "AllowedPathRegex \"%.180s\"",
		         ward_pathregex_pattern(snap->allowed_re));
		return true;
	}
	return false;
}

static void decide_exec(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_record_t *r)
{
	const ward_config_t *cfg = &ctx->snap->cfg;
	ward_verdict_t *v = &r->v;
	const ward_rule_t *rule;
	ward_file_match_t m;
	ward_identity_t id;
	ward_match_key_t keys[WARD_MAX_SLICES];
	unsigned nkeys;

	/* 1. verdict cache: (dev, ino, ctime, size) */
	if (ward_decide_cached(ctx, ev, v))
		return;

	/* 2. identity of the target: kernel hints, else the file (Mach-O signature, every
	 *    slice of a universal binary; SHA-256 only if a BINARY rule could decide) */
	if (!identify(ctx, ev, &id, keys, &nkeys, r)) {
		bool out_of_time = (r->notes & (WARD_NOTE_OUT_OF_TIME | WARD_NOTE_TOO_BIG)) != 0;
		/* no rule can have matched: a blocked path still denies */
		if (path_regexes(ctx, ev, r, false))
			return;
		by_mode(cfg, out_of_time ? WARD_RSN_DEADLINE : WARD_RSN_ERROR, false, v);
		return;
	}

	/* 3. rules, first hit in precedence order (CDHASH > BINARY > SIGNINGID > CERT > TEAMID),
	 *    per slice; the file gets the most restrictive slice's result; transitive rules
	 *    only with EnableTransitiveRules */
	ward_index_match_keys_skip(ctx->snap->ix, keys, nkeys, ctx->now,
	                           cfg->enable_transitive_rules ? 0 : 1u << WARD_SRC_TRANSITIVE, &m);
	if ((rule = deciding_rule(&m, r)) != NULL && rule != m.rule)
		for (unsigned k = 0; k < m.n; k++)
			if (m.each[k] == rule) {
				m.decisive = k;
				break;
			}
	if (ev->hints == NULL)
		keep_identity(&id, id.nslices > 0 ? m.decisive : WARD_NO_SLICE, r);
	if (rule != NULL) {
		by_rule(cfg, rule, m.expiring, r);
		return;
	}
	if (r->notes & WARD_NOTE_TOO_BIG) {
		if (path_regexes(ctx, ev, r, false))
			return;
		by_mode(cfg, WARD_RSN_DEADLINE, false, v);
		return;
	}

	/* 3b. EnableBadSignatureProtection: an invalid signature denies in every mode */
	if (bad_signature(cfg, &id, r))
		return;

	/* 3c. BlockedPathRegex denies in every mode; AllowedPathRegex allows */
	if (path_regexes(ctx, ev, r, true))
		return;

	/* 4. platform: a root-owned file in a root-owned directory chain under TrustedPaths */
	if (cfg->ntrusted_paths > 0 &&
	    ctx->backend->ops->path(ctx->backend, ev, r->path, sizeof(r->path))) {
		size_t dirlen = 0;
		r->trust = ward_trust_check(cfg, ev->fd, r->path, &dirlen);
		r->trust_dirlen = (uint16_t)(dirlen < sizeof(r->path) ? dirlen : 0);
		if (r->trust == WARD_TRUST_OK) {
			v->decision = WARD_ALLOW;
			v->reason = WARD_RSN_TRUSTED;
			v->cacheable = true;
			return;
		}
	}

	/* 5. scan: the bounded-time YARA pool, never past the event's deadline; the reader
	 *    leaves that to a worker */
	if (ctx->scan != NULL && ctx->fast) {
		if (ctx->scan_idle == NULL || !ctx->scan_idle(ctx->scan_arg)) {
			r->notes |= WARD_NOTE_TO_WORKER;
			return;
		}
		r->scan_step = (int)WARD_SCANSTEP_SKIPPED + 1; /* what the step says with no rules */
	} else if (ctx->scan != NULL) {
		ward_scan_out_t so;
		const char *path = r->path[0] ? r->path : NULL;
		uint64_t deadline = ev->t_recv_ns + (uint64_t)cfg->scan_budget_ms * 1000000ull;

		if (ev->deadline_ns != 0 && ev->deadline_ns < deadline)
			deadline = ev->deadline_ns;
		memset(&so, 0, sizeof(so));
		ward_scanstep_t sr = ctx->scan(ctx->scan_arg, ev, path, &id, deadline, &so);
		r->scan_step = (int)sr + 1;
		copy_str(r->scan_rule, sizeof(r->scan_rule), so.what);
		if (so.audit)
			r->notes |= WARD_NOTE_SCAN_AUDIT;
		r->scan_other = so.other_matches > 0;
		if (so.has_sha256 && !v->has_sha256) {
			v->has_sha256 = true;
			memcpy(v->sha256, so.sha256, sizeof(v->sha256));
		}
		switch (sr) {
		case WARD_SCANSTEP_BLOCK:
			v->decision = WARD_DENY;
			v->reason = WARD_RSN_SCAN;
			v->cacheable = true;
			return;
		case WARD_SCANSTEP_PENDING:
			by_mode(cfg, WARD_RSN_MODE, false, v);
			v->scan_pending = true;
			return;
		case WARD_SCANSTEP_UNSCANNED:
			by_mode(cfg, WARD_RSN_MODE, false, v);
			return;
		case WARD_SCANSTEP_CLEAN:
		case WARD_SCANSTEP_SKIPPED:
			break;
		}
	}

	/* 6. mode: MONITOR allows (and logs) the unknown, LOCKDOWN denies it */
	by_mode(cfg, WARD_RSN_MODE, true, v);
}

/*
 * An OPEN is never decided by the exec policy: the file-access policy decides it
 * (agent/fileaccess.c). No item covers the path: allow what was asked; if no item can
 * reach any file of its directory, the answer is cacheable, which for an OPEN means the
 * kernel may stop asking about that directory's files (the backend's ignore mark). A
 * watched file is never cacheable in the kernel (the answer depends on the opener);
 * fileaccess remembers plain ALLOWs per opener itself.
 */
static void decide_open(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_record_t *r)
{
	ward_fa_verdict_t fv;
	char path[PATH_MAX];
	const char *p = ev->path;

	bool program = false;

	/*
	 * A program loaded without an exec (the loader run as a command, an interpreter's
	 * script argument) is decided as an exec of it: LOCKDOWN denies the unknown,
	 * MONITOR logs it, rules allow it as they allow its exec (agent/progopen.h). A
	 * denied one stops here; an allowed one is still subject to the file-access policy.
	 */
	if (ctx->snap != NULL && ev->fd >= 0) {
		char why[WARD_FAA_WHY_MAX];
		if (ward_progopen_classify(&ctx->snap->cfg, ev->proc.pid, ev->fd, why, sizeof(why)) !=
		    WARD_PROG_NONE) {
			decide_exec(ctx, ev, r);
			r->v.cacheable = false; /* an OPEN's cache bit means its directory */
			r->notes |= WARD_NOTE_PROGRAM;
			snprintf(r->faa_why, sizeof(r->faa_why), "%s", why);
			if (r->v.decision == WARD_DENY) {
				r->v.allowed = 0;
				return;
			}
			program = true;
		}
	}
	if (!program) {
		r->v.decision = WARD_ALLOW;
		r->v.reason = WARD_RSN_NO_POLICY;
		r->v.cacheable = false;
		r->v.quiet = true;
	}
	r->v.allowed = ev->access ? ev->access : WARD_ACC_READ | WARD_ACC_WRITE;
	if (!p && ctx->backend && ctx->backend->ops->path(ctx->backend, ev, path, sizeof(path)))
		p = path;
	if (ctx->fa == NULL || p == NULL || !ward_fileaccess_active(ctx->fa)) {
		if (!program)
			r->notes |= WARD_NOTE_NO_POLICY;
		return;
	}
	snprintf(r->path, sizeof(r->path), "%s", p);
	ward_fileaccess_decide(ctx->fa, &(ward_fa_request_t){ .path = p, .key_ok = ev->key_ok,
	                                                      .key = ev->key, .access = ev->access,
	                                                      .pid = ev->proc.pid }, &fv);
	if (fv.r.outcome == WARD_FAA_UNWATCHED) {
		char dir[PATH_MAX], *slash;
		if (program)
			return; /* the exec verdict stands */
		r->notes |= WARD_NOTE_NO_POLICY;
		/* with interpreters watched, any file may be a script: the kernel must keep
		 * reporting every directory */
		if (ctx->snap != NULL && ctx->snap->cfg.ninterpreters > 0)
			return;
		snprintf(dir, sizeof(dir), "%s", p);
		if ((slash = strrchr(dir, '/')) != NULL) {
			*(slash == dir ? slash + 1 : slash) = '\0';
			r->v.cacheable = !ward_fileaccess_dir_may_watch(ctx->fa, dir);
		}
		return;
	}
	r->v.reason = WARD_RSN_FILE_ACCESS;
	r->notes &= ~WARD_NOTE_PROGRAM;
	r->v.cacheable = false;
	r->v.decision = fv.r.outcome == WARD_FAA_DENY ? WARD_DENY : WARD_ALLOW;
	r->v.allowed = fv.r.outcome == WARD_FAA_DENY ? fv.r.allowed : r->v.allowed;
	r->v.cached = fv.cached;
	r->v.audit = fv.r.outcome == WARD_FAA_AUDIT;
	r->v.silent = fv.r.silent;
	r->v.quiet = !fv.log;
	if (fv.has_sha256) {
		/* the opener's, not the target's: the log names who opened */
		r->faa_has_opener_sha = true;
		memcpy(r->faa_opener_sha, fv.opener_sha256, 32);
	}
	if (r->v.decision == WARD_DENY) {
		/* what the denied user is told (agent/ttymsg.c) */
		snprintf(r->rule_msg, sizeof(r->rule_msg), "%.*s", (int)sizeof(r->rule_msg) - 1,
		         fv.block_message);
		snprintf(r->rule_url, sizeof(r->rule_url), "%.*s", (int)sizeof(r->rule_url) - 1,
		         fv.event_detail_url);
		if (fv.r.silent || fv.r.silent_tty)
			r->notes |= WARD_NOTE_TTY_SILENT;
	}
	snprintf(r->faa_item, sizeof(r->faa_item), "%s", fv.item);
	snprintf(r->faa_version, sizeof(r->faa_version), "%.79s", fv.policy_version);
	snprintf(r->faa_opener, sizeof(r->faa_opener), "%s", fv.opener_path);
	snprintf(r->faa_why, sizeof(r->faa_why), "%s", fv.r.why);
}

/* Whether a user other than root can change the file's bytes: its owner, or anyone
 * through group/other write bits. Such a file may be changed through a shared writable
 * mapping with no event and no ctime change, so no verdict of it is ever cached. */
bool ward_decide_user_writable(const ward_event_t *ev)
{
	return ev->st_uid != 0 || (ev->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

void ward_decide(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_record_t *r)
{
	memset(&r->v, 0, sizeof(r->v));
	switch (ev->kind) {
	case WARD_EV_EXEC:
		decide_exec(ctx, ev, r);
		/* The caches are keyed by the file, which may have other paths (hard links,
		 * bind mounts): with an AllowedPathRegex, a DENY no rule made here may be an
		 * ALLOW there, so it is decided again every time (DENYs are rare, and the
		 * kernel never caches them anyway). */
		if (r->v.cacheable && r->v.decision == WARD_DENY && r->v.reason != WARD_RSN_RULE &&
		    ctx->snap != NULL && ctx->snap->allowed_re != NULL)
			r->v.cacheable = false;
		break;
	case WARD_EV_OPEN:
		decide_open(ctx, ev, r);
		break;
	default:
		/* Notifications are never decided; answer-less kinds get an inert verdict. */
		r->v.decision = WARD_ALLOW;
		r->v.reason = WARD_RSN_ERROR;
		return;
	}
	if (r->v.cacheable && !r->v.cached && ev->key_ok && ward_decide_user_writable(ev)) {
		r->v.cacheable = false;
		r->notes |= WARD_NOTE_USER_WRITABLE;
	}
}

void ward_decide_fallback(ward_mode_t mode, bool fail_closed, ward_reason_t why, bool own_fault,
                          ward_verdict_t *v)
{
	memset(v, 0, sizeof(*v));
	if (mode == WARD_MODE_LOCKDOWN && (fail_closed || (why == WARD_RSN_DEADLINE && own_fault)))
		v->decision = WARD_DENY;
	else
		v->decision = WARD_ALLOW;
	v->reason = why;
	v->cacheable = false;
}

bool ward_decide_loggable(const ward_verdict_t *v, bool log_allows)
{
	if (v->quiet)
		return false;
	if (v->decision == WARD_DENY || log_allows || v->audit)
		return true;
	/* An unknown program allowed in MONITOR is logged when it is decided, not on every
	 * cache hit: the kernel cache hides repeats anyway, so this keeps the log the same
	 * with or without it. */
	if (v->cached)
		return false;
	switch (v->reason) {
	case WARD_RSN_RULE:
	case WARD_RSN_TRUSTED:
	case WARD_RSN_PATH_ALLOWED:
	case WARD_RSN_SELF:
	case WARD_RSN_NO_POLICY:
		return false;
	default:
		return true;
	}
}

static const char *const reason_names[WARD_RSN__COUNT] = {
	[WARD_RSN_RULE] = "rule",
	[WARD_RSN_TRUSTED] = "trusted_path",
	[WARD_RSN_MODE] = "unknown",
	[WARD_RSN_SELF] = "self",
	[WARD_RSN_DEADLINE] = "deadline",
	[WARD_RSN_QUEUE_FULL] = "queue_full",
	[WARD_RSN_ERROR] = "error",
	[WARD_RSN_SCAN] = "scan",
	[WARD_RSN_STOPPING] = "stopping",
	[WARD_RSN_NO_POLICY] = "no_policy",
	[WARD_RSN_FILE_ACCESS] = "file_access",
	[WARD_RSN_GROUND] = "unseen_filesystem",
	[WARD_RSN_PATH_BLOCKED] = "blocked_path_regex",
	[WARD_RSN_PATH_ALLOWED] = "allowed_path_regex",
	[WARD_RSN_BAD_SIGNATURE] = "bad_signature",
	[WARD_RSN_CHANGED] = "changed_after_allow",
};

const char *ward_reason_name(ward_reason_t r)
{
	return (unsigned)r < WARD_RSN__COUNT ? reason_names[r] : "?";
}

const char *ward_decision_name(ward_decision_t d)
{
	return d == WARD_DENY ? "DENY" : "ALLOW";
}
