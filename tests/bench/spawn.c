/*
 * The exec benchmark's driver: posix_spawn N programs (cycling through the paths given)
 * one after another, wait for each, and print the mean wall time per exec in
 * microseconds. Any exec that fails or exits non-zero aborts the run (a denied exec
 * would make the figure meaningless). Built by exec.sh.
 *
 * usage: spawn N PATH...
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct timespec a, b;
	long n;

	if (argc < 3 || (n = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: spawn N PATH...\n");
		return 2;
	}
	int npaths = argc - 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		char *path = argv[2 + i % npaths];
		char *args[] = { path, NULL };
		pid_t pid;
		int st, rc = posix_spawn(&pid, path, NULL, NULL, args, environ);
		if (rc != 0) {
			fprintf(stderr, "spawn: %s: %s\n", path, strerror(rc));
			return 1;
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: %s: exited abnormally (status 0x%x)\n", path, st);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3;
	printf("%.1f\n", us / (double)n);
	return 0;
}
