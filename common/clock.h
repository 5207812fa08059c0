/* Monotonic time, the clock of every deadline and budget in warden. */
#ifndef WARD_COMMON_CLOCK_H
#define WARD_COMMON_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ward_mono_ns(void);

#endif
