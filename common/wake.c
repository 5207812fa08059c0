/* The main loop's wake-up pipe (common/wake.h). */
#include "common/wake.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static bool set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

bool ward_wake_init(ward_wake_t *w)
{
	int p[2];

	w->rfd = w->wfd = -1;
	if (pipe(p) != 0)
		return false;
	if (!set_flags(p[0]) || !set_flags(p[1])) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return false;
	}
	w->rfd = p[0];
	w->wfd = p[1];
	return true;
}

void ward_wake_close(ward_wake_t *w)
{
	if (w->rfd >= 0)
		close(w->rfd);
	if (w->wfd >= 0)
		close(w->wfd);
	w->rfd = w->wfd = -1;
}

void ward_wake_signal(const ward_wake_t *w)
{
	int e = errno; /* callable from a signal handler: errno is the interrupted code's */
	char one = 1;

	if (w->wfd >= 0)
		(void)!write(w->wfd, &one, 1); /* EAGAIN: full, so readable already */
	errno = e;
}

void ward_wake_drain(const ward_wake_t *w)
{
	char buf[64];

	if (w->rfd < 0)
		return;
	while (read(w->rfd, buf, sizeof(buf)) > 0)
		;
}

int ward_wake_fd(const ward_wake_t *w)
{
	return w->rfd;
}
