/*
 * Process details on macOS (procinfo.h), from libproc: proc_pidinfo(PROC_PIDTBSDINFO)
 * for the parent, the real and effective ids and the start time. The ES backend takes
 * what it logs from the ES message itself (es_process_t); these serve the daemon's
 * other callers. The /proc text parsers of procinfo.h are Linux-only and not here.
 * The command line (KERN_PROCARGS2) is not read: argv stays empty.
 */
#include "agent/backends/procinfo.h"

#include <libproc.h>
#include <string.h>
#include <sys/proc_info.h>
#include <sys/stat.h>

#include "common/platform.h"
#include "common/proc.h"

static bool bsdinfo(pid_t pid, struct proc_bsdinfo *bi)
{
	return pid > 0 &&
	       proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, bi, (int)sizeof(*bi)) == (int)sizeof(*bi);
}

bool ward_procinfo_read(pid_t pid, ward_procinfo_t *out)
{
	struct proc_bsdinfo bi;

	memset(out, 0, offsetof(ward_procinfo_t, argv) + 1);
	if (!bsdinfo(pid, &bi))
		return false;
	out->ppid = (pid_t)bi.pbi_ppid;
	out->uid = bi.pbi_ruid;
	out->argv_is_caller = false;
	out->ok = true;
	return true;
}

uint64_t ward_procinfo_start_time(pid_t pid)
{
	struct proc_bsdinfo bi;

	/* microseconds since the epoch: two processes with one pid never share it */
	if (!bsdinfo(pid, &bi))
		return 0;
	return bi.pbi_start_tvsec * 1000000ull + bi.pbi_start_tvusec;
}

bool ward_procinfo_creds(pid_t pid, uid_t *uid, gid_t *gid)
{
	struct proc_bsdinfo bi;

	if (!bsdinfo(pid, &bi))
		return false;
	*uid = bi.pbi_uid;
	*gid = bi.pbi_gid;
	return true;
}

bool ward_procinfo_exe(pid_t pid, ward_filekey_t *out)
{
	char path[PROC_PIDPATHINFO_MAXSIZE];
	struct stat sb;

	if (!ward_proc_exe_path(pid, path, sizeof(path)) || stat(path, &sb) != 0)
		return false;
	ward_filekey_from_stat(&sb, out);
	return true;
}
