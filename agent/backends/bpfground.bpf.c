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

/*
 * Decide one bprm_check_security call: 0 to let it go on (fanotify's business, out of
 * scope, or MONITOR), -EPERM to refuse. Reports what it decided.
 */
static __always_inline int ground_decide(struct linux_binprm *bprm)
{
	struct super_block *sb;
	struct ward_ground_cfg *cfg;
	struct ward_ground_event *e;
	__u32 zero = 0, why = 0, uid;
	bool deny;

	count(WARD_GROUND_ST_CALLS);
	sb = BPF_CORE_READ(bprm, file, f_inode, i_sb);
	if (sb == NULL)
		return 0;
	if (BPF_CORE_READ(sb, s_user_ns, level) > 0)
		why = WARD_GROUND_USERNS;
	else if (BPF_CORE_READ(sb, s_flags) & MS_KERNMOUNT)
		why = WARD_GROUND_INTERNAL;
	if (why == 0)
		return 0;
	cfg = bpf_map_lookup_elem(&ground_cfg, &zero);
	if (cfg == NULL || cfg->mode == WARD_GROUND_OFF)
		return 0;
	uid = (__u32)bpf_get_current_uid_gid();
	if (cfg->scoped && bpf_map_lookup_elem(&ground_uids, &uid) == NULL)
		return 0;
	deny = cfg->mode == WARD_GROUND_LOCKDOWN;
	count(WARD_GROUND_ST_UNSEEN);
	if (deny)
		count(WARD_GROUND_ST_DENIED);
	e = bpf_ringbuf_reserve(&ground_events, sizeof(*e), 0);
	if (e == NULL) {
		count(WARD_GROUND_ST_LOST);
	} else {
		e->ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
		e->dev = BPF_CORE_READ(sb, s_dev);
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
	if (ret != 0) /* an earlier program already refused */
		return ret;
	return ground_decide(bprm);
}

/*
 * The fallback where the kernel refuses BPF LSM programs (some kernels build without
 * trampolines or forbid them) but runs BTF tracepoints: the same decision when the
 * exec has replaced the image (sched_process_exec), enforced with SIGKILL. The signal
 * is delivered on the way back to user space, so not one instruction of the program
 * runs; the caller sees the process killed instead of an EPERM. bprm->file is then the
 * file finally run (for a #! script, its interpreter). The loader uses one or the other.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ward_ground_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (ground_decide(bprm) != 0)
		bpf_send_signal(9 /* SIGKILL */);
	return 0;
}
