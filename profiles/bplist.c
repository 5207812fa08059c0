/* Binary property lists (see bplist.h). Format: Apple's CFBinaryPList.c comment, as
 * documented publicly: "bplist00", the objects, an offset table, a 32-byte trailer. */
#include "profiles/bplist.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/limits.h"

#define TRAILER 32u
#define APPLE_EPOCH 978307200.0 /* 2001-01-01T00:00:00Z in Unix time */

struct bp {
	const uint8_t *b;
	size_t len;
	unsigned offint, refsize;
	uint64_t nobj, table;    /* object count, offset of the offset table */
	uint64_t nodes;          /* values made so far */
	ward_error_t *err;
};

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static ward_err_t bad(struct bp *s, ward_err_t code, uint64_t obj, const char *what)
{
	return ward_error_set(s->err, code, "binary plist: object %llu: %s", (unsigned long long)obj, what);
}

/* The offset of object i, checked to lie among the objects. */
static bool offset_of(struct bp *s, uint64_t i, uint64_t *off)
{
	if (i >= s->nobj)
		return false;
	*off = be(s->b + s->table + i * s->offint, s->offint);
	return *off >= 8 && *off < s->table;
}

/* A length after a marker: the low nibble, or (0xF) an integer object that follows.
 * *p moves past it; the length is checked against end by the caller. */
static bool length_of(struct bp *s, uint64_t *p, uint8_t marker, uint64_t *n)
{
	unsigned k;

	if ((marker & 0xf) != 0xf) {
		*n = marker & 0xf;
		return true;
	}
	if (*p >= s->table || (s->b[*p] & 0xf0) != 0x10 || (k = 1u << (s->b[*p] & 0xf)) > 8 ||
	    *p + 1 + k > s->table)
		return false;
	*n = be(s->b + *p + 1, k);
	*p += 1 + k;
	return true;
}

/* bytes [p, p + n * size) lie before the offset table (overflow-safe). */
static bool fits(const struct bp *s, uint64_t p, uint64_t n, uint64_t size)
{
	return size != 0 && n <= (s->table - p) / size;
}

static ward_err_t value(struct bp *s, uint64_t obj, unsigned depth, json_t **out);

static ward_err_t ascii(struct bp *s, uint64_t obj, uint64_t p, uint64_t n, json_t **out)
{
	if (!fits(s, p, n, 1))
		return bad(s, WARD_E_TRUNCATED, obj, "string runs past the objects");
	for (uint64_t i = 0; i < n; i++)
		if (s->b[p + i] == 0 || s->b[p + i] > 0x7f)
			return bad(s, WARD_E_MALFORMED, obj, "ASCII string holds NUL or a non-ASCII byte");
	*out = json_stringn((const char *)s->b + p, (size_t)n);
	return *out ? WARD_OK : bad(s, WARD_E_NOMEM, obj, "out of memory");
}

static ward_err_t utf16(struct bp *s, uint64_t obj, uint64_t p, uint64_t n, json_t **out)
{
	char *u;
	size_t k = 0;

	if (!fits(s, p, n, 2))
		return bad(s, WARD_E_TRUNCATED, obj, "string runs past the objects");
	if ((u = malloc((size_t)n * 3 + 1)) == NULL) /* a UTF-16 unit is at most 3 UTF-8 bytes */
		return bad(s, WARD_E_NOMEM, obj, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)be(s->b + p + 2 * i, 2);
		if (c >= 0xd800 && c <= 0xdbff) { /* a high surrogate: its low one must follow */
			uint32_t lo = i + 1 < n ? (uint32_t)be(s->b + p + 2 * (i + 1), 2) : 0;
			if (lo < 0xdc00 || lo > 0xdfff) {
				free(u);
				return bad(s, WARD_E_MALFORMED, obj, "string holds an unpaired surrogate");
			}
			c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		} else if ((c >= 0xdc00 && c <= 0xdfff) || c == 0) {
			free(u);
			return bad(s, WARD_E_MALFORMED, obj, "string holds NUL or an unpaired surrogate");
		}
		if (c < 0x80) {
			u[k++] = (char)c;
		} else if (c < 0x800) {
			u[k++] = (char)(0xc0 | c >> 6);
			u[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			u[k++] = (char)(0xe0 | c >> 12);
			u[k++] = (char)(0x80 | (c >> 6 & 0x3f));
			u[k++] = (char)(0x80 | (c & 0x3f));
		} else { /* two units in, four bytes out: still within 3 per unit */
			u[k++] = (char)(0xf0 | c >> 18);
			u[k++] = (char)(0x80 | (c >> 12 & 0x3f));
			u[k++] = (char)(0x80 | (c >> 6 & 0x3f));
			u[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	*out = json_stringn(u, k);
	free(u);
	return *out ? WARD_OK : bad(s, WARD_E_NOMEM, obj, "out of memory");
}

static ward_err_t data(struct bp *s, uint64_t obj, uint64_t p, uint64_t n, json_t **out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *d = s->b + p;
	char *t;
	size_t k = 0;

	if (!fits(s, p, n, 1))
		return bad(s, WARD_E_TRUNCATED, obj, "data runs past the objects");
	if ((t = malloc((size_t)(n + 2) / 3 * 4 + 1)) == NULL)
		return bad(s, WARD_E_NOMEM, obj, "out of memory");
	for (uint64_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
		             (i + 2 < n ? d[i + 2] : 0);
		t[k++] = b64[v >> 18];
		t[k++] = b64[v >> 12 & 63];
		t[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		t[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	*out = json_stringn(t, k);
	free(t);
	return *out ? WARD_OK : bad(s, WARD_E_NOMEM, obj, "out of memory");
}

static ward_err_t date(struct bp *s, uint64_t obj, uint64_t p, json_t **out)
{
	union { uint64_t u; double d; } v;
	char buf[32];
	struct tm tm;
	time_t t;

	if (!fits(s, p, 8, 1))
		return bad(s, WARD_E_TRUNCATED, obj, "date runs past the objects");
	v.u = be(s->b + p, 8);
	/* years 1..9999, as the XML reader accepts */
	if (!isfinite(v.d) || v.d + APPLE_EPOCH < -62135596800.0 || v.d + APPLE_EPOCH > 253402300799.0)
		return bad(s, WARD_E_MALFORMED, obj, "date out of range");
	t = (time_t)floor(v.d + APPLE_EPOCH);
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return bad(s, WARD_E_MALFORMED, obj, "date out of range");
	*out = json_string(buf);
	return *out ? WARD_OK : bad(s, WARD_E_NOMEM, obj, "out of memory");
}

/* The n references at p, each the index of an object. */
static bool ref_at(struct bp *s, uint64_t p, uint64_t i, uint64_t *ref)
{
	*ref = be(s->b + p + i * s->refsize, s->refsize);
	return *ref < s->nobj;
}

static ward_err_t array(struct bp *s, uint64_t obj, uint64_t p, uint64_t n, unsigned depth, json_t **out)
{
	json_t *a;
	ward_err_t rc;

	if (!fits(s, p, n, s->refsize))
		return bad(s, WARD_E_TRUNCATED, obj, "array runs past the objects");
	if ((a = json_array()) == NULL)
		return bad(s, WARD_E_NOMEM, obj, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r;
		json_t *v;
		if (!ref_at(s, p, i, &r)) {
			json_decref(a);
			return bad(s, WARD_E_MALFORMED, obj, "array names an object that does not exist");
		}
		if ((rc = value(s, r, depth + 1, &v)) != WARD_OK) {
			json_decref(a);
			return rc;
		}
		if (json_array_append_new(a, v) != 0) {
			json_decref(a);
			return bad(s, WARD_E_NOMEM, obj, "out of memory");
		}
	}
	*out = a;
	return WARD_OK;
}

static ward_err_t dict(struct bp *s, uint64_t obj, uint64_t p, uint64_t n, unsigned depth, json_t **out)
{
	json_t *o;
	ward_err_t rc;

	if (n > UINT64_MAX / 2 || !fits(s, p, 2 * n, s->refsize))
		return bad(s, WARD_E_TRUNCATED, obj, "dictionary runs past the objects");
	if ((o = json_object()) == NULL)
		return bad(s, WARD_E_NOMEM, obj, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t kr, vr, koff;
		json_t *k = NULL, *v = NULL;
		if (!ref_at(s, p, i, &kr) || !ref_at(s, p, n + i, &vr) || !offset_of(s, kr, &koff)) {
			json_decref(o);
			return bad(s, WARD_E_MALFORMED, obj, "dictionary names an object that does not exist");
		}
		if ((s->b[koff] & 0xf0) != 0x50 && (s->b[koff] & 0xf0) != 0x60) {
			json_decref(o);
			return bad(s, WARD_E_MALFORMED, obj, "dictionary key is not a string");
		}
		if ((rc = value(s, kr, depth + 1, &k)) != WARD_OK) {
			json_decref(o);
			return rc;
		}
		if (json_object_get(o, json_string_value(k)) != NULL) {
			char msg[160];
			snprintf(msg, sizeof(msg), "duplicate key \"%.100s\"", json_string_value(k));
			json_decref(k);
			json_decref(o);
			return bad(s, WARD_E_MALFORMED, obj, msg);
		}
		if ((rc = value(s, vr, depth + 1, &v)) != WARD_OK) {
			json_decref(k);
			json_decref(o);
			return rc;
		}
		if (json_object_set_new(o, json_string_value(k), v) != 0) {
			json_decref(k);
			json_decref(o);
			return bad(s, WARD_E_NOMEM, obj, "out of memory");
		}
		json_decref(k);
	}
	*out = o;
	return WARD_OK;
}

static ward_err_t value(struct bp *s, uint64_t obj, unsigned depth, json_t **out)
{
	uint64_t p, n;
	uint8_t m;

	*out = NULL;
	if (depth > WARD_MAX_PLIST_DEPTH)
		return bad(s, WARD_E_LIMIT, obj, "nested too deep (or a reference loop)");
	if (++s->nodes > WARD_MAX_PLIST_NODES)
		return bad(s, WARD_E_LIMIT, obj, "too many values");
	if (!offset_of(s, obj, &p))
		return bad(s, WARD_E_MALFORMED, obj, "offset outside the objects");
	m = s->b[p++];
	switch (m >> 4) {
	case 0x0:
		if (m == 0x08 || m == 0x09) {
			*out = json_boolean(m == 0x09);
			return WARD_OK;
		}
		return bad(s, WARD_E_UNSUPPORTED, obj, "null and fill objects are not property-list values");
	case 0x1: {
		unsigned k = 1u << (m & 0xf);
		uint64_t v;
		if (k > 8)
			return bad(s, WARD_E_LIMIT, obj, "integer wider than 64 bits");
		if (!fits(s, p, k, 1))
			return bad(s, WARD_E_TRUNCATED, obj, "integer runs past the objects");
		v = be(s->b + p, k);
		*out = json_integer(k == 8 ? (json_int_t)(int64_t)v : (json_int_t)v);
		break;
	}
	case 0x2: {
		union { uint32_t u; float f; } f;
		union { uint64_t u; double d; } d;
		double x;
		if ((m & 0xf) == 2 && fits(s, p, 4, 1)) {
			f.u = (uint32_t)be(s->b + p, 4);
			x = f.f;
		} else if ((m & 0xf) == 3 && fits(s, p, 8, 1)) {
			d.u = be(s->b + p, 8);
			x = d.d;
		} else {
			return bad(s, WARD_E_MALFORMED, obj, "real of an unknown width, or past the objects");
		}
		if (!isfinite(x))
			return bad(s, WARD_E_MALFORMED, obj, "real is not finite");
		*out = json_real(x);
		break;
	}
	case 0x3:
		if (m != 0x33)
			return bad(s, WARD_E_MALFORMED, obj, "unknown marker");
		return date(s, obj, p, out);
	case 0x4:
	case 0x5:
	case 0x6:
	case 0xa:
	case 0xd:
		if (!length_of(s, &p, m, &n))
			return bad(s, WARD_E_MALFORMED, obj, "bad length");
		switch (m >> 4) {
		case 0x4: return data(s, obj, p, n, out);
		case 0x5: return ascii(s, obj, p, n, out);
		case 0x6: return utf16(s, obj, p, n, out);
		case 0xa: return array(s, obj, p, n, depth, out);
		default: return dict(s, obj, p, n, depth, out);
		}
	default:
		return bad(s, WARD_E_UNSUPPORTED, obj, "sets, UIDs and unknown markers are not property-list values");
	}
	return *out ? WARD_OK : bad(s, WARD_E_NOMEM, obj, "out of memory");
}

bool ward_bplist_looks(const void *buf, size_t len)
{
	return len >= 6 && memcmp(buf, "bplist", 6) == 0;
}

ward_err_t ward_bplist_parse(const void *buf, size_t len, json_t **out, ward_error_t *err)
{
	struct bp s = { .b = buf, .len = len, .err = err };
	const uint8_t *t;
	uint64_t top;

	*out = NULL;
	if (len > WARD_MAX_PLIST_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "plist is %zu bytes, more than %u", len,
		                      WARD_MAX_PLIST_BYTES);
	if (len < 8 + 1 + TRAILER || memcmp(buf, "bplist00", 8) != 0)
		return ward_error_set(err, len >= 8 && memcmp(buf, "bplist", 6) == 0 && memcmp(buf, "bplist00", 8) != 0
		                      ? WARD_E_UNSUPPORTED : WARD_E_TRUNCATED,
		                      "binary plist: not a bplist00 of at least %u bytes", 9 + TRAILER);
	t = s.b + len - TRAILER;
	s.offint = t[6];
	s.refsize = t[7];
	s.nobj = be(t + 8, 8);
	top = be(t + 16, 8);
	s.table = be(t + 24, 8);
	if (s.offint < 1 || s.offint > 8 || s.refsize < 1 || s.refsize > 8)
		return ward_error_set(err, WARD_E_MALFORMED, "binary plist: trailer: bad offset or reference size");
	/* the offset table lies between the objects and the trailer */
	if (s.table < 9 || s.table > len - TRAILER || s.nobj == 0 ||
	    s.nobj > (len - TRAILER - s.table) / s.offint)
		return ward_error_set(err, WARD_E_MALFORMED, "binary plist: trailer: bad offset table");
	if (top >= s.nobj)
		return ward_error_set(err, WARD_E_MALFORMED, "binary plist: trailer: the top object does not exist");
	return value(&s, top, 1, out);
}
