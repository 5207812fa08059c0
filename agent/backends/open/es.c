/* macOS wardend: EndpointSecurity sees the whole machine; --watch has no meaning there. */
#include "agent/backends/open/es_common.h"

const char ward_backend_flavour[] = "endpointsecurity";

ward_err_t ward_backend_open(const ward_backend_args_t *args, ward_backend_t **out,
                             ward_error_t *err)
{
	ward_es_opts_t o = { .fallback = ward_open_es_fallback, .fallback_arg = args->agent };

	*out = NULL;
	if (args->watch[0] != NULL || args->mount_marks)
		return ward_error_set(err, WARD_E_INVAL,
		                      "--watch/--mount-marks: EndpointSecurity watches every file system");
	return ward_es_open(&o, out, err);
}
