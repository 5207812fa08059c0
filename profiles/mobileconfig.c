/*
 * One profile file -> its configuration payloads. Signed profiles are unwrapped
 * first; the plist is parsed once and the payloads point into that tree.
 */
#include "profiles/mobileconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "profiles/diag.h"

struct ward_profile {
	json_t *root;
	ward_plist_lines_t *lines;
	bool is_signed, verified;
	char signer[256];
	size_t npayloads;
	ward_payload_t payloads[WARD_MAX_PAYLOADS];
};

static const char *const santa_domains[] = { "com.northpolesec.santa", "com.google.santa" };
#define WARDEN_DOMAIN "com.warden.agent"
#define MCX_TYPE "com.apple.ManagedClient.preferences"

const char *ward_payload_kind_name(ward_payload_kind_t k)
{
	return k == WARD_PAYLOAD_SANTA ? "santa" : "warden";
}

static bool domain_kind(const char *type, ward_payload_kind_t *kind)
{
	if (strcmp(type, WARDEN_DOMAIN) == 0) {
		*kind = WARD_PAYLOAD_WARDEN;
		return true;
	}
	for (size_t i = 0; i < sizeof(santa_domains) / sizeof(santa_domains[0]); i++) {
		if (strcmp(type, santa_domains[i]) == 0) {
			*kind = WARD_PAYLOAD_SANTA;
			return true;
		}
	}
	return false;
}

static ward_err_t add_payload(ward_profile_t *p, ward_payload_kind_t kind, const char *type,
                              const json_t *keys, unsigned long line, ward_error_t *err)
{
	if (p->npayloads >= WARD_MAX_PAYLOADS)
		return ward_error_set(err, WARD_E_LIMIT, "line %lu: more than %u warden/Santa payloads",
		                      line, WARD_MAX_PAYLOADS);
	p->payloads[p->npayloads].kind = kind;
	p->payloads[p->npayloads].type = type;
	p->payloads[p->npayloads].keys = keys;
	p->payloads[p->npayloads].line = line;
	p->npayloads++;
	return WARD_OK;
}

/*
 * com.apple.ManagedClient.preferences: PayloadContent { domain: { Forced: [ {
 * mcx_preference_settings: {...} } ] } }. Only Forced settings are managed; Set-Once
 * and Often are user-changeable defaults and are ignored with a warning.
 */
static ward_err_t read_mcx(ward_profile_t *p, const char *name, const json_t *payload,
                           size_t idx, json_t *diags, ward_error_t *err)
{
	const json_t *content = json_object_get(payload, "PayloadContent");
	unsigned long line = ward_plist_line_key(p->lines, payload, "PayloadContent");
	const char *domain;
	json_t *dv;

	if (!json_is_object(content))
		return ward_error_set(err, WARD_E_INVAL,
		                      "line %lu: PayloadContent[%zu].PayloadContent: expected a dictionary of preference domains",
		                      line, idx);
	json_object_foreach((json_t *)content, domain, dv) {
		ward_payload_kind_t kind;
		unsigned long dline = ward_plist_line_key(p->lines, content, domain);
		const char *level;
		json_t *lv;

		if (!domain_kind(domain, &kind)) {
			ward_diag_add(diags, WARD_DIAG_WARNING, name, dline, NULL,
			              "preference domain %s is not for warden; ignored", domain);
			continue;
		}
		if (!json_is_object(dv))
			return ward_error_set(err, WARD_E_INVAL, "line %lu: %s: expected a dictionary",
			                      dline, domain);
		json_object_foreach(dv, level, lv) {
			unsigned long lline = ward_plist_line_key(p->lines, dv, level);
			size_t i;
			json_t *item;

			if (strcmp(level, "Forced") != 0) {
				ward_diag_add(diags, WARD_DIAG_WARNING, name, lline, NULL,
				              "%s: %s settings are not managed; ignored (use Forced)", domain, level);
				continue;
			}
			if (!json_is_array(lv))
				return ward_error_set(err, WARD_E_INVAL, "line %lu: %s.Forced: expected an array",
				                      lline, domain);
			json_array_foreach(lv, i, item) {
				unsigned long iline = ward_plist_line_at(p->lines, lv, i);
				const json_t *keys = json_object_get(item, "mcx_preference_settings");
				ward_err_t rc;

				if (!json_is_object(item) || !json_is_object(keys))
					return ward_error_set(err, WARD_E_INVAL,
					                      "line %lu: %s.Forced[%zu]: expected a dictionary with mcx_preference_settings",
					                      iline, domain, i);
				rc = add_payload(p, kind, domain, keys,
				                 ward_plist_line_key(p->lines, item, "mcx_preference_settings"), err);
				if (rc != WARD_OK)
					return rc;
			}
		}
	}
	return WARD_OK;
}

static ward_err_t read_configuration(ward_profile_t *p, const char *name, json_t *diags,
                                     ward_error_t *err)
{
	const json_t *content = json_object_get(p->root, "PayloadContent");
	const json_t *type = json_object_get(p->root, "PayloadType");
	unsigned long line = ward_plist_line_key(p->lines, p->root, "PayloadContent");
	size_t i;
	json_t *pl;

	if (type != NULL && (!json_is_string(type) || strcmp(json_string_value(type), "Configuration") != 0))
		return ward_error_set(err, WARD_E_INVAL,
		                      "line %lu: PayloadType: a profile's top level must be \"Configuration\"",
		                      ward_plist_line_key(p->lines, p->root, "PayloadType"));
	if (!json_is_array(content))
		return ward_error_set(err, WARD_E_INVAL, "line %lu: PayloadContent: expected an array of payloads",
		                      line ? line : ward_plist_line_root(p->lines));
	json_array_foreach(content, i, pl) {
		unsigned long pline = ward_plist_line_at(p->lines, content, i);
		const json_t *pt, *en;
		ward_payload_kind_t kind;
		const char *ts;
		ward_err_t rc;

		if (!json_is_object(pl))
			return ward_error_set(err, WARD_E_INVAL, "line %lu: PayloadContent[%zu]: expected a dictionary",
			                      pline, i);
		pt = json_object_get(pl, "PayloadType");
		if (!json_is_string(pt))
			return ward_error_set(err, WARD_E_INVAL,
			                      "line %lu: PayloadContent[%zu].PayloadType: missing or not a string",
			                      pline, i);
		ts = json_string_value(pt);
		en = json_object_get(pl, "PayloadEnabled");
		if (en != NULL && !json_is_boolean(en))
			return ward_error_set(err, WARD_E_INVAL,
			                      "line %lu: PayloadContent[%zu].PayloadEnabled: expected a boolean",
			                      ward_plist_line_key(p->lines, pl, "PayloadEnabled"), i);
		if (json_is_false(en)) {
			ward_diag_add(diags, WARD_DIAG_WARNING, name, pline, NULL,
			              "payload %zu (%s) has PayloadEnabled false; ignored", i, ts);
			continue;
		}
		if (domain_kind(ts, &kind))
			rc = add_payload(p, kind, ts, pl, pline, err);
		else if (strcmp(ts, MCX_TYPE) == 0)
			rc = read_mcx(p, name, pl, i, diags, err);
		else {
			ward_diag_add(diags, WARD_DIAG_WARNING, name, pline, NULL,
			              "payload %zu (%s) is not for warden; ignored", i, ts);
			rc = WARD_OK;
		}
		if (rc != WARD_OK)
			return rc;
	}
	if (p->npayloads == 0)
		ward_diag_add(diags, WARD_DIAG_WARNING, name, ward_plist_line_root(p->lines), NULL,
		              "no %s or Santa payload: the profile sets nothing", WARDEN_DOMAIN);
	return WARD_OK;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

ward_err_t ward_profile_read(const char *name, const void *buf, size_t len,
                             const ward_anchors_t *trust, unsigned flags, ward_profile_t **out,
                             json_t *diags, ward_error_t *err)
{
	ward_profile_t *p;
	void *content = NULL;
	const void *plist = buf;
	size_t plen = len;
	const json_t *type;
	ward_err_t rc;

	*out = NULL;
	if (len > WARD_MAX_PROFILE_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "profile is %zu bytes, more than %u", len,
		                      WARD_MAX_PROFILE_BYTES);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	if (ward_signed_looks_signed(buf, len)) {
		rc = ward_signed_unwrap(buf, len, trust, &content, &plen, &p->verified, p->signer,
		                        sizeof(p->signer), err);
		if (rc != WARD_OK)
			goto fail;
		p->is_signed = true;
		plist = content;
		if (!p->verified)
			ward_diag_add(diags, WARD_DIAG_WARNING, name, 0, NULL,
			              "signed by \"%s\", but no ProfileTrustAnchors are configured: the signer is not verified",
			              p->signer);
	} else if (flags & WARD_PROFILE_REQUIRE_SIGNED) {
		rc = ward_error_set(err, WARD_E_PERM,
		                    "profile is not signed and RequireSignedProfiles is set");
		goto fail;
	}
	if ((rc = ward_plist_parse(plist, plen, &p->root, &p->lines, err)) != WARD_OK)
		goto fail;
	if (!json_is_object(p->root)) {
		rc = ward_error_set(err, WARD_E_INVAL, "line %lu: the top level of a profile must be a dictionary",
		                    ward_plist_line_root(p->lines));
		goto fail;
	}
	type = json_object_get(p->root, "PayloadType");
	if (json_object_get(p->root, "PayloadContent") != NULL ||
	    (json_is_string(type) && strcmp(json_string_value(type), "Configuration") == 0)) {
		rc = read_configuration(p, name, diags, err);
	} else {
		ward_payload_kind_t kind = WARD_PAYLOAD_WARDEN;
		const char *dom = WARDEN_DOMAIN, *b = base_name(name);
		for (size_t i = 0; i < sizeof(santa_domains) / sizeof(santa_domains[0]); i++) {
			if (strncmp(b, santa_domains[i], strlen(santa_domains[i])) == 0) {
				kind = WARD_PAYLOAD_SANTA;
				dom = santa_domains[i];
			}
		}
		rc = add_payload(p, kind, dom, p->root, ward_plist_line_root(p->lines), err);
	}
	if (rc != WARD_OK)
		goto fail;
	free(content);
	*out = p;
	return WARD_OK;
fail:
	free(content);
	ward_profile_free(p);
	return rc;
}

void ward_profile_free(ward_profile_t *p)
{
	if (p == NULL)
		return;
	json_decref(p->root);
	ward_plist_lines_free(p->lines);
	free(p);
}

size_t ward_profile_npayloads(const ward_profile_t *p)
{
	return p->npayloads;
}

const ward_payload_t *ward_profile_payload(const ward_profile_t *p, size_t i)
{
	return i < p->npayloads ? &p->payloads[i] : NULL;
}

const ward_plist_lines_t *ward_profile_lines(const ward_profile_t *p)
{
	return p->lines;
}

bool ward_profile_is_signed(const ward_profile_t *p)
{
	return p->is_signed;
}

bool ward_profile_signer_verified(const ward_profile_t *p)
{
	return p->verified;
}

const char *ward_profile_signer(const ward_profile_t *p)
{
	return p->signer;
}
