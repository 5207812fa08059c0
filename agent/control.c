/*
 * The control socket, and nothing else (commands live in agent/commands.c). Every
 * client is non-blocking; a request is parsed only once its whole line is here and
 * never when it exceeds WARD_MAX_CTL_MESSAGE; replies are queued in a bounded output
 * buffer so a client that does not read cannot block the agent.
 */
#include "agent/control.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/confine.h"
#include "common/limits.h"
#include "common/platform.h"

#define CTL_MAX_OUT (1u << 20) /* bytes of replies a client may leave unread */

struct client {
	int fd;
	ward_ctl_peer_t peer;
	char *in;
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t deadline_ms;
	bool closing;          /* close once out is flushed */
	bool waiting;          /* a handler answers later (WARD_CTL_LATER) */
	json_t *later_id;      /* the waiting request's "id" */
};

static char later_tag;
json_t *const WARD_CTL_LATER = (json_t *)&later_tag;

struct ward_ctl_server {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const ward_ctl_command_t *cmds;
	size_t ncmds;
	void *ctx;
	gid_t admin_gid;
	struct client clients[WARD_MAX_CTL_CLIENTS];
	size_t nclients;
	uint64_t now_ms;
	uint64_t next_conn;
	uint64_t refused;
};

/*
 * Control lines are parsed (jansson) on a thread of their own, confined like every
 * parser of hostile bytes (agent/confine.h), once ward_ctl_start_parser ran; before
 * that (tests, fuzzing, wardenctl) they are parsed on the caller's thread. The main
 * thread hands a line over and waits: one line at a time.
 */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, busy;
	const char *line;
	size_t len;
	json_t *out;
	json_error_t jerr;
} parser = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *parser_main(void *arg)
{
	(void)arg;
	ward_confine_thread(WARD_CONFINE_PARSER);
	pthread_mutex_lock(&parser.mu);
	for (;;) {
		while (!parser.busy)
			pthread_cond_wait(&parser.cv, &parser.mu);
		parser.out = json_loadb(parser.line, parser.len, JSON_REJECT_DUPLICATES, &parser.jerr);
		parser.busy = false;
		pthread_cond_broadcast(&parser.cv);
	}
	return NULL;
}

bool ward_ctl_start_parser(void)
{
	pthread_attr_t attr;
	pthread_t t;
	bool ok;

	pthread_mutex_lock(&parser.mu);
	if (!parser.started) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		parser.started = pthread_create(&t, &attr, parser_main, NULL) == 0;
		pthread_attr_destroy(&attr);
	}
	ok = parser.started;
	pthread_mutex_unlock(&parser.mu);
	return ok;
}

static json_t *parse_line(const char *line, size_t len, json_error_t *jerr)
{
	json_t *out;

	pthread_mutex_lock(&parser.mu);
	if (!parser.started) {
		pthread_mutex_unlock(&parser.mu);
		return json_loadb(line, len, JSON_REJECT_DUPLICATES, jerr);
	}
	parser.line = line;
	parser.len = len;
	parser.busy = true;
	pthread_cond_broadcast(&parser.cv);
	while (parser.busy)
		pthread_cond_wait(&parser.cv, &parser.mu);
	out = parser.out;
	*jerr = parser.jerr;
	parser.out = NULL;
	pthread_mutex_unlock(&parser.mu);
	return out;
}

char *ward_ctl_error_reply(ward_err_t code, const char *msg)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg ? msg : "", "code",
	                      ward_strerror(code));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* ward_ctl_handle_line; when the handler answers later, *later_id (if not NULL) gets
 * the request's "id" (a new reference, or NULL). */
static char *handle_line(const ward_ctl_command_t *cmds, size_t ncmds, void *ctx,
                         const ward_ctl_peer_t *peer, const char *line, size_t len,
                         json_t **later_id)
{
	json_error_t jerr;
	json_t *req, *reply, *cmdv, *id;
	ward_error_t err = { 0 };
	const ward_ctl_command_t *c = NULL;
	char *out;

	if (len > WARD_MAX_CTL_MESSAGE)
		return ward_ctl_error_reply(WARD_E_LIMIT, "request longer than the maximum message size");
	if (len > 0 && line[len - 1] == '\r')
		len--;
	req = parse_line(line, len, &jerr);
	if (req == NULL) {
		char msg[200];
		snprintf(msg, sizeof(msg), "request is not JSON: %s at column %d", jerr.text, jerr.column);
		return ward_ctl_error_reply(WARD_E_MALFORMED, msg);
	}
	if (!json_is_object(req)) {
		json_decref(req);
		return ward_ctl_error_reply(WARD_E_MALFORMED, "request is not a JSON object");
	}
	cmdv = json_object_get(req, "cmd");
	if (!json_is_string(cmdv)) {
		json_decref(req);
		return ward_ctl_error_reply(WARD_E_MALFORMED, "request has no \"cmd\" string");
	}
	for (size_t i = 0; i < ncmds; i++)
		if (strcmp(cmds[i].name, json_string_value(cmdv)) == 0) {
			c = &cmds[i];
			break;
		}
	if (c == NULL) {
		json_decref(req);
		return ward_ctl_error_reply(WARD_E_NOTFOUND, "unknown command");
	}
	if (c->priv == WARD_CTL_ADMIN && !peer->admin) {
		char msg[160];
		snprintf(msg, sizeof(msg), "command '%s' needs root or a member of AdminGroup (uid %u asked)",
		         c->name, (unsigned)peer->uid);
		json_decref(req);
		return ward_ctl_error_reply(WARD_E_PERM, msg);
	}
	reply = c->fn(ctx, peer, req, &err);
	if (reply == WARD_CTL_LATER) {
		if (later_id != NULL)
			*later_id = json_incref(json_object_get(req, "id"));
		json_decref(req);
		return (char *)WARD_CTL_LATER;
	}
	if (reply == NULL) {
		out = ward_ctl_error_reply(err.code != WARD_OK ? err.code : WARD_E_INVAL, err.msg);
	} else {
		json_object_set_new(reply, "ok", json_true());
		if ((id = json_object_get(req, "id")) != NULL)
			json_object_set(reply, "id", id);
		out = json_dumps(reply, JSON_COMPACT);
		json_decref(reply);
	}
	json_decref(req);
	return out;
}

char *ward_ctl_handle_line(const ward_ctl_command_t *cmds, size_t ncmds, void *ctx,
                           const ward_ctl_peer_t *peer, const char *line, size_t len)
{
	return handle_line(cmds, ncmds, ctx, peer, line, len, NULL);
}

bool ward_ctl_peer_in_group(const ward_ctl_peer_t *peer, gid_t gid)
{
	if (peer->uid == 0)
		return true;
	if (gid == (gid_t)-1)
		return false;
	if (peer->gid == gid)
		return true;
	if (peer->groups_truncated)
		return false; /* a list we could not read whole is not trusted */
	for (unsigned i = 0; i < peer->ngroups && i < WARD_CTL_MAX_PEER_GROUPS; i++)
		if (peer->groups[i] == gid)
			return true;
	return false;
}

ward_err_t ward_ctl_listen(const char *path, const ward_ctl_command_t *cmds, size_t ncmds,
                           void *ctx, gid_t admin_gid, ward_ctl_server_t **out,
                           ward_error_t *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	ward_ctl_server_t *srv;
	mode_t old;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ward_error_set(err, WARD_E_LIMIT, "control socket path %s is too long", path);
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "control: out of memory");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->cmds = cmds;
	srv->ncmds = ncmds;
	srv->ctx = ctx;
	srv->admin_gid = admin_gid;
	srv->fd = ward_socket(AF_UNIX, SOCK_STREAM, WARD_SOCK_NONBLOCK | WARD_SOCK_CLOEXEC);
	if (srv->fd < 0) {
		free(srv);
		return ward_error_set(err, WARD_E_IO, "control socket: %s", strerror(errno));
	}
	/* A stale socket from a crashed run would make bind fail; only a socket is removed. */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	old = umask(0111);
	if (bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		ward_error_set(err, WARD_E_IO, "control socket %s: bind: %s", path, strerror(errno));
		close(srv->fd);
		free(srv);
		return WARD_E_IO;
	}
	umask(old);
	if (listen(srv->fd, 16) != 0) {
		ward_error_set(err, WARD_E_IO, "control socket %s: listen: %s", path, strerror(errno));
		close(srv->fd);
		unlink(path);
		free(srv);
		return WARD_E_IO;
	}
	*out = srv;
	return WARD_OK;
}

static void client_close(ward_ctl_server_t *srv, size_t i)
{
	struct client *c = &srv->clients[i];

	close(c->fd);
	free(c->in);
	free(c->out);
	json_decref(c->later_id);
	srv->clients[i] = srv->clients[--srv->nclients];
}

void ward_ctl_close(ward_ctl_server_t *srv)
{
	if (srv == NULL)
		return;
	while (srv->nclients > 0)
		client_close(srv, 0);
	close(srv->fd);
	unlink(srv->path);
	free(srv);
}

void ward_ctl_set_admin_gid(ward_ctl_server_t *srv, gid_t gid)
{
	srv->admin_gid = gid;
}

size_t ward_ctl_pollfds(ward_ctl_server_t *srv, struct pollfd *pfd, size_t max)
{
	size_t n = 0;

	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = srv->fd, .events = POLLIN };
	for (size_t i = 0; i < srv->nclients && n < max; i++) {
		struct client *c = &srv->clients[i];
		short ev = c->closing || c->waiting ? 0 : POLLIN;
		if (c->outlen > c->outoff)
			ev |= POLLOUT;
		pfd[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

int ward_ctl_timeout(ward_ctl_server_t *srv, uint64_t now_ms)
{
	int t = -1;

	for (size_t i = 0; i < srv->nclients; i++) {
		uint64_t d = srv->clients[i].deadline_ms;
		int left = d > now_ms ? (int)(d - now_ms) : 0;
		if (t < 0 || left < t)
			t = left;
	}
	return t;
}

static bool client_write(struct client *c);

/* Queue a reply line; false if the client has too much unread output already. */
static bool queue_reply(struct client *c, char *line)
{
	size_t len = line ? strlen(line) : 0;

	if (line == NULL)
		return false;
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + len + 1 > CTL_MAX_OUT) {
		free(line);
		return false;
	}
	char *nb = realloc(c->out, c->outlen + len + 1);
	if (nb == NULL) {
		free(line);
		return false;
	}
	c->out = nb;
	memcpy(c->out + c->outlen, line, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	free(line);
	return true;
}

/* How many clients uid holds now. */
static size_t clients_of(const ward_ctl_server_t *srv, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < srv->nclients; i++)
		n += srv->clients[i].peer.uid == uid;
	return n;
}

static void refuse(ward_ctl_server_t *srv, int fd, const char *msg)
{
	char *r = ward_ctl_error_reply(WARD_E_BUSY, msg);

	if (r) {
		(void)!send(fd, r, strlen(r), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)!send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(r);
	close(fd);
	srv->refused++;
}

/*
 * Accept one client and capture who it is, once: uid/gid and the groups of the
 * connect() call as the kernel recorded them (ward_peer_creds: SO_PEERCRED and
 * SO_PEERGROUPS on Linux, LOCAL_PEERCRED on macOS). The peer's pid is not kept: a pid
 * names whoever holds it now, not who connected.
 * Returns false when nothing was waiting.
 */
static bool accept_client(ward_ctl_server_t *srv)
{
	gid_t groups[WARD_CTL_MAX_PEER_GROUPS];
	unsigned ngroups;
	bool truncated;
	uid_t uid;
	gid_t gid;
	int fd = ward_accept(srv->fd, WARD_SOCK_NONBLOCK | WARD_SOCK_CLOEXEC);

	if (fd < 0)
		return false;
	if (!ward_peer_creds(fd, &uid, &gid, groups, WARD_CTL_MAX_PEER_GROUPS, &ngroups, &truncated)) {
		refuse(srv, fd, "cannot read the caller's credentials");
		return true;
	}
	if (srv->nclients >= WARD_MAX_CTL_CLIENTS) {
		refuse(srv, fd, "too many control clients; try again");
		return true;
	}
	if (uid != 0 && (srv->nclients >= WARD_MAX_CTL_CLIENTS - WARD_CTL_ROOT_RESERVE ||
	                 clients_of(srv, uid) >= WARD_CTL_CLIENTS_PER_UID)) {
		refuse(srv, fd, "too many control clients for this user; try again");
		return true;
	}
	struct client *c = &srv->clients[srv->nclients];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->peer.uid = uid;
	c->peer.gid = gid;
	memcpy(c->peer.groups, groups, ngroups * sizeof(gid_t));
	c->peer.ngroups = ngroups;
	c->peer.groups_truncated = truncated; /* then none of them is trusted */
	c->peer.conn = ++srv->next_conn;
	c->peer.admin = ward_ctl_peer_in_group(&c->peer, srv->admin_gid);
	c->deadline_ms = srv->now_ms + WARD_CTL_READ_TIMEOUT_MS;
	if ((c->in = malloc(WARD_MAX_CTL_MESSAGE + 1)) == NULL) {
		close(fd);
		return true;
	}
	srv->nclients++;
	return true;
}

/* Read what is there and answer every complete line. Returns false to drop the client. */
static bool client_read(ward_ctl_server_t *srv, struct client *c)
{
	while (!c->waiting) {
		size_t room = WARD_MAX_CTL_MESSAGE + 1 - c->inlen;
		ssize_t n = read(c->fd, c->in + c->inlen, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			c->closing = true; /* EOF: finish sending what we owe, then close */
			return true;
		}
		c->inlen += (size_t)n;
		char *nl;
		while (!c->waiting && (nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			size_t len = (size_t)(nl - c->in);
			char *reply = handle_line(srv->cmds, srv->ncmds, srv->ctx, &c->peer, c->in, len,
			                          &c->later_id);
			if (reply == (char *)WARD_CTL_LATER) {
				/* the handler answers later (with the request's id, kept above) */
				c->waiting = true;
				c->deadline_ms = srv->now_ms + WARD_REQ_HASH_BUDGET_MS + WARD_CTL_READ_TIMEOUT_MS;
			}
			memmove(c->in, nl + 1, c->inlen - len - 1);
			c->inlen -= len + 1;
			if (c->waiting)
				break;
			c->deadline_ms = srv->now_ms + WARD_CTL_READ_TIMEOUT_MS;
			if (!queue_reply(c, reply))
				return false;
		}
		if (!c->waiting && c->inlen > WARD_MAX_CTL_MESSAGE) {
			/* No newline within the limit: refuse before parsing anything. */
			queue_reply(c, ward_ctl_error_reply(WARD_E_LIMIT,
			                                    "request longer than the maximum message size"));
			c->inlen = 0;
			c->closing = true;
			return true;
		}
	}
	return true;
}

bool ward_ctl_reply_later(ward_ctl_server_t *srv, uint64_t conn, json_t *reply,
                          const ward_error_t *err)
{
	for (size_t i = 0; i < srv->nclients; i++) {
		struct client *c = &srv->clients[i];
		char *line;
		if (c->peer.conn != conn || !c->waiting)
			continue;
		if (reply == NULL) {
			line = ward_ctl_error_reply(err && err->code != WARD_OK ? err->code : WARD_E_INVAL,
			                            err ? err->msg : "");
		} else {
			json_object_set_new(reply, "ok", json_true());
			if (c->later_id != NULL)
				json_object_set(reply, "id", c->later_id);
			line = json_dumps(reply, JSON_COMPACT);
			json_decref(reply);
		}
		json_decref(c->later_id);
		c->later_id = NULL;
		c->waiting = false;
		c->deadline_ms = srv->now_ms + WARD_CTL_READ_TIMEOUT_MS;
		if (!queue_reply(c, line) || !client_write(c) || (c->closing && c->outoff >= c->outlen))
			client_close(srv, i);
		return true;
	}
	json_decref(reply);
	return false;
}

uint64_t ward_ctl_refused(const ward_ctl_server_t *srv)
{
	return srv->refused;
}

static bool client_write(struct client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		c->outoff += (size_t)n;
	}
	return true;
}

void ward_ctl_dispatch(ward_ctl_server_t *srv, const struct pollfd *pfd, size_t n, uint64_t now_ms)
{
	srv->now_ms = now_ms;
	/* Clients first (by fd, since accept and close reorder the table). */
	for (size_t k = 1; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		for (size_t i = 0; i < srv->nclients; i++) {
			struct client *c = &srv->clients[i];
			if (c->fd != pfd[k].fd)
				continue;
			bool ok = true;
			if (c->waiting && (pfd[k].revents & (POLLHUP | POLLERR))) {
				client_close(srv, i); /* gone: nobody to answer */
				break;
			}
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				ok = client_read(srv, c);
			if (ok)
				ok = client_write(c);
			if (!ok || (c->closing && c->outoff >= c->outlen))
				client_close(srv, i);
			break;
		}
	}
	/* Expire clients that did not finish a request in time. */
	for (size_t i = 0; i < srv->nclients;) {
		struct client *c = &srv->clients[i];
		if (now_ms >= c->deadline_ms) {
			if (!c->closing) {
				queue_reply(c, ward_ctl_error_reply(WARD_E_TIMEOUT, "request not completed in time"));
				client_write(c);
			}
			client_close(srv, i);
			continue;
		}
		i++;
	}
	/* Drain the backlog: refused connections are closed at once, so a user who opens
	 * many cannot keep root's connect() waiting behind them. */
	if (n > 0 && (pfd[0].revents & POLLIN))
		for (int k = 0; k < 64; k++)
			if (!accept_client(srv))
				break;
}

bool ward_ctl_get_str(json_t *req, const char *name, bool required, const char **out,
                      ward_error_t *err)
{
	json_t *v = json_object_get(req, name);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			ward_error_set(err, WARD_E_INVAL, "%s: missing", name);
		return !required;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		ward_error_set(err, WARD_E_INVAL, "%s: expected a string", name);
		return false;
	}
	*out = json_string_value(v);
	return true;
}
