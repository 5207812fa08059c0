/*
 * Programs loaded without an exec: see agent/progopen.h.
 */
#include "agent/progopen.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

bool ward_progopen_is_loader(const char *exe)
{
	const char *b = base(exe);

	return fnmatch("ld-linux*.so*", b, 0) == 0 || fnmatch("ld-musl-*.so*", b, 0) == 0 ||
	       fnmatch("ld-[0-9]*.so*", b, 0) == 0 || strcmp(b, "ld.so") == 0 ||
	       strcmp(b, "ld.so.1") == 0;
}

bool ward_progopen_is_interpreter(const ward_config_t *cfg, const char *exe)
{
	const char *b = base(exe);

	for (unsigned i = 0; i < cfg->ninterpreters; i++) {
		const char *e = cfg->interpreters[i];
		if (e[0] == '/' ? strcmp(e, exe) == 0 : fnmatch(e, b, 0) == 0)
			return true;
	}
	return false;
}

/* Options that take the next word as their value, per interpreter family. */
static bool takes_value(const char *interp, const char *opt)
{
	static const char *const sh[] = { "-o", "+o", "-O", "+O", "--rcfile", "--init-file", NULL };
	static const char *const py[] = { "-W", "-X", "-Q", "--check-hash-based-pycs", NULL };
	static const char *const pl[] = { "-I", "-M", "-m", "-x", "-C", "-d", "-D", "-l", "-0", NULL };
	static const char *const rb[] = { "-I", "-r", "-C", "-E", "-F", "-K", "-T", "-W", "-x",
	                                  "--encoding", "--external-encoding", "--internal-encoding", NULL };
	static const char *const nd[] = { "-r", "--require", "--import", "--loader",
	                                  "--experimental-loader", "--inspect-port", "--title",
	                                  "--input-type", "-C", "--conditions", NULL };
	const char *const *t = NULL;

	if (fnmatch("python*", interp, 0) == 0 || fnmatch("pypy*", interp, 0) == 0)
		t = py;
	else if (fnmatch("perl*", interp, 0) == 0)
		t = pl;
	else if (fnmatch("ruby*", interp, 0) == 0)
		t = rb;
	else if (strcmp(interp, "node") == 0 || strcmp(interp, "nodejs") == 0)
		t = nd;
	else
		t = sh;
	for (; *t; t++)
		if (strcmp(*t, opt) == 0)
			return true;
	return false;
}

/* Options whose code is not a file (or is stdin): no script argument at all. */
static bool is_eval(const char *interp, const char *opt)
{
	const char *eval = "cs"; /* shells: -c string, -s stdin */

	if (fnmatch("python*", interp, 0) == 0 || fnmatch("pypy*", interp, 0) == 0)
		eval = "cm";
	else if (fnmatch("perl*", interp, 0) == 0)
		eval = "eE";
	else if (fnmatch("ruby*", interp, 0) == 0)
		eval = "e";
	else if (strcmp(interp, "node") == 0 || strcmp(interp, "nodejs") == 0)
		eval = "ep";
	else if (fnmatch("*awk", interp, 0) == 0)
		eval = ""; /* awk's program is its first word unless -f names a file */
	if (opt[0] == '-' && opt[1] == '-')
		return strcmp(opt, "--eval") == 0 || strcmp(opt, "--print") == 0 ||
		       strcmp(opt, "--command") == 0;
	for (const char *c = opt + 1; *c; c++)
		if (strchr(eval, *c))
			return true;
	return false;
}

int ward_progopen_script_arg(const char *interp, const char *argv, size_t len)
{
	size_t off = 0;
	int idx = 0;
	const char *b = base(interp);

	/* busybox runs an applet: "busybox sh script" */
	while (off < len) {
		const char *w = argv + off;
		size_t wl = strnlen(w, len - off);
		if (idx == 0) {
			/* argv[0] */
		} else if (strcmp(b, "busybox") == 0 && idx == 1) {
			b = w; /* the applet decides the syntax */
		} else if (strcmp(w, "--") == 0) {
			return off + wl + 1 < len ? idx + 1 : -1;
		} else if (strcmp(w, "-") == 0) {
			return -1; /* stdin */
		} else if (w[0] == '-' || (w[0] == '+' && fnmatch("*sh", b, 0) == 0)) {
			if (is_eval(b, w))
				return -1;
			if (takes_value(b, w)) {
				off += wl + 1;
				idx++;
				if (off >= len)
					return -1;
				wl = strnlen(argv + off, len - off);
			}
		} else {
			return idx;
		}
		off += wl + 1;
		idx++;
	}
	return -1;
}
