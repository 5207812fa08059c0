/*
 * The control socket: a unix stream socket speaking newline-delimited JSON. Each
 * request is one line holding an object with a "cmd" string; each reply is one line
 * holding an object with "ok" (true/false) and, on failure, "error" (a sentence) and
 * "code" (ward_strerror name). The caller's identity is what the kernel said when the
 * connection was accepted (SO_PEERCRED for uid/gid, SO_PEERGROUPS for the supplementary
 * groups), never a field of the request and never looked up again by pid: the pid that
 * connected may have exited and been reused by someone else by the time a command runs.
 *
 * Limits: a request line is at most WARD_MAX_CTL_MESSAGE bytes (a longer one gets an
 * error reply and the connection is closed); a client must complete each request within
 * WARD_CTL_READ_TIMEOUT_MS of connecting or of its previous request; at most
 * WARD_MAX_CTL_CLIENTS clients at once, of which one uid other than root holds at most
 * WARD_CTL_CLIENTS_PER_UID and WARD_CTL_ROOT_RESERVE are kept for root.
 *
 * The server does not own a thread: the daemon's main loop asks it for pollfds and a
 * timeout and hands back the results (OpenBSD style).
 */
#ifndef WARD_AGENT_CONTROL_H
#define WARD_AGENT_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"

typedef enum {
	WARD_CTL_ANY = 0,   /* anyone who can connect */
	WARD_CTL_ADMIN,     /* root, or a member of AdminGroup */
} ward_ctl_priv_t;

typedef struct ward_ctl_peer {
	uid_t uid;
	gid_t gid;
	gid_t groups[WARD_CTL_MAX_PEER_GROUPS]; /* the connect() credential's, at accept */
	unsigned ngroups;
	bool groups_truncated;                  /* more groups than fit: none is trusted */
	uint64_t conn;                          /* this connection's id (ward_ctl_reply_later) */
	bool admin;                             /* root or AdminGroup, decided at accept */
} ward_ctl_peer_t;

/*
 * A command handler: req is the parsed request object. Returns a new reply object
 * (the server adds "ok": true), or NULL after filling err (the server replies ok=false).
 */
typedef json_t *(*ward_ctl_handler_fn)(void *ctx, const ward_ctl_peer_t *peer, json_t *req,
                                       ward_error_t *err);

typedef struct ward_ctl_command {
	const char *name;
	ward_ctl_priv_t priv;
	ward_ctl_handler_fn fn;
	const char *summary;
} ward_ctl_command_t;

typedef struct ward_ctl_server ward_ctl_server_t;

/*
 * Create the socket at path (replacing a stale one; mode 0666 so any user can ask for
 * status: commands check privileges themselves) and listen. admin_gid: a group whose
 * members are admins, or (gid_t)-1 for root only.
 */
ward_err_t ward_ctl_listen(const char *path, const ward_ctl_command_t *cmds, size_t ncmds,
                           void *ctx, gid_t admin_gid, ward_ctl_server_t **out,
                           ward_error_t *err);
void ward_ctl_close(ward_ctl_server_t *srv); /* unlinks the socket; NULL ok */
void ward_ctl_set_admin_gid(ward_ctl_server_t *srv, gid_t gid);

/* Fill up to max pollfds (listener + clients); returns how many. */
size_t ward_ctl_pollfds(ward_ctl_server_t *srv, struct pollfd *pfd, size_t max);
/* Milliseconds until the next client read timeout (-1: none). */
int ward_ctl_timeout(ward_ctl_server_t *srv, uint64_t now_ms);
/* Handle what poll reported on the fds from ward_ctl_pollfds, and expire idle clients. */
void ward_ctl_dispatch(ward_ctl_server_t *srv, const struct pollfd *pfd, size_t n, uint64_t now_ms);

/*
 * One request line -> one reply line (malloc'd, without newline). Parses, looks the
 * command up, checks the privilege, runs the handler. When the handler answered
 * WARD_CTL_LATER, returns (char *)WARD_CTL_LATER (not to be freed). Exposed for tests
 * and fuzzing.
 */
char *ward_ctl_handle_line(const ward_ctl_command_t *cmds, size_t ncmds, void *ctx,
                           const ward_ctl_peer_t *peer, const char *line, size_t len);

/*
 * Whether peer is root or a member of gid (its primary or one of the supplementary
 * groups captured at accept). gid (gid_t)-1: root only. Never reads /proc.
 */
bool ward_ctl_peer_in_group(const ward_ctl_peer_t *peer, gid_t gid);

/*
 * A handler whose work finishes later (off the main thread) returns WARD_CTL_LATER: the
 * server sends nothing yet, reads no further request from that client, and sends the
 * reply passed to ward_ctl_reply_later for peer->conn. A pointer compared, never read.
 */
extern json_t *const WARD_CTL_LATER;

/*
 * The reply for a handler that returned WARD_CTL_LATER: reply (consumed; "ok": true and
 * the request's "id" are added) or, when reply is NULL, a failure from err. Returns
 * false when the client went away meanwhile (the reply is dropped).
 */
bool ward_ctl_reply_later(ward_ctl_server_t *srv, uint64_t conn, json_t *reply,
                          const ward_error_t *err);

/*
 * Parse control lines on a confined thread of their own from now on (agent/confine.h).
 * Call after any fork (wardend: after daemon()). False when the thread did not start
 * (lines are then parsed on the caller's thread, as before the call).
 */
bool ward_ctl_start_parser(void);

/* Connections refused because the table, or the caller's share of it, was full. */
uint64_t ward_ctl_refused(const ward_ctl_server_t *srv);

/*
 * Read the string field name of a request object into *out (borrowed from req; NULL when
 * absent or null). A missing required field, a non-string or a string with a NUL byte
 * fills err and returns false.
 */
bool ward_ctl_get_str(json_t *req, const char *name, bool required, const char **out,
                      ward_error_t *err);

/* A failure reply line for err (malloc'd). */
char *ward_ctl_error_reply(ward_err_t code, const char *msg);

#endif
