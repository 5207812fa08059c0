/* Monotonic time (common/clock.h). */
#include "common/clock.h"

#include <time.h>

uint64_t ward_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
