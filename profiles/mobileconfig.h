/*
 * warden — one profile file: signed or not, .mobileconfig or a bare plist of keys, down
 * to the payload dictionaries that carry configuration keys.
 *
 * Accepted shapes (see docs/profiles.md):
 *  - a .mobileconfig: top-level dict with PayloadType "Configuration" and a
 *    PayloadContent array. Payloads used, in array order:
 *      PayloadType com.warden.agent                    -> warden keys
 *      PayloadType com.northpolesec.santa / com.google.santa -> Santa keys
 *      PayloadType com.apple.ManagedClient.preferences with PayloadContent
 *        { <domain>: { Forced: [ { mcx_preference_settings: {keys} } ] } }
 *        for the three domains above (Santa's documented profile shape)
 *    Other payload types are skipped with a warning; PayloadEnabled false skips one.
 *  - a bare plist dict of keys (a managed-preferences file). Its kind is Santa when the
 *    file name starts with com.northpolesec.santa or com.google.santa, else warden.
 *  - either of them wrapped in a DER CMS SignedData (signed.h).
 */
#ifndef WARD_PROFILES_MOBILECONFIG_H
#define WARD_PROFILES_MOBILECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"
#include "profiles/plist.h"
#include "profiles/signed.h"

typedef enum { WARD_PAYLOAD_WARDEN = 0, WARD_PAYLOAD_SANTA } ward_payload_kind_t;

typedef struct ward_payload {
	ward_payload_kind_t kind;
	const char *type;     /* PayloadType or preference domain (borrowed) */
	const json_t *keys;   /* configuration keys; Payload* keys are metadata (borrowed) */
	unsigned long line;   /* line of the dictionary, 0 if unknown */
} ward_payload_t;

typedef struct ward_profile ward_profile_t;

#define WARD_PROFILE_REQUIRE_SIGNED 0x1u /* an unsigned profile is an error */

/*
 * Read one profile from memory. name is the file name used in messages and to spot a
 * Santa managed-preferences file. A signed profile is verified with trust (NULL: the
 * signature is checked but not the signer, and a warning says so). Warnings (ignored
 * payloads, unverified signer) go to diags (NULL ok). *out is NULL on error; err
 * starts with "line N: " when the problem has a line.
 */
ward_err_t ward_profile_read(const char *name, const void *buf, size_t len,
                             const ward_anchors_t *trust, unsigned flags, ward_profile_t **out,
                             json_t *diags, ward_error_t *err);
void ward_profile_free(ward_profile_t *p); /* NULL ok */

size_t ward_profile_npayloads(const ward_profile_t *p);
const ward_payload_t *ward_profile_payload(const ward_profile_t *p, size_t i);
const ward_plist_lines_t *ward_profile_lines(const ward_profile_t *p);
bool ward_profile_is_signed(const ward_profile_t *p);
bool ward_profile_signer_verified(const ward_profile_t *p); /* chained to an anchor */
const char *ward_profile_signer(const ward_profile_t *p);   /* "" when unsigned */

const char *ward_payload_kind_name(ward_payload_kind_t k); /* "warden" / "santa" */

#endif
