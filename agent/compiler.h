/*
 * ALLOWLIST_COMPILER, as in Santa: a program allowed by a compiler rule may produce
 * programs, and what it writes becomes allowed by a transitive BINARY rule.
 *
 * When a compiler's exec is allowed we remember (pid, pidversion, file key) of the
 * compiler binary. While compiler rules exist, the backend also reports FAN_CLOSE_WRITE
 * on the watched filesystems; a close-write by a remembered pid whose /proc/<pid>/exe
 * is still that binary, or which has exited already, hands the written file to the
 * main thread, which hashes it and stores the transitive rule.
 * Both tables are fixed-size.
 */
#ifndef WARD_AGENT_COMPILER_H
#define WARD_AGENT_COMPILER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/filekey.h"

#define WARD_COMPILER_PIDS    256u /* compiler processes remembered at once */
#define WARD_COMPILER_OUTPUTS 64u  /* written files waiting for the main thread */

typedef struct ward_compilers ward_compilers_t;

ward_err_t ward_compilers_create(ward_compilers_t **out, ward_error_t *err);
void ward_compilers_destroy(ward_compilers_t *c); /* closes queued fds; NULL ok */

/* Remember that pid (pidversion: see ward_subject_t) is exec'ing the compiler binary
 * exe. Replaces the oldest. */
void ward_compilers_add(ward_compilers_t *c, pid_t pid, uint64_t pidversion,
                        const ward_filekey_t *exe);

/* Whether pid is a remembered compiler; *pidversion and *exe say which process and
 * binary (the caller asks the backend whether it still is that process: see
 * agent/engine/pipeline.c for why a gone process is accepted). */
bool ward_compilers_lookup(ward_compilers_t *c, pid_t pid, uint64_t *pidversion,
                           ward_filekey_t *exe);

/* Queue fd (a file pid wrote; ownership passes) for the main thread. False, with fd
 * closed and a drop counted, when the queue is full. wakefd (a pipe, common/wake.h) is signalled. */
bool ward_compilers_push_output(ward_compilers_t *c, int fd, pid_t pid);

/* Take one queued output (fd >= 0) or return false. */
bool ward_compilers_pop_output(ward_compilers_t *c, int *fd, pid_t *pid);

/* An eventfd the main loop polls: readable when outputs are queued. */
int ward_compilers_wakefd(ward_compilers_t *c);

uint64_t ward_compilers_dropped(ward_compilers_t *c);

#endif
