/* warden-sync's HTTPS client (agent/sync/http.h). */
#include "agent/sync/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/sync/proto.h"
#include "common/limits.h"

#define XSRF_HEADER "X-XSRF-TOKEN"
#define MAX_TOKEN   512u

struct ward_http {
	CURL *curl;
	ward_http_opts_t o;
	char base[WARD_MAX_SYNC_URL + 1];
	char xsrf_name[64];
	char xsrf_token[MAX_TOKEN + 1];
	unsigned long requests;
};

struct buf {
	char *p;
	size_t len, cap;
	bool over;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;

	if (b->len + add > WARD_MAX_SYNC_RESPONSE) {
		b->over = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	if (b->len + add + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 65536;
		char *g;
		while (ncap < b->len + add + 1)
			ncap *= 2;
		if ((g = realloc(b->p, ncap)) == NULL)
			return 0;
		b->p = g;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

struct hdrs {
	char name[64];          /* X-XSRF-TOKEN-HEADER, if the server names its header */
	char token[MAX_TOKEN + 1];
	const char *want;       /* the token header to look for */
};

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct hdrs *h = arg;
	size_t len = size * n, k;
	char line[MAX_TOKEN + 128];

	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if ((k = strcspn(line, ":")) == strlen(line))
		return len;
	line[k] = '\0';
	const char *v = line + k + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "X-XSRF-TOKEN-HEADER") == 0 && strlen(v) < sizeof(h->name) &&
	    strcspn(v, "()<>@,;:\\\"/[]?={} \t") == strlen(v))
		snprintf(h->name, sizeof(h->name), "%s", v);
	else if (strcasecmp(line, h->want) == 0 && strlen(v) <= MAX_TOKEN)
		snprintf(h->token, sizeof(h->token), "%s", v);
	return len;
}

ward_err_t ward_http_create(const ward_http_opts_t *o, ward_http_t **out, ward_error_t *err)
{
	static bool inited;
	ward_http_t *h;
	size_t n;

	*out = NULL;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return ward_error_set(err, WARD_E_IO, "libcurl: global init failed");
		inited = true;
	}
	if (strncasecmp(o->base_url, "https://", 8) != 0)
		return ward_error_set(err, WARD_E_INVAL, "SyncBaseURL: only https:// URLs");
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	h->o = *o;
	snprintf(h->base, sizeof(h->base), "%s", o->base_url);
	n = strlen(h->base);
	while (n > 8 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	snprintf(h->xsrf_name, sizeof(h->xsrf_name), "%s", XSRF_HEADER);
	if ((h->curl = curl_easy_init()) == NULL) {
		free(h);
		return ward_error_set(err, WARD_E_NOMEM, "libcurl: cannot create a handle");
	}
	*out = h;
	return WARD_OK;
}

void ward_http_destroy(ward_http_t *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h);
}

unsigned long ward_http_requests(const ward_http_t *h)
{
	return h->requests;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One attempt. *status the HTTP status (0: no answer); *retry whether another attempt
 * may help. */
static ward_err_t attempt(ward_http_t *h, const char *url, const unsigned char *body, size_t blen,
                          bool compressed, struct buf *out, struct hdrs *hd, long *status,
                          bool *retry, ward_error_t *err)
{
	struct curl_slist *hl = NULL;
	char line[MAX_TOKEN + 80], errbuf[CURL_ERROR_SIZE] = "";
	const char *p;
	CURLcode cc;

	*status = 0;
	*retry = false;
	curl_easy_reset(h->curl);
	hl = curl_slist_append(hl, "Content-Type: application/json");
	if (compressed)
		hl = curl_slist_append(hl, "Content-Encoding: deflate");
	if (h->xsrf_token[0]) {
		snprintf(line, sizeof(line), "%s: %s", h->xsrf_name, h->xsrf_token);
		hl = curl_slist_append(hl, line);
	}
	for (p = h->o.extra_headers; p && *p;) {
		size_t k = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)k, p);
		hl = curl_slist_append(hl, line);
		p += k + (p[k] == '\n');
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->o.server_roots && h->o.server_roots[0]) {
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->o.server_roots);
		curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL);
	}
	if (h->o.client_cert && h->o.client_cert[0]) {
		curl_easy_setopt(h->curl, CURLOPT_SSLCERT, h->o.client_cert);
		curl_easy_setopt(h->curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h->curl, CURLOPT_SSLKEY, h->o.client_key && h->o.client_key[0] ?
		                 h->o.client_key : h->o.client_cert);
		curl_easy_setopt(h->curl, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "warden-sync (santa-compatible)");
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	curl_easy_setopt(h->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, hd);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)(h->o.timeout_s ? h->o.timeout_s : 300));
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, errbuf);
	h->requests++;
	cc = curl_easy_perform(h->curl);
	curl_slist_free_all(hl);
	if (out->over)
		return ward_error_set(err, WARD_E_LIMIT, "the answer is larger than %u bytes",
		                      WARD_MAX_SYNC_RESPONSE);
	if (cc != CURLE_OK) {
		/* A certificate the roots do not vouch for is not retried: it will not change. */
		*retry = cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
		         cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
		         cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_PARTIAL_FILE;
		return ward_error_set(err, cc == CURLE_PEER_FAILED_VERIFICATION ||
		                      cc == CURLE_SSL_CACERT_BADFILE ? WARD_E_CRYPTO : WARD_E_IO, "%s",
		                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	return WARD_OK;
}

/* Santa's XSRF round trip: POST <base>/xsrf/<machine id>; the token comes back in a
 * header (X-XSRF-TOKEN, or the one X-XSRF-TOKEN-HEADER names). */
static ward_err_t xsrf(ward_http_t *h, ward_error_t *err)
{
	char url[WARD_MAX_SYNC_URL + WARD_MAX_MACHINE_ID + 16];
	struct buf b = { 0 };
	struct hdrs hd = { .want = h->xsrf_name };
	long status;
	bool retry;
	ward_err_t rc;

	snprintf(url, sizeof(url), "%s/xsrf/%s", h->base, h->o.machine_id);
	h->xsrf_token[0] = '\0';
	rc = attempt(h, url, (const unsigned char *)"", 0, false, &b, &hd, &status, &retry, err);
	free(b.p);
	if (rc != WARD_OK)
		return rc;
	if (hd.name[0] && strcasecmp(hd.name, h->xsrf_name) != 0) {
		/* The server names another header: it is in this same answer. */
		snprintf(h->xsrf_name, sizeof(h->xsrf_name), "%s", hd.name);
	}
	if (status != 200 || hd.token[0] == '\0')
		return ward_error_set(err, WARD_E_PERM, "xsrf: HTTP %ld, no %s token", status, h->xsrf_name);
	snprintf(h->xsrf_token, sizeof(h->xsrf_token), "%s", hd.token);
	return WARD_OK;
}

ward_err_t ward_http_post(ward_http_t *h, const char *stage, const json_t *body, char **resp,
                          size_t *len, ward_error_t *err)
{
	char url[WARD_MAX_SYNC_URL + WARD_MAX_MACHINE_ID + 32];
	unsigned char *z = NULL;
	size_t zlen = 0;
	char *text;
	unsigned wait = h->o.backoff_ms ? h->o.backoff_ms : 1000;
	bool xsrf_done = false;
	ward_err_t rc;

	*resp = NULL;
	*len = 0;
	snprintf(url, sizeof(url), "%s/%s/%s", h->base, stage, h->o.machine_id);
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "%s: out of memory", stage);
	rc = ward_sync_deflate(text, strlen(text), &z, &zlen, err);
	free(text);
	if (rc != WARD_OK)
		return rc;
	for (unsigned tries = 0;; tries++) {
		struct buf b = { 0 };
		struct hdrs hd = { .want = h->xsrf_name };
		ward_error_t e = { 0 };
		long status;
		bool retry;

		rc = attempt(h, url, z, zlen, true, &b, &hd, &status, &retry, &e);
		if (rc == WARD_OK && status == 200) {
			free(z);
			*resp = b.p ? b.p : strdup("");
			*len = b.len;
			return *resp ? WARD_OK : ward_error_set(err, WARD_E_NOMEM, "out of memory");
		}
		free(b.p);
		if (rc == WARD_OK && status == 403 && !xsrf_done) {
			xsrf_done = true;
			if ((rc = xsrf(h, &e)) != WARD_OK) {
				free(z);
				return ward_error_set(err, rc, "%s: HTTP 403, then %s", stage, e.msg);
			}
			tries--; /* the XSRF round trip is not a retry */
			continue;
		}
		if (rc == WARD_OK) {
			retry = status == 429 || status >= 500;
			rc = ward_error_set(&e, status == 401 || status == 403 ? WARD_E_PERM : WARD_E_IO,
			                    "HTTP %ld", status);
		}
		if (!retry || tries >= h->o.retries) {
			free(z);
			return ward_error_set(err, rc, "%s: %s%s", stage, e.msg,
			                      retry ? " (no more retries)" : "");
		}
		sleep_ms(wait);
		wait = wait >= 30000 ? 60000 : wait * 2;
	}
}
