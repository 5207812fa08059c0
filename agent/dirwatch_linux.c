/*
 * Directory watching with inotify (agent/dirwatch.h). inotify(7): a watch on a
 * directory reports events for the names in it; a file replaced by rename(2) (how
 * editors and MDM clients write) is an IN_MOVED_TO in its directory, which a watch on
 * the file itself would miss. Adding a directory already watched returns its wd.
 */
#include "agent/dirwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
                    IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

const char ward_dirwatch_kind[] = "inotify";

struct ward_dirwatch {
	int fd;
};

ward_dirwatch_t *ward_dirwatch_create(void)
{
	ward_dirwatch_t *dw = calloc(1, sizeof(*dw));

	if (dw == NULL)
		return NULL;
	if ((dw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		int e = errno;
		free(dw);
		errno = e;
		return NULL;
	}
	return dw;
}

void ward_dirwatch_destroy(ward_dirwatch_t *dw)
{
	if (dw == NULL)
		return;
	close(dw->fd);
	free(dw);
}

int ward_dirwatch_fd(const ward_dirwatch_t *dw)
{
	return dw->fd;
}

int ward_dirwatch_add(ward_dirwatch_t *dw, const char *dir)
{
	return inotify_add_watch(dw->fd, dir, WATCH_MASK);
}

void ward_dirwatch_rm(ward_dirwatch_t *dw, int id)
{
	inotify_rm_watch(dw->fd, id);
}

void ward_dirwatch_read(ward_dirwatch_t *dw, ward_dirwatch_fn fn, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(dw->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			size_t sz = sizeof(*ev) + ev->len;
			unsigned what = 0;
			if (p + sz > buf + n)
				break;
			p += sz;
			if (ev->mask & IN_Q_OVERFLOW) {
				fn(arg, -1, NULL, WARD_DW_OVERFLOW);
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
				what |= WARD_DW_SELF;
			if (ev->mask & IN_IGNORED)
				what |= WARD_DW_DROPPED;
			if (ev->len)
				what |= WARD_DW_CHANGED;
			fn(arg, ev->wd, ev->len ? ev->name : "", what);
		}
	}
}
