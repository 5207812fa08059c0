/*
 * What the BPF ground program (bpfground.bpf.c) and its loader (bpfground.c) share:
 * the layout of its maps' values and of the events it reports. Kernel-independent
 * fixed-size types only (this header is compiled for the BPF target too).
 */
#ifndef WARD_BPFGROUND_ABI_H
#define WARD_BPFGROUND_ABI_H

/* ground_cfg.mode */
#define WARD_GROUND_OFF      0u /* decide nothing (before the first policy is published) */
#define WARD_GROUND_MONITOR  1u /* allow, report */
#define WARD_GROUND_LOCKDOWN 2u /* deny with EPERM, report */

/* ward_ground_event.why: the filesystem is out of fanotify's reach because ... */
#define WARD_GROUND_USERNS   1u /* its superblock belongs to a non-initial user namespace */
#define WARD_GROUND_INTERNAL 2u /* it is a kernel-internal mount (memfd, shm, hugetlb...) */
/* ... or not that at all: the program's inode changed (ctime or size) after the agent
 * answered ALLOW for it through fanotify, in the window before execve denied writes to
 * it (ground_decided) */
#define WARD_GROUND_CHANGED  3u

/* ground_stats indexes (per-CPU counters) */
#define WARD_GROUND_ST_CALLS  0u /* execs seen (every uid, before the scope applies) */
#define WARD_GROUND_ST_UNSEEN 1u /* of them, on a filesystem fanotify cannot see (in scope) */
#define WARD_GROUND_ST_DENIED 2u /* of them, denied */
#define WARD_GROUND_ST_LOST   3u /* reports lost (ring buffer full) */
#define WARD_GROUND_ST_CHANGED 4u /* execs of a program changed after the agent allowed it */
#define WARD_GROUND_NSTATS    5u

#define WARD_GROUND_MAX_SCOPE_UIDS 64u
#define WARD_GROUND_FILENAME 160u
#define WARD_GROUND_DECIDED_MAX 16384u  /* ground_decided entries (LRU) */
/* How long an entry of ground_decided speaks for its file. The window it closes lasts
 * microseconds (between the agent's answer and execve's deny_write_access); past this
 * the entry is ignored, so an exec the agent never saw (a file that became root-owned
 * and kernel-cached since) is never judged against an old answer. */
#define WARD_GROUND_DECIDED_TTL_NS (10ull * 1000000000ull)

struct ward_ground_cfg {
	__u32 mode;   /* WARD_GROUND_* */
	__u32 scoped; /* 1: apply only to execs by the uids in ground_uids (tests) */
	__u32 kprobe; /* 1: the kprobe checks every file of an exec for a change after its
	                 ALLOW (tracepoint fallback only; the tracepoint then does not) */
	__u32 pad;
};

/*
 * ground_decided: the agent's uncached ALLOWs of an exec (the file is one a user other
 * than root can write, so no cache remembers the answer). Written by the agent before
 * the answer reaches the kernel; read by the program at exec time, when the file is
 * write-denied and its content final: a different ctime or size means it was changed
 * after the agent decided.
 */
struct ward_ground_filekey {
	__u64 ino;
	__u32 dev;          /* the kernel's s_dev: MAJOR << 20 | MINOR (not a user-space dev_t) */
	__u32 pad;          /* 0 (the whole key is hashed) */
};

struct ward_ground_decided {
	__s64 ctime_sec;
	__u64 size;
	__u64 at_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) when the agent wrote it */
	__u32 ctime_nsec;
	__u32 pad;
};

struct ward_ground_event {
	__u64 ino;
	__u32 dev;          /* the kernel's s_dev (MAJOR << 20 | MINOR) */
	__u32 pid;          /* thread-group id of the caller */
	__u32 uid;          /* real uid of the caller, in the initial user namespace */
	__u32 why;          /* WARD_GROUND_USERNS / _INTERNAL / _CHANGED */
	__u32 denied;       /* 1: execve failed with EPERM */
	__u32 pad;
	char comm[16];      /* the caller's comm before the exec */
	char fstype[16];    /* the superblock's file system type */
	char filename[WARD_GROUND_FILENAME]; /* as given to execve ("/dev/fd/3" for fexecve) */
};

#endif
