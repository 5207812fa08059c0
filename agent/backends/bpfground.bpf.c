/*
 * The ground under fanotify: a BPF LSM program on bprm_check_security that decides the
 * execs fanotify marks cannot see (docs/agent.md "The ground under fanotify"):
 *
 *  - a file on a filesystem whose superblock belongs to a non-initial user namespace
 *    (a tmpfs, overlay or FUSE an unprivileged user mounted after `unshare -Urm`): the
 *    agent cannot even see that mount from its own mount namespace;
 *  - a file on a kernel-internal mount (SB_KERNMOUNT: memfd_create and shm files,
 *    hugetlbfs files): it has no path on any filesystem the agent marks.
 *
 * and one more, for every exec on any filesystem:
 *
 *  - a program the agent allowed through fanotify without any cache remembering it (a
 *    file a user other than root can write) that changed after the answer: fanotify
 *    asks before execve denies writes to the file (deny_write_access), so its owner can
 *    rewrite it in between and run bytes nobody decided. The agent writes the file's
 *    ctime and size into ground_decided before it answers; here the file is
 *    write-denied and final, and a different ctime or size is that rewrite.
 *
 * Everything else returns 0 and is left to fanotify. Such an exec is reported through
 * the ground_events ring buffer; in LOCKDOWN it fails with EPERM. bprm_check_security
 * runs for the program and again for a script's interpreter, so both are covered.
 *
 * License: BPF LSM programs must carry a GPL-compatible license (bpf_lsm_verify_prog).
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "agent/backends/bpfground_abi.h"

#define EPERM 1
#define MS_KERNMOUNT (1 << 22) /* uapi/linux/mount.h: "this is a kern_mount call" */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ward_ground_cfg);
} ground_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WARD_GROUND_MAX_SCOPE_UIDS);
	__type(key, __u32);
	__type(value, __u8);
} ground_uids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WARD_GROUND_DECIDED_MAX);
	__type(key, struct ward_ground_filekey);
	__type(value, struct ward_ground_decided);
} ground_decided SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ground_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WARD_GROUND_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} ground_stats SEC(".maps");

static __always_inline void count(__u32 i)
{
	__u64 *n = bpf_map_lookup_elem(&ground_stats, &i);

	if (n)
		*n += 1;
}

/* struct inode's ctime before 6.11 (CO-RE flavours: only the field names matter) */
struct inode___v66 { /* 6.6 - 6.10 */
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___old { /* before 6.6 */
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/* The inode's ctime as stat(2) shows it. Since 6.13 bit 31 of i_ctime_nsec is a flag
 * (I_CTIME_QUERIED, multigrain timestamps); nanoseconds never reach it. */
static __always_inline void inode_ctime(struct inode *ino, __s64 *sec, __u32 *nsec)
{
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		*sec = BPF_CORE_READ(ino, i_ctime_sec);
		*nsec = BPF_CORE_READ(ino, i_ctime_nsec) & 0x7fffffffu;
	} else if (bpf_core_field_exists(((struct inode___v66 *)ino)->__i_ctime)) {
		struct inode___v66 *i = (void *)ino;
		*sec = BPF_CORE_READ(i, __i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(i, __i_ctime.tv_nsec);
	} else {
		struct inode___old *i = (void *)ino;
		*sec = BPF_CORE_READ(i, i_ctime.tv_sec);
		*nsec = (__u32)BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
}

/*
 * Whether the agent allowed this inode moments ago (ground_decided) for another ctime
 * or size. An entry is left in place when it does not match: a second exec racing the
 * same rewrite must find it too. The agent overwrites it on its next ALLOW.
 */
static __always_inline bool changed_since_allowed(struct inode *ino, __u32 dev)
{
	struct ward_ground_filekey k = { 0 };
	struct ward_ground_decided *d;
	__s64 sec;
	__u32 nsec;

	k.ino = BPF_CORE_READ(ino, i_ino);
	k.dev = dev;
	d = bpf_map_lookup_elem(&ground_decided, &k);
	if (d == NULL || bpf_ktime_get_ns() - d->at_ns > WARD_GROUND_DECIDED_TTL_NS)
		return false;
	inode_ctime(ino, &sec, &nsec);
	return sec != d->ctime_sec || nsec != d->ctime_nsec || (__u64)BPF_CORE_READ(ino, i_size) != d->size;
}

#define CHECK_UNSEEN  1u /* a filesystem fanotify cannot see */
#define CHECK_CHANGED 2u /* a change after the agent's ALLOW */

/*
 * Decide one file of an exec: 0 to let it go on (fanotify's business, out of scope, or
 * MONITOR), -EPERM to refuse. Reports what it decided. checks: CHECK_*.
 */
static __always_inline int ground_decide(struct linux_binprm *bprm, struct file *file, __u32 checks)
{
	struct super_block *sb;
	struct inode *ino;
	struct ward_ground_cfg *cfg;
	struct ward_ground_event *e;
	__u32 zero = 0, why = 0, uid, dev;
	bool deny;

	ino = BPF_CORE_READ(file, f_inode);
	if (ino == NULL)
		return 0;
	sb = BPF_CORE_READ(ino, i_sb);
	if (sb == NULL)
		return 0;
	cfg = bpf_map_lookup_elem(&ground_cfg, &zero);
	if (cfg == NULL || cfg->mode == WARD_GROUND_OFF)
		return 0;
	uid = (__u32)bpf_get_current_uid_gid();
	if (cfg->scoped && bpf_map_lookup_elem(&ground_uids, &uid) == NULL)
		return 0;
	if (cfg->kprobe && (checks & CHECK_UNSEEN)) /* the tracepoint: the kprobe did it */
		checks &= ~CHECK_CHANGED;
	dev = BPF_CORE_READ(sb, s_dev);
	if ((checks & CHECK_UNSEEN) && BPF_CORE_READ(sb, s_user_ns, level) > 0)
		why = WARD_GROUND_USERNS;
	else if ((checks & CHECK_UNSEEN) && (BPF_CORE_READ(sb, s_flags) & MS_KERNMOUNT))
		why = WARD_GROUND_INTERNAL;
	else if ((checks & CHECK_CHANGED) && changed_since_allowed(ino, dev))
		why = WARD_GROUND_CHANGED;
	if (why == 0)
		return 0;
	deny = cfg->mode == WARD_GROUND_LOCKDOWN;
	count(why == WARD_GROUND_CHANGED ? WARD_GROUND_ST_CHANGED : WARD_GROUND_ST_UNSEEN);
	if (deny)
		count(WARD_GROUND_ST_DENIED);
	e = bpf_ringbuf_reserve(&ground_events, sizeof(*e), 0);
	if (e == NULL) {
		count(WARD_GROUND_ST_LOST);
	} else {
		e->ino = BPF_CORE_READ(ino, i_ino);
		e->dev = dev;
		e->pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
		e->uid = uid;
		e->why = why;
		e->denied = deny;
		e->pad = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_kernel_str(e->fstype, sizeof(e->fstype), BPF_CORE_READ(sb, s_type, name));
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
		bpf_ringbuf_submit(e, 0);
	}
	return deny ? -EPERM : 0;
}

/* The ground proper: the BPF LSM hook. execve fails with EPERM. */
SEC("lsm/bprm_check_security")
int BPF_PROG(ward_ground_lsm, struct linux_binprm *bprm, int ret)
{
	count(WARD_GROUND_ST_CALLS);
	if (ret != 0) /* an earlier program already refused */
		return ret;
	return ground_decide(bprm, BPF_CORE_READ(bprm, file), CHECK_UNSEEN | CHECK_CHANGED);
}

/*
 * The fallback where the kernel refuses BPF LSM programs (some kernels build without
 * trampolines or forbid them) but runs BTF tracepoints: the same decision when the
 * exec has replaced the image (sched_process_exec), enforced with SIGKILL. The signal
 * is delivered on the way back to user space, so not one instruction of the program
 * runs; the caller sees the process killed instead of an EPERM. bprm->file is then the
 * file finally run (for a #! script, its interpreter: the script itself is gone from
 * bprm by then). bprm->executable (binfmt_misc's open-binary) is decided too. The
 * loader uses one or the other.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ward_ground_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct file *script = NULL;
	int rc;

	count(WARD_GROUND_ST_CALLS);
	rc = ground_decide(bprm, BPF_CORE_READ(bprm, file), CHECK_UNSEEN | CHECK_CHANGED);
	if (bpf_core_field_exists(bprm->executable))
		script = BPF_CORE_READ(bprm, executable);
	if (rc == 0 && script != NULL)
		rc = ground_decide(bprm, script, CHECK_UNSEEN | CHECK_CHANGED);
	if (rc != 0)
		bpf_send_signal(9 /* SIGKILL */);
	return 0;
}

/*
 * With the tracepoint fallback, the change check where the LSM hook would be: a kprobe
 * on security_bprm_check, which runs for every file of an exec (a #! script, then its
 * interpreter) once execve has denied writes to it. A script written over an allowed
 * program in the window is seen here and nowhere later. Enforced with SIGKILL, like
 * the tracepoint: the process dies before its first instruction. (A kprobe, not fentry:
 * fentry needs the BPF trampolines whose absence is why the LSM hook was refused.)
 * Optional: where it cannot attach (no CONFIG_KPROBES), the tracepoint checks the final
 * file itself (cfg->kprobe 0).
 */
SEC("kprobe/security_bprm_check")
int BPF_KPROBE(ward_ground_kp, struct linux_binprm *bprm)
{
	if (ground_decide(bprm, BPF_CORE_READ(bprm, file), CHECK_CHANGED) != 0)
		bpf_send_signal(9 /* SIGKILL */);
	return 0;
}
