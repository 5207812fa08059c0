/*
 * libFuzzer target for the denied user's terminal line: bytes an attacker chooses
 * (a file name, a process's comm in /proc/<pid>/stat) and a fleet's server or profile
 * chooses (a rule's custom_msg and custom_url, EventDetailURL) through
 * ward_procinfo_parse_stat, ward_blockmsg_expand_url, ward_blockmsg_plain and
 * ward_blockmsg_compose. The input is split at the first three NUL bytes into URL
 * template, message, path, and a value for every placeholder. The line must fit its
 * buffer, be one line ("\r\n" + text + "\r\n"), and hold no byte a terminal acts on:
 * no C0 control, DEL, C1 control (UTF-8 c2 80..9f) and no invalid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/backends/procinfo.h"
#include "common/blockmsg.h"
#include "common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			abort();
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f)
			abort();
		if (c >= 0x80) { /* a valid sequence, whole */
			size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			if (len == 0 || i + len > n)
				abort();
			for (size_t k = 1; k < len; k++)
				if (((unsigned char)s[i + k] & 0xc0) != 0x80)
					abort();
			i += len - 1;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 4), *part[4];
	static char url[WARD_MAX_DETAIL_URL * 3 + 1], line[WARD_TTYMSG_LINE_MAX];
	size_t n, cap;
	pid_t sid;
	uint32_t tty;
	uint64_t start;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, 0, 4);
	(void)ward_procinfo_parse_stat(buf, &sid, &tty, &start);
	part[0] = buf;
	for (int i = 1; i < 4; i++)
		part[i] = part[i - 1] + strlen(part[i - 1]) + 1 <= buf + size ? part[i - 1] + strlen(part[i - 1]) + 1
		                                                               : buf + size;
	ward_blockmsg_facts_t f = { part[3], part[3], part[3], part[3], part[3], part[3], part[3], part[3], part[3] };
	if (ward_blockmsg_expand_url(part[0], &f, url, sizeof(url)) && strlen(url) >= sizeof(url))
		abort();
	ward_blockmsg_line_t l = { .message = part[1], .path = part[2], .url = url, .url_label = part[3],
	                           .suppressed = size };
	cap = 64 + (size % (sizeof(line) - 63));
	n = ward_blockmsg_compose(line, cap, &l);
	if (n >= cap || strlen(line) != n || n < 4 || memcmp(line, "\r\n", 2) != 0 ||
	    memcmp(line + n - 2, "\r\n", 2) != 0)
		abort();
	check_text(line + 2, n - 4);
	free(buf);
	return 0;
}
