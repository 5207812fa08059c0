/*
 * libFuzzer target for the Mach-O and code-signature parser: any bytes, full checks
 * (page and special-slot hashing, CMS). It must return an error or an identity, never
 * crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scanner/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_identity_t id;
	ward_error_t err;

	if (ward_identity_read_buf(data, size, WARD_ID_VERIFY_PAGES, &id, &err) == WARD_OK) {
		/* Touch what callers print, so a missing NUL would show up under ASan. */
		for (unsigned i = 0; i < id.nslices && i < WARD_MAX_SLICES; i++) {
			volatile size_t n = strlen(id.slices[i].signing_id) + strlen(id.slices[i].team_id) +
			                    strlen(id.slices[i].cert_cn) + strlen(id.slices[i].cert_ou) +
			                    strlen(id.slices[i].invalid_reason) + strlen(id.slices[i].arch);
			(void)n;
		}
	} else {
		volatile size_t n = strlen(err.msg);
		(void)n;
	}
	return 0;
}
