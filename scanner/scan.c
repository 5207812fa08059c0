/*
 * YARA rule sets and per-thread scanners (scanner/scan.h): compiling or loading rules,
 * the warden meaning of each rule, and scanning one file from a private buffer.
 */
#include "scanner/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yara.h>
#include "common/platform.h"

struct ward_yrules {
	YR_RULES *rules;
	uint8_t *actions;        /* ward_scan_action_t per rule index */
	uint32_t nrules;
	uint32_t nfiles;
	uint64_t generation;
	atomic_uint refs;
};

struct ward_yscanner {
	YR_SCANNER *ys;
	ward_yrules_t *r;
	unsigned hard_limit_s;
	uint8_t *buf;
	size_t cap;
};

static atomic_uint_fast64_t next_generation = 1;

/*
 * yr_initialize/yr_finalize keep a count but are not thread-safe: every user goes
 * through this pair. Each rule set holds one reference, so libyara stays initialized
 * while any set (and so any scanner) exists.
 */
static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_count;

static ward_err_t yara_acquire(ward_error_t *err)
{
	int rc = ERROR_SUCCESS;

	pthread_mutex_lock(&init_mu);
	if (init_count == 0)
		rc = yr_initialize();
	if (rc == ERROR_SUCCESS)
		init_count++;
	pthread_mutex_unlock(&init_mu);
	if (rc != ERROR_SUCCESS)
		return ward_error_set(err, WARD_E_YARA, "yr_initialize failed (libyara error %d)", rc);
	return WARD_OK;
}

static void yara_release(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_count > 0 && --init_count == 0)
		yr_finalize();
	pthread_mutex_unlock(&init_mu);
}

/* Map a libyara error code onto ours, with a sentence naming what failed. */
static ward_err_t yara_error(ward_error_t *err, int rc, const char *what)
{
	switch (rc) {
	case ERROR_INSUFFICIENT_MEMORY:
		return ward_error_set(err, WARD_E_NOMEM, "%s: out of memory", what);
	case ERROR_COULD_NOT_OPEN_FILE:
	case ERROR_COULD_NOT_READ_FILE:
		return ward_error_set(err, WARD_E_IO, "%s: cannot read", what);
	case ERROR_INVALID_FILE:
		return ward_error_set(err, WARD_E_BADMAGIC, "%s: not compiled YARA rules", what);
	case ERROR_CORRUPT_FILE:
		return ward_error_set(err, WARD_E_MALFORMED, "%s: corrupt compiled rules", what);
	case ERROR_UNSUPPORTED_FILE_VERSION:
		return ward_error_set(err, WARD_E_UNSUPPORTED,
		                      "%s: compiled by another libyara version (this is %s)", what,
		                      YR_VERSION);
	case ERROR_SCAN_TIMEOUT:
		return ward_error_set(err, WARD_E_TIMEOUT, "%s: timed out", what);
	default:
		return ward_error_set(err, WARD_E_YARA, "%s: libyara error %d", what, rc);
	}
}

void ward_scan_key_from_stat(const struct stat *st, ward_scan_key_t *key)
{
	memset(key, 0, sizeof(*key));
	key->dev = (uint64_t)st->st_dev;
	key->ino = (uint64_t)st->st_ino;
	key->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	key->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
	key->size = (uint64_t)st->st_size;
}

const char *ward_scan_action_name(ward_scan_action_t a)
{
	switch (a) {
	case WARD_SCAN_AUDIT: return "audit";
	case WARD_SCAN_BLOCK: return "block";
	default: return "none";
	}
}

const char *ward_scan_status_name(ward_scan_status_t s)
{
	switch (s) {
	case WARD_SCAN_DONE: return "done";
	case WARD_SCAN_PENDING: return "pending";
	case WARD_SCAN_BUSY: return "busy";
	case WARD_SCAN_SKIPPED: return "skipped";
	case WARD_SCAN_ABORTED: return "aborted";
	default: return "failed";
	}
}

/* ------------------------------------------------------------------ compiling */

struct diag_ctx {
	ward_yrules_diag_fn fn;
	void *ctx;
	unsigned nerrors;
	char first[WARD_ERRMSG_MAX];
};

static void compiler_cb(int level, const char *file, int line, const YR_RULE *rule,
                        const char *msg, void *user)
{
	struct diag_ctx *d = user;
	bool warning = level == YARA_ERROR_LEVEL_WARNING;

	(void)rule;
	if (!warning && d->nerrors++ == 0)
		snprintf(d->first, sizeof(d->first), "%s:%d: %s", file ? file : "<string>", line, msg);
	if (d->fn)
		d->fn(d->ctx, warning, file, line, msg);
}

static ward_err_t compile_failed(struct diag_ctx *d, ward_error_t *err)
{
	if (d->nerrors > 1)
		return ward_error_set(err, WARD_E_MALFORMED, "%s (and %u more error%s)", d->first,
		                      d->nerrors - 1, d->nerrors > 2 ? "s" : "");
	return ward_error_set(err, WARD_E_MALFORMED, "%s", d->first[0] ? d->first : "compile error");
}

/* Meaning of one rule from its meta warden_action and its tags; -1 on a bad meta. */
static int rule_action(const YR_RULE *rule, const char **bad)
{
	const YR_META *meta;
	const char *tag;
	int a = WARD_SCAN_NONE;

	yr_rule_metas_foreach(rule, meta) {
		if (strcmp(meta->identifier, "warden_action") != 0)
			continue;
		if (meta->type != META_TYPE_STRING) {
			*bad = "(not a string)";
			return -1;
		}
		if (strcasecmp(meta->string, "block") == 0) {
			a = WARD_SCAN_BLOCK;
		} else if (strcasecmp(meta->string, "audit") == 0) {
			if (a < WARD_SCAN_AUDIT)
				a = WARD_SCAN_AUDIT;
		} else {
			*bad = meta->string;
			return -1;
		}
	}
	yr_rule_tags_foreach(rule, tag) {
		if (strcasecmp(tag, "block") == 0)
			a = WARD_SCAN_BLOCK;
		else if (strcasecmp(tag, "audit") == 0 && a < WARD_SCAN_AUDIT)
			a = WARD_SCAN_AUDIT;
	}
	return a;
}

/* Wrap compiled rules: count them, work out each rule's meaning, number the set. */
static ward_err_t yrules_wrap(YR_RULES *rules, uint32_t nfiles, ward_yrules_t **out,
                              ward_error_t *err)
{
	ward_yrules_t *r;
	const YR_RULE *rule;
	uint32_t i = 0;

	if (rules->num_rules > WARD_SCAN_MAX_RULES) {
		yr_rules_destroy(rules);
		return ward_error_set(err, WARD_E_LIMIT, "%u rules, more than %u", rules->num_rules,
		                      WARD_SCAN_MAX_RULES);
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->actions = calloc(rules->num_rules + 1, 1)) == NULL) {
		free(r);
		yr_rules_destroy(rules);
		return ward_error_set(err, WARD_E_NOMEM, "rule set: out of memory");
	}
	yr_rules_foreach(rules, rule) {
		const char *bad = NULL;
		int a;

		if (i >= rules->num_rules)
			break;
		a = rule_action(rule, &bad);
		if (a < 0) {
			ward_error_set(err, WARD_E_INVAL,
			               "rule %s:%s: warden_action must be \"block\" or \"audit\", not \"%s\"",
			               rule->ns->name, rule->identifier, bad);
			free(r->actions);
			free(r);
			yr_rules_destroy(rules);
			return WARD_E_INVAL;
		}
		r->actions[i++] = (uint8_t)a;
	}
	r->rules = rules;
	r->nrules = rules->num_rules;
	r->nfiles = nfiles;
	r->generation = atomic_fetch_add(&next_generation, 1);
	atomic_init(&r->refs, 1);
	*out = r;
	return WARD_OK;
}

/*
 * glob(3) error hook: a directory that does not exist simply matches nothing (the
 * default /etc/warden/yara/ may be absent); any other error (EACCES, EIO) stops the
 * expansion, so a rule set never silently loses files it could not read.
 */
static _Thread_local int glob_errno;
static _Thread_local char glob_epath[256];

static int glob_err(const char *epath, int eerrno)
{
	if (eerrno == ENOENT || eerrno == ENOTDIR)
		return 0;
	glob_errno = eerrno;
	snprintf(glob_epath, sizeof(glob_epath), "%s", epath);
	return 1;
}

static bool has_glob_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Namespace of a rules file: its base name without extension, ':' and blanks made '_'. */
static void file_namespace(const char *path, char *ns, size_t cap)
{
	const char *base = strrchr(path, '/');
	char *dot;

	snprintf(ns, cap, "%s", base ? base + 1 : path);
	dot = strrchr(ns, '.');
	if (dot && dot != ns)
		*dot = '\0';
	for (char *p = ns; *p; p++)
		if (*p == ':' || *p == ' ' || *p == '\t')
			*p = '_';
	if (ns[0] == '\0')
		snprintf(ns, cap, "default");
}

static ward_err_t open_rules_file(const char *path, int *fdp, struct stat *st, ward_error_t *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return ward_error_set(err, WARD_E_INVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st->st_size > WARD_SCAN_MAX_RULE_BYTES) {
		close(fd);
		return ward_error_set(err, WARD_E_LIMIT, "%s: %lld bytes, more than %u", path,
		                      (long long)st->st_size, WARD_SCAN_MAX_RULE_BYTES);
	}
	*fdp = fd;
	return WARD_OK;
}

/* libyara's compiled-rules files start with "YARA" (arena file header). */
static bool is_compiled(int fd)
{
	char magic[4];

	return pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
	       memcmp(magic, "YARA", 4) == 0;
}

static size_t stream_read(void *ptr, size_t size, size_t count, void *user)
{
	int fd = *(int *)user;
	size_t want, got = 0;

	if (size == 0 || count == 0)
		return 0;
	if (count > SIZE_MAX / size)
		return 0;
	want = size * count;
	while (got < want) {
		ssize_t n = read(fd, (uint8_t *)ptr + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got / size;
}

/*
 * Compiled rules are executable input for libyara (its loader trusts them), so only
 * a file that nobody but root or us could have written is accepted.
 */
static ward_err_t load_compiled(const char *path, int fd, const struct stat *st,
                                ward_yrules_t **out, ward_error_t *err)
{
	YR_STREAM stream = { 0 };
	YR_RULES *rules = NULL;
	int rc;

	if ((st->st_uid != 0 && st->st_uid != geteuid()) || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return ward_error_set(err, WARD_E_PERM,
		                      "%s: compiled rules must be owned by root and not group/other writable",
		                      path);
	stream.user_data = &fd;
	stream.read = stream_read;
	rc = yr_rules_load_stream(&stream, &rules);
	if (rc != ERROR_SUCCESS)
		return yara_error(err, rc, path);
	return yrules_wrap(rules, 1, out, err);
}

ward_err_t ward_yrules_open(const char *const *paths, size_t npaths, ward_yrules_diag_fn diag,
                            void *diag_ctx, ward_yrules_t **out, ward_error_t *err)
{
	struct diag_ctx d = { .fn = diag, .ctx = diag_ctx };
	YR_COMPILER *c = NULL;
	YR_RULES *rules = NULL;
	char **files = NULL;
	size_t nfiles = 0;
	ward_err_t rc;
	int yrc;

	*out = NULL;
	if (npaths > 0 && paths == NULL)
		return ward_error_set(err, WARD_E_INVAL, "rule paths: NULL list");
	if ((rc = yara_acquire(err)) != WARD_OK)
		return rc;

	/* Expand every pattern first, so limits are checked before anything compiles. */
	if ((files = calloc(WARD_SCAN_MAX_RULE_FILES, sizeof(*files))) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "rule paths: out of memory");
		goto out;
	}
	for (size_t i = 0; i < npaths; i++) {
		glob_t g;
		int grc;

		if (paths[i] == NULL || paths[i][0] == '\0') {
			rc = ward_error_set(err, WARD_E_INVAL, "rule path %zu is empty", i);
			goto out;
		}
		if (!has_glob_magic(paths[i])) {
			if (nfiles >= WARD_SCAN_MAX_RULE_FILES) {
				rc = ward_error_set(err, WARD_E_LIMIT, "more than %u rule files",
				                    WARD_SCAN_MAX_RULE_FILES);
				goto out;
			}
			if ((files[nfiles++] = strdup(paths[i])) == NULL) {
				rc = ward_error_set(err, WARD_E_NOMEM, "rule paths: out of memory");
				goto out;
			}
			continue;
		}
		glob_errno = 0;
		grc = glob(paths[i], 0, glob_err, &g);
		if (grc == GLOB_NOMATCH) {
			globfree(&g);
			continue;
		}
		if (grc != 0) {
			globfree(&g);
			if (grc == GLOB_NOSPACE)
				rc = ward_error_set(err, WARD_E_NOMEM, "%s: out of memory", paths[i]);
			else
				rc = ward_error_set(err, WARD_E_IO, "%s: %s: %s", paths[i], glob_epath,
				                    strerror(glob_errno ? glob_errno : EIO));
			goto out;
		}
		for (size_t k = 0; k < g.gl_pathc; k++) {
			if (nfiles >= WARD_SCAN_MAX_RULE_FILES) {
				globfree(&g);
				rc = ward_error_set(err, WARD_E_LIMIT, "%s: more than %u rule files",
				                    paths[i], WARD_SCAN_MAX_RULE_FILES);
				goto out;
			}
			if ((files[nfiles++] = strdup(g.gl_pathv[k])) == NULL) {
				globfree(&g);
				rc = ward_error_set(err, WARD_E_NOMEM, "rule paths: out of memory");
				goto out;
			}
		}
		globfree(&g);
	}

	if ((yrc = yr_compiler_create(&c)) != ERROR_SUCCESS) {
		rc = yara_error(err, yrc, "yr_compiler_create");
		goto out;
	}
	yr_compiler_set_callback(c, compiler_cb, &d);
	for (size_t i = 0; i < nfiles; i++) {
		char ns[128];
		struct stat st;
		int fd = -1;

		if ((rc = open_rules_file(files[i], &fd, &st, err)) != WARD_OK)
			goto out;
		if (is_compiled(fd)) {
			if (nfiles != 1) {
				close(fd);
				rc = ward_error_set(err, WARD_E_INVAL,
				                    "%s: compiled rules cannot be mixed with other rule files",
				                    files[i]);
				goto out;
			}
			rc = load_compiled(files[i], fd, &st, out, err);
			close(fd);
			goto out;
		}
		file_namespace(files[i], ns, sizeof(ns));
		/* After an error libyara's compiler takes no more input: stop at this file. */
		yrc = yr_compiler_add_fd(c, fd, ns, files[i]);
		close(fd);
		if (yrc != 0 || d.nerrors != 0) {
			rc = compile_failed(&d, err);
			goto out;
		}
	}
	if ((yrc = yr_compiler_get_rules(c, &rules)) != ERROR_SUCCESS) {
		rc = yara_error(err, yrc, "yr_compiler_get_rules");
		goto out;
	}
	rc = yrules_wrap(rules, (uint32_t)nfiles, out, err);
out:
	if (c)
		yr_compiler_destroy(c);
	if (files) {
		for (size_t i = 0; i < nfiles; i++)
			free(files[i]);
		free(files);
	}
	/* On success the new set keeps the libyara reference taken above. */
	if (rc != WARD_OK) {
		*out = NULL;
		yara_release();
	}
	return rc;
}

ward_err_t ward_yrules_compile_string(const char *src, const char *ns, ward_yrules_diag_fn diag,
                                      void *diag_ctx, ward_yrules_t **out, ward_error_t *err)
{
	struct diag_ctx d = { .fn = diag, .ctx = diag_ctx };
	YR_COMPILER *c = NULL;
	YR_RULES *rules = NULL;
	ward_err_t rc;
	int yrc;

	*out = NULL;
	if (src == NULL)
		return ward_error_set(err, WARD_E_INVAL, "rule source: NULL");
	if (strlen(src) > WARD_SCAN_MAX_RULE_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "rule source: more than %u bytes",
		                      WARD_SCAN_MAX_RULE_BYTES);
	if ((rc = yara_acquire(err)) != WARD_OK)
		return rc;
	if ((yrc = yr_compiler_create(&c)) != ERROR_SUCCESS) {
		rc = yara_error(err, yrc, "yr_compiler_create");
		goto out;
	}
	yr_compiler_set_callback(c, compiler_cb, &d);
	if (yr_compiler_add_string(c, src, ns ? ns : "default") != 0 || d.nerrors != 0) {
		rc = compile_failed(&d, err);
		goto out;
	}
	if ((yrc = yr_compiler_get_rules(c, &rules)) != ERROR_SUCCESS) {
		rc = yara_error(err, yrc, "yr_compiler_get_rules");
		goto out;
	}
	rc = yrules_wrap(rules, 0, out, err);
out:
	if (c)
		yr_compiler_destroy(c);
	if (rc != WARD_OK)
		yara_release();
	return rc;
}

ward_yrules_t *ward_yrules_ref(ward_yrules_t *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void ward_yrules_unref(ward_yrules_t *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	yr_rules_destroy(r->rules);
	free(r->actions);
	free(r);
	yara_release();
}

uint64_t ward_yrules_generation(const ward_yrules_t *r)
{
	return r ? r->generation : 0;
}

uint32_t ward_yrules_count(const ward_yrules_t *r)
{
	return r ? r->nrules : 0;
}

uint32_t ward_yrules_files(const ward_yrules_t *r)
{
	return r ? r->nfiles : 0;
}

/* ------------------------------------------------------------------ scanning */

/*
 * The read buffer is an anonymous mapping, advised for transparent huge pages when it
 * is 2 MiB or more: filling 100 MB of 4 KiB pages costs several hundred ms of page
 * faults here, more than the copy itself.
 */
#define HUGE_PAGE (2u << 20)

static void buf_release(ward_yscanner_t *s)
{
	if (s->buf)
		munmap(s->buf, s->cap);
	s->buf = NULL;
	s->cap = 0;
}

static bool buf_reserve(ward_yscanner_t *s, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, unit;
	void *m;

	buf_release(s);
	unit = size >= HUGE_PAGE ? HUGE_PAGE : page;
	if (size > SIZE_MAX - unit)
		return false;
	len = (size + unit - 1) / unit * unit;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return false;
	if (unit == HUGE_PAGE)
		ward_madvise_huge(m, len); /* advice only: fine if THP is off */
	s->buf = m;
	s->cap = len;
	return true;
}

ward_err_t ward_yscanner_create(ward_yrules_t *r, unsigned hard_limit_s, ward_yscanner_t **out,
                                ward_error_t *err)
{
	ward_yscanner_t *s;
	int yrc;

	*out = NULL;
	if (r == NULL)
		return ward_error_set(err, WARD_E_INVAL, "scanner: no rule set");
	if (hard_limit_s > WARD_SCAN_MAX_HARD_LIMIT_S)
		return ward_error_set(err, WARD_E_INVAL, "scanner: hard limit %u s over %u s",
		                      hard_limit_s, WARD_SCAN_MAX_HARD_LIMIT_S);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "scanner: out of memory");
	if ((yrc = yr_scanner_create(r->rules, &s->ys)) != ERROR_SUCCESS) {
		free(s);
		return yara_error(err, yrc, "yr_scanner_create");
	}
	s->r = ward_yrules_ref(r);
	s->hard_limit_s = hard_limit_s ? hard_limit_s : WARD_SCAN_HARD_LIMIT_S;
	*out = s;
	return WARD_OK;
}

void ward_yscanner_destroy(ward_yscanner_t *s)
{
	if (s == NULL)
		return;
	if (s->ys)
		yr_scanner_destroy(s->ys);
	ward_yrules_unref(s->r);
	buf_release(s);
	free(s);
}

ward_yrules_t *ward_yscanner_rules(const ward_yscanner_t *s)
{
	return s ? s->r : NULL;
}

struct scan_ctx {
	const ward_yrules_t *r;
	ward_scan_verdict_t *v;
	ward_scan_match_fn fn;
	void *fn_ctx;
	int reason_action;       /* action of the rule named in v->reason, -1: none yet */
};

static int scan_cb(YR_SCAN_CONTEXT *context, int message, void *data, void *user)
{
	struct scan_ctx *sc = user;
	const YR_RULE *rule = data;
	ward_scan_action_t a = WARD_SCAN_NONE;
	ptrdiff_t idx;

	(void)context;
	/* Console-module output and "too many matches" notes are not ours to print. */
	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	idx = rule - sc->r->rules->rules_table;
	if (idx >= 0 && (uint64_t)idx < sc->r->nrules)
		a = (ward_scan_action_t)sc->r->actions[idx];
	sc->v->nmatches++;
	if (a > sc->v->action)
		sc->v->action = a;
	if ((int)a > sc->reason_action) {
		snprintf(sc->v->reason, sizeof(sc->v->reason), "yara:%s:%s", rule->ns->name,
		         rule->identifier);
		sc->reason_action = (int)a;
	}
	if (sc->fn) {
		char tags[256];
		const char *tag;
		size_t used = 0;
		ward_scan_match_t m = { .ns = rule->ns->name, .rule = rule->identifier, .tags = tags,
		                        .action = a };

		tags[0] = '\0';
		yr_rule_tags_foreach(rule, tag) {
			int n = snprintf(tags + used, sizeof(tags) - used, "%s%s", used ? " " : "", tag);
			if (n < 0 || (size_t)n >= sizeof(tags) - used)
				break;
			used += (size_t)n;
		}
		sc->fn(sc->fn_ctx, &m);
	}
	return CALLBACK_CONTINUE;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void verdict_init(ward_scan_verdict_t *v, const ward_yscanner_t *s)
{
	memset(v, 0, sizeof(*v));
	v->status = WARD_SCAN_FAILED;
	v->generation = s->r->generation;
}

static ward_err_t verdict_fail(ward_scan_verdict_t *v, ward_err_t code, ward_error_t *err)
{
	v->status = WARD_SCAN_FAILED;
	v->err = code;
	snprintf(v->reason, sizeof(v->reason), "%s", err && err->msg[0] ? err->msg : ward_strerror(code));
	return code;
}

/* Scan len bytes; v has been initialized. t0 is when the scan (read included) began. */
static ward_err_t scan_buf(ward_yscanner_t *s, const uint8_t *buf, size_t len, uint64_t t0,
                           ward_scan_match_fn match, void *match_ctx, ward_scan_verdict_t *v,
                           ward_error_t *err)
{
	static const uint8_t empty[1];
	struct scan_ctx sc = { .r = s->r, .v = v, .fn = match, .fn_ctx = match_ctx,
	                       .reason_action = -1 };
	int yrc;

	v->action = WARD_SCAN_NONE;
	v->nmatches = 0;
	v->reason[0] = '\0';
	yr_scanner_set_callback(s->ys, scan_cb, &sc);
	/*
	 * NO_TRYCATCH: the data is our own heap buffer, so no SIGBUS can come from it, and
	 * libyara 4.2's guard swaps process-wide SIGBUS/SIGSEGV handlers around each scan,
	 * which races between concurrent scans. Not FAST_MODE: it changes what #a and @a
	 * mean in conditions.
	 */
	yr_scanner_set_flags(s->ys, SCAN_FLAGS_REPORT_RULES_MATCHING | SCAN_FLAGS_NO_TRYCATCH);
	yr_scanner_set_timeout(s->ys, (int)s->hard_limit_s);
	yrc = yr_scanner_scan_mem(s->ys, len ? buf : empty, len);
	v->scan_us = mono_us() - t0;
	if (yrc == ERROR_SCAN_TIMEOUT) {
		v->status = WARD_SCAN_ABORTED;
		v->action = WARD_SCAN_NONE;
		v->nmatches = 0;
		snprintf(v->reason, sizeof(v->reason), "scan stopped at the hard limit of %u s",
		         s->hard_limit_s);
		return WARD_OK;
	}
	if (yrc != ERROR_SUCCESS) {
		v->action = WARD_SCAN_NONE;
		return verdict_fail(v, yara_error(err, yrc, "scan"), err);
	}
	v->status = WARD_SCAN_DONE;
	return WARD_OK;
}

ward_err_t ward_yscanner_scan_mem(ward_yscanner_t *s, const uint8_t *buf, size_t len,
                                  ward_scan_match_fn match, void *match_ctx,
                                  ward_scan_verdict_t *v, ward_error_t *err)
{
	verdict_init(v, s);
	v->file_size = len;
	if (buf == NULL && len > 0)
		return verdict_fail(v, ward_error_set(err, WARD_E_INVAL, "scan: NULL buffer"), err);
	return scan_buf(s, buf, len, mono_us(), match, match_ctx, v, err);
}

ward_err_t ward_yscanner_scan_fd(ward_yscanner_t *s, int fd, uint64_t max_bytes,
                                 const atomic_bool *stop, ward_scan_match_fn match,
                                 void *match_ctx, struct stat *stp, ward_scan_verdict_t *v,
                                 ward_error_t *err)
{
	uint64_t t0 = mono_us();
	struct stat st;
	size_t size, got = 0;
	ward_err_t rc;

	verdict_init(v, s);
	if (fstat(fd, &st) != 0)
		return verdict_fail(v, ward_error_set(err, WARD_E_IO, "fstat: %s", strerror(errno)), err);
	if (stp)
		*stp = st;
	v->file_size = (uint64_t)st.st_size;
	if (!S_ISREG(st.st_mode)) {
		v->status = WARD_SCAN_SKIPPED;
		snprintf(v->reason, sizeof(v->reason), "not a regular file");
		return WARD_OK;
	}
	if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX) {
		v->status = WARD_SCAN_SKIPPED;
		snprintf(v->reason, sizeof(v->reason), "%llu bytes is over ScanMaxBytes (%llu)",
		         (unsigned long long)st.st_size, (unsigned long long)max_bytes);
		return WARD_OK;
	}
	size = (size_t)st.st_size;
	if (s->cap < size && !buf_reserve(s, size))
		return verdict_fail(v, ward_error_set(err, WARD_E_NOMEM,
		                    "%zu-byte read buffer: out of memory", size), err);
	while (got < size) {
		size_t want = size - got < WARD_IO_CHUNK ? size - got : WARD_IO_CHUNK;
		ssize_t n;

		if (stop && atomic_load_explicit(stop, memory_order_relaxed)) {
			rc = verdict_fail(v, ward_error_set(err, WARD_E_TIMEOUT, "scan cancelled"), err);
			goto out;
		}
		n = pread(fd, s->buf + got, want, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = verdict_fail(v, ward_error_set(err, WARD_E_IO, "read at offset %zu: %s", got,
			                  strerror(errno)), err);
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: scan what is there; the caller's key check sees it */
		got += (size_t)n;
	}
	rc = scan_buf(s, s->buf, got, t0, match, match_ctx, v, err);
	/* One read feeds both: the bytes just scanned are the SHA-256 the log names. */
	if (rc == WARD_OK && got == size) {
		unsigned int hl = 0;
		v->has_sha256 = EVP_Digest(s->buf, got, v->sha256, &hl, EVP_sha256(), NULL) == 1;
	}
out:
	if (s->cap > WARD_SCAN_KEEP_BUFFER)
		buf_release(s);
	return rc;
}
