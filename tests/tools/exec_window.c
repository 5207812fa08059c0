/*
 * exec_window: reproduce the window between the agent's answer to an exec and
 * execve's deny_write_access (docs/threat-model.md, "Time, shares and stale answers"),
 * for tests/integration/attack_exec_window.sh.
 *
 *   exec_window TARGET NEWFILE EVLOG UID GID TRIES
 *
 * A child (as UID:GID) executes TARGET. This program holds a fanotify group of its own
 * with FAN_OPEN_PERM on TARGET's inode only: the kernel asks every group about an
 * exec's FAN_OPEN_EXEC_PERM first (the agent decides there) and only then about the
 * same open's FAN_OPEN_PERM (fsnotify_open_perm), so this program is asked after the
 * agent answered and before execve denies writes to the file. To be sure, it waits (at
 * most 300 ms) for the agent's event-log record of that exec (the agent logs after it
 * answered; run it with EventLogAllows). Record there: the agent allowed the exec, so
 * it overwrites TARGET with NEWFILE's bytes and then allows. No record (the agent was
 * slow to log): it allows without touching anything and tries again, with a new group
 * (the previous one kept open, unmarked).
 *
 * Safety: only TARGET's inode is marked; every event is answered; the child holds no
 * group across its exec; alarm(120) ends it (the kernel answers a closed group's
 * pending events with allow).
 *
 * Prints "RESULT <what>" and exits 0 once it rewrote TARGET: new-ran (the child exited
 * 42, NEWFILE's code), stopped-eperm (execve failed with EPERM), stopped-killed
 * (SIGKILL), orig-ran (exit 0), other-<status>. Exits 3 when it was never asked after
 * the agent (RESULT no-window), 2 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIES 64

static char newbuf[1 << 22];
static size_t newlen;

static void die(const char *what)
{
	fprintf(stderr, "exec_window: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Whether the event log has a line with "pid":PID (jansson writes it with or without
 * a space). */
static int logged(const char *evlog, pid_t pid)
{
	static char buf[1 << 20];
	char pat[32], pat2[32];
	size_t n;
	FILE *f = fopen(evlog, "re");
	int found = 0;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(pat, sizeof(pat), "\"pid\":%d,", (int)pid);
	snprintf(pat2, sizeof(pat2), "\"pid\": %d,", (int)pid);
	if (strstr(buf, pat) || strstr(buf, pat2))
		found = 1;
	return found;
}

/* Through the event's descriptor (opened read-write, and without events: opening the
 * file again would ask this very group, which waits on itself). */
static void rewrite(int fd)
{
	if (ftruncate(fd, 0) != 0)
		die("truncate target");
	if (pwrite(fd, newbuf, newlen, 0) != (ssize_t)newlen)
		die("write target");
}

int main(int argc, char **argv)
{
	int groups[MAX_TRIES], ngroups = 0, tries, fd;
	uid_t uid;
	gid_t gid;

	if (argc != 7) {
		fprintf(stderr, "usage: exec_window TARGET NEWFILE EVLOG UID GID TRIES\n");
		return 2;
	}
	alarm(120);
	uid = (uid_t)atoi(argv[4]);
	gid = (gid_t)atoi(argv[5]);
	tries = atoi(argv[6]);
	if (tries < 1 || tries > MAX_TRIES)
		tries = MAX_TRIES;
	if ((fd = open(argv[2], O_RDONLY | O_CLOEXEC)) < 0)
		die("open NEWFILE");
	{
		ssize_t n = read(fd, newbuf, sizeof(newbuf));
		if (n <= 0)
			die("read NEWFILE");
		newlen = (size_t)n;
		close(fd);
	}
	for (int t = 0; t < tries; t++) {
		int g = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDWR | O_CLOEXEC);
		int rewritten = 0, status;
		pid_t child;

		if (g < 0)
			die("fanotify_init");
		if (fanotify_mark(g, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, argv[1]) != 0)
			die("fanotify_mark");
		/* The previous group stays open (another address for this one), unmarked. */
		if (ngroups > 0)
			(void)fanotify_mark(groups[ngroups - 1], FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
		groups[ngroups++] = g;

		if ((child = fork()) < 0)
			die("fork");
		if (child == 0) {
			/* not one of the groups across the exec: it would wait on itself */
			for (int i = 0; i < ngroups; i++)
				close(groups[i]);
			if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
				_exit(125);
			execl(argv[1], argv[1], (char *)NULL);
			_exit(errno == EPERM ? 126 : 127);
		}
		/* Answer every event until the child is gone. */
		for (;;) {
			struct pollfd p = { .fd = g, .events = POLLIN };
			char buf[4096] __attribute__((aligned(8)));
			ssize_t n;
			pid_t w = waitpid(child, &status, WNOHANG);

			if (w == child)
				break;
			if (poll(&p, 1, 50) <= 0)
				continue;
			n = read(g, buf, sizeof(buf));
			if (n <= 0)
				continue;
			for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n);
			     m = FAN_EVENT_NEXT(m, n)) {
				struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };

				if (m->pid == child && !rewritten) {
					/* asked after the agent? its record follows its answer */
					for (int i = 0; i < 30 && !logged(argv[3], child); i++)
						usleep(10000);
					if (logged(argv[3], child) && m->fd >= 0) {
						rewrite(m->fd);
						rewritten = 1;
					}
				}
				/* closed before the answer: execve then denies writes (ETXTBSY) */
				if (m->fd >= 0)
					close(m->fd);
				if (write(g, &r, sizeof(r)) != sizeof(r))
					die("fanotify response");
			}
		}
		if (!rewritten)
			continue;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 42)
			printf("RESULT new-ran\n");
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
			printf("RESULT stopped-eperm\n");
		else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			printf("RESULT stopped-killed\n");
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			printf("RESULT orig-ran\n");
		else
			printf("RESULT other-%d\n", status);
		printf("TRIES %d\n", t + 1);
		return 0;
	}
	printf("RESULT no-window\n");
	return 3;
}
