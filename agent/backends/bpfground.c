/*
 * The ground under fanotify: loads bpfground.bpf.c (libbpf skeleton, CO-RE), keeps its
 * mode in step with the policy, reads its reports. See bpfground.h for the contract.
 *
 * Is the BPF LSM running? An LSM program attaches on any kernel built with
 * CONFIG_BPF_LSM, but its hooks only run when "bpf" is in the boot-time LSM list. We
 * ask the kernel with lsm_list_modules(2) (Linux 6.8), else read
 * /sys/kernel/security/lsm (securityfs may not be mounted); when neither answers, the
 * program is attached and the "calls" counter shows whether it runs.
 */
#include "agent/backends/bpfground.h"

#include <errno.h>
#include <linux/types.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/backends/bpfground_abi.h"
#include "bpfground.skel.h" /* generated: $(BUILD)/bpf/bpfground.skel.h */

#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461 /* the same on every architecture since 6.8 */
#endif
#define LSM_ID_BPF 110 /* uapi/linux/lsm.h */

struct ward_bpfground {
	ward_ground_state_t state;
	char reason[1024];
	int lsm_listed;               /* 1 yes, 0 no, -1 unknown */
	struct bpfground *skel;
	bool lsm_hook;                /* the LSM program (EPERM); false: the tracepoint (SIGKILL) */
	char lsm_error[256];          /* why the LSM program did not load, if it did not */
	bool kprobe;                  /* tracepoint: the kprobe checks changes (ground_cfg.kprobe) */
	char kprobe_error[256];       /* why the kprobe did not load or attach, if it did not */
	struct ring_buffer *rb;
	int cfg_fd;
	int stats_fd;
	int decided_fd;               /* ground_decided */
	int stopfd;
	pthread_t reader;
	bool reader_started;
	uint32_t scope[WARD_GROUND_MAX_SCOPE_UIDS];
	size_t nscope;
	pthread_mutex_t mode_mu;
	ward_ground_report_fn report;
	void *report_arg;
	_Atomic uint64_t reported;
	_Atomic uint64_t noted;       /* ground_decided writes */
};

/* libbpf's diagnostics: kept (last line) for the reason instead of printed. */
static _Thread_local char libbpf_last[256];

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[sizeof(libbpf_last)];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	/* fmt is libbpf's own format string, not outside input. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(line, sizeof(line), fmt, ap);
#pragma GCC diagnostic pop
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0)
		memcpy(libbpf_last, line, n + 1);
	return 0;
}

/* 1: the kernel runs the BPF LSM, 0: it does not, -1: cannot tell. */
static int bpf_lsm_listed(void)
{
	__u64 ids[32];
	__u32 size = sizeof(ids);
	long n = syscall(__NR_lsm_list_modules, ids, &size, 0);
	char buf[512];
	FILE *f;

	if (n >= 0) {
		for (long i = 0; i < n && i < 32; i++)
			if (ids[i] == LSM_ID_BPF)
				return 1;
		return 0;
	}
	if ((f = fopen("/sys/kernel/security/lsm", "re")) == NULL)
		return -1;
	n = (long)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, ",\n", &save); t; t = strtok_r(NULL, ",\n", &save))
		if (strcmp(t, "bpf") == 0)
			return 1;
	return 0;
}

/*
 * Open and load one of the two programs (bpfground.bpf.c): the LSM hook, or the
 * sched_process_exec tracepoint fallback for kernels that refuse LSM programs. 0 or -1 (errno set).
 */
static int load(ward_bpfground_t *g, bool lsm, bool kprobe)
{
	int e;

	libbpf_last[0] = '\0';
	if ((g->skel = bpfground__open()) == NULL)
		return -1;
	bpf_program__set_autoload(lsm ? g->skel->progs.ward_ground_tp : g->skel->progs.ward_ground_lsm, false);
	/* the tracepoint's companion kprobe, when it loads */
	bpf_program__set_autoload(g->skel->progs.ward_ground_kp, !lsm && kprobe);
	if (bpfground__load(g->skel) == 0) {
		g->lsm_hook = lsm;
		return 0;
	}
	e = errno;
	if (!lsm && kprobe)
		snprintf(g->kprobe_error, sizeof(g->kprobe_error), "loading: %.64s%s%.160s%s", strerror(e),
		         libbpf_last[0] ? " (libbpf: " : "", libbpf_last, libbpf_last[0] ? ")" : "");
	if (lsm)
		snprintf(g->lsm_error, sizeof(g->lsm_error), "%.64s%s%.160s%s", strerror(e),
		         libbpf_last[0] ? " (libbpf: " : "", libbpf_last, libbpf_last[0] ? ")" : "");
	bpfground__destroy(g->skel);
	g->skel = NULL;
	errno = e;
	return -1;
}

static __u32 ground_mode(ward_mode_t m)
{
	return m == WARD_MODE_LOCKDOWN ? WARD_GROUND_LOCKDOWN : WARD_GROUND_MONITOR;
}

static int write_cfg(ward_bpfground_t *g, ward_mode_t mode)
{
	__u32 zero = 0;
	struct ward_ground_cfg c = { .mode = ground_mode(mode), .scoped = g->nscope > 0, .kprobe = g->kprobe };

	return bpf_map_update_elem(g->cfg_fd, &zero, &c, BPF_ANY);
}

/* Give up: unload what was loaded (nothing stays attached) and say why. */
static void set_failed(ward_bpfground_t *g, ward_ground_state_t st, const char *what, int e)
{
	ring_buffer__free(g->rb);
	g->rb = NULL;
	bpfground__destroy(g->skel);
	g->skel = NULL;
	g->cfg_fd = g->stats_fd = g->decided_fd = -1;
	g->state = st;
	snprintf(g->reason, sizeof(g->reason), "%.64s: %.64s%s%.255s%s", what, strerror(e),
	         libbpf_last[0] ? " (libbpf: " : "", libbpf_last, libbpf_last[0] ? ")" : "");
}

static int on_event(void *ctx, void *data, size_t len)
{
	ward_bpfground_t *g = ctx;
	const struct ward_ground_event *e = data;
	ward_ground_report_t r = { 0 };

	if (len < sizeof(*e))
		return 0;
	r.pid = (pid_t)e->pid;
	r.uid = (uid_t)e->uid;
	r.denied = e->denied != 0;
	r.userns = e->why == WARD_GROUND_USERNS;
	r.changed = e->why == WARD_GROUND_CHANGED;
	r.dev = e->dev;
	r.ino = e->ino;
	/* The strings come from the kernel NUL-terminated; copy with bounds anyway. */
	snprintf(r.comm, sizeof(r.comm), "%.*s", (int)sizeof(e->comm), e->comm);
	snprintf(r.fstype, sizeof(r.fstype), "%.*s", (int)sizeof(e->fstype), e->fstype);
	snprintf(r.filename, sizeof(r.filename), "%.*s", (int)sizeof(e->filename), e->filename);
	atomic_fetch_add(&g->reported, 1);
	if (g->report)
		g->report(g->report_arg, &r);
	return 0;
}

static void *reader_main(void *arg)
{
	ward_bpfground_t *g = arg;
	struct pollfd pfd[2] = {
		{ .fd = ring_buffer__epoll_fd(g->rb), .events = POLLIN },
		{ .fd = g->stopfd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		(void)ring_buffer__consume(g->rb);
		if (pfd[1].revents)
			break;
	}
	return NULL;
}

ward_err_t ward_bpfground_open(const ward_bpfground_opts_t *opts, ward_bpfground_t **out,
                               ward_error_t *err)
{
	ward_bpfground_t *g = calloc(1, sizeof(*g));
	struct bpf_link *link;
	int e;

	*out = NULL;
	if (g == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "bpf ground: out of memory");
	g->cfg_fd = g->stats_fd = g->decided_fd = g->stopfd = -1;
	g->report = opts->report;
	g->report_arg = opts->report_arg;
	pthread_mutex_init(&g->mode_mu, NULL);
	atomic_init(&g->reported, 0);
	atomic_init(&g->noted, 0);
	*out = g;
	if (opts->nscope > WARD_GROUND_MAX_SCOPE_UIDS) {
		set_failed(g, WARD_GROUND_FAILED, "too many scope uids", E2BIG);
		return WARD_OK;
	}
	g->nscope = opts->nscope;
	if (opts->nscope)
		memcpy(g->scope, opts->scope_uids, opts->nscope * sizeof(g->scope[0]));
	if (opts->disabled) {
		g->state = WARD_GROUND_DISABLED;
		snprintf(g->reason, sizeof(g->reason), "not loaded (--no-ground)");
		return WARD_OK;
	}
	g->lsm_listed = bpf_lsm_listed();
	if (g->lsm_listed == 0) {
		g->state = WARD_GROUND_UNAVAILABLE;
		snprintf(g->reason, sizeof(g->reason),
		         "the kernel does not run the BPF LSM (\"bpf\" is not in its LSM list; "
		         "boot with lsm=...,bpf and CONFIG_BPF_LSM=y)");
		return WARD_OK;
	}
	libbpf_set_print(libbpf_quiet);
	if (load(g, true, false) != 0 && load(g, false, true) != 0 && load(g, false, false) != 0) {
		set_failed(g, WARD_GROUND_FAILED, "loading the BPF program (LSM hook, then tracepoint)", errno);
		return WARD_OK;
	}
	g->cfg_fd = bpf_map__fd(g->skel->maps.ground_cfg);
	g->stats_fd = bpf_map__fd(g->skel->maps.ground_stats);
	g->decided_fd = bpf_map__fd(g->skel->maps.ground_decided);
	/* Scope and mode before attaching: the program never runs unconfigured. */
	for (size_t i = 0; i < g->nscope; i++) {
		__u8 one = 1;
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.ground_uids), &g->scope[i], &one, BPF_ANY) != 0) {
			set_failed(g, WARD_GROUND_FAILED, "scope map", errno);
			return WARD_OK;
		}
	}
	if (write_cfg(g, opts->mode) != 0) {
		set_failed(g, WARD_GROUND_FAILED, "configuration map", errno);
		return WARD_OK;
	}
	g->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.ground_events), on_event, g, NULL);
	if (g->rb == NULL) {
		set_failed(g, WARD_GROUND_FAILED, "ring buffer", errno);
		return WARD_OK;
	}
	if ((g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		set_failed(g, WARD_GROUND_FAILED, "eventfd", errno);
		return WARD_OK;
	}
	/* The link's only reference is our descriptor: process exit detaches it. */
	if (g->lsm_hook)
		link = g->skel->links.ward_ground_lsm = bpf_program__attach(g->skel->progs.ward_ground_lsm);
	else
		link = g->skel->links.ward_ground_tp = bpf_program__attach(g->skel->progs.ward_ground_tp);
	if (link == NULL) {
		e = errno;
		set_failed(g, WARD_GROUND_FAILED, g->lsm_hook ? "attaching to bprm_check_security"
		                                               : "attaching to the sched_process_exec tracepoint", e);
		return WARD_OK;
	}
	if (!g->lsm_hook && bpf_program__autoload(g->skel->progs.ward_ground_kp)) {
		/* before the tracepoint stops checking changes itself */
		g->skel->links.ward_ground_kp = bpf_program__attach(g->skel->progs.ward_ground_kp);
		if (g->skel->links.ward_ground_kp == NULL)
			snprintf(g->kprobe_error, sizeof(g->kprobe_error), "attaching to security_bprm_check: %.64s",
			         strerror(errno));
		else
			g->kprobe = true;
		if (g->kprobe && write_cfg(g, opts->mode) != 0) {
			set_failed(g, WARD_GROUND_FAILED, "configuration map", errno);
			return WARD_OK;
		}
	}
	g->state = WARD_GROUND_ACTIVE;
	if (!g->lsm_hook)
		snprintf(g->reason, sizeof(g->reason), "the kernel refused the BPF LSM program (%.200s): "
		         "the tracepoint fallback kills such execs with SIGKILL before they run "
		         "instead of failing them with EPERM%s%.200s", g->lsm_error,
		         g->kprobe ? "" : "; no kprobe on security_bprm_check (a #! script written over "
		         "an allowed program after its ALLOW is not seen): ", g->kprobe ? "" : g->kprobe_error);
	return WARD_OK;
}

ward_err_t ward_bpfground_start(ward_bpfground_t *g, ward_error_t *err)
{
	int e;

	if (g == NULL || g->state != WARD_GROUND_ACTIVE || g->reader_started)
		return WARD_OK;
	if ((e = pthread_create(&g->reader, NULL, reader_main, g)) != 0)
		return ward_error_set(err, WARD_E_IO, "bpf ground: pthread_create: %s", strerror(e));
	g->reader_started = true;
	return WARD_OK;
}

void ward_bpfground_set_mode(ward_bpfground_t *g, ward_mode_t mode)
{
	if (g == NULL || g->state != WARD_GROUND_ACTIVE)
		return;
	pthread_mutex_lock(&g->mode_mu);
	(void)write_cfg(g, mode); /* an array map update of a valid key does not fail */
	pthread_mutex_unlock(&g->mode_mu);
}

void ward_bpfground_note_allow(ward_bpfground_t *g, const ward_filekey_t *key, bool forget)
{
	struct ward_ground_filekey k = { 0 };
	struct ward_ground_decided v = { 0 };
	struct timespec now;
	dev_t dev;

	if (g == NULL || g->state != WARD_GROUND_ACTIVE || g->decided_fd < 0)
		return;
	/* user space's dev_t (glibc's encoding) to the kernel's s_dev (MKDEV) */
	dev = (dev_t)key->dev;
	k.dev = (__u32)((major(dev) << 20) | (minor(dev) & 0xfffff));
	k.ino = key->ino;
	if (forget) {
		(void)bpf_map_delete_elem(g->decided_fd, &k); /* ENOENT, the usual case */
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now); /* bpf_ktime_get_ns's clock */
	v.ctime_sec = key->ctime_sec;
	v.ctime_nsec = (__u32)key->ctime_nsec;
	v.size = key->size;
	v.at_ns = (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec;
	/* An LRU hash update does not fail for want of room; it evicts. */
	if (bpf_map_update_elem(g->decided_fd, &k, &v, BPF_ANY) == 0)
		atomic_fetch_add_explicit(&g->noted, 1, memory_order_relaxed);
}

ward_ground_state_t ward_bpfground_state(const ward_bpfground_t *g)
{
	return g ? g->state : WARD_GROUND_DISABLED;
}

const char *ward_bpfground_state_name(ward_ground_state_t s)
{
	switch (s) {
	case WARD_GROUND_ACTIVE: return "active";
	case WARD_GROUND_DISABLED: return "disabled";
	case WARD_GROUND_UNAVAILABLE: return "unavailable";
	case WARD_GROUND_FAILED: return "failed";
	}
	return "?";
}

const char *ward_bpfground_reason(const ward_bpfground_t *g)
{
	return g ? g->reason : "";
}

static uint64_t stat_sum(const ward_bpfground_t *g, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[512], sum = 0;

	if (g->stats_fd < 0 || ncpu <= 0 || ncpu > 512)
		return 0;
	if (bpf_map_lookup_elem(g->stats_fd, &idx, vals) != 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

json_t *ward_bpfground_status_json(const ward_bpfground_t *g)
{
	json_t *o = json_object(), *c, *s;

	if (g == NULL) {
		json_object_set_new(o, "state", json_string("disabled"));
		return o;
	}
	json_object_set_new(o, "state", json_string(ward_bpfground_state_name(g->state)));
	json_object_set_new(o, "reason", json_string(g->reason));
	json_object_set_new(o, "lsm", g->lsm_listed < 0 ? json_null() : json_boolean(g->lsm_listed == 1));
	json_object_set_new(o, "hook", g->state != WARD_GROUND_ACTIVE ? json_null() :
	                    json_string(g->lsm_hook ? "lsm" : "tracepoint"));
	json_object_set_new(o, "enforcement", g->state != WARD_GROUND_ACTIVE ? json_null() :
	                    json_string(g->lsm_hook ? "EPERM" : "SIGKILL"));
	if (g->lsm_error[0])
		json_object_set_new(o, "lsm_error", json_string(g->lsm_error));
	/* where a change after an ALLOW is checked: every file of an exec (lsm, kprobe) or
	 * only the file finally run (tracepoint) */
	json_object_set_new(o, "change_check", g->state != WARD_GROUND_ACTIVE ? json_null() :
	                    json_string(g->lsm_hook ? "lsm" : g->kprobe ? "kprobe" : "tracepoint"));
	if (g->kprobe_error[0])
		json_object_set_new(o, "kprobe_error", json_string(g->kprobe_error));
	if (g->state != WARD_GROUND_ACTIVE)
		json_object_set_new(o, "warning", json_string(
			"programs on filesystems mounted in a user namespace (unshare -Urm) and memfd "
			"programs are not decided; close the hole with sysctl user.max_user_namespaces=0 "
			"(kernel.unprivileged_userns_clone=0 on Debian and Ubuntu kernels) and "
			"vm.memfd_noexec=2"));
	s = json_array();
	for (size_t i = 0; i < g->nscope; i++)
		json_array_append_new(s, json_integer(g->scope[i]));
	json_object_set_new(o, "scope_uids", g->nscope ? s : (json_decref(s), json_string("all")));
	c = json_object();
	json_object_set_new(c, "calls", json_integer((json_int_t)stat_sum(g, WARD_GROUND_ST_CALLS)));
	json_object_set_new(c, "unseen", json_integer((json_int_t)stat_sum(g, WARD_GROUND_ST_UNSEEN)));
	json_object_set_new(c, "changed", json_integer((json_int_t)stat_sum(g, WARD_GROUND_ST_CHANGED)));
	json_object_set_new(c, "denied", json_integer((json_int_t)stat_sum(g, WARD_GROUND_ST_DENIED)));
	json_object_set_new(c, "lost", json_integer((json_int_t)stat_sum(g, WARD_GROUND_ST_LOST)));
	json_object_set_new(c, "reported", json_integer((json_int_t)atomic_load(&g->reported)));
	json_object_set_new(c, "noted", json_integer((json_int_t)atomic_load(&g->noted)));
	json_object_set_new(o, "counters", c);
	return o;
}

void ward_bpfground_destroy(ward_bpfground_t *g)
{
	uint64_t one = 1;

	if (g == NULL)
		return;
	if (g->reader_started) {
		(void)!write(g->stopfd, &one, sizeof(one));
		pthread_join(g->reader, NULL);
	}
	ring_buffer__free(g->rb);
	bpfground__destroy(g->skel); /* detaches (closes the link) and unloads; NULL ok */
	if (g->stopfd >= 0)
		close(g->stopfd);
	pthread_mutex_destroy(&g->mode_mu);
	free(g);
}
