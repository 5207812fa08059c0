/* Control socket client: connect, write one line, read one line (bounded, timed). */
#include "agent/ctl/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "common/platform.h"

const char *ward_ctl_client_socket(const char *path)
{
	const char *env = getenv("WARDEN_SOCKET");

	if (path && *path)
		return path;
	if (env && *env)
		return env;
	return WARD_CTL_DEFAULT_SOCKET;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (ms). */
static ward_err_t wait_fd(int fd, short events, long long deadline, ward_error_t *err)
{
	for (;;) {
		long long left = deadline - ms_now();
		struct pollfd p = { .fd = fd, .events = events };
		if (left <= 0)
			return ward_error_set(err, WARD_E_TIMEOUT, "the agent did not answer in time");
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return WARD_OK;
		if (n < 0 && errno != EINTR)
			return ward_error_set(err, WARD_E_IO, "poll: %s", strerror(errno));
	}
}

ward_err_t ward_ctl_client_request(const char *sock, const json_t *req, int timeout_ms,
                                   json_t **reply, ward_error_t *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long long deadline = ms_now() + timeout_ms;
	char *line = NULL, *buf = NULL;
	size_t len, off = 0, cap = 0;
	json_error_t jerr;
	ward_err_t rc = WARD_OK;
	int fd = -1;

	*reply = NULL;
	if (strlen(sock) >= sizeof(sun.sun_path))
		return ward_error_set(err, WARD_E_LIMIT, "socket path %s is too long", sock);
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((line = json_dumps(req, JSON_COMPACT)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "cannot encode the request");
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps left room: overwrite the NUL, length is explicit */
	if ((fd = ward_socket(AF_UNIX, SOCK_STREAM, WARD_SOCK_CLOEXEC | WARD_SOCK_NONBLOCK)) < 0) {
		rc = ward_error_set(err, WARD_E_IO, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 && errno != EINPROGRESS) {
		/* No socket, or a socket nobody listens on: the agent is not running. Say
		 * so and how to start it; other errors (EACCES...) speak for themselves. */
		if (errno == ENOENT || errno == ECONNREFUSED)
			rc = ward_error_set(err, WARD_E_IO, "cannot reach the agent at %s: %s: wardend "
			                    "is not running (start it: systemctl start wardend)",
			                    sock, strerror(errno));
		else
			rc = ward_error_set(err, WARD_E_IO, "cannot reach the agent at %s: %s",
			                    sock, strerror(errno));
		goto out;
	}
	for (size_t done = 0; done < len;) {
		if ((rc = wait_fd(fd, POLLOUT, deadline, err)) != WARD_OK)
			goto out;
		ssize_t n = send(fd, line + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "sending to %s: %s", sock, strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	for (;;) {
		if (off == cap) {
			if (cap >= WARD_CTL_MAX_REPLY) {
				rc = ward_error_set(err, WARD_E_LIMIT, "reply longer than %u bytes", WARD_CTL_MAX_REPLY);
				goto out;
			}
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline, err)) != WARD_OK)
			goto out;
		ssize_t n = recv(fd, buf + off, cap - off, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "reading from %s: %s", sock, strerror(errno));
			goto out;
		}
		if (n == 0) {
			rc = ward_error_set(err, WARD_E_MALFORMED, "the agent closed the connection without a reply");
			goto out;
		}
		char *nl = memchr(buf + off, '\n', (size_t)n);
		off += (size_t)n;
		if (nl != NULL) {
			*reply = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
			if (*reply == NULL || !json_is_object(*reply)) {
				json_decref(*reply);
				*reply = NULL;
				rc = ward_error_set(err, WARD_E_MALFORMED, "reply is not a JSON object: %s", jerr.text);
			}
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return rc;
}

ward_err_t ward_ctl_client_failed(const json_t *reply, ward_error_t *err)
{
	const json_t *ok = json_object_get(reply, "ok");
	const char *msg, *code;
	ward_err_t c = WARD_E_INVAL;

	if (json_is_true(ok))
		return WARD_OK;
	msg = json_string_value(json_object_get(reply, "error"));
	code = json_string_value(json_object_get(reply, "code"));
	for (int i = 0; code && i < WARD_E__COUNT; i++)
		if (strcmp(code, ward_strerror((ward_err_t)i)) == 0)
			c = (ward_err_t)i;
	return ward_error_set(err, c == WARD_OK ? WARD_E_INVAL : c, "%s", msg ? msg : "the agent refused");
}

json_t *ward_ctl_client_call(const char *sock, json_t *req, int timeout_ms, ward_error_t *err)
{
	json_t *reply = NULL;

	if (req == NULL) {
		ward_error_set(err, WARD_E_NOMEM, "out of memory");
		return NULL;
	}
	if (ward_ctl_client_request(sock, req, timeout_ms, &reply, err) != WARD_OK ||
	    ward_ctl_client_failed(reply, err) != WARD_OK) {
		json_decref(req);
		json_decref(reply);
		return NULL;
	}
	json_decref(req);
	json_object_del(reply, "ok");
	return reply;
}
