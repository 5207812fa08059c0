/*
 * XML property list -> jansson. libxml2 builds a DOM from memory with no network, no
 * DTD loading and no entity substitution; SAX hooks count elements and depth as the
 * parse goes and stop it at the first DTD declaration, so the DOM never outgrows the
 * limits and no entity is ever expanded. The DOM is then walked once into jansson.
 */
#include "profiles/plist.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/SAX2.h>

#include "common/limits.h"
#include "profiles/bplist.h"

struct line_ent {
	uintptr_t parent;
	size_t ord;
	unsigned long line;
};

struct ward_plist_lines {
	struct line_ent *v;
	size_t n, cap;
	unsigned long root_line;
};

/* State the SAX hooks share with ward_plist_parse (ctxt->_private). */
struct pstate {
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	unsigned long depth, elements;
	ward_err_t stop_code; /* set when a hook stopped the parse */
	unsigned long stop_line;
	char stop_msg[128];
	bool have_xml_err;     /* first libxml2 error */
	unsigned long xml_line;
	char xml_msg[160];
};

struct walk {
	ward_plist_lines_t *lines; /* NULL: caller wants no line table */
	unsigned long nodes;
	ward_error_t *err;
};

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* libxml2's generic channel (out-of-memory and the like) prints to stderr by default. */
static void xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static ward_err_t fail(ward_error_t *err, ward_err_t code, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static ward_err_t fail(ward_error_t *err, ward_err_t code, unsigned long line, const char *fmt, ...)
{
	char msg[WARD_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ward_error_set(err, code, "line %lu: %s", line, msg);
}

/* ---------------------------------------------------------------- SAX hooks */

static struct pstate *pstate_of(void *ctx)
{
	return ((xmlParserCtxtPtr)ctx)->_private;
}

static unsigned long ctx_line(void *ctx)
{
	xmlParserCtxtPtr ctxt = ctx;

	return ctxt->input ? (unsigned long)ctxt->input->line : 0;
}

static void hook_stop(void *ctx, ward_err_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hook_stop(void *ctx, ward_err_t code, const char *fmt, ...)
{
	struct pstate *ps = pstate_of(ctx);
	va_list ap;

	if (ps->stop_code == WARD_OK) {
		ps->stop_code = code;
		ps->stop_line = ctx_line(ctx);
		va_start(ap, fmt);
		vsnprintf(ps->stop_msg, sizeof(ps->stop_msg), fmt, ap);
		va_end(ap);
	}
	xmlStopParser((xmlParserCtxtPtr)ctx);
}

static void hook_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                       const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                       int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct pstate *ps = pstate_of(ctx);

	if (++ps->elements > WARD_MAX_PLIST_NODES) {
		hook_stop(ctx, WARD_E_LIMIT, "more than %u elements", WARD_MAX_PLIST_NODES);
		return;
	}
	/* +1: the <plist> wrapper is not a value */
	if (++ps->depth > WARD_MAX_PLIST_DEPTH + 1) {
		hook_stop(ctx, WARD_E_LIMIT, "nesting deeper than %u", WARD_MAX_PLIST_DEPTH);
		return;
	}
	ps->start(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
	          nb_defaulted, attributes);
}

static void hook_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri)
{
	struct pstate *ps = pstate_of(ctx);

	if (ps->depth > 0)
		ps->depth--;
	ps->end(ctx, localname, prefix, uri);
}

/*
 * Any declaration in an internal DTD subset stops the parse. A plist needs none, and
 * refusing them here (before any reference is parsed) is what makes entity expansion
 * attacks and external entities impossible, whatever libxml2's own defences.
 */
static void hook_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                             const xmlChar *system_id, xmlChar *content)
{
	(void)type;
	(void)public_id;
	(void)content;
	hook_stop(ctx, WARD_E_UNSUPPORTED, "DTD entity declaration '%s'%s is not allowed",
	          (const char *)name, system_id ? " (external)" : "");
}

static void hook_element_decl(void *ctx, const xmlChar *name, int type, xmlElementContentPtr content)
{
	(void)type;
	(void)content;
	hook_stop(ctx, WARD_E_UNSUPPORTED, "DTD element declaration '%s' is not allowed",
	          (const char *)name);
}

static void hook_attribute_decl(void *ctx, const xmlChar *elem, const xmlChar *fullname, int type,
                                int def, const xmlChar *default_value, xmlEnumerationPtr tree)
{
	(void)elem;
	(void)type;
	(void)def;
	(void)default_value;
	xmlFreeEnumeration(tree); /* the callback owns it */
	hook_stop(ctx, WARD_E_UNSUPPORTED, "DTD attribute declaration '%s' is not allowed",
	          (const char *)fullname);
}

static void hook_notation_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                               const xmlChar *system_id)
{
	(void)public_id;
	(void)system_id;
	hook_stop(ctx, WARD_E_UNSUPPORTED, "DTD notation declaration '%s' is not allowed",
	          (const char *)name);
}

static void hook_unparsed_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                               const xmlChar *system_id, const xmlChar *notation)
{
	(void)public_id;
	(void)system_id;
	(void)notation;
	hook_stop(ctx, WARD_E_UNSUPPORTED, "DTD entity declaration '%s' is not allowed",
	          (const char *)name);
}

/* Keep the first error for the caller; never let libxml2 print. */
static void hook_error(void *ctx, xmlErrorPtr e)
{
	struct pstate *ps;
	size_t n;

	if (ctx == NULL || e == NULL || e->level == XML_ERR_WARNING)
		return;
	ps = pstate_of(ctx);
	if (ps == NULL || ps->have_xml_err)
		return;
	ps->have_xml_err = true;
	ps->xml_line = e->line > 0 ? (unsigned long)e->line : 0;
	snprintf(ps->xml_msg, sizeof(ps->xml_msg), "%s", e->message ? e->message : "XML error");
	n = strlen(ps->xml_msg);
	while (n > 0 && (ps->xml_msg[n - 1] == '\n' || ps->xml_msg[n - 1] == ' '))
		ps->xml_msg[--n] = '\0';
}

/* ---------------------------------------------------------------- line table */

static ward_err_t lines_add(struct walk *w, const json_t *parent, size_t ord, unsigned long line)
{
	ward_plist_lines_t *l = w->lines;

	if (l == NULL)
		return WARD_OK;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct line_ent *nv;
		if (ncap > SIZE_MAX / sizeof(*nv))
			return ward_error_set(w->err, WARD_E_NOMEM, "line table too large");
		nv = realloc(l->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].parent = (uintptr_t)parent;
	l->v[l->n].ord = ord;
	l->v[l->n].line = line;
	l->n++;
	return WARD_OK;
}

static int line_cmp(const void *a, const void *b)
{
	const struct line_ent *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	return 0;
}

static unsigned long lines_find(const ward_plist_lines_t *l, const json_t *parent, size_t ord)
{
	struct line_ent key = { (uintptr_t)parent, ord, 0 }, *hit;

	if (l == NULL || l->n == 0)
		return 0;
	hit = bsearch(&key, l->v, l->n, sizeof(*l->v), line_cmp);
	return hit ? hit->line : 0;
}

unsigned long ward_plist_line_root(const ward_plist_lines_t *lines)
{
	return lines ? lines->root_line : 0;
}

unsigned long ward_plist_line_at(const ward_plist_lines_t *lines, const json_t *arr, size_t idx)
{
	return lines_find(lines, arr, idx);
}

unsigned long ward_plist_line_key(const ward_plist_lines_t *lines, const json_t *dict,
                                  const char *key)
{
	const char *k;
	json_t *v;
	size_t ord = 0;

	if (lines == NULL || !json_is_object(dict))
		return 0;
	/* jansson keeps insertion order, which is document order here */
	json_object_foreach((json_t *)dict, k, v) {
		if (strcmp(k, key) == 0)
			return lines_find(lines, dict, ord);
		ord++;
	}
	return 0;
}

void ward_plist_lines_free(ward_plist_lines_t *lines)
{
	if (lines == NULL)
		return;
	free(lines->v);
	free(lines);
}

/* ---------------------------------------------------------------- scalars */

static bool is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim XML whitespace in place; returns the start. */
static char *trim(char *s)
{
	size_t n;

	while (is_xml_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_xml_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static bool parse_integer(char *text, json_int_t *out)
{
	const char *s = trim(text);
	bool neg = false;
	unsigned base = 10;
	uint64_t v = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? (json_int_t)INT64_MIN : -(json_int_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (json_int_t)v;
	}
	return true;
}

static bool parse_real(char *text, double *out)
{
	const char *s = trim(text);
	char *end;

	if (*s == '\0')
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return *end == '\0' && errno == 0 && isfinite(*out);
}

static bool two_digits(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ", the form Apple's plist writer produces. */
static bool valid_date(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int yh, yl, mo, d, h, mi, se, y;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return false;
	if (!two_digits(s, &yh) || !two_digits(s + 2, &yl) || !two_digits(s + 5, &mo) ||
	    !two_digits(s + 8, &d) || !two_digits(s + 11, &h) || !two_digits(s + 14, &mi) ||
	    !two_digits(s + 17, &se))
		return false;
	y = yh * 100 + yl;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Remove whitespace in place and check the base64 alphabet and padding. */
static bool normalize_base64(char *s)
{
	size_t n = 0, pad = 0;

	for (char *p = s; *p; p++) {
		if (is_xml_space(*p))
			continue;
		if (*p == '=') {
			pad++;
		} else if (!is_b64(*p) || pad > 0) {
			return false;
		}
		s[n++] = *p;
	}
	s[n] = '\0';
	return n % 4 == 0 && pad <= 2;
}

/* ---------------------------------------------------------------- DOM walk */

static unsigned long node_line(xmlNodePtr n)
{
	long l = xmlGetLineNo(n);

	return l > 0 ? (unsigned long)l : 0;
}

static bool is_blank_text(xmlNodePtr n)
{
	return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && xmlIsBlankNode(n);
}

/*
 * Next element child at or after n inside a container, skipping whitespace, comments
 * and processing instructions. Anything else is an error (*rc set).
 */
static xmlNodePtr next_element(struct walk *w, xmlNodePtr n, ward_err_t *rc)
{
	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			return n;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			continue;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (is_blank_text(n))
				continue;
			*rc = fail(w->err, WARD_E_MALFORMED, node_line(n), "unexpected text outside a value");
			return NULL;
		case XML_ENTITY_REF_NODE:
			*rc = fail(w->err, WARD_E_UNSUPPORTED, node_line(n),
			           "entity reference &%s; is not allowed", (const char *)n->name);
			return NULL;
		default:
			*rc = fail(w->err, WARD_E_MALFORMED, node_line(n), "unexpected XML node (type %d)",
			           (int)n->type);
			return NULL;
		}
	}
	return NULL;
}

/* The character data of a leaf element (text and CDATA only), malloc'd. */
static ward_err_t leaf_text(struct walk *w, xmlNodePtr e, char **out)
{
	size_t len = 0, off = 0;
	xmlNodePtr c;
	char *s;

	*out = NULL;
	for (c = e->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content) {
				size_t n = strlen((const char *)c->content);
				if (n > WARD_MAX_PLIST_BYTES - len)
					return fail(w->err, WARD_E_LIMIT, node_line(e), "text longer than %u bytes",
					            WARD_MAX_PLIST_BYTES);
				len += n;
			}
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		case XML_ENTITY_REF_NODE:
			return fail(w->err, WARD_E_UNSUPPORTED, node_line(c),
			            "entity reference &%s; is not allowed", (const char *)c->name);
		case XML_ELEMENT_NODE:
			return fail(w->err, WARD_E_MALFORMED, node_line(c), "<%s> cannot contain <%s>",
			            (const char *)e->name, (const char *)c->name);
		default:
			return fail(w->err, WARD_E_MALFORMED, node_line(c), "unexpected XML node in <%s>",
			            (const char *)e->name);
		}
	}
	if ((s = malloc(len + 1)) == NULL)
		return ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
	for (c = e->children; c != NULL; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			size_t n = strlen((const char *)c->content);
			memcpy(s + off, c->content, n);
			off += n;
		}
	}
	s[off] = '\0';
	*out = s;
	return WARD_OK;
}

static ward_err_t convert(struct walk *w, xmlNodePtr e, unsigned depth, json_t **out);

static ward_err_t convert_dict(struct walk *w, xmlNodePtr e, unsigned depth, json_t **out)
{
	json_t *obj = json_object();
	ward_err_t rc = WARD_OK;
	xmlNodePtr k, v;
	size_t ord = 0;

	if (obj == NULL)
		return ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
	for (k = next_element(w, e->children, &rc); k != NULL; k = next_element(w, v->next, &rc)) {
		char *key = NULL;
		json_t *child = NULL;

		if (strcmp((const char *)k->name, "key") != 0) {
			rc = fail(w->err, WARD_E_MALFORMED, node_line(k), "expected <key> in <dict>, found <%s>",
			          (const char *)k->name);
			break;
		}
		if ((rc = leaf_text(w, k, &key)) != WARD_OK)
			break;
		v = next_element(w, k->next, &rc);
		if (v == NULL) {
			if (rc == WARD_OK)
				rc = fail(w->err, WARD_E_MALFORMED, node_line(k), "key \"%s\" has no value", key);
			free(key);
			break;
		}
		if (json_object_get(obj, key) != NULL) {
			rc = fail(w->err, WARD_E_MALFORMED, node_line(k), "duplicate key \"%s\"", key);
			free(key);
			break;
		}
		rc = convert(w, v, depth + 1, &child);
		if (rc == WARD_OK && json_object_set_new(obj, key, child) != 0)
			rc = ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
		if (rc == WARD_OK)
			rc = lines_add(w, obj, ord++, node_line(v));
		free(key);
		if (rc != WARD_OK)
			break;
	}
	if (rc != WARD_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return WARD_OK;
}

static ward_err_t convert_array(struct walk *w, xmlNodePtr e, unsigned depth, json_t **out)
{
	json_t *arr = json_array();
	ward_err_t rc = WARD_OK;
	xmlNodePtr v;
	size_t i = 0;

	if (arr == NULL)
		return ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
	for (v = next_element(w, e->children, &rc); v != NULL; v = next_element(w, v->next, &rc)) {
		json_t *child = NULL;

		rc = convert(w, v, depth + 1, &child);
		if (rc == WARD_OK && json_array_append_new(arr, child) != 0)
			rc = ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
		if (rc == WARD_OK)
			rc = lines_add(w, arr, i++, node_line(v));
		if (rc != WARD_OK)
			break;
	}
	if (rc != WARD_OK) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return WARD_OK;
}

static ward_err_t convert(struct walk *w, xmlNodePtr e, unsigned depth, json_t **out)
{
	const char *name = (const char *)e->name;
	unsigned long line = node_line(e);
	ward_err_t rc;
	char *text = NULL;

	*out = NULL;
	if (depth > WARD_MAX_PLIST_DEPTH)
		return fail(w->err, WARD_E_LIMIT, line, "nesting deeper than %u", WARD_MAX_PLIST_DEPTH);
	if (++w->nodes > WARD_MAX_PLIST_NODES)
		return fail(w->err, WARD_E_LIMIT, line, "more than %u elements", WARD_MAX_PLIST_NODES);
	if (e->ns != NULL)
		return fail(w->err, WARD_E_MALFORMED, line, "namespaced element <%s:%s> in a plist",
		            (const char *)e->ns->prefix, name);

	if (strcmp(name, "dict") == 0)
		return convert_dict(w, e, depth, out);
	if (strcmp(name, "array") == 0)
		return convert_array(w, e, depth, out);
	if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0) {
		ward_err_t r2 = WARD_OK;
		if (next_element(w, e->children, &r2) != NULL || r2 != WARD_OK)
			return r2 != WARD_OK ? r2 :
			       fail(w->err, WARD_E_MALFORMED, line, "<%s/> must be empty", name);
		*out = name[0] == 't' ? json_true() : json_false();
		return WARD_OK;
	}
	if (strcmp(name, "string") != 0 && strcmp(name, "integer") != 0 && strcmp(name, "real") != 0 &&
	    strcmp(name, "date") != 0 && strcmp(name, "data") != 0)
		return fail(w->err, WARD_E_MALFORMED, line, "unknown plist element <%s>", name);

	if ((rc = leaf_text(w, e, &text)) != WARD_OK)
		return rc;
	if (name[0] == 's') {
		*out = json_string(text);
		if (*out == NULL)
			rc = fail(w->err, WARD_E_MALFORMED, line, "<string> is not valid UTF-8");
	} else if (name[0] == 'i') {
		json_int_t n;
		if (!parse_integer(text, &n))
			rc = fail(w->err, WARD_E_MALFORMED, line,
			          "<integer> \"%.40s\" is not a 64-bit signed integer", trim(text));
		else
			*out = json_integer(n);
	} else if (name[0] == 'r') {
		double d;
		if (!parse_real(text, &d))
			rc = fail(w->err, WARD_E_MALFORMED, line, "<real> \"%.40s\" is not a finite number",
			          trim(text));
		else
			*out = json_real(d);
	} else if (strcmp(name, "date") == 0) {
		const char *t = trim(text);
		if (!valid_date(t))
			rc = fail(w->err, WARD_E_MALFORMED, line,
			          "<date> \"%.40s\" is not YYYY-MM-DDTHH:MM:SSZ", t);
		else
			*out = json_string(t);
	} else {
		if (!normalize_base64(text))
			rc = fail(w->err, WARD_E_MALFORMED, line, "<data> is not valid base64");
		else
			*out = json_string(text);
	}
	free(text);
	if (rc == WARD_OK && *out == NULL)
		rc = ward_error_set(w->err, WARD_E_NOMEM, "out of memory");
	return rc;
}

/* ---------------------------------------------------------------- entry */

ward_err_t ward_plist_parse(const void *buf, size_t len, json_t **out,
                            ward_plist_lines_t **lines, ward_error_t *err)
{
	static const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                           XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA;
	struct pstate ps;
	struct walk w = { NULL, 0, err };
	xmlParserCtxtPtr ctxt;
	xmlNodePtr root, val, extra;
	ward_err_t rc = WARD_OK;
	json_t *tree = NULL;

	*out = NULL;
	if (lines)
		*lines = NULL;
	if (len == 0)
		return ward_error_set(err, WARD_E_MALFORMED, "line 1: empty document");
	if (len > WARD_MAX_PLIST_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "plist is %zu bytes, more than %u", len,
		                      WARD_MAX_PLIST_BYTES);
	if (ward_bplist_looks(buf, len)) {
		/* no lines in a binary plist: an empty table, every lookup says 0 */
		if (lines && (*lines = calloc(1, sizeof(**lines))) == NULL)
			return ward_error_set(err, WARD_E_NOMEM, "out of memory");
		if ((rc = ward_bplist_parse(buf, len, out, err)) != WARD_OK && lines) {
			ward_plist_lines_free(*lines);
			*lines = NULL;
		}
		return rc;
	}
	pthread_once(&xml_once, xml_init);
	xmlSetGenericErrorFunc(NULL, xml_silent); /* per thread in libxml2 */

	ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
	if (ctxt == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "cannot create an XML parser");
	xmlCtxtUseOptions(ctxt, options);
	memset(&ps, 0, sizeof(ps));
	ps.start = ctxt->sax->startElementNs;
	ps.end = ctxt->sax->endElementNs;
	ctxt->_private = &ps;
	ctxt->sax->startElementNs = hook_start;
	ctxt->sax->endElementNs = hook_end;
	ctxt->sax->entityDecl = hook_entity_decl;
	ctxt->sax->elementDecl = hook_element_decl;
	ctxt->sax->attributeDecl = hook_attribute_decl;
	ctxt->sax->notationDecl = hook_notation_decl;
	ctxt->sax->unparsedEntityDecl = hook_unparsed_decl;
	ctxt->sax->externalSubset = NULL; /* never load the external DTD */
	ctxt->sax->serror = hook_error;

	xmlParseDocument(ctxt);

	if (ps.stop_code != WARD_OK) {
		rc = ward_error_set(err, ps.stop_code, "line %lu: %s", ps.stop_line, ps.stop_msg);
		goto out;
	}
	if (!ctxt->wellFormed || ctxt->myDoc == NULL) {
		rc = ward_error_set(err, WARD_E_MALFORMED, "line %lu: %s",
		                    ps.have_xml_err ? ps.xml_line : (unsigned long)ctxt->input->line,
		                    ps.have_xml_err ? ps.xml_msg : "not well-formed XML");
		goto out;
	}
	root = xmlDocGetRootElement(ctxt->myDoc);
	if (root == NULL || strcmp((const char *)root->name, "plist") != 0 || root->ns != NULL) {
		rc = fail(err, WARD_E_BADMAGIC, root ? node_line(root) : 1,
		          "root element is <%s>, not <plist>", root ? (const char *)root->name : "");
		goto out;
	}
	if (lines && (w.lines = calloc(1, sizeof(*w.lines))) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto out;
	}
	val = next_element(&w, root->children, &rc);
	if (rc != WARD_OK)
		goto out;
	if (val == NULL) {
		rc = fail(err, WARD_E_MALFORMED, node_line(root), "<plist> holds no value");
		goto out;
	}
	extra = next_element(&w, val->next, &rc);
	if (rc != WARD_OK)
		goto out;
	if (extra != NULL) {
		rc = fail(err, WARD_E_MALFORMED, node_line(extra), "<plist> holds more than one value");
		goto out;
	}
	if ((rc = convert(&w, val, 1, &tree)) != WARD_OK)
		goto out;
	if (w.lines) {
		w.lines->root_line = node_line(val);
		if (w.lines->n > 0)
			qsort(w.lines->v, w.lines->n, sizeof(*w.lines->v), line_cmp);
	}
out:
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);
	if (rc != WARD_OK) {
		json_decref(tree);
		ward_plist_lines_free(w.lines);
		return rc;
	}
	*out = tree;
	if (lines)
		*lines = w.lines;
	return WARD_OK;
}
