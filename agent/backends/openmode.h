/*
 * What an open asks for, on Linux. A FAN_OPEN_PERM event does not say whether the
 * file is opened for reading or writing (the event's fd carries the listener's flags,
 * not the opener's), yet AllowReadAccess needs to know. While the kernel waits for our
 * answer the opening thread is blocked inside its system call, and /proc/<tid>/syscall
 * shows that call's number and register arguments, which the thread cannot change
 * while blocked: open(2), openat(2) and creat(2) pass their flags in a register, so
 * those flags are exactly what the kernel is opening with. Anything else (openat2,
 * whose flags sit in memory another thread could rewrite; io_uring; a kernel thread)
 * is reported as unknown, and the caller treats it as a write.
 * Needs the event's pid to be the thread id (FAN_REPORT_TID).
 */
#ifndef WARD_AGENT_OPENMODE_H
#define WARD_AGENT_OPENMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Access (WARD_FAA_READ / WARD_FAA_WRITE, the values of WARD_ACC_*) asked by the open that
 * thread tid is blocked in, or 0 when it cannot be told. O_TRUNC counts as a write.
 */
uint32_t ward_openmode_of(pid_t tid, bool *exec);

/* The same from the text of a /proc/<tid>/syscall line (for tests). *exec (may be
 * NULL) tells whether the thread is in execve/execveat: the open is the exec's own,
 * which the exec permission event decides. */
uint32_t ward_openmode_parse(const char *line, bool *exec);

#endif
