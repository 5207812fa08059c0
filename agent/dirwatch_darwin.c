/*
 * Directory watching with kqueue (agent/dirwatch.h), macOS. kqueue(2) EVFILT_VNODE
 * watches an open descriptor, not a name: a directory's descriptor reports NOTE_WRITE
 * when an entry is created, removed or renamed in it (which entry is not said), and
 * NOTE_DELETE / NOTE_RENAME / NOTE_REVOKE when the directory itself goes. A file
 * written in place changes no directory entry, so every regular file of a watched
 * directory has its own descriptor too (O_EVTONLY: it does not keep the volume from
 * unmounting), reopened whenever the directory changes. A kqueue descriptor is
 * pollable (xnu's kqueueops has fo_select and fo_kqfilter), so the main loop polls it
 * like inotify's.
 */
#include "agent/dirwatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

const char ward_dirwatch_kind[] = "kqueue";

#define MAX_DIRS 16
#define DIR_NOTES  (NOTE_WRITE | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE | NOTE_ATTRIB | \
                    NOTE_EXTEND | NOTE_LINK)
#define FILE_NOTES (NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_DELETE | NOTE_RENAME | \
                    NOTE_REVOKE)

struct wfile {
	int fd;
	char name[NAME_MAX + 1];
};

struct wdir {
	int fd;                  /* -1: slot free */
	unsigned gen;            /* bumped at every (re)scan: events of older files are stale */
	size_t nfiles;
	struct wfile *files;     /* WARD_DIRWATCH_MAX_FILES */
};

struct ward_dirwatch {
	int kq;
	struct wdir dirs[MAX_DIRS];
};

/* udata: slot (8 bits), file index + 1 (0 = the directory; 16 bits), generation. */
static void *tag(unsigned slot, unsigned file, unsigned gen)
{
	return (void *)(uintptr_t)(((uint64_t)gen << 24) | ((uint64_t)file << 8) | slot);
}

static bool arm(ward_dirwatch_t *dw, int fd, unsigned notes, void *udata)
{
	struct kevent kev;

	EV_SET(&kev, (uintptr_t)fd, EVFILT_VNODE, EV_ADD | EV_CLEAR, notes, 0, udata);
	return kevent(dw->kq, &kev, 1, NULL, 0, NULL) == 0;
}

static void close_files(struct wdir *d)
{
	for (size_t i = 0; i < d->nfiles; i++)
		close(d->files[i].fd); /* closing drops the descriptor's knotes */
	d->nfiles = 0;
}

/* (Re)open every regular, non-hidden file of slot's directory for in-place writes. */
static void scan(ward_dirwatch_t *dw, unsigned slot)
{
	struct wdir *d = &dw->dirs[slot];
	struct dirent *de;
	DIR *dir;
	int dfd;

	close_files(d);
	d->gen++;
	/* a descriptor of its own to list the directory (the watch's is O_EVTONLY) */
	if ((dfd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((dir = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(dir)) != NULL && d->nfiles < WARD_DIRWATCH_MAX_FILES) {
		struct stat sb;
		int fd;
		if (de->d_name[0] == '.' || strlen(de->d_name) > NAME_MAX)
			continue;
		fd = openat(d->fd, de->d_name, O_EVTONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    !arm(dw, fd, FILE_NOTES, tag(slot, (unsigned)d->nfiles + 1, d->gen))) {
			close(fd);
			continue;
		}
		d->files[d->nfiles].fd = fd;
		snprintf(d->files[d->nfiles].name, sizeof(d->files[d->nfiles].name), "%s", de->d_name);
		d->nfiles++;
	}
	closedir(dir);
}

ward_dirwatch_t *ward_dirwatch_create(void)
{
	ward_dirwatch_t *dw = calloc(1, sizeof(*dw));

	if (dw == NULL)
		return NULL;
	if ((dw->kq = kqueue()) < 0) {
		int e = errno;
		free(dw);
		errno = e;
		return NULL;
	}
	(void)fcntl(dw->kq, F_SETFD, FD_CLOEXEC);
	for (unsigned i = 0; i < MAX_DIRS; i++)
		dw->dirs[i].fd = -1;
	return dw;
}

void ward_dirwatch_destroy(ward_dirwatch_t *dw)
{
	if (dw == NULL)
		return;
	for (unsigned i = 0; i < MAX_DIRS; i++)
		ward_dirwatch_rm(dw, (int)i);
	close(dw->kq);
	free(dw);
}

int ward_dirwatch_fd(const ward_dirwatch_t *dw)
{
	return dw->kq;
}

int ward_dirwatch_add(ward_dirwatch_t *dw, const char *dir)
{
	unsigned slot;
	int fd;

	for (slot = 0; slot < MAX_DIRS && dw->dirs[slot].fd >= 0; slot++)
		;
	if (slot == MAX_DIRS) {
		errno = ENOSPC;
		return -1;
	}
	if ((fd = open(dir, O_EVTONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (dw->dirs[slot].files == NULL &&
	    (dw->dirs[slot].files = calloc(WARD_DIRWATCH_MAX_FILES, sizeof(struct wfile))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	dw->dirs[slot].fd = fd;
	dw->dirs[slot].nfiles = 0;
	if (!arm(dw, fd, DIR_NOTES, tag(slot, 0, 0))) {
		int e = errno;
		close(fd);
		dw->dirs[slot].fd = -1;
		errno = e;
		return -1;
	}
	scan(dw, slot);
	return (int)slot;
}

void ward_dirwatch_rm(ward_dirwatch_t *dw, int id)
{
	struct wdir *d;

	if (id < 0 || id >= MAX_DIRS || dw->dirs[id].fd < 0)
		return;
	d = &dw->dirs[id];
	close_files(d);
	close(d->fd);
	d->fd = -1;
	free(d->files);
	d->files = NULL;
}

void ward_dirwatch_read(ward_dirwatch_t *dw, ward_dirwatch_fn fn, void *arg)
{
	struct kevent evs[32];
	const struct timespec zero = { 0, 0 };
	int n;

	while ((n = kevent(dw->kq, NULL, 0, evs, 32, &zero)) > 0) {
		for (int i = 0; i < n; i++) {
			uint64_t t = (uint64_t)(uintptr_t)evs[i].udata;
			unsigned slot = (unsigned)(t & 0xff), file = (unsigned)((t >> 8) & 0xffff);
			unsigned gen = (unsigned)(t >> 24), fflags = evs[i].fflags;
			struct wdir *d = slot < MAX_DIRS ? &dw->dirs[slot] : NULL;

			if (d == NULL || d->fd < 0 || (evs[i].flags & EV_ERROR))
				continue;
			if (file == 0) {
				if (fflags & (NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE)) {
					/* gone or moved: the descriptor now names something else */
					ward_dirwatch_rm(dw, (int)slot);
					fn(arg, (int)slot, "", WARD_DW_SELF | WARD_DW_DROPPED);
					continue;
				}
				scan(dw, slot); /* entries came or went: watch the files there now */
				fn(arg, (int)slot, NULL, WARD_DW_CHANGED);
				continue;
			}
			if (gen != d->gen || file > d->nfiles)
				continue; /* a file of an earlier scan */
			fn(arg, (int)slot, d->files[file - 1].name, WARD_DW_CHANGED);
		}
	}
}
