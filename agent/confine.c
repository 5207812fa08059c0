/* The unclean-exit counter (confine.h); the confinement itself is per platform:
 * confine_linux.c (seccomp), confine_darwin.c (none). */
#include "agent/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"

/* ---------------------------------------------------------------- unclean exits */

static char marker[PATH_MAX], counter[PATH_MAX];
static uint64_t unclean;
static int64_t last_unclean;

void ward_crashes_start(const char *state_dir)
{
	char buf[64];
	FILE *f;
	int fd;

	if (state_dir == NULL || state_dir[0] == '\0' ||
	    snprintf(marker, sizeof(marker), "%s/running", state_dir) >= (int)sizeof(marker) ||
	    snprintf(counter, sizeof(counter), "%s/unclean-exits", state_dir) >= (int)sizeof(counter)) {
		marker[0] = counter[0] = '\0';
		return;
	}
	if ((f = fopen(counter, "re")) != NULL) {
		unsigned long long n = 0;
		long long t = 0;
		if (fgets(buf, sizeof(buf), f) != NULL && sscanf(buf, "%llu %lld", &n, &t) >= 1) {
			unclean = n;
			last_unclean = t;
		}
		fclose(f);
	}
	if (access(marker, F_OK) == 0) {
		char tmp[PATH_MAX + 8];
		unclean++;
		last_unclean = (int64_t)time(NULL);
		log_warnx("the previous run of wardend did not stop cleanly (unclean exit %llu; a "
		          "crash, a confined thread's forbidden system call, or SIGKILL)",
		          (unsigned long long)unclean);
		snprintf(tmp, sizeof(tmp), "%s.tmp", counter);
		if ((f = fopen(tmp, "we")) != NULL) {
			fprintf(f, "%llu %lld\n", (unsigned long long)unclean, (long long)last_unclean);
			if (fclose(f) != 0 || rename(tmp, counter) != 0)
				log_warn("%s", counter);
		} else {
			log_warn("%s", tmp);
		}
	}
	if ((fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		log_warn("%s (unclean exits will not be counted)", marker);
	else
		close(fd);
}

void ward_crashes_clean_exit(void)
{
	if (marker[0] != '\0')
		unlink(marker);
}

json_t *ward_crashes_status(void)
{
	return json_pack("{s:I, s:o}", "unclean_exits", (json_int_t)unclean, "last_unclean_exit",
	                 last_unclean ? json_integer(last_unclean) : json_null());
}
