/*
 * The control socket, and nothing else (commands live in agent/commands.c). Every
 * client is non-blocking; a request is parsed only once its whole line is here and
 * never when it exceeds WARD_MAX_CTL_MESSAGE; replies are queued in a bounded output
 * buffer so a client that does not read cannot block the agent.
 */
#include "agent/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
};

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
};

char *ward_ctl_error_reply(ward_err_t code, const char *msg)
{
	json_t *o = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg ? msg : "", "code",
	                      ward_strerror(code));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *ward_ctl_handle_line(const ward_ctl_command_t *cmds, size_t ncmds, void *ctx,
                           const ward_ctl_peer_t *peer, const char *line, size_t len)
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
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
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

bool ward_ctl_peer_is_admin(uid_t uid, gid_t gid, pid_t pid, gid_t admin_gid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	if (uid == 0)
		return true;
	if (admin_gid == (gid_t)-1)
		return false;
	if (gid == admin_gid)
		return true;
	/* Supplementary groups are not in SO_PEERCRED; /proc/<pid>/status has them. */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *g = strstr(buf, "\nGroups:");
	if (g == NULL)
		return false;
	g += 8;
	while (*g && *g != '\n') {
		char *end;
		unsigned long v = strtoul(g, &end, 10);
		if (end == g) {
			g++;
			continue;
		}
		if ((gid_t)v == admin_gid)
			return true;
		g = end;
	}
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
		short ev = c->closing ? 0 : POLLIN;
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

static void accept_client(ward_ctl_server_t *srv)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = ward_accept(srv->fd, WARD_SOCK_NONBLOCK | WARD_SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (srv->nclients >= WARD_MAX_CTL_CLIENTS ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		char *r = ward_ctl_error_reply(WARD_E_BUSY, "too many control clients; try again");
		if (r) {
			(void)!write(fd, r, strlen(r));
			(void)!write(fd, "\n", 1);
		}
		free(r);
		close(fd);
		return;
	}
	struct client *c = &srv->clients[srv->nclients];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	c->peer.admin = ward_ctl_peer_is_admin(cred.uid, cred.gid, cred.pid, srv->admin_gid);
	c->deadline_ms = srv->now_ms + WARD_CTL_READ_TIMEOUT_MS;
	if ((c->in = malloc(WARD_MAX_CTL_MESSAGE + 1)) == NULL) {
		close(fd);
		return;
	}
	srv->nclients++;
}

/* Read what is there and answer every complete line. Returns false to drop the client. */
static bool client_read(ward_ctl_server_t *srv, struct client *c)
{
	for (;;) {
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
		while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			size_t len = (size_t)(nl - c->in);
			char *reply = ward_ctl_handle_line(srv->cmds, srv->ncmds, srv->ctx, &c->peer,
			                                   c->in, len);
			memmove(c->in, nl + 1, c->inlen - len - 1);
			c->inlen -= len + 1;
			c->deadline_ms = srv->now_ms + WARD_CTL_READ_TIMEOUT_MS;
			if (!queue_reply(c, reply))
				return false;
		}
		if (c->inlen > WARD_MAX_CTL_MESSAGE) {
			/* No newline within the limit: refuse before parsing anything. */
			queue_reply(c, ward_ctl_error_reply(WARD_E_LIMIT,
			                                    "request longer than the maximum message size"));
			c->inlen = 0;
			c->closing = true;
			return true;
		}
	}
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
	if (n > 0 && (pfd[0].revents & POLLIN))
		for (int k = 0; k < 8; k++) {
			size_t before = srv->nclients;
			accept_client(srv);
			if (srv->nclients == before)
				break;
		}
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
