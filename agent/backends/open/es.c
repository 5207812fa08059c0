/* macOS wardend: EndpointSecurity sees the whole machine; --watch has no meaning there. */
#include "agent/backends/es/es_backend.h"
#include "agent/backends/open/open.h"

const char ward_backend_flavour[] = "endpointsecurity";
const char ward_backend_hook[] = "EndpointSecurity AUTH_EXEC";
const bool ward_backend_program_opens = false;
const char ward_backend_help_note[] =
	"\nOn macOS: EndpointSecurity sees every file system, so --watch and --mount-marks\n"
	"are refused; there is no BPF ground (ES has no blind spot for it to cover):\n"
	"--no-ground changes nothing and --ground-uid is refused. When wardend exits, ES\n"
	"lets pending execs proceed. launchd runs it with --foreground (docs/macos.md).\n";

ward_err_t ward_backend_open(const ward_backend_args_t *args, ward_backend_t **out,
                             ward_error_t *err)
{
	ward_es_opts_t o = { .fallback = args->fallback, .fallback_arg = args->fallback_arg };

	*out = NULL;
	if (args->watch[0] != NULL || args->mount_marks)
		return ward_error_set(err, WARD_E_INVAL,
		                      "--watch/--mount-marks: EndpointSecurity watches every file system");
	return ward_es_open(&o, out, err);
}
