/*
 * libFuzzer target for the Mach-O and code-signature parser: any bytes, full checks
 * (page and special-slot hashing, CMS), through both readers: the in-memory one and the
 * pread path the agent uses on a file descriptor (ward_identity_read on a memfd, and
 * agent/reqfile.c's bounded reader for requested files). Both must agree, return an
 * error or an identity, and never crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/reqfile.h"
#include "rules/rules.h"
#include "scanner/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same bytes in a file, read with pread as the agent reads programs. */
static void through_fd(const uint8_t *data, size_t size, const ward_identity_t *mem, ward_err_t mem_rc)
{
	static ward_identity_t id, id2;
	ward_error_t err = { 0 };
	struct stat sb;
	ward_err_t rc;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	rc = ward_identity_read(fd, WARD_ID_VERIFY_PAGES | WARD_ID_SHA256, &id, &err);
	if (rc != mem_rc)
		abort(); /* the fd reader and the buffer reader disagree */
	if (rc == WARD_OK && (id.type != mem->type || id.nslices != mem->nslices))
		abort();
	if (fstat(fd, &sb) != 0)
		abort();
	rc = ward_reqfile_identity(fd, &sb, UINT64_MAX, &id2, &err);
	if (rc != mem_rc)
		abort();
	if (rc == WARD_OK && (!id2.has_sha256 || memcmp(id2.sha256, id.sha256, sizeof(id.sha256)) != 0))
		abort(); /* the bounded SHA-256 differs from the streaming one */
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ward_identity_t id;
	ward_error_t err;
	ward_err_t rc;

	rc = ward_identity_read_buf(data, size, WARD_ID_VERIFY_PAGES, &id, &err);
	through_fd(data, size, &id, rc);
	if (rc == WARD_OK) {
		/* Touch what callers print, so a missing NUL would show up under ASan. */
		for (unsigned i = 0; i < id.nslices && i < WARD_MAX_SLICES; i++) {
			volatile size_t n = strlen(id.slices[i].signing_id) + strlen(id.slices[i].team_id) +
			                    strlen(id.slices[i].cert_cn) + strlen(id.slices[i].cert_ou) +
			                    strlen(id.slices[i].invalid_reason) + strlen(id.slices[i].arch);
			(void)n;
		}
		/* What rules key on: one key per slice, each slice found by its own name (the
		 * first of a name: two slices may share one), and no key names a CDHash that an
		 * invalid or unsigned slice does not vouch for. */
		static ward_match_key_t keys[WARD_MAX_SLICES];
		unsigned nk = ward_match_keys_from_identity(&id, keys), k;
		if (nk != (id.nslices ? id.nslices : 1u))
			abort();
		for (unsigned i = 0; i < id.nslices; i++) {
			if (ward_identity_find_arch(&id, id.slices[i].arch, &k, &err) != WARD_OK || k > i ||
			    strcmp(id.slices[k].arch, id.slices[i].arch) != 0)
				abort();
			if ((keys[i].cdhash[0] != '\0') !=
			    (id.slices[i].has_cdhash && (id.slices[i].status == WARD_SIG_ADHOC ||
			                                 id.slices[i].status == WARD_SIG_SIGNED)))
				abort();
		}
		ward_match_key_t common;
		ward_match_key_common(keys, nk, &common);
		ward_file_match_t fm;
		ward_index_match_keys(NULL, keys, nk, 0, &fm);
		if (fm.rule != NULL || fm.n != nk)
			abort();
	} else {
		volatile size_t n = strlen(err.msg);
		(void)n;
	}
	return 0;
}
