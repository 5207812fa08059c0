/*
 * warden-sync's HTTPS client (libcurl): one POST per sync stage to
 * <SyncBaseURL>/<stage>/<machine id>, the JSON body zlib-compressed as Santa sends it
 * (Content-Encoding: deflate), the answer bounded at WARD_MAX_SYNC_RESPONSE bytes.
 * https only, no redirects (as Santa), the server's certificate checked against the
 * system roots or only ServerAuthRootsFile, an optional client certificate (mutual
 * TLS), SyncExtraHeaders on every request. A 403 gets Santa's XSRF round trip once
 * (POST <base>/xsrf/<machine id>, then the request again with the X-XSRF-TOKEN it
 * returned); connection failures, 429 and 5xx are retried with exponential backoff.
 */
#ifndef WARD_AGENT_SYNC_HTTP_H
#define WARD_AGENT_SYNC_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

typedef struct ward_http_opts {
	const char *base_url;      /* https://host[:port][/path] */
	const char *machine_id;
	const char *client_cert;   /* PEM, "" = none */
	const char *client_key;    /* PEM, "" = in client_cert */
	const char *server_roots;  /* PEM bundle, "" = the system's roots */
	const char *extra_headers; /* "Name: value\n" lines */
	unsigned retries;          /* attempts after the first */
	unsigned backoff_ms;       /* first wait; doubles, at most 60 s */
	unsigned timeout_s;        /* per attempt */
} ward_http_opts_t;

typedef struct ward_http ward_http_t;

ward_err_t ward_http_create(const ward_http_opts_t *o, ward_http_t **out, ward_error_t *err);
void ward_http_destroy(ward_http_t *h); /* NULL ok */

/*
 * POST body (a JSON value) to the stage. On WARD_OK *resp (malloc'd, NUL-terminated,
 * *len bytes) is the body of a 200 answer. Anything else is an error naming the stage
 * and what went wrong (HTTP status, TLS, connection), after the retries.
 */
ward_err_t ward_http_post(ward_http_t *h, const char *stage, const json_t *body, char **resp,
                          size_t *len, ward_error_t *err);

/* Requests sent (attempts, retries included), for the report. */
unsigned long ward_http_requests(const ward_http_t *h);

#endif
