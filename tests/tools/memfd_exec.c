/*
 * memfd_exec PROGRAM [ARG...]: copy PROGRAM into an anonymous memfd and run it with
 * fexecve(3), the way fileless malware runs code that exists on no filesystem. Used by
 * tests/integration/agent_ground.sh. Exits 126 with the errno text when the exec fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int in, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: memfd_exec PROGRAM [ARG...]\n");
		return 2;
	}
	if ((in = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "memfd_exec: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if ((fd = memfd_create("warden-memfd-test", MFD_CLOEXEC)) < 0) {
		fprintf(stderr, "memfd_exec: memfd_create: %s\n", strerror(errno));
		return 2;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			fprintf(stderr, "memfd_exec: write: %s\n", strerror(errno));
			return 2;
		}
	close(in);
	fexecve(fd, argv + 1, environ);
	fprintf(stderr, "memfd_exec: fexecve: %s\n", strerror(errno));
	return 126;
}
