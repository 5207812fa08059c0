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

/* ground_stats indexes (per-CPU counters) */
#define WARD_GROUND_ST_CALLS  0u /* execs seen (every uid, before the scope applies) */
#define WARD_GROUND_ST_UNSEEN 1u /* of them, on a filesystem fanotify cannot see (in scope) */
#define WARD_GROUND_ST_DENIED 2u /* of them, denied */
#define WARD_GROUND_ST_LOST   3u /* reports lost (ring buffer full) */
#define WARD_GROUND_NSTATS    4u

#define WARD_GROUND_MAX_SCOPE_UIDS 64u
#define WARD_GROUND_FILENAME 160u

struct ward_ground_cfg {
	__u32 mode;   /* WARD_GROUND_* */
	__u32 scoped; /* 1: apply only to execs by the uids in ground_uids (tests) */
};

struct ward_ground_event {
	__u64 ino;
	__u32 dev;          /* the kernel's s_dev (MAJOR << 20 | MINOR) */
	__u32 pid;          /* thread-group id of the caller */
	__u32 uid;          /* real uid of the caller, in the initial user namespace */
	__u32 why;          /* WARD_GROUND_USERNS / WARD_GROUND_INTERNAL */
	__u32 denied;       /* 1: execve failed with EPERM */
	__u32 pad;
	char comm[16];      /* the caller's comm before the exec */
	char fstype[16];    /* the superblock's file system type */
	char filename[WARD_GROUND_FILENAME]; /* as given to execve ("/dev/fd/3" for fexecve) */
};

#endif
