/*
 * Which backend wardend runs is decided at link time, one file per flavour (platforms
 * split by file, not by #ifdef): open/fanotify.c (Linux wardend), open/es.c (macOS
 * wardend), open/es_emul.c (wardend-es: the ES backend on the Linux emulation).
 */
#ifndef WARD_BACKEND_OPEN_H
#define WARD_BACKEND_OPEN_H

#include "agent/backend.h"

typedef struct ward_backend_args {
	const char *const *watch; /* --watch paths; NULL-terminated */
	bool kernel_cache;
	bool mount_marks;
	/* The verdict a backend gives by itself when the engine did not answer in time
	 * (ES: before the kernel's deadline). Lock-free; NULL: ALLOW. */
	ward_decision_t (*fallback)(void *arg);
	void *fallback_arg;
} ward_backend_args_t;

/* The flavour's name, for the log ("fanotify", "endpointsecurity"). */
extern const char ward_backend_flavour[];

/* For --help: what authorizes an exec ("fanotify FAN_OPEN_EXEC_PERM"), and a closing
 * note on what differs from the options above ("" when nothing does). */
extern const char ward_backend_hook[];
extern const char ward_backend_help_note[];

/* Whether the backend reports the opens of programs loaded without an exec (the
 * Interpreters key, agent/progopen.h): fanotify does, ES does not. */
extern const bool ward_backend_program_opens;

/* Create this build's backend. *out NULL on error; the message names the cause. */
ward_err_t ward_backend_open(const ward_backend_args_t *args, ward_backend_t **out,
                             ward_error_t *err);

#endif
