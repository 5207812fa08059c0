/* Signals through a sigwait thread and a pipe (common/sigwatch.h). */
#include "common/sigwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* The thread's own wake-up to stop: a signal outside the set would be default-handled,
 * so the thread is stopped with pthread_kill of a signal in the set it waits for, and
 * a flag saying it is not a real one. */
struct ward_sigwatch {
	sigset_t set;
	int first;          /* a signal of the set, used to stop the thread */
	int rfd, wfd;
	pthread_t thr;
	volatile int stopping;
};

static bool make_set(const int *signos, size_t n, sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < n; i++)
		if (sigaddset(set, signos[i]) != 0)
			return false;
	return true;
}

bool ward_sigwatch_block(const int *signos, size_t n)
{
	sigset_t set;

	if (!make_set(signos, n, &set))
		return false;
	signal(SIGPIPE, SIG_IGN);
	errno = pthread_sigmask(SIG_BLOCK, &set, NULL);
	return errno == 0;
}

static void *run(void *arg)
{
	ward_sigwatch_t *sw = arg;

	for (;;) {
		int sig = 0;
		if (sigwait(&sw->set, &sig) != 0)
			continue;
		if (__atomic_load_n(&sw->stopping, __ATOMIC_ACQUIRE))
			return NULL;
		unsigned char b = (unsigned char)sig;
		/* a full pipe (255 signals unread) drops this one: the loop is behind, and
		 * what it has not read yet already says stop or reload */
		(void)!write(sw->wfd, &b, 1);
	}
}

static bool set_flags(int fd, bool nonblock)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (!nonblock || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) &&
	       fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

bool ward_sigwatch_start(const int *signos, size_t n, ward_sigwatch_t **out)
{
	ward_sigwatch_t *sw;
	int p[2], e;

	*out = NULL;
	if (n == 0 || (sw = calloc(1, sizeof(*sw))) == NULL) {
		errno = n == 0 ? EINVAL : ENOMEM;
		return false;
	}
	if (!make_set(signos, n, &sw->set) || pipe(p) != 0) {
		e = errno;
		free(sw);
		errno = e;
		return false;
	}
	sw->first = signos[0];
	sw->rfd = p[0];
	sw->wfd = p[1];
	if (!set_flags(p[0], true) || !set_flags(p[1], true) ||
	    (errno = pthread_create(&sw->thr, NULL, run, sw)) != 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		free(sw);
		errno = e;
		return false;
	}
	*out = sw;
	return true;
}

int ward_sigwatch_fd(const ward_sigwatch_t *sw)
{
	return sw->rfd;
}

size_t ward_sigwatch_read(ward_sigwatch_t *sw, int *out, size_t cap)
{
	unsigned char b[64];
	size_t got = 0;
	ssize_t r;

	while (got < cap) {
		size_t want = cap - got < sizeof(b) ? cap - got : sizeof(b);
		if ((r = read(sw->rfd, b, want)) <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			out[got++] = b[i];
	}
	return got;
}

void ward_sigwatch_destroy(ward_sigwatch_t *sw)
{
	if (sw == NULL)
		return;
	__atomic_store_n(&sw->stopping, 1, __ATOMIC_RELEASE);
	pthread_kill(sw->thr, sw->first);
	pthread_join(sw->thr, NULL);
	close(sw->rfd);
	close(sw->wfd);
	free(sw);
}
