/* Linux wardend: the fanotify backend. */
#include "agent/backends/open/open.h"

const char ward_backend_flavour[] = "fanotify";
const char ward_backend_hook[] = "fanotify FAN_OPEN_EXEC_PERM";
const bool ward_backend_program_opens = true;
const char ward_backend_help_note[] = "";

ward_err_t ward_backend_open(const ward_backend_args_t *args, ward_backend_t **out,
                             ward_error_t *err)
{
	ward_fanotify_opts_t fo = { .watch = args->watch, .kernel_cache = args->kernel_cache,
	                            .mount_marks = args->mount_marks };
	return ward_fanotify_open(&fo, out, err);
}
