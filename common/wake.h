/*
 * A wake-up a thread gives the main loop: a non-blocking pipe whose read end is polled
 * for POLLIN. The same on every platform (an eventfd would do on Linux; a pipe costs one
 * descriptor more and needs no #ifdef). Signals coalesce: any number of
 * ward_wake_signal calls before a ward_wake_drain make the descriptor readable once.
 */
#ifndef WARD_COMMON_WAKE_H
#define WARD_COMMON_WAKE_H

#include <stdbool.h>

typedef struct ward_wake {
	int rfd, wfd; /* -1 when not created */
} ward_wake_t;

/* Create the pipe (close-on-exec, non-blocking both ends). false with errno set. */
bool ward_wake_init(ward_wake_t *w);

/* Close both ends (a zeroed or failed ward_wake_t is fine: ends < 0 are skipped). */
void ward_wake_close(ward_wake_t *w);

/* Make the read end readable. Async-signal-safe and thread-safe; never blocks (a full
 * pipe is readable already). */
void ward_wake_signal(const ward_wake_t *w);

/* Empty the pipe (the main loop, after it saw POLLIN). Never blocks. */
void ward_wake_drain(const ward_wake_t *w);

/* The descriptor to poll for POLLIN, or -1. */
int ward_wake_fd(const ward_wake_t *w);

#endif
