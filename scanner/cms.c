/*
 * The CMS blob of a code signature (CSSLOT_SIGNATURESLOT): who signed, and did they.
 *
 * Why not d2i_CMS_ContentInfo: OpenSSL 3.0 decodes every certificate's public key
 * through its provider decoders, about 1.3 million instructions per certificate, so a
 * three-certificate Apple chain cost a millisecond per file. Code from one vendor carries
 * the same certificates in every binary, so we walk the BER ourselves (bounded, no
 * allocation), hash the certificates, and parse and chain-verify them with OpenSSL only
 * the first time we see that set: the result (leaf, its public key, CN, OU, chain
 * verdict) is kept in a small process-wide cache. Per file there remains one signature
 * verification over the signed attributes, done with the cached key.
 *
 * What is checked (RFC 5652 SignedData, as Apple's codesign writes it):
 *   - exactly one SignerInfo, identified by issuer and serial number, whose certificate
 *     is in the blob (the leaf);
 *   - its signature over the DER of its signed attributes, with the leaf's key;
 *   - the messageDigest attribute equals the digest of the CodeDirectory in slot 0;
 *   - an alternate CodeDirectory is used only if its CDHash is in Apple's CDHashes
 *     attribute (1.2.840.113635.100.9.1, a plist);
 *   - the leaf chains to a pinned Apple root CA found among the blob's certificates
 *     (expiry ignored, as macOS does for signed code; Apple's private critical
 *     extensions allowed);
 *   - a team ID in the CodeDirectory equals the leaf's OU, unless the leaf is Apple's
 *     own (O=Apple Inc.: App Store and platform signing).
 */
#include "scanner/macho.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/hex.h"

#define BER_MAX_DEPTH 16

/* DER of the OIDs we look for. */
static const uint8_t oid_signed_data[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const uint8_t oid_message_digest[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04 };
static const uint8_t oid_cdhashes_plist[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x09, 0x01 };

/* SHA-256 of the DER of Apple Root CA, Apple Root CA - G2 and - G3 (apple.com/certificateauthority). */
static const char *const apple_roots[] = {
	"b0b1730ecbc7ff4505142c49f1295e6eda6bcaed7e2c68c5be91b5a11001f024",
	"c2b9b042dd57830e7d117dac55ac8ae19407d38e41d88f3215bc3a890444a050",
	"63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179",
};

/* ---------------------------------------------------------------- BER walking */

struct ber {
	const uint8_t *p;   /* what is left to read */
	size_t n;
};

struct tlv {
	uint8_t tag;
	struct ber val;     /* the contents (for indefinite length: up to the end-of-contents) */
	const uint8_t *raw; /* the whole encoding */
	size_t rawlen;
};

/*
 * Read one element from in. Definite lengths up to 4 bytes; indefinite length only for
 * constructed elements, whose children are walked (at most BER_MAX_DEPTH deep) to find
 * the end-of-contents. Every length is checked against the bytes left.
 */
static int ber_get(struct ber *in, struct tlv *t, int depth)
{
	const uint8_t *p = in->p;
	size_t n = in->n, hl, len;

	if (depth > BER_MAX_DEPTH || n < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	t->tag = p[0];
	t->raw = p;
	if (p[1] == 0x80) {
		struct ber sub = { p + 2, n - 2 };
		struct tlv child;

		if ((p[0] & 0x20) == 0)
			return -1;
		while (!(sub.n >= 2 && sub.p[0] == 0 && sub.p[1] == 0))
			if (ber_get(&sub, &child, depth + 1) != 0)
				return -1;
		t->val.p = p + 2;
		t->val.n = (size_t)(sub.p - (p + 2));
		t->rawlen = t->val.n + 4;
		in->p = sub.p + 2;
		in->n = sub.n - 2;
		return 0;
	}
	if (p[1] < 0x80) {
		len = p[1];
		hl = 2;
	} else {
		unsigned k = p[1] & 0x7f;
		if (k > 4 || n - 2 < k)
			return -1;
		len = 0;
		for (unsigned i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hl = 2 + k;
	}
	if (len > n - hl)
		return -1;
	t->val.p = p + hl;
	t->val.n = len;
	t->rawlen = hl + len;
	in->p = p + hl + len;
	in->n = n - hl - len;
	return 0;
}

/* Read one element and insist on its tag. */
static int ber_expect(struct ber *in, uint8_t tag, struct tlv *t)
{
	return ber_get(in, t, 0) == 0 && t->tag == tag ? 0 : -1;
}

static int tlv_is(const struct tlv *t, const uint8_t *der, size_t len)
{
	return t->rawlen == len && memcmp(t->raw, der, len) == 0;
}

/* ---------------------------------------------------------------- the parsed blob */

struct cert_ref {
	const uint8_t *der;
	size_t len;
	struct tlv issuer, serial;
};

struct signer {
	struct cert_ref certs[WARD_MAX_CMS_CERTS];
	unsigned ncerts;
	struct tlv sid_issuer, sid_serial;
	struct tlv digest_alg;     /* the OID */
	struct tlv signed_attrs;   /* [0] IMPLICIT SET OF Attribute */
	struct tlv signature;      /* OCTET STRING */
};

/* Certificate -> TBSCertificate -> [0] version?, serialNumber, signature, issuer. */
static int cert_parse(struct cert_ref *c)
{
	struct ber in = { c->der, c->len }, cert, tbs;
	struct tlv t;

	if (ber_expect(&in, 0x30, &t) != 0)
		return -1;
	cert = t.val;
	if (ber_expect(&cert, 0x30, &t) != 0)
		return -1;
	tbs = t.val;
	if (ber_get(&tbs, &t, 0) != 0)
		return -1;
	if (t.tag == 0xa0 && ber_get(&tbs, &t, 0) != 0)
		return -1;
	if (t.tag != 0x02)
		return -1;
	c->serial = t;
	if (ber_expect(&tbs, 0x30, &t) != 0 || ber_expect(&tbs, 0x30, &c->issuer) != 0)
		return -1;
	return 0;
}

/* ContentInfo -> SignedData -> certificates and the one SignerInfo. */
static const char *cms_parse(const uint8_t *der, size_t len, struct signer *sg)
{
	struct ber in = { der, len }, ci, sd, set, si;
	struct tlv t;

	memset(sg, 0, sizeof(*sg));
	if (ber_expect(&in, 0x30, &t) != 0)
		return "is not a BER ContentInfo";
	ci = t.val;
	if (ber_get(&ci, &t, 0) != 0 || !tlv_is(&t, oid_signed_data, sizeof(oid_signed_data)))
		return "is not SignedData";
	if (ber_expect(&ci, 0xa0, &t) != 0)
		return "has no SignedData content";
	sd = t.val;
	if (ber_expect(&sd, 0x30, &t) != 0)
		return "SignedData is not a SEQUENCE";
	sd = t.val;
	if (ber_expect(&sd, 0x02, &t) != 0 || ber_expect(&sd, 0x31, &t) != 0 ||
	    ber_expect(&sd, 0x30, &t) != 0)
		return "SignedData header is malformed";
	if (ber_get(&sd, &t, 0) != 0)
		return "SignedData has no signerInfos";
	if (t.tag == 0xa0) {            /* certificates [0] IMPLICIT SET OF Certificate */
		set = t.val;
		while (set.n > 0) {
			struct tlv c;
			if (ber_get(&set, &c, 0) != 0 || c.tag != 0x30)
				return "certificate set is malformed";
			if (sg->ncerts == WARD_MAX_CMS_CERTS)
				return "has too many certificates";
			sg->certs[sg->ncerts].der = c.raw;
			sg->certs[sg->ncerts].len = c.rawlen;
			if (cert_parse(&sg->certs[sg->ncerts]) != 0)
				return "has a malformed certificate";
			sg->ncerts++;
		}
		if (ber_get(&sd, &t, 0) != 0)
			return "SignedData has no signerInfos";
	}
	if (t.tag == 0xa1 && ber_get(&sd, &t, 0) != 0)   /* crls */
		return "SignedData has no signerInfos";
	if (t.tag != 0x31)
		return "SignedData has no signerInfos";
	set = t.val;
	if (ber_expect(&set, 0x30, &t) != 0)
		return "has no SignerInfo";
	if (set.n != 0)
		return "has more than one signer";
	si = t.val;
	if (ber_expect(&si, 0x02, &t) != 0)
		return "SignerInfo is malformed";
	if (ber_get(&si, &t, 0) != 0 || t.tag != 0x30)
		return "signer is not identified by issuer and serial number";
	{
		struct ber ias = t.val;
		if (ber_expect(&ias, 0x30, &sg->sid_issuer) != 0 || ber_expect(&ias, 0x02, &sg->sid_serial) != 0)
			return "SignerInfo issuer and serial number are malformed";
	}
	if (ber_expect(&si, 0x30, &t) != 0)
		return "SignerInfo digest algorithm is malformed";
	{
		struct ber alg = t.val;
		if (ber_expect(&alg, 0x06, &sg->digest_alg) != 0)
			return "SignerInfo digest algorithm is malformed";
	}
	if (ber_expect(&si, 0xa0, &sg->signed_attrs) != 0)
		return "signer has no signed attributes";
	if (sg->signed_attrs.raw[1] == 0x80)
		return "signed attributes are not DER";
	if (ber_expect(&si, 0x30, &t) != 0 || ber_expect(&si, 0x04, &sg->signature) != 0)
		return "SignerInfo signature is malformed";
	return NULL;
}

/* The value (contents of the first element of the SET) of signed attribute oid. */
static int signed_attr(const struct signer *sg, const uint8_t *oid, size_t oidlen, uint8_t tag,
                       struct ber *value)
{
	struct ber attrs = sg->signed_attrs.val;

	while (attrs.n > 0) {
		struct tlv a, type, vals, v;
		if (ber_expect(&attrs, 0x30, &a) != 0)
			return -1;
		struct ber body = a.val;
		if (ber_expect(&body, 0x06, &type) != 0 || ber_expect(&body, 0x31, &vals) != 0)
			return -1;
		if (!tlv_is(&type, oid, oidlen))
			continue;
		struct ber vs = vals.val;
		if (ber_expect(&vs, tag, &v) != 0)
			return -1;
		*value = v.val;
		return 0;
	}
	return -1;
}

/*
 * Is cdhash among the <data>base64</data> entries of Apple's CDHashes plist? Each entry
 * is the (truncated, 20-byte) hash of one CodeDirectory.
 */
static int cdhash_listed(const struct ber *plist, const uint8_t cdhash[WARD_CDHASH_LEN])
{
	const char *p = (const char *)plist->p;
	size_t left = plist->n;

	for (;;) {
		const char *open = memmem(p, left, "<data>", 6), *close;
		char b64[128];
		unsigned char raw[96];
		size_t n = 0;

		if (open == NULL)
			return 0;
		left -= (size_t)(open + 6 - p);
		p = open + 6;
		if ((close = memmem(p, left, "</data>", 7)) == NULL)
			return 0;
		for (const char *q = p; q < close && n + 1 < sizeof(b64); q++)
			if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
				b64[n++] = *q;
		b64[n] = '\0';
		if (n > 0 && n % 4 == 0 && n / 4 * 3 <= sizeof(raw) &&
		    EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) >= WARD_CDHASH_LEN &&
		    memcmp(raw, cdhash, WARD_CDHASH_LEN) == 0)
			return 1;
		left -= (size_t)(close + 7 - p);
		p = close + 7;
	}
}

/* ---------------------------------------------------------------- certificate cache */

struct cert_entry {
	uint8_t key[WARD_SHA256_LEN];  /* SHA-256 over the certificates and the signer id */
	uint64_t used;                 /* LRU clock; 0 = empty */
	X509 *leaf;
	uint8_t leaf_sha256[WARD_SHA256_LEN];
	char cn[128], ou[64], org[64];
	int chain_ok;
	char why[96];
};

static struct cert_entry cache[WARD_CERT_CACHE_ENTRIES];
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Copy an X.509 name attribute as UTF-8, control characters replaced by '?'. */
static void name_attr(const X509_NAME *name, int nid, char *out, size_t outlen)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int n;

	out[0] = '\0';
	if (idx < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0)
		return;
	if ((size_t)n >= outlen)
		n = (int)outlen - 1;
	for (int i = 0; i < n; i++)
		out[i] = utf8[i] < 0x20 || utf8[i] == 0x7f ? '?' : (char)utf8[i];
	out[n] = '\0';
	OPENSSL_free(utf8);
}

static int is_apple_root(const uint8_t *der, size_t len)
{
	uint8_t md[WARD_SHA256_LEN];
	char hex[2 * WARD_SHA256_LEN + 1];

	if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1)
		return 0;
	ward_hex_encode(md, sizeof(md), hex);
	for (size_t i = 0; i < sizeof(apple_roots) / sizeof(apple_roots[0]); i++)
		if (strcmp(hex, apple_roots[i]) == 0)
			return 1;
	return 0;
}

/* Allow Apple's critical certificate extensions (Developer ID markers) OpenSSL does not know. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION)
		return 1;
	return ok;
}

/*
 * First sight of a certificate set: parse it, verify the leaf's chain to a pinned Apple
 * root, fill e. Returns -1 only when OpenSSL cannot parse the leaf.
 */
static int cert_entry_fill(struct cert_entry *e, const struct signer *sg, unsigned leaf_idx)
{
	STACK_OF(X509) *bag = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int roots = 0, rc = -1;

	e->chain_ok = 0;
	snprintf(e->why, sizeof(e->why), "out of memory");
	if (bag == NULL || store == NULL || ctx == NULL)
		goto out;
	for (unsigned i = 0; i < sg->ncerts; i++) {
		const unsigned char *p = sg->certs[i].der;
		X509 *x = d2i_X509(NULL, &p, (long)sg->certs[i].len);
		if (x == NULL) {
			if (i == leaf_idx)
				goto out;
			continue;
		}
		if (i == leaf_idx) {
			X509_up_ref(x);
			e->leaf = x;
		}
		if (is_apple_root(sg->certs[i].der, sg->certs[i].len) && X509_STORE_add_cert(store, x) == 1)
			roots++;
		if (sk_X509_push(bag, x) <= 0) {
			X509_free(x);
			goto out;
		}
	}
	rc = 0;
	name_attr(X509_get_subject_name(e->leaf), NID_commonName, e->cn, sizeof(e->cn));
	name_attr(X509_get_subject_name(e->leaf), NID_organizationalUnitName, e->ou, sizeof(e->ou));
	name_attr(X509_get_subject_name(e->leaf), NID_organizationName, e->org, sizeof(e->org));
	EVP_Digest(sg->certs[leaf_idx].der, sg->certs[leaf_idx].len, e->leaf_sha256, NULL, EVP_sha256(), NULL);
	if (roots == 0) {
		snprintf(e->why, sizeof(e->why), "no Apple root CA in the CMS certificates");
		goto out;
	}
	X509_STORE_set_verify_cb(store, verify_cb);
	/* Signing certificates expire; the code they signed stays valid (as on macOS). */
	X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_STORE_CTX_init(ctx, store, e->leaf, bag) != 1) {
		snprintf(e->why, sizeof(e->why), "X509_STORE_CTX_init failed");
		goto out;
	}
	if (X509_verify_cert(ctx) == 1)
		e->chain_ok = 1;
	else
		snprintf(e->why, sizeof(e->why), "%s",
		         X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(bag, X509_free);
	return rc;
}

/*
 * The cache entry for this certificate set, filled on first sight; copies it into *out
 * with a reference on the leaf (the caller frees it). -1 if the leaf cannot be parsed.
 */
static int cert_lookup(const struct signer *sg, unsigned leaf_idx, struct cert_entry *out)
{
	uint8_t key[WARD_SHA256_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct cert_entry *e = NULL, *victim = &cache[0];
	int rc = 0, ok;

	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	for (unsigned i = 0; ok && i < sg->ncerts; i++)
		ok = EVP_DigestUpdate(md, sg->certs[i].der, sg->certs[i].len) == 1;
	ok = ok && EVP_DigestUpdate(md, &leaf_idx, sizeof(leaf_idx)) == 1 &&
	     EVP_DigestFinal_ex(md, key, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < WARD_CERT_CACHE_ENTRIES; i++) {
		if (cache[i].used != 0 && memcmp(cache[i].key, key, sizeof(key)) == 0) {
			e = &cache[i];
			break;
		}
		if (cache[i].used < victim->used)
			victim = &cache[i];
	}
	if (e == NULL) {
		/* Parsing under the lock keeps this simple; it happens once per vendor chain. */
		e = victim;
		X509_free(e->leaf);
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, sizeof(key));
		if (cert_entry_fill(e, sg, leaf_idx) != 0) {
			X509_free(e->leaf);
			memset(e, 0, sizeof(*e));
			rc = -1;
			goto out;
		}
	}
	e->used = ++cache_clock;
	*out = *e;
	X509_up_ref(out->leaf);
out:
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

/* ---------------------------------------------------------------- entry point */

ward_err_t ward_cms_check(const uint8_t *der, size_t len, const uint8_t *cd0, size_t cd0len,
                          const EVP_MD *cd0_md, const uint8_t *cd0_digest,
                          const uint8_t *alt_cdhash, ward_slice_t *s, ward_error_t *err)
{
	struct signer sg;
	struct cert_entry ce = { 0 };
	const char *why;
	unsigned leaf = WARD_MAX_CMS_CERTS;
	const EVP_MD *md;
	EVP_MD_CTX *vctx = NULL;
	struct ber mdattr, plist;
	uint8_t h[EVP_MAX_MD_SIZE], *tbs = NULL;
	unsigned int hlen = 0;
	ward_err_t rc = WARD_OK;

	if ((why = cms_parse(der, len, &sg)) != NULL)
		return ward_slice_invalid(s, "CMS blob (%zu bytes) %s", len, why);
	for (unsigned i = 0; i < sg.ncerts && leaf == WARD_MAX_CMS_CERTS; i++)
		if (sg.certs[i].issuer.rawlen == sg.sid_issuer.rawlen &&
		    sg.certs[i].serial.rawlen == sg.sid_serial.rawlen &&
		    memcmp(sg.certs[i].issuer.raw, sg.sid_issuer.raw, sg.sid_issuer.rawlen) == 0 &&
		    memcmp(sg.certs[i].serial.raw, sg.sid_serial.raw, sg.sid_serial.rawlen) == 0)
			leaf = i;
	if (leaf == WARD_MAX_CMS_CERTS)
		return ward_slice_invalid(s, "CMS signer's certificate is not in the CMS blob");
	if (cert_lookup(&sg, leaf, &ce) != 0)
		return ward_slice_invalid(s, "CMS signer's certificate cannot be parsed");

	memcpy(s->cert_sha256, ce.leaf_sha256, WARD_SHA256_LEN);
	memcpy(s->cert_cn, ce.cn, sizeof(s->cert_cn));
	memcpy(s->cert_ou, ce.ou, sizeof(s->cert_ou));
	s->has_cert = true;

	/* 1. The signer signed its attributes: verify over their DER as a SET (tag 0x31). */
	{
		ASN1_OBJECT *obj = NULL;
		const unsigned char *op = sg.digest_alg.raw;
		obj = d2i_ASN1_OBJECT(NULL, &op, (long)sg.digest_alg.rawlen);
		md = obj ? EVP_get_digestbynid(OBJ_obj2nid(obj)) : NULL;
		ASN1_OBJECT_free(obj);
	}
	if (md == NULL) {
		rc = ward_slice_invalid(s, "CMS digest algorithm is not supported");
		goto out;
	}
	if ((tbs = malloc(sg.signed_attrs.rawlen)) == NULL || (vctx = EVP_MD_CTX_new()) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "CMS: out of memory");
		goto out;
	}
	memcpy(tbs, sg.signed_attrs.raw, sg.signed_attrs.rawlen);
	tbs[0] = 0x31;
	if (EVP_DigestVerifyInit(vctx, NULL, md, NULL, X509_get0_pubkey(ce.leaf)) != 1 ||
	    EVP_DigestVerify(vctx, sg.signature.val.p, sg.signature.val.n, tbs,
	                     sg.signed_attrs.rawlen) != 1) {
		rc = ward_slice_invalid(s, "CMS signature does not verify with the signer's certificate");
		goto out;
	}
	/* 2. The attributes name the CodeDirectory in slot 0 (codesign signs that one). */
	if (signed_attr(&sg, oid_message_digest, sizeof(oid_message_digest), 0x04, &mdattr) != 0) {
		rc = ward_slice_invalid(s, "CMS signer has no messageDigest");
		goto out;
	}
	if (cd0_md != NULL && cd0_digest != NULL && EVP_MD_get_type(cd0_md) == EVP_MD_get_type(md)) {
		hlen = (unsigned int)EVP_MD_get_size(md);
		memcpy(h, cd0_digest, hlen);
	} else if (EVP_Digest(cd0, cd0len, h, &hlen, md, NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "CMS digest failed");
		goto out;
	}
	if (mdattr.n != hlen || memcmp(mdattr.p, h, hlen) != 0) {
		rc = ward_slice_invalid(s, "CMS signature is not over this CodeDirectory (messageDigest mismatch)");
		goto out;
	}
	/* 3. An alternate CodeDirectory counts only if the signer listed its hash. */
	if (alt_cdhash != NULL &&
	    (signed_attr(&sg, oid_cdhashes_plist, sizeof(oid_cdhashes_plist), 0x04, &plist) != 0 ||
	     !cdhash_listed(&plist, alt_cdhash))) {
		rc = ward_slice_invalid(s, "chosen CodeDirectory is not among the CDHashes the signer listed");
		goto out;
	}
	/* 4. The leaf chains to Apple. */
	if (!ce.chain_ok) {
		rc = ward_slice_invalid(s, "certificate chain not trusted: %s", ce.why);
		goto out;
	}
	/*
	 * 5. A team ID in the CodeDirectory is the one Apple put in the developer's
	 * certificate (its OU), unless Apple signed the code itself (App Store and platform
	 * signing certificates, O=Apple Inc.), vouching for the team ID it wrote.
	 */
	if (s->team_id[0] != '\0' && strcmp(s->team_id, ce.ou) != 0 && strcmp(ce.org, "Apple Inc.") != 0) {
		rc = ward_slice_invalid(s, "team ID \"%s\" does not match the certificate's OU \"%s\"",
		                        s->team_id, ce.ou);
		goto out;
	}
	s->status = WARD_SIG_SIGNED;
out:
	EVP_MD_CTX_free(vctx);
	free(tbs);
	X509_free(ce.leaf);
	return rc;
}
