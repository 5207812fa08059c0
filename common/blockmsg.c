/* Santa's block message as terminal text (common/blockmsg.h). */
#include "common/blockmsg.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"

enum {
	PH_FILE_ID, PH_BUNDLE_OR_FILE_ID, PH_FILE_SHA, PH_BUNDLE_ID, PH_TEAM_ID, PH_SIGNING_ID,
	PH_CDHASH, PH_MACHINE_ID, PH_USERNAME, PH_SERIAL, PH_UUID, PH_HOSTNAME, PH__COUNT
};

static const char *const ph_names[PH__COUNT] = {
	[PH_FILE_ID] = "file_identifier",
	[PH_BUNDLE_OR_FILE_ID] = "bundle_or_file_identifier",
	[PH_FILE_SHA] = "file_sha",
	[PH_BUNDLE_ID] = "file_bundle_id",
	[PH_TEAM_ID] = "team_id",
	[PH_SIGNING_ID] = "signing_id",
	[PH_CDHASH] = "cdhash",
	[PH_MACHINE_ID] = "machine_id",
	[PH_USERNAME] = "username",
	[PH_SERIAL] = "serial",
	[PH_UUID] = "uuid",
	[PH_HOSTNAME] = "hostname",
};

static const char *ph_value(int ph, const ward_blockmsg_facts_t *f)
{
	switch (ph) {
	case PH_FILE_ID:
	case PH_BUNDLE_OR_FILE_ID:
	case PH_FILE_SHA: return f->file_sha256;
	case PH_BUNDLE_ID: return NULL; /* no bundles on Linux */
	case PH_TEAM_ID: return f->team_id;
	case PH_SIGNING_ID: return f->signing_id;
	case PH_CDHASH: return f->cdhash;
	case PH_MACHINE_ID: return f->machine_id;
	case PH_USERNAME: return f->username;
	case PH_SERIAL: return f->serial;
	case PH_UUID: return f->uuid;
	case PH_HOSTNAME: return f->hostname;
	}
	return NULL;
}

/* The placeholder starting at p ("%name%"), or -1; *len its length with the %s. */
static int ph_at(const char *p, size_t *len)
{
	for (int i = 0; i < PH__COUNT; i++) {
		size_t n = strlen(ph_names[i]);
		if (p[0] == '%' && strncmp(p + 1, ph_names[i], n) == 0 && p[n + 1] == '%') {
			*len = n + 2;
			return i;
		}
	}
	return -1;
}

bool ward_blockmsg_uses(const char *tmpl, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(tmpl, '%'); p != NULL; p = strchr(p + 1, '%'))
		if (strncmp(p + 1, name, n) == 0 && p[n + 1] == '%')
			return true;
	return false;
}

static bool url_plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@';
}

bool ward_blockmsg_expand_url(const char *tmpl, const ward_blockmsg_facts_t *f, char *out,
                              size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (cap == 0)
		return false;
	out[0] = '\0';
	if (tmpl == NULL || strcmp(tmpl, "null") == 0)
		return true;
	for (const char *p = tmpl; *p != '\0';) {
		size_t plen = 0;
		int ph = *p == '%' ? ph_at(p, &plen) : -1;
		if (ph < 0) {
			if (o + 1 >= cap)
				goto full;
			out[o++] = *p++;
			continue;
		}
		for (const unsigned char *v = (const unsigned char *)ph_value(ph, f); v && *v; v++) {
			if (url_plain(*v)) {
				if (o + 1 >= cap)
					goto full;
				out[o++] = (char)*v;
			} else {
				if (o + 3 >= cap)
					goto full;
				out[o++] = '%';
				out[o++] = hex[*v >> 4];
				out[o++] = hex[*v & 15];
			}
		}
		p += plen;
	}
	out[o] = '\0';
	return true;
full:
	out[0] = '\0';
	return false;
}

const char *ward_blockmsg_check_url(const char *s)
{
	if (s[0] == '\0' || strcmp(s, "null") == 0)
		return NULL;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return "expected an http:// or https:// URL (or \"null\" for none)";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "a URL may not hold whitespace or control characters (percent-encode them)";
	return NULL;
}

const char *ward_blockmsg_check_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
			return "contains a control character (only tab and line breaks are allowed; "
			       "use <br /> for a break)";
	return NULL;
}

bool ward_blockmsg_unknown_placeholder(const char *tmpl, char *name, size_t cap)
{
	for (const char *p = strchr(tmpl, '%'); p != NULL; p = strchr(p + 1, '%')) {
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		size_t plen;
		if (p[n + 1] != '%' || n < 3 || ph_at(p, &plen) >= 0)
			continue;
		if (strspn(p + 1, "abcdefABCDEF") >= n)
			continue; /* could be escapes: %ab%cd */
		if (cap > 0)
			snprintf(name, cap, "%.*s", (int)n, p + 1);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- plain text */

/* Length of the valid UTF-8 sequence at p (n bytes left) and its code point; 0 if
 * invalid (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters a terminal would act on, or that reorder what is shown around them. */
static bool cp_unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       c == 0x200e || c == 0x200f || c == 0x061c;
}

struct sink {
	char *out;
	size_t cap, *len;
	size_t start; /* *len when this call began: no space before its first character */
	bool space;   /* a space is pending (collapsed whitespace) */
	bool full;
};

static void put(struct sink *s, const char *b, size_t n)
{
	if (s->full)
		return;
	if (s->space && *s->len > s->start) {
		if (*s->len + 1 + n >= s->cap) {
			s->full = true;
			return;
		}
		s->out[(*s->len)++] = ' ';
	}
	s->space = false;
	if (*s->len + n >= s->cap) {
		s->full = true;
		return;
	}
	memcpy(s->out + *s->len, b, n);
	*s->len += n;
	s->out[*s->len] = '\0';
}

static void put_space(struct sink *s)
{
	s->space = true;
}

static const struct {
	const char *name;
	char c;
} entities[] = {
	{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
	{ "&#39;", '\'' }, { "&apos;", '\'' }, { "&nbsp;", ' ' },
};

void ward_blockmsg_plain(char *out, size_t cap, size_t *len, const char *in, bool html)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = strlen(in);
	struct sink s = { out, cap, len, 0, false, false };

	if (cap == 0)
		return;
	if (*len >= cap)
		*len = cap - 1;
	out[*len] = '\0';
	s.start = *len;
	while (n > 0 && !s.full) {
		uint32_t cp;
		size_t k;

		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			put_space(&s);
			p++, n--;
			continue;
		}
		if (html && *p == '<') {
			const unsigned char *end = memchr(p, '>', n);
			if (end != NULL) {
				put_space(&s); /* <br />, </p>: a break; inline tags cost a space */
				n -= (size_t)(end + 1 - p);
				p = end + 1;
				continue;
			}
		}
		if (html && *p == '&') {
			size_t i;
			for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
				size_t el = strlen(entities[i].name);
				if (n >= el && memcmp(p, entities[i].name, el) == 0) {
					if (entities[i].c == ' ')
						put_space(&s);
					else
						put(&s, &entities[i].c, 1);
					p += el, n -= el;
					break;
				}
			}
			if (i < sizeof(entities) / sizeof(entities[0]))
				continue;
		}
		k = utf8_seq(p, n, &cp);
		if (k == 0 || cp_unsafe(cp)) {
			put(&s, "?", 1);
			k = k ? k : 1;
		} else {
			put(&s, (const char *)p, k);
		}
		p += k, n -= k;
	}
}

/* ---------------------------------------------------------------- the line */

size_t ward_blockmsg_compose(char *out, size_t cap, const ward_blockmsg_line_t *l)
{
	char tail[WARD_TTYMSG_LINE_MAX], lab[2 * (WARD_MAX_DETAIL_TEXT + 1)];
	size_t len = 0, tl = 0, ll = 0, body, lim;

	if (cap < 64) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	/* The tail (". <label>: <url> (N more not shown)") is whole or absent: a cut URL
	 * is a wrong URL. The message and the path share what is left. */
	tail[0] = lab[0] = '\0';
	if (l->url && l->url[0]) {
		ward_blockmsg_plain(lab, sizeof(lab), &ll, l->url_label && l->url_label[0] ?
		                    l->url_label : WARD_BLOCKMSG_DEFAULT_LABEL, true);
		tl = (size_t)snprintf(tail, sizeof(tail), ". %s: ", lab);
		ward_blockmsg_plain(tail, sizeof(tail), &tl, l->url, false);
		if (tl + 1 >= sizeof(tail) || tl > cap / 2)
			tl = 0, tail[0] = '\0';
	}
	if (l->suppressed > 0 && tl + 40 < cap / 2)
		tl += (size_t)snprintf(tail + tl, sizeof(tail) - tl, " (%u more not shown)", l->suppressed);
	body = cap - 2 - tl; /* what the head may use, with its NUL: "\r\n" and the tail follow */
	memcpy(out, "\r\nwarden: ", 11);
	len = 10;
	lim = len + (body - len) / 2;
	ward_blockmsg_plain(out, lim, &len, l->message && l->message[0] ? l->message
	                                                               : WARD_BLOCKMSG_DEFAULT_UNKNOWN, true);
	if (l->path && l->path[0] && len + 3 < body) {
		memcpy(out + len, ": ", 3);
		len += 2;
		ward_blockmsg_plain(out, body, &len, l->path, false);
	}
	memcpy(out + len, tail, tl);
	len += tl;
	memcpy(out + len, "\r\n", 3);
	return len + 2;
}
