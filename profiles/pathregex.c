/* Santa's ICU path regexes on PCRE2 (see pathregex.h for the accepted subset). */
#include "profiles/pathregex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

/* Work bounds of one match: a path is at most PATH_MAX bytes, so a sane pattern needs
 * far less; a pathological one stops here (pathregex.h says what that means). */
#define MATCH_LIMIT 200000u
#define DEPTH_LIMIT 10000u
#define MD_POOL 16u /* match blocks kept per regex, for that many concurrent matches */
#define MAX_PATH_BYTES 4096u

struct ward_pathregex {
	pcre2_code *code;
	pcre2_match_context *mctx;
	bool blocking;
	atomic_flag busy[MD_POOL];
	pcre2_match_data *md[MD_POOL];
	char *pattern;
};

/* ---------------------------------------------------------------- ICU -> PCRE2 */

struct out {
	char *buf;
	size_t len, cap;
};

static bool put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len - 1)
		return false;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/*
 * Rewrite pattern p (ICU syntax) into o (PCRE2 syntax with the same meaning), or say
 * at which offset it stops meaning the same thing. Escapes are kept as written except
 * ICU's \uhhhh, \Uhhhhhhhh and \0ooo, which PCRE2 spells \x{...}.
 */
static ward_err_t translate(const char *p, struct out *o, ward_error_t *err)
{
	size_t n = strlen(p), i = 0;
	bool in_class = false;
	size_t class_start = 0;
	char tmp[32];

	if (p[0] != '^' && !put(o, "^", 1))
		goto toolong;
	while (i < n) {
		char c = p[i];
		if (c == '\\') {
			char e = i + 1 < n ? p[i + 1] : '\0';
			if (e == '\0')
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: a trailing \\ escapes nothing", i);
			if (e == 'Q') { /* literal up to \E (or the end), as in both engines */
				const char *end = strstr(p + i + 2, "\\E");
				size_t stop = end ? (size_t)(end - p) + 2 : n;
				if (!put(o, p + i, stop - i))
					goto toolong;
				i = stop;
				continue;
			}
			if (e == 'u' || e == 'U') {
				size_t digits = e == 'u' ? 4 : 8;
				unsigned long cp = 0;
				for (size_t k = 0; k < digits; k++) {
					int h = i + 2 + k < n ? hexval(p[i + 2 + k]) : -1;
					if (h < 0)
						return ward_error_set(err, WARD_E_INVAL, "at offset %zu: \\%c needs %zu hex digits",
						                      i, e, digits);
					cp = cp * 16 + (unsigned long)h;
				}
				if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
					return ward_error_set(err, WARD_E_INVAL, "at offset %zu: \\%c%.*s is not a Unicode "
					                      "scalar value", i, e, (int)digits, p + i + 2);
				snprintf(tmp, sizeof(tmp), "\\x{%lx}", cp);
				if (!put(o, tmp, strlen(tmp)))
					goto toolong;
				i += 2 + digits;
				continue;
			}
			if (e == '0') { /* ICU: \0 and one to three octal digits; PCRE2 reads at most two */
				unsigned long v = 0;
				size_t k = 0;
				while (k < 3 && i + 2 + k < n && p[i + 2 + k] >= '0' && p[i + 2 + k] <= '7')
					v = v * 8 + (unsigned long)(p[i + 2 + k++] - '0');
				if (v > 0377)
					return ward_error_set(err, WARD_E_INVAL, "at offset %zu: octal escape over \\0377", i);
				snprintf(tmp, sizeof(tmp), "\\x{%lx}", v);
				if (!put(o, tmp, strlen(tmp)))
					goto toolong;
				i += 2 + k;
				continue;
			}
			if (e == 'N' && i + 2 < n && p[i + 2] == '{')
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: \\N{NAME} (a character by its "
				                      "Unicode name) is ICU-only: write \\x{hhhh}", i);
			if (e == 'K' || e == 'g' || e == 'o' || e == 'C' || e == 'F' || e == 'l' || e == 'L' ||
			    (e == 'N' && !in_class) || (e == 'k' && (i + 2 >= n || p[i + 2] != '<')))
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: \\%c is not ICU syntax (Santa "
				                      "would not load this pattern)", i, e);
			if ((e == 'x' || e == 'p' || e == 'P') && i + 2 < n && p[i + 2] == '{') {
				const char *close = strchr(p + i + 3, '}');
				size_t stop = close ? (size_t)(close - p) + 1 : n;
				if (!put(o, p + i, stop - i)) /* PCRE2 checks what is inside */
					goto toolong;
				i = stop;
				continue;
			}
			if (!put(o, p + i, 2))
				goto toolong;
			i += 2;
			continue;
		}
		if (in_class) {
			if (c == '[') {
				if (i + 1 < n && p[i + 1] == ':')
					return ward_error_set(err, WARD_E_INVAL, "at offset %zu: [:name:] means a Unicode "
					                      "property in ICU and a POSIX class in PCRE2: write \\p{...}, \\d, "
					                      "\\s, \\w or the characters", i);
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: a set inside a set (ICU's set "
				                      "union) cannot be expressed: write one set, or (?:[..]|[..])", i);
			}
			if ((c == '&' && i + 1 < n && p[i + 1] == '&') || (c == '-' && i + 1 < n && p[i + 1] == '-'))
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: set %s (\"%c%c\") is ICU-only: "
				                      "write the resulting set", i, c == '&' ? "intersection" : "difference",
				                      c, c);
			if (c == ']')
				in_class = false;
			if (!put(o, &c, 1))
				goto toolong;
			i++;
			continue;
		}
		switch (c) {
		case '[':
			in_class = true;
			class_start = i;
			if (!put(o, "[", 1))
				goto toolong;
			i++;
			if (i < n && p[i] == '^') {
				if (!put(o, "^", 1))
					goto toolong;
				i++;
			}
			if (i < n && p[i] == ']')
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: a ']' first in a set is a "
				                      "literal in PCRE2 and an empty set in ICU: write \\]", i);
			continue;
		case '(':
			if (i + 1 < n && p[i + 1] == '*')
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: (*...) verbs and options are "
				                      "PCRE2-only (Santa would not load this pattern)", i);
			if (i + 1 < n && p[i + 1] == '?') {
				const char *q = p + i + 2;
				bool ok = false;
				if (*q == ':' || *q == '=' || *q == '!' || *q == '>' || *q == '#')
					ok = true;
				else if (*q == '<' && (q[1] == '=' || q[1] == '!'))
					ok = true;
				else if (*q == '<' && ((q[1] | 0x20) >= 'a' && (q[1] | 0x20) <= 'z')) {
					size_t k = 2;
					while (((q[k] | 0x20) >= 'a' && (q[k] | 0x20) <= 'z') || (q[k] >= '0' && q[k] <= '9'))
						k++;
					ok = q[k] == '>';
				} else {
					/* flags: (?ismx-ismx) or (?ismx-ismx:...) */
					size_t k = 0;
					while (q[k] && strchr("imsxw-", q[k]) != NULL) {
						if (q[k] == 'w')
							return ward_error_set(err, WARD_E_INVAL, "at offset %zu: the (?w) flag "
							                      "(Unicode word boundaries) is ICU-only", i);
						k++;
					}
					ok = k > 0 && (q[k] == ')' || q[k] == ':');
				}
				if (!ok)
					return ward_error_set(err, WARD_E_INVAL, "at offset %zu: \"(?%.8s\" is not ICU "
					                      "syntax (Santa would not load this pattern)", i, q);
			}
			break;
		case '{': {
			size_t k = i + 1, d1 = 0, d2 = 0;
			while (k < n && p[k] >= '0' && p[k] <= '9')
				k++, d1++;
			if (k < n && p[k] == ',') {
				k++;
				while (k < n && p[k] >= '0' && p[k] <= '9')
					k++, d2++;
			}
			if (d1 == 0 || k >= n || p[k] != '}')
				return ward_error_set(err, WARD_E_INVAL, "at offset %zu: a '{' that does not start a "
				                      "{n}, {n,} or {n,m} quantifier must be escaped (\\{) in ICU", i);
			(void)d2;
			break;
		}
		default:
			break;
		}
		if (!put(o, &c, 1))
			goto toolong;
		i++;
	}
	if (in_class)
		return ward_error_set(err, WARD_E_INVAL, "at offset %zu: the set is never closed with ']'",
		                      class_start);
	return WARD_OK;
toolong:
	return ward_error_set(err, WARD_E_LIMIT, "longer than %u bytes once rewritten for PCRE2",
	                      WARD_MAX_PATH_REGEX * 2);
}

/* ---------------------------------------------------------------- compile */

void ward_pathregex_free(ward_pathregex_t *re)
{
	if (re == NULL)
		return;
	for (unsigned i = 0; i < MD_POOL; i++)
		pcre2_match_data_free(re->md[i]);
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
}

ward_err_t ward_pathregex_compile(const char *pattern, unsigned flags, ward_pathregex_t **out,
                                  ward_error_t *err)
{
	size_t cap = WARD_MAX_PATH_REGEX * 2 + 2;
	struct out o = { NULL, 0, cap };
	ward_pathregex_t *re;
	PCRE2_SIZE erroff = 0;
	int ec = 0;
	ward_err_t rc;

	*out = NULL;
	if (pattern[0] == '\0')
		return ward_error_set(err, WARD_E_INVAL, "empty pattern");
	if (strlen(pattern) > WARD_MAX_PATH_REGEX)
		return ward_error_set(err, WARD_E_LIMIT, "longer than %u bytes", WARD_MAX_PATH_REGEX);
	if ((re = calloc(1, sizeof(*re))) == NULL || (o.buf = malloc(cap)) == NULL ||
	    (re->pattern = strdup(pattern)) == NULL) {
		free(o.buf);
		ward_pathregex_free(re);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	o.buf[0] = '\0';
	if ((rc = translate(pattern, &o, err)) != WARD_OK) {
		free(o.buf);
		ward_pathregex_free(re);
		return rc;
	}
	re->blocking = (flags & WARD_PATHREGEX_BLOCKING) != 0;
	/* UTF + UCP: code points and Unicode classes, as ICU; never \C (one byte). The
	 * pattern itself must be valid UTF-8 (checked by PCRE2). */
	re->code = pcre2_compile((PCRE2_SPTR)o.buf, o.len,
	                         PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C |
	                         (re->blocking ? PCRE2_DOTALL : 0), &ec, &erroff, NULL);
	if (re->code == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		/* offsets are of the rewritten pattern; they match the original's unless an
		 * escape was rewritten before that point, and a leading '^' may have been added */
		ward_error_set(err, WARD_E_INVAL, "at offset %zu: %s", pattern[0] == '^' ? (size_t)erroff :
		               (erroff > 0 ? (size_t)erroff - 1 : 0), (const char *)msg);
		free(o.buf);
		ward_pathregex_free(re);
		return WARD_E_INVAL;
	}
	free(o.buf);
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter */
	if ((re->mctx = pcre2_match_context_create(NULL)) == NULL) {
		ward_pathregex_free(re);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	pcre2_set_match_limit(re->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, DEPTH_LIMIT);
	for (unsigned i = 0; i < MD_POOL; i++) {
		atomic_flag_clear(&re->busy[i]);
		if ((re->md[i] = pcre2_match_data_create(1, NULL)) == NULL) {
			ward_pathregex_free(re);
			return ward_error_set(err, WARD_E_NOMEM, "out of memory");
		}
	}
	*out = re;
	return WARD_OK;
}

ward_err_t ward_pathregex_check(const char *pattern, ward_error_t *err)
{
	ward_pathregex_t *re;
	ward_err_t rc = ward_pathregex_compile(pattern, 0, &re, err);

	ward_pathregex_free(re);
	return rc;
}

const char *ward_pathregex_pattern(const ward_pathregex_t *re)
{
	return re->pattern;
}

/* ---------------------------------------------------------------- match */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
			return 0;
		return 4;
	}
	return 0;
}

bool ward_pathregex_match(const ward_pathregex_t *re, const char *path)
{
	/* worst case: every byte invalid, 3 bytes each */
	static const char repl[3] = { (char)0xEF, (char)0xBF, (char)0xBD };
	char clean[MAX_PATH_BYTES * 3 + 1];
	const unsigned char *s = (const unsigned char *)path;
	size_t n = strnlen(path, MAX_PATH_BYTES), i = 0, used = 0;
	bool valid = true;
	pcre2_match_data *md = NULL, *own = NULL;
	unsigned slot = MD_POOL;
	int rc;

	while (i < n) {
		size_t l = utf8_seq(s + i, n - i);
		if (l == 0) {
			valid = false;
			break;
		}
		i += l;
	}
	if (!valid) {
		for (i = 0; i < n;) {
			size_t l = utf8_seq(s + i, n - i);
			if (l == 0) {
				memcpy(clean + used, repl, 3);
				used += 3;
				i++;
			} else {
				memcpy(clean + used, s + i, l);
				used += l;
				i += l;
			}
		}
		clean[used] = '\0';
	}
	for (unsigned k = 0; k < MD_POOL; k++)
		if (!atomic_flag_test_and_set_explicit((atomic_flag *)&re->busy[k], memory_order_acquire)) {
			slot = k;
			md = re->md[k];
			break;
		}
	if (md == NULL && (md = own = pcre2_match_data_create(1, NULL)) == NULL)
		return re->blocking; /* out of memory: the stricter answer */
	rc = pcre2_match(re->code, (PCRE2_SPTR)(valid ? path : clean), valid ? n : used, 0,
	                 PCRE2_NO_UTF_CHECK, md, re->mctx);
	if (slot < MD_POOL)
		atomic_flag_clear_explicit((atomic_flag *)&re->busy[slot], memory_order_release);
	pcre2_match_data_free(own);
	if (rc >= 0)
		return true;
	if (rc == PCRE2_ERROR_NOMATCH)
		return false;
	return re->blocking; /* match or depth limit, or another error */
}
