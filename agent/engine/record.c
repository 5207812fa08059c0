/* The decision record: reset, names, and the log's sentence (agent/engine/record.h). */
#include "agent/engine/record.h"

#include "agent/engine/decide.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

void ward_record_reset(ward_record_t *r, ward_event_kind_t k)
{
	/* Everything but the two big buffers, which are marked empty. */
	memset(r, 0, offsetof(ward_record_t, path));
	r->kind = k;
	r->path[0] = '\0';
	r->pinfo.ok = false;
	r->pinfo.argv_len = 0;
	r->pinfo.argv_truncated = false;
	r->faa_item[0] = r->faa_version[0] = r->faa_opener[0] = r->faa_why[0] = '\0';
	r->faa_has_opener_sha = false;
	r->pinfo.sid = 0;
	r->pinfo.tty = 0;
	r->pinfo.start_time = 0;
	r->rule_msg[0] = r->rule_url[0] = '\0';
}

const char *ward_event_kind_name(ward_event_kind_t k)
{
	switch (k) {
	case WARD_EV_EXEC: return "exec";
	case WARD_EV_OPEN: return "open";
	case WARD_EV_MODIFIED: return "modified";
	case WARD_EV_RENAME: return "rename";
	case WARD_EV_UNLINK: return "unlink";
	case WARD_EV_EXIT: return "exit";
	case WARD_EV_SCAN: return "scan";
	}
	return "?";
}

static void add(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (s[0] == '\0' || n + 3 >= len)
		return;
	snprintf(buf + n, len - n, "%s%s", n ? "; " : "", s);
}

/* The scan step's outcome in the log's words (kept from the first versions of the log:
 * tests and admins grep for them). */
static void scan_words(const ward_record_t *r, char *tmp, size_t len)
{
	const char *what = r->scan_rule;

	tmp[0] = '\0';
	switch (r->scan_step - 1) {
	case WARD_SCANSTEP_BLOCK:
		snprintf(tmp, len, "%s (block)", what);
		break;
	case WARD_SCANSTEP_CLEAN:
		if (r->notes & WARD_NOTE_SCAN_AUDIT)
			snprintf(tmp, len, "%s (audit)", what);
		else if (r->scan_other)
			snprintf(tmp, len, "yara: matching rules, none block or audit (%s)", what);
		else
			snprintf(tmp, len, "yara: no match");
		break;
	case WARD_SCANSTEP_PENDING:
		snprintf(tmp, len, "scan pending: no YARA verdict within the budget; the scan goes on");
		break;
	case WARD_SCANSTEP_SKIPPED:
	case WARD_SCANSTEP_UNSCANNED:
		if (what[0] != '\0')
			snprintf(tmp, len, "not scanned: %s", what);
		break;
	default:
		break;
	}
}

void ward_record_detail(const ward_record_t *r, char *buf, size_t len)
{
	char tmp[WARD_SCAN_REASON_MAX + 96];

	if (len == 0)
		return;
	buf[0] = '\0';
	if (r->kind == WARD_EV_SCAN) {
		char words[WARD_SCAN_REASON_MAX + 64];
		scan_words(r, words, sizeof(words));
		if (r->scan_step - 1 == WARD_SCANSTEP_CLEAN && !(r->notes & WARD_NOTE_SCAN_AUDIT) && !r->scan_other)
			snprintf(words, sizeof(words), "no match");
		snprintf(buf, len, "late scan verdict: %s, scan took %llu ms", words,
		         (unsigned long long)(r->latency_us / 1000));
		return;
	}
	add(buf, len, r->origin_detail);
	if (r->notes & WARD_NOTE_NOSTAT)
		add(buf, len, "identity: cannot stat the file");
	if (r->notes & WARD_NOTE_UNREADABLE) {
		snprintf(tmp, sizeof(tmp), "identity: file unreadable (%s)", ward_strerror(r->err_code));
		add(buf, len, tmp);
	}
	if (r->decide_why[0])
		add(buf, len, r->decide_why);
	if (r->notes & WARD_NOTE_SHA_ONLY) {
		snprintf(tmp, sizeof(tmp), "identity by SHA-256 only: not a well-formed container (%s)",
		         ward_strerror(r->err_code));
		add(buf, len, tmp);
	}
	if (r->notes & WARD_NOTE_TOO_BIG)
		add(buf, len, "identity: too big to hash (over the unknown-file size cap)");
	if (r->notes & WARD_NOTE_OUT_OF_TIME)
		add(buf, len, "identity: reading the file ran out of the decision's time");
	if (r->notes & WARD_NOTE_HINTS)
		add(buf, len, "identity from the kernel's signature information");
	if (r->trust == WARD_TRUST_DIR_WRITABLE && r->trust_dirlen > 0 && r->trust_dirlen < strlen(r->path)) {
		snprintf(tmp, sizeof(tmp), "under a trusted path but directory %.*s is not root-owned or is "
		         "group/other-writable", (int)r->trust_dirlen, r->path);
		add(buf, len, tmp);
	} else if (r->trust != WARD_TRUST_OK && r->trust != WARD_TRUST_NOT_UNDER) {
		add(buf, len, ward_trust_name(r->trust));
	}
	if (r->scan_step > 0) {
		scan_words(r, tmp, sizeof(tmp));
		add(buf, len, tmp);
	}
	if (r->notes & WARD_NOTE_CHANGED)
		add(buf, len, "the file changed while it was decided");
	if (r->notes & WARD_NOTE_USER_WRITABLE)
		add(buf, len, "not cached: users other than root can write the file");
	if (r->notes & WARD_NOTE_BUSY_USER)
		add(buf, len, "the user's share of the decision workers was in use");
	if (r->notes & WARD_NOTE_NO_POLICY)
		add(buf, len, "no file-access policy covers the path");
	if ((r->v.reason == WARD_RSN_FILE_ACCESS || (r->notes & WARD_NOTE_PROGRAM)) && r->faa_why[0])
		add(buf, len, r->faa_why);
	if (r->v.reason == WARD_RSN_DEADLINE && !(r->notes & (WARD_NOTE_OUT_OF_TIME | WARD_NOTE_TOO_BIG))) {
		snprintf(tmp, sizeof(tmp), "no verdict within %u ms", r->budget_ms);
		add(buf, len, tmp);
	}
	if (r->notes & WARD_NOTE_LATE)
		add(buf, len, "late verdict: the deadline keeper had answered");
}
