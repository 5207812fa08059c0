/*
 * Santa's block message, as text for a terminal: which message a denial shows, the
 * EventDetailURL with Santa's placeholders expanded, and a line a terminal can show
 * without being driven by it (no control bytes, no escape sequences, no bidi overrides
 * from a file name or a rule's message). Pure functions: no I/O, no allocation. Used by
 * the loader (profiles/config.c: validation) and the terminal writer (agent/ttymsg.c).
 */
#ifndef WARD_COMMON_BLOCKMSG_H
#define WARD_COMMON_BLOCKMSG_H

#include <stdbool.h>
#include <stddef.h>

/* Santa's default texts (SNTBlockMessage), without their <br />. */
#define WARD_BLOCKMSG_DEFAULT_UNKNOWN                                                     \
	"The following application has been blocked from executing because its "           \
	"trustworthiness cannot be determined"
#define WARD_BLOCKMSG_DEFAULT_BANNED                                                      \
	"The following application has been blocked from executing because it has been "   \
	"deemed malicious or against policy"
#define WARD_BLOCKMSG_DEFAULT_FILE_ACCESS                                                 \
	"Access to this file has been blocked by a file access policy"
#define WARD_BLOCKMSG_DEFAULT_LABEL "More info"

/*
 * The values of the placeholders (NULL or "" = not known: the placeholder becomes "").
 * Santa documents (docs/deployment/configuration.md, EventDetailURL):
 *   %file_identifier%  %bundle_or_file_identifier%  %file_sha% (deprecated alias)
 *   %file_bundle_id%   %team_id%  %signing_id%  %cdhash%
 *   %machine_id%  %username%  %serial%  %uuid%  %hostname%
 * Linux has no bundles: %bundle_or_file_identifier% and %file_sha% are the file's
 * SHA-256 and %file_bundle_id% is always "".
 */
typedef struct ward_blockmsg_facts {
	const char *file_sha256;   /* lowercase hex */
	const char *team_id;
	const char *signing_id;
	const char *cdhash;        /* lowercase hex */
	const char *username;
	const char *machine_id;
	const char *hostname;
	const char *uuid;
	const char *serial;
} ward_blockmsg_facts_t;

/* True if tmpl uses placeholder name ("username", without the %s): lets the caller
 * skip a lookup (a user name can mean NSS) nobody asked for. */
bool ward_blockmsg_uses(const char *tmpl, const char *name);

/*
 * Expand the placeholders of tmpl into out (cap bytes, always NUL-terminated). Each
 * value is percent-encoded except A-Z a-z 0-9 - . _ ~ : @, so no value can end the URL
 * or add a query parameter. A %word% Santa does not document is copied as it is (as
 * Santa does; the loader warns about it). "null" (Santa: no URL) and "" give "".
 * Returns false when out was too small (out is then empty: a cut URL is a wrong URL).
 */
bool ward_blockmsg_expand_url(const char *tmpl, const ward_blockmsg_facts_t *f, char *out,
                              size_t cap);

/*
 * The loader's checks. check_url: "" and "null" are fine, else an http:// or https://
 * URL without whitespace or control bytes. check_text: no control byte but tab, CR and
 * LF (shown as spaces). Each returns NULL when fine, else a sentence saying why.
 */
const char *ward_blockmsg_check_url(const char *s);
const char *ward_blockmsg_check_text(const char *s);

/* The first %word% of tmpl that is not a documented placeholder (copied into name,
 * without the %s), for the loader's warning. Words that could be percent-escapes
 * (hex letters only) are not reported. False when there is none. */
bool ward_blockmsg_unknown_placeholder(const char *tmpl, char *name, size_t cap);

/*
 * Append in to out[*len..cap) as plain text a terminal shows literally: with html,
 * tags are removed (Santa's messages are HTML: <br /> becomes a space) and &amp; &lt;
 * &gt; &quot; &#39; &apos; &nbsp; are decoded; whitespace runs become one space; every
 * control byte, DEL, C1 control, bidi override/isolate, and invalid UTF-8 becomes '?'.
 * Stops at a character boundary when full; out stays NUL-terminated (cap >= 1).
 */
void ward_blockmsg_plain(char *out, size_t cap, size_t *len, const char *in, bool html);

/* One line for the terminal of a denied program. */
typedef struct ward_blockmsg_line {
	const char *message;    /* the rule's custom_msg, else the configured or default text */
	const char *path;       /* the denied program ("" unknown) */
	const char *url;        /* expanded EventDetailURL ("" none) */
	const char *url_label;  /* EventDetailText ("" = "More info") */
	unsigned suppressed;    /* denials on this terminal not shown since the last line */
} ward_blockmsg_line_t;

/*
 * "\r\nwarden: <message>: <path>. <label>: <url> (N more not shown)\r\n", each part
 * through ward_blockmsg_plain (the message as HTML) and bounded so the line fits cap
 * (at least 64). Returns the line's length (no NUL counted); the line always ends in
 * "\r\n" (a terminal in raw mode needs the CR).
 */
size_t ward_blockmsg_compose(char *out, size_t cap, const ward_blockmsg_line_t *l);

#endif
