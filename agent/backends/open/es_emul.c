/* wardend-es: the ES backend on the Linux emulation, which marks the --watch mounts. */
#include "agent/backends/es/es_backend.h"
#include "agent/backends/open/open.h"

#include <stdlib.h>

#include "agent/backends/es_emul/es_emul.h"

const char ward_backend_flavour[] = "endpointsecurity (emulated over fanotify)";
const char ward_backend_hook[] = "EndpointSecurity AUTH_EXEC, emulated over fanotify";
const bool ward_backend_program_opens = false;
const char ward_backend_help_note[] =
	"\nwardend-es runs the EndpointSecurity backend on its Linux emulation (tests):\n"
	"--watch is required, --mount-marks is refused.\n";

ward_err_t ward_backend_open(const ward_backend_args_t *args, ward_backend_t **out,
                             ward_error_t *err)
{
	ward_es_opts_t o = { .fallback = args->fallback, .fallback_arg = args->fallback_arg };
	ward_es_emul_opts_t eo = {0};
	const char *v = getenv("WARD_ES_EMUL_VERSION"), *d = getenv("WARD_ES_EMUL_DEADLINE_MS"),
	           *s = getenv("WARD_ES_EMUL_STRICT");
	size_t n = 0;

	*out = NULL;
	for (; args->watch[n] != NULL; n++) {
		if (n >= WARD_ES_EMUL_MAX_WATCH)
			return ward_error_set(err, WARD_E_LIMIT, "--watch: at most %d paths here",
			                      WARD_ES_EMUL_MAX_WATCH);
		eo.watch[n] = args->watch[n];
	}
	if (n == 0)
		return ward_error_set(err, WARD_E_INVAL, "the ES emulation needs --watch paths");
	if (args->mount_marks)
		return ward_error_set(err, WARD_E_INVAL, "--mount-marks: the emulation marks mounts always");
	eo.version = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	eo.deadline_ns = d ? strtoull(d, NULL, 10) * 1000000ull : 0;
	eo.strict = s != NULL && s[0] == '1';
	ward_es_emul_configure(&eo);
	return ward_es_open(&o, out, err);
}
