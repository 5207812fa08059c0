/*
 * Programs that are loaded without an exec (Linux). `ld-linux-x86-64.so.2 ./tool` runs
 * ./tool with no execve of it, and `sh ./tool.sh` reads its script with a plain open:
 * the kernel reports neither as an exec. warden sees the open (FAN_OPEN_PERM) and asks
 * here whether it is really the loading of a program, so the exec policy decides it:
 *
 *   LOADER  the opener's executable is the dynamic loader (so the loader runs as a
 *           command: a program started normally has its own executable) and the file is
 *           an ELF program (ET_EXEC, or ET_DYN with a PT_INTERP segment); libraries
 *           (ET_DYN without PT_INTERP) are not programs.
 *   SCRIPT  the opener's executable is one of Interpreters (basename glob or absolute
 *           path) and the file is its script argument: the first non-option word of its
 *           command line, resolved against its working directory, is this very inode.
 *           An interpreter given code with -c/-e/-m/--eval, or reading stdin, has no
 *           script argument (docs/threat-model.md says what that leaves open).
 */
#ifndef WARD_AGENT_PROGOPEN_H
#define WARD_AGENT_PROGOPEN_H

#include <stddef.h>
#include <sys/types.h>

#include "profiles/config.h"

typedef enum {
	WARD_PROG_NONE = 0,
	WARD_PROG_LOADER,
	WARD_PROG_SCRIPT,
} ward_progopen_t;

/*
 * Classify the open of the file open as fd (the kernel's event fd) by process pid
 * (a thread id is fine). why (may be NULL) gets the opener and the argument.
 */
ward_progopen_t ward_progopen_classify(const ward_config_t *cfg, pid_t pid, int fd, char *why,
                                       size_t whylen);

/* Whether exe (a canonical path) is one of cfg's Interpreters. */
bool ward_progopen_is_interpreter(const ward_config_t *cfg, const char *exe);

/* Whether exe is a dynamic loader (ld-linux*.so*, ld-*.so*, ld.so, ld-musl-*.so*). */
bool ward_progopen_is_loader(const char *exe);

/*
 * The script argument of an interpreter's command line (argv[0..argc) as NUL-separated
 * words, len bytes): the index of the first word that is not an option or an option's
 * value, or -1 when there is none or the code comes from -c/-e/-m/--eval/stdin.
 */
int ward_progopen_script_arg(const char *interp, const char *argv, size_t len);

#endif
