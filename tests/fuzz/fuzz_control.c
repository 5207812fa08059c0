/*
 * libFuzzer target for the control protocol, through the real server: the bytes a client
 * sends go over a unix socket to ward_ctl_listen's server (framing, line limits, the
 * bounded output queue, deferred replies) and wardend's real command table, against an
 * agent with an in-memory rule store (so rule-add/remove and every exception handler
 * run: request, approve, deny, decide, requests, audit), a no-op backend and a scan step
 * without rules. The caller over the socket is this process (root). The first byte also
 * picks a second pass through ward_ctl_handle_line as an unprivileged user. Every reply is
 * one JSON object per line; the server must close the connection once it answered; nothing
 * may crash, hang, leak or read out of bounds.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/daemon.h"
#include "agent/exceptions.h"
#include "agent/yarascan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop_flush(ward_backend_t *b)
{
	(void)b;
}

static bool no_path(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	(void)ev;
	(void)buf;
	(void)len;
	return false;
}

static const struct ward_backend_ops fake_ops = { .name = "fuzz", .cache_flush = noop_flush,
                                                  .path = no_path };
static ward_backend_t fake_backend = { .ops = &fake_ops };
static ward_daemon_t d;
static char sock_path[108];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void cleanup(void)
{
	unlink(sock_path);
}

static void init(void)
{
	ward_snapshot_t *snap;
	ward_engine_opts_t o = { .backend = &fake_backend, .nworkers = 1 };
	ward_yarascan_hooks_t h = { 0 };

	/* the parser threads' seccomp filter is tested by test_confine; the sanitizers'
	 * own system calls are not in its allowlist */
	setenv("WARDEN_NO_SECCOMP", "1", 1);
	ward_config_defaults(&d.cfg);
	d.backend = &fake_backend;
	if (ward_cache_create(64, 1000, &d.cache, NULL) != WARD_OK ||
	    ward_queue_create(8, &d.queue, NULL) != WARD_OK ||
	    ward_store_open(":memory:", WARD_STORE_CREATE, &d.store, NULL) != WARD_OK ||
	    ward_snapshot_build(&d.cfg, d.store, &snap, NULL) != WARD_OK ||
	    ward_exc_create(&d.exc, NULL) != WARD_OK)
		abort();
	o.cache = d.cache;
	o.queue = d.queue;
	if (ward_engine_create(&o, snap, &d.engine, NULL) != WARD_OK)
		abort();
	/* the scan step without rules: status, scan-result and reload reach it */
	if (ward_yarascan_create(&h, &d.yara, NULL) != WARD_OK)
		abort();
	snprintf(sock_path, sizeof(sock_path), "/tmp/warden-fuzz-ctl.%d", (int)getpid());
	if (ward_ctl_listen(sock_path, ward_daemon_commands, ward_daemon_ncommands, &d, (gid_t)-1,
	                    &d.ctl, NULL) != WARD_OK)
		abort();
	ward_exc_env_t xe = { .store = d.store, .engine = d.engine, .cfg = &d.cfg, .yara = d.yara,
	                      .ctl = d.ctl };
	ward_exc_bind(d.exc, &xe);
	atexit(cleanup);
}

/* Every complete line of out[0..n) is one JSON object. */
static void check_lines(const char *out, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(out, '\n', n);
		if (nl == NULL)
			abort(); /* a reply without its newline */
		json_t *j = json_loadb(out, (size_t)(nl - out), 0, NULL);
		if (!json_is_object(j) || !json_is_boolean(json_object_get(j, "ok")))
			abort();
		json_decref(j);
		n -= (size_t)(nl - out) + 1;
		out = nl + 1;
	}
}

/* Send data over a real connection; pump the server until it closes the connection. */
static void over_socket(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static char out[1u << 22];
	size_t outlen = 0, sent = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	bool eof = false, shut = false;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		abort();
	for (int round = 0; !eof; round++) {
		struct pollfd pfd[2 + WARD_MAX_CTL_CLIENTS];
		size_t n;
		if (round > 200000)
			abort(); /* the server never finished with this client */
		if (sent < size) {
			ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		pfd[0] = (struct pollfd){ .fd = ward_exc_wakefd(d.exc), .events = POLLIN };
		n = 1 + ward_ctl_pollfds(d.ctl, pfd + 1, WARD_MAX_CTL_CLIENTS + 1);
		(void)poll(pfd, n, 5);
		if (pfd[0].revents & POLLIN)
			ward_exc_jobs_finish(d.exc);
		ward_ctl_dispatch(d.ctl, pfd + 1, n - 1, now_ms());
		for (;;) {
			ssize_t r = read(fd, out + outlen, sizeof(out) - outlen);
			if (r > 0) {
				outlen += (size_t)r;
				if (outlen == sizeof(out))
					abort(); /* more than the server's output bound */
				continue;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				eof = true;
			break;
		}
	}
	close(fd);
	check_lines(out, outlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	ward_ctl_peer_t peer = { .uid = 1000, .gid = 1000 };

	if (!ready) {
		init();
		ready = 1;
	}
	if (size == 0)
		return 0;
	bool as_user = data[0] & 1;
	data++;
	size--;
	over_socket(data, size);
	if (!as_user)
		return 0;
	/* the same lines as an unprivileged user, without the socket (handlers that
	 * answer later are finished by the jobs above on the next input) */
	while (size > 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) : size;
		char *reply = ward_ctl_handle_line(ward_daemon_commands, ward_daemon_ncommands, &d,
		                                   &peer, (const char *)data, len);
		if (reply == NULL || (reply != (char *)WARD_CTL_LATER &&
		                      (reply[0] != '{' || strchr(reply, '\n') != NULL)))
			abort();
		if (reply != (char *)WARD_CTL_LATER)
			free(reply);
		if (nl == NULL)
			break;
		size -= len + 1;
		data += len + 1;
	}
	ward_exc_stop(d.exc);
	ward_exc_jobs_finish(d.exc); /* replies to a connection that does not exist: dropped */
	return 0;
}
