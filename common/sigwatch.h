/*
 * Signals as readable bytes for a poll loop, the same on Linux and macOS: the signals
 * are blocked in every thread (ward_sigwatch_block, before any thread exists), and one
 * thread takes them with sigwait(3) and writes each number to a pipe the main loop
 * polls. No signal handler runs, so no code is interrupted and nothing async-signal-
 * unsafe can happen (Linux's signalfd and macOS's kqueue EVFILT_SIGNAL do the same
 * job with an #ifdef each; sigwait is POSIX).
 */
#ifndef WARD_COMMON_SIGWATCH_H
#define WARD_COMMON_SIGWATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ward_sigwatch ward_sigwatch_t;

/* Block the n signals of signos in the calling thread (and in every thread it creates
 * afterwards); SIGPIPE is ignored. Call before any thread exists. false with errno. */
bool ward_sigwatch_block(const int *signos, size_t n);

/* Start the thread that waits for the n signals (blocked first with ward_sigwatch_block;
 * after a fork: threads are not inherited). *out NULL and errno set on failure. */
bool ward_sigwatch_start(const int *signos, size_t n, ward_sigwatch_t **out);

/* The descriptor to poll for POLLIN. */
int ward_sigwatch_fd(const ward_sigwatch_t *sw);

/* Read the signals received since the last call (non-blocking): at most cap numbers
 * into out; returns how many. */
size_t ward_sigwatch_read(ward_sigwatch_t *sw, int *out, size_t cap);

/* Stop the thread and close the pipe. NULL ok. */
void ward_sigwatch_destroy(ward_sigwatch_t *sw);

#endif
