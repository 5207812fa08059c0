/*
 * The client side of the control socket, for wardenctl verbs: send one request object,
 * read one reply object. Library code: never prints.
 */
#ifndef WARD_AGENT_CTLCLIENT_H
#define WARD_AGENT_CTLCLIENT_H

#include <jansson.h>

#include "common/error.h"
#include "common/paths.h"

#define WARD_CTL_DEFAULT_SOCKET WARD_DEFAULT_SOCKET
#define WARD_CTL_MAX_REPLY      (4u << 20)

/* The socket path: path if not NULL/empty, else $WARDEN_SOCKET, else the default. */
const char *ward_ctl_client_socket(const char *path);

/*
 * Send req (an object) to the agent at sock and wait up to timeout_ms for the reply.
 * On WARD_OK *reply is the reply object (the caller json_decref's it), which may say
 * "ok": false: use ward_ctl_client_failed to turn that into an error. Errors:
 * WARD_E_IO (no agent listening: the message names the socket), WARD_E_TIMEOUT,
 * WARD_E_MALFORMED (the reply is not one JSON object), WARD_E_LIMIT.
 */
ward_err_t ward_ctl_client_request(const char *sock, const json_t *req, int timeout_ms,
                                   json_t **reply, ward_error_t *err);

/*
 * One round trip for a wardenctl verb: send req (consumed: the call json_decref's it),
 * and return the agent's reply object without its "ok" member, or NULL with err filled
 * (no agent, timeout, malformed reply, or the agent's own refusal).
 */
json_t *ward_ctl_client_call(const char *sock, json_t *req, int timeout_ms, ward_error_t *err);

/* If reply says "ok": false, fill err from its "error"/"code" and return the code
 * (WARD_E_PERM for a refused privilege, ...); WARD_OK otherwise. */
ward_err_t ward_ctl_client_failed(const json_t *reply, ward_error_t *err);

#endif
