/*
 * Counters and the decision-latency histogram. Lock-free (relaxed atomics): workers
 * and the reader update them on every event; `wardenctl status` reads a snapshot.
 */
#ifndef WARD_AGENT_METRICS_H
#define WARD_AGENT_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "agent/engine/verdict.h"

/* Log-linear buckets: 8 sub-buckets per power of two, 1 us .. ~2^31 us. */
#define WARD_HIST_SUB     8u
#define WARD_HIST_BUCKETS (32u * WARD_HIST_SUB)

typedef struct ward_metrics {
	_Atomic uint64_t decisions[2][WARD_RSN__COUNT]; /* [decision][reason] */
	_Atomic uint64_t events;          /* permission events read */
	_Atomic uint64_t deadline_misses; /* answered by the deadline keeper */
	_Atomic uint64_t late_verdicts;   /* a worker finished after the keeper answered */
	_Atomic uint64_t queue_full;      /* answered at once because the queue was full */
	_Atomic uint64_t respond_errors;  /* writes of a response that failed */
	_Atomic uint64_t identity_errors; /* target unreadable or vanished */
	_Atomic uint64_t kernel_cache_adds;
	_Atomic uint64_t kernel_cache_flushes;
	_Atomic uint64_t index_rebuilds;
	_Atomic uint64_t forgotten;       /* modified-file notifications that evicted */
	_Atomic uint64_t changed_while_deciding; /* a write raced a decision: decided again */
	_Atomic uint64_t reader_decisions; /* cold execs the event reader decided itself */
	_Atomic uint64_t hist[WARD_HIST_BUCKETS];
	_Atomic uint64_t lat_count;
	_Atomic uint64_t lat_max_us;
} ward_metrics_t;

void ward_metrics_init(ward_metrics_t *m);
void ward_metrics_decision(ward_metrics_t *m, const ward_verdict_t *v);
void ward_metrics_latency(ward_metrics_t *m, uint64_t us);

/* Latency (us) at quantile q in [0,1] from the histogram: the upper edge of the bucket
 * holding it (so within 12.5% above the true value). 0 when nothing was recorded. */
uint64_t ward_metrics_quantile(const ward_metrics_t *m, double q);

/* Bucket index of a latency and the largest value that bucket holds (exposed for tests). */
unsigned ward_metrics_bucket(uint64_t us);
uint64_t ward_metrics_bucket_upper(unsigned b);

#endif
