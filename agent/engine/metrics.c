/*
 * Metrics. The histogram is log-linear: values below 8 us have a bucket each; above,
 * each power of two is split into 8 equal sub-buckets, so a quantile read from it is at
 * most 12.5% high. Values past the last bucket land in it.
 */
#include "agent/engine/metrics.h"

#include <string.h>

void ward_metrics_init(ward_metrics_t *m)
{
	memset(m, 0, sizeof(*m));
}

void ward_metrics_decision(ward_metrics_t *m, const ward_verdict_t *v)
{
	unsigned d = v->decision == WARD_DENY ? 1 : 0;
	unsigned r = (unsigned)v->reason < WARD_RSN__COUNT ? (unsigned)v->reason : WARD_RSN_ERROR;

	atomic_fetch_add_explicit(&m->decisions[d][r], 1, memory_order_relaxed);
}

unsigned ward_metrics_bucket(uint64_t us)
{
	unsigned msb, b;

	if (us < WARD_HIST_SUB)
		return (unsigned)us;
	msb = 63u - (unsigned)__builtin_clzll(us);           /* >= 3 */
	b = (msb - 2u) * WARD_HIST_SUB + (unsigned)((us >> (msb - 3u)) & (WARD_HIST_SUB - 1));
	return b < WARD_HIST_BUCKETS ? b : WARD_HIST_BUCKETS - 1;
}

uint64_t ward_metrics_bucket_upper(unsigned b)
{
	unsigned msb, sub;

	if (b < WARD_HIST_SUB)
		return b;
	msb = b / WARD_HIST_SUB + 2u;
	sub = b % WARD_HIST_SUB;
	return ((uint64_t)(WARD_HIST_SUB + sub + 1) << (msb - 3u)) - 1;
}

void ward_metrics_latency(ward_metrics_t *m, uint64_t us)
{
	uint64_t cur = atomic_load_explicit(&m->lat_max_us, memory_order_relaxed);

	atomic_fetch_add_explicit(&m->hist[ward_metrics_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
	while (us > cur && !atomic_compare_exchange_weak_explicit(&m->lat_max_us, &cur, us,
	                                                          memory_order_relaxed,
	                                                          memory_order_relaxed))
		;
}

uint64_t ward_metrics_quantile(const ward_metrics_t *m, double q)
{
	uint64_t counts[WARD_HIST_BUCKETS], total = 0, seen = 0, rank;

	for (unsigned b = 0; b < WARD_HIST_BUCKETS; b++) {
		counts[b] = atomic_load_explicit(&m->hist[b], memory_order_relaxed);
		total += counts[b];
	}
	if (total == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < WARD_HIST_BUCKETS; b++) {
		seen += counts[b];
		if (seen >= rank) {
			uint64_t up = ward_metrics_bucket_upper(b);
			uint64_t max = atomic_load_explicit(&m->lat_max_us, memory_order_relaxed);
			return up < max ? up : max;
		}
	}
	return atomic_load_explicit(&m->lat_max_us, memory_order_relaxed);
}
