/*
 * wardend's own diagnostics (not the event log): stderr in the foreground, syslog when
 * detached. log_warn* append strerror(errno); the *x variants do not. fatal* exit 1.
 * Never called on the path between a permission event and its response.
 */
#ifndef WARD_AGENT_LOG_H
#define WARD_AGENT_LOG_H

#include <stdbool.h>

void log_init(const char *progname, bool to_stderr, bool debug);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
