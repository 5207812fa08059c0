/*
 * warden — signed profiles: a DER CMS SignedData (PKCS#7) that wraps the plist, as made
 * by `openssl cms -sign -nodetach -outform DER` or macOS `security cms -S`. Verified
 * with OpenSSL's CMS_verify against the certificates of ProfileTrustAnchors.
 */
#ifndef WARD_PROFILES_SIGNED_H
#define WARD_PROFILES_SIGNED_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* The trust anchors: CA certificates profile signers must chain to. Immutable. */
typedef struct ward_anchors ward_anchors_t;

/*
 * Read every PEM certificate of the n files (at most WARD_MAX_TRUST_ANCHORS files and
 * WARD_MAX_ANCHOR_CERTS certificates). A file that cannot be read or holds no
 * certificate is an error naming it. *out is NULL on error.
 */
ward_err_t ward_anchors_load(const char *const *pem_paths, size_t n, ward_anchors_t **out,
                           ward_error_t *err);
void ward_anchors_free(ward_anchors_t *t); /* NULL ok */
size_t ward_anchors_count(const ward_anchors_t *t);

/* True when buf starts like DER (a SEQUENCE), i.e. it is not an XML plist. */
bool ward_signed_looks_signed(const void *buf, size_t len);

/*
 * Verify the CMS SignedData in buf and return its embedded content (*content,
 * malloc'd, *clen bytes; the caller frees it). With trust, the signer certificate
 * must chain to one of its anchors (*verified = true); with trust NULL only the
 * signature over the content is checked (*verified = false: the signer is not
 * authenticated). Detached signatures are not accepted. signer receives the signer
 * certificate's subject (RFC 2253). On failure err says why, with OpenSSL's reason
 * ("certificate verify error: unable to get local issuer certificate", ...).
 */
ward_err_t ward_signed_unwrap(const void *buf, size_t len, const ward_anchors_t *trust,
                              void **content, size_t *clen, bool *verified,
                              char *signer, size_t signer_cap, ward_error_t *err);

#endif
