/*
 * Programs loaded without an exec, macOS: not classified. dyld loads only what an
 * exec names (it has no "run this file as a command" mode like ld.so), so the LOADER
 * case does not exist; the SCRIPT case (an interpreter opening its script) would need
 * the opener's command line and working directory, which AUTH_OPEN messages do not
 * carry (docs/macos.md lists it as not done). ES reports execs of scripts with a
 * shebang as AUTH_EXEC of the script itself (es_event_exec_t.script), which the exec
 * policy decides.
 */
#include "agent/progopen.h"

ward_progopen_t ward_progopen_classify(const ward_config_t *cfg, pid_t pid, int fd, char *why,
                                       size_t whylen)
{
	(void)cfg;
	(void)pid;
	(void)fd;
	if (why && whylen)
		why[0] = '\0';
	return WARD_PROG_NONE;
}
