/*
 * Signed profiles: CMS SignedData, verified with OpenSSL. The OpenSSL error queue is
 * per thread; it is cleared before and drained after each call so one profile's
 * failure never leaks into the next message.
 */
#include "profiles/signed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/limits.h"

struct ward_anchors {
	X509_STORE *store;
	size_t ncerts;
};

/*
 * Every error on the queue, oldest (the cause) first, with detail text, joined by "; ";
 * drains the queue. *content_bad (may be NULL) tells whether the content digest failed.
 */
static void ossl_reason2(char *buf, size_t cap, bool *content_bad)
{
	const char *data = NULL;
	unsigned long e;
	size_t off = 0;
	int flags = 0;

	buf[0] = '\0';
	if (content_bad)
		*content_bad = false;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		const char *r = ERR_reason_error_string(e);
		bool detail = (flags & ERR_TXT_STRING) && data && *data;

		if (content_bad && ERR_GET_LIB(e) == ERR_LIB_CMS &&
		    ERR_GET_REASON(e) == CMS_R_CONTENT_VERIFY_ERROR)
			*content_bad = true;
		if (off < cap)
			off += (size_t)snprintf(buf + off, cap - off, "%s%s%s%s", off ? "; " : "",
			                        r ? r : "unknown OpenSSL error", detail ? ": " : "",
			                        detail ? data : "");
	}
	if (buf[0] == '\0')
		snprintf(buf, cap, "unknown OpenSSL error");
}

static void ossl_reason(char *buf, size_t cap)
{
	ossl_reason2(buf, cap, NULL);
}

ward_err_t ward_anchors_load(const char *const *pem_paths, size_t n, ward_anchors_t **out,
                           ward_error_t *err)
{
	ward_anchors_t *t;
	char why[200];

	*out = NULL;
	if (n == 0)
		return ward_error_set(err, WARD_E_INVAL, "ProfileTrustAnchors: no certificate files");
	if (n > WARD_MAX_TRUST_ANCHORS)
		return ward_error_set(err, WARD_E_LIMIT, "ProfileTrustAnchors: more than %u files",
		                      WARD_MAX_TRUST_ANCHORS);
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->store = X509_STORE_new()) == NULL) {
		free(t);
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	}
	/*
	 * CMS_verify checks the signer for the S/MIME signing purpose by default; MDM
	 * vendors sign profiles with whatever certificate they have (often TLS). The chain
	 * to an anchor is what matters here, so accept any purpose.
	 */
	X509_VERIFY_PARAM_set_purpose(X509_STORE_get0_param(t->store), X509_PURPOSE_ANY);
	ERR_clear_error();
	for (size_t i = 0; i < n; i++) {
		size_t before = t->ncerts;
		BIO *in = BIO_new_file(pem_paths[i], "r");
		X509 *x;

		if (in == NULL) {
			ossl_reason(why, sizeof(why));
			ward_anchors_free(t);
			return ward_error_set(err, WARD_E_IO, "ProfileTrustAnchors: %s: cannot read: %s",
			                      pem_paths[i], why);
		}
		while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
			if (t->ncerts >= WARD_MAX_ANCHOR_CERTS) {
				X509_free(x);
				BIO_free(in);
				ward_anchors_free(t);
				return ward_error_set(err, WARD_E_LIMIT,
				                      "ProfileTrustAnchors: more than %u certificates",
				                      WARD_MAX_ANCHOR_CERTS);
			}
			if (X509_STORE_add_cert(t->store, x) != 1) {
				ossl_reason(why, sizeof(why));
				X509_free(x);
				BIO_free(in);
				ward_anchors_free(t);
				return ward_error_set(err, WARD_E_CRYPTO, "ProfileTrustAnchors: %s: %s",
				                      pem_paths[i], why);
			}
			X509_free(x);
			t->ncerts++;
		}
		ERR_clear_error(); /* the read loop ends on "no start line" */
		BIO_free(in);
		if (t->ncerts == before) {
			ward_anchors_free(t);
			return ward_error_set(err, WARD_E_INVAL,
			                      "ProfileTrustAnchors: %s: no PEM certificate in the file",
			                      pem_paths[i]);
		}
	}
	*out = t;
	return WARD_OK;
}

void ward_anchors_free(ward_anchors_t *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	free(t);
}

size_t ward_anchors_count(const ward_anchors_t *t)
{
	return t ? t->ncerts : 0;
}

bool ward_signed_looks_signed(const void *buf, size_t len)
{
	return len >= 2 && ((const unsigned char *)buf)[0] == 0x30;
}

static void signer_subject(CMS_ContentInfo *cms, char *signer, size_t cap)
{
	STACK_OF(X509) *signers;
	BIO *b;
	long n;
	char *p;

	if (cap == 0)
		return;
	signer[0] = '\0';
	if ((signers = CMS_get0_signers(cms)) == NULL || sk_X509_num(signers) < 1) {
		sk_X509_free(signers);
		return;
	}
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(b, X509_get_subject_name(sk_X509_value(signers, 0)), 0, XN_FLAG_RFC2253);
		n = BIO_get_mem_data(b, &p);
		if (n > 0)
			snprintf(signer, cap, "%.*s", (int)(n < (long)cap ? n : (long)cap - 1), p);
		BIO_free(b);
	}
	sk_X509_free(signers);
}

ward_err_t ward_signed_unwrap(const void *buf, size_t len, const ward_anchors_t *trust,
                              void **content, size_t *clen, bool *verified,
                              char *signer, size_t signer_cap, ward_error_t *err)
{
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *out = NULL;
	ward_err_t rc = WARD_OK;
	unsigned flags = CMS_BINARY;
	char why[200];
	char *p;
	long n;

	*content = NULL;
	*clen = 0;
	*verified = false;
	if (signer_cap)
		signer[0] = '\0';
	if (len > WARD_MAX_PROFILE_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "signed profile is %zu bytes, more than %u",
		                      len, WARD_MAX_PROFILE_BYTES);
	ERR_clear_error();
	if ((in = BIO_new_mem_buf(buf, (int)len)) == NULL || (out = BIO_new(BIO_s_mem())) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto done;
	}
	if ((cms = d2i_CMS_bio(in, NULL)) == NULL) {
		ossl_reason(why, sizeof(why));
		rc = ward_error_set(err, WARD_E_MALFORMED,
		                    "neither an XML plist nor a DER CMS signed profile (%s)", why);
		goto done;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		rc = ward_error_set(err, WARD_E_UNSUPPORTED, "CMS content is not SignedData");
		goto done;
	}
	if (CMS_is_detached(cms)) {
		rc = ward_error_set(err, WARD_E_UNSUPPORTED,
		                    "detached signature: the profile must be embedded (-nodetach)");
		goto done;
	}
	if (trust == NULL)
		flags |= CMS_NO_SIGNER_CERT_VERIFY;
	if (CMS_verify(cms, NULL, trust ? trust->store : NULL, NULL, out, flags) != 1) {
		bool content_bad;
		ossl_reason2(why, sizeof(why), &content_bad);
		rc = ward_error_set(err, WARD_E_CRYPTO, "bad signature: %s%s%s",
		                    content_bad ? "the content was modified after signing (" : "", why,
		                    content_bad ? ")" : "");
		goto done;
	}
	signer_subject(cms, signer, signer_cap);
	n = BIO_get_mem_data(out, &p);
	if (n <= 0) {
		rc = ward_error_set(err, WARD_E_MALFORMED, "signed profile has empty content");
		goto done;
	}
	if ((*content = malloc((size_t)n)) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto done;
	}
	memcpy(*content, p, (size_t)n);
	*clen = (size_t)n;
	*verified = trust != NULL;
done:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	return rc;
}
