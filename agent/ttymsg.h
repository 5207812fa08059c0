/*
 * Telling the user: after the kernel has its answer, one line on the controlling
 * terminal of a denied program, as Santa's TTY message does ("why, and where to go"):
 * the rule's custom_msg or the configured/default block message, the program, and the
 * EventDetailURL with Santa's placeholders expanded (common/blockmsg.h).
 *
 * A subscriber of the engine (ward_ttymsg_record): it copies what a denial needs into a
 * bounded ring and returns; one thread of its own finds the terminal and writes. Never
 * on the decision path, never blocking: the terminal is opened O_NONBLOCK and a full
 * one loses the line.
 *
 * Which terminal: the one the kernel named as the process's controlling terminal while
 * its exec waited (/proc/<pid>/stat tty_nr, agent/backends/procinfo.c). The device is
 * never opened by a path: it is reopened from a file descriptor that the denied process
 * (same pid and start time), its parent or its session leader holds on exactly that
 * device (/proc/<p>/fd/{0,1,2,255}, O_PATH, then /proc/self/fd/<n>), and only if it is
 * a terminal device (tty, serial or pty slave major) owned by the process's real uid
 * (any terminal when the process is root: it could write there itself). See
 * docs/threat-model.md "Writing to a user's terminal".
 *
 * No line for SILENT_BLOCKLIST rules, with EnableSilentMode or EnableSilentTTYMode, and
 * at most one per terminal every WARD_TTYMSG_INTERVAL_MS (the next line says how many
 * were not shown), WARD_TTYMSG_PER_SECOND over all terminals.
 */
#ifndef WARD_AGENT_TTYMSG_H
#define WARD_AGENT_TTYMSG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/engine/engine.h"
#include "common/error.h"
#include "common/limits.h"

typedef struct ward_ttymsg ward_ttymsg_t;

/* What happened to the denials the writer was given: each is counted once, in the
 * first bucket that applies, after the writer handled it (a test's sentinel). */
typedef struct ward_ttymsg_stats {
	uint64_t denials;       /* handled: the sum of the buckets below */
	uint64_t written;       /* a line went to the terminal */
	uint64_t silent_rule;   /* SILENT_BLOCKLIST */
	uint64_t silent_config; /* EnableSilentMode or EnableSilentTTYMode */
	uint64_t no_terminal;   /* no controlling terminal, or nobody holds it any more */
	uint64_t refused;       /* the terminal failed a check (device, owner) */
	uint64_t rate_limited;
	uint64_t failed;        /* the write failed (a full or hung-up terminal) */
	uint64_t dropped;       /* the ring was full: never handled */
} ward_ttymsg_stats_t;

/* The writer for engine e (its snapshots give the configuration in force). No thread
 * yet. */
ward_err_t ward_ttymsg_create(ward_engine_t *e, ward_ttymsg_t **out, ward_error_t *err);

/* Start the writer thread (after a daemon's fork). */
ward_err_t ward_ttymsg_start(ward_ttymsg_t *t, ward_error_t *err);

/* The engine subscriber (ward_record_fn; arg is the writer): keeps denied execs (and
 * programs opened by the loader or an interpreter), drops everything else. Never
 * blocks on I/O. */
void ward_ttymsg_record(void *arg, const ward_record_t *r);

void ward_ttymsg_stats(ward_ttymsg_t *t, ward_ttymsg_stats_t *out);
json_t *ward_ttymsg_status_json(ward_ttymsg_t *t); /* the stats, for `status` */

/* Stop the thread (what is queued is dropped) and free. NULL ok. */
void ward_ttymsg_destroy(ward_ttymsg_t *t);

/* ---------------------------------------------------------------- rate limit */

/*
 * One line per terminal every WARD_TTYMSG_INTERVAL_MS and WARD_TTYMSG_PER_SECOND
 * lines in all; WARD_TTYMSG_TTYS terminals remembered, the one written longest ago is
 * forgotten first. Exposed for tests; not thread-safe (the writer's thread owns it).
 */
typedef struct ward_ttyrate {
	struct {
		uint32_t tty;
		bool used;
		unsigned suppressed;
		uint64_t last_ms;
	} slot[WARD_TTYMSG_TTYS];
	uint64_t second_ms;     /* start of the current one-second window */
	unsigned in_second;     /* lines in it */
} ward_ttyrate_t;

void ward_ttyrate_init(ward_ttyrate_t *r);

/* May a line go to terminal tty at now_ms? Yes: the line is counted and *suppressed is
 * how many were refused on that terminal since its last line. No: one more refused. */
bool ward_ttyrate_take(ward_ttyrate_t *r, uint32_t tty, uint64_t now_ms, unsigned *suppressed);

/* Whether a device number is a terminal warden may write to: a virtual console
 * (4:1..63), a serial line (4:64.., 166, 188, 204) or a pty slave (3, 136..143). Not
 * /dev/tty, /dev/console, tty0, ptmx or any pty master. */
bool ward_ttymsg_device_ok(uint32_t dev);

#endif
