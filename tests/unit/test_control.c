/* Unit tests for agent/control.c: request framing, dispatch and privileges. */
#include "tests/unit/testutil.h"

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/control.h"
#include "common/limits.h"

static int calls;

static json_t *h_echo(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	(void)ctx;
	(void)err;
	calls++;
	return json_pack("{s:i, s:O?}", "uid", (int)peer->uid, "arg", json_object_get(req, "arg"));
}

static json_t *h_fail(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	(void)ctx;
	(void)peer;
	(void)req;
	calls++;
	ward_error_set(err, WARD_E_NOTFOUND, "no such rule");
	return NULL;
}

static const ward_ctl_command_t cmds[] = {
	{ "echo", WARD_CTL_ANY, h_echo, "" },
	{ "admin", WARD_CTL_ADMIN, h_echo, "" },
	{ "fail", WARD_CTL_ANY, h_fail, "" },
};

static json_t *run(const ward_ctl_peer_t *peer, const char *line)
{
	char *out = ward_ctl_handle_line(cmds, 3, NULL, peer, line, strlen(line));
	json_t *j;

	assert_non_null(out);
	assert_null(strchr(out, '\n'));
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	return j;
}

static void expect_error(const ward_ctl_peer_t *peer, const char *line, const char *code)
{
	json_t *j = run(peer, line);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "code")), code);
	assert_non_null(json_string_value(json_object_get(j, "error")));
	json_decref(j);
}

static void test_dispatch_and_id(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 };
	json_t *j;
	(void)state;

	calls = 0;
	j = run(&user, "{\"cmd\":\"echo\",\"arg\":[1,2],\"id\":\"x7\"}\r");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "uid")), 1000);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "x7");
	assert_int_equal(json_array_size(json_object_get(j, "arg")), 2);
	json_decref(j);
	expect_error(&user, "{\"cmd\":\"fail\"}", "not found");
	assert_int_equal(calls, 2);
}

static void test_privilege_from_the_peer_not_the_request(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 }, root = { .uid = 0, .admin = true };
	json_t *j;
	(void)state;

	calls = 0;
	expect_error(&user, "{\"cmd\":\"admin\"}", "permission denied");
	expect_error(&user, "{\"cmd\":\"admin\",\"uid\":0,\"admin\":true}", "permission denied");
	assert_int_equal(calls, 0); /* the handler never ran */
	j = run(&root, "{\"cmd\":\"admin\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
}

static void test_malformed(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 };
	char *big, *out;
	(void)state;

	calls = 0;
	expect_error(&user, "", "malformed");
	expect_error(&user, "nope", "malformed");
	expect_error(&user, "[\"cmd\",\"echo\"]", "malformed");
	expect_error(&user, "{\"cmd\":1}", "malformed");
	expect_error(&user, "{\"arg\":1}", "malformed");
	expect_error(&user, "{\"cmd\":\"echo\",\"cmd\":\"admin\"}", "malformed");
	expect_error(&user, "{\"cmd\":\"echo\"} trailing", "malformed");
	expect_error(&user, "{\"cmd\":\"nope\"}", "not found");
	out = ward_ctl_handle_line(cmds, 3, NULL, &user, "{\"cmd\":\"echo\"\0}", 15);
	assert_non_null(strstr(out, "\"ok\":false"));
	free(out);
	big = malloc(WARD_MAX_CTL_MESSAGE + 2);
	memset(big, ' ', WARD_MAX_CTL_MESSAGE + 1);
	memcpy(big, "{\"cmd\":\"echo\"}", 14);
	out = ward_ctl_handle_line(cmds, 3, NULL, &user, big, WARD_MAX_CTL_MESSAGE + 1);
	assert_non_null(strstr(out, "limit exceeded"));
	free(out);
	free(big);
	assert_int_equal(calls, 0);
}

static void test_group_membership_from_captured_groups(void **state)
{
	ward_ctl_peer_t root = { .uid = 0 }, user = { .uid = 1000, .gid = 1000 };

	(void)state;
	assert_true(ward_ctl_peer_in_group(&root, (gid_t)-1));
	assert_false(ward_ctl_peer_in_group(&user, (gid_t)-1));
	assert_false(ward_ctl_peer_in_group(&user, 4242));
	user.gid = 4242;
	assert_true(ward_ctl_peer_in_group(&user, 4242));
	user.gid = 1000;
	user.groups[0] = 10;
	user.groups[1] = 4242;
	user.ngroups = 2;
	assert_true(ward_ctl_peer_in_group(&user, 4242));
	user.groups_truncated = true; /* a list not read whole grants nothing */
	assert_false(ward_ctl_peer_in_group(&user, 4242));
}

/* A real server: connect from a child that takes uid 1000 with groups {4242}, then
 * exits before the server accepts. The server still knows the groups (SO_PEERGROUPS);
 * and that uid gets WARD_CTL_CLIENTS_PER_UID connections while root still gets in. */
static char sock_path[108];
static uint64_t now_ms;

static void pump(ward_ctl_server_t *srv)
{
	struct pollfd pfd[1 + WARD_MAX_CTL_CLIENTS];
	size_t n = ward_ctl_pollfds(srv, pfd, 1 + WARD_MAX_CTL_CLIENTS);

	(void)poll(pfd, n, 200);
	ward_ctl_dispatch(srv, pfd, n, now_ms);
}

static json_t *h_whoami(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	(void)ctx;
	(void)req;
	(void)err;
	return json_pack("{s:i, s:b, s:i}", "uid", (int)peer->uid, "admin", peer->admin, "ngroups",
	                 (int)peer->ngroups);
}

static const ward_ctl_command_t who_cmds[] = { { "who", WARD_CTL_ANY, h_whoami, "" } };

static void test_server_captures_groups_and_caps_users(void **state)
{
	ward_ctl_server_t *srv = NULL;
	ward_error_t err = { 0 };
	int sv[2], fds[WARD_MAX_CTL_CLIENTS + 8];
	char buf[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(sock_path, sizeof(sock_path), "/tmp/warden-test-ctl.%d", (int)getpid());
	assert_int_equal(ward_ctl_listen(sock_path, who_cmds, 1, NULL, 4242, &srv, &err), WARD_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the connecting child: uid 1000, groups {4242}; hands its sockets up, exits */
		gid_t g = 4242;
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
		if (setgroups(1, &g) != 0 || setgid(1000) != 0 || setuid(1000) != 0)
			_exit(2);
		for (int i = 0; i < 8; i++) {
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
				_exit(3);
			char cbuf[CMSG_SPACE(sizeof(int))];
			struct iovec iov = { .iov_base = "x", .iov_len = 1 };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			                     .msg_controllen = sizeof(cbuf) };
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
			if (sendmsg(sv[1], &mh, 0) != 1)
				_exit(4);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 8; i++) {
		char c, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		                     .msg_controllen = sizeof(cbuf) };
		assert_int_equal(recvmsg(sv[0], &mh, 0), 1);
		memcpy(&fds[i], CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	}
	/* the child is gone: accept now */
	for (int k = 0; k < 4; k++)
		pump(srv);
	assert_int_equal(ward_ctl_refused(srv), 8 - WARD_CTL_CLIENTS_PER_UID);
	/* the first connection answers: uid 1000, admin through group 4242 */
	assert_true(write(fds[0], "{\"cmd\":\"who\"}\n", 14) == 14);
	pump(srv);
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "uid")), 1000);
	assert_true(json_is_true(json_object_get(j, "admin")));
	assert_int_equal(json_integer_value(json_object_get(j, "ngroups")), 1);
	json_decref(j);
	/* root still gets in */
	int rfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	assert_int_equal(connect(rfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pump(srv);
	assert_true(write(rfd, "{\"cmd\":\"who\"}\n", 14) == 14);
	pump(srv);
	n = read(rfd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"ok\":true"));
	assert_non_null(strstr(buf, "\"uid\":0"));
	close(rfd);
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	ward_ctl_close(srv);
}

/* Lines parsed on the confined parser thread give the same replies (run last: the
 * thread stays for the rest of the process). */
static void test_parser_thread(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 };
	json_t *j;

	(void)state;
	assert_true(ward_ctl_start_parser());
	j = run(&user, "{\"cmd\":\"echo\",\"arg\":[1,2],\"id\":9}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 9);
	json_decref(j);
	expect_error(&user, "{\"cmd\":\"echo\",\"cmd\":\"admin\"}", "malformed");
	expect_error(&user, "not json", "malformed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_id),
		cmocka_unit_test(test_privilege_from_the_peer_not_the_request),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_group_membership_from_captured_groups),
		cmocka_unit_test(test_server_captures_groups_and_caps_users),
		cmocka_unit_test(test_parser_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
