/*
 * Layout pins for es_api.h. Every number below is the size or field offset that the
 * macOS 13.1 SDK gives on LP64 (arm64 and x86_64 agree), as recorded in the public
 * bindgen layout tests of SubconsciousCompute/endpointsecurity-rs (src/sys.rs). Included
 * by es_api.h, so these hold wherever the declarations are compiled: x86_64 Linux (unit
 * tests, emulation) and, through `make macos-layout`, aarch64-macos and x86_64-macos
 * with the macOS libc headers, where the Darwin system types are checked as well.
 */
#ifndef WARD_ES_LAYOUT_H
#define WARD_ES_LAYOUT_H

#include <stddef.h>

#define WARD_ES_SIZE(T, n) _Static_assert(sizeof(T) == (n), "ES ABI: sizeof " #T)
#define WARD_ES_OFF(T, f, n) \
	_Static_assert(offsetof(T, f) == (n), "ES ABI: offsetof(" #T ", " #f ")")

_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8 && sizeof(long) == 8,
               "ES declarations assume LP64");

WARD_ES_SIZE(audit_token_t, 32);
WARD_ES_SIZE(es_token_t, 16);
WARD_ES_OFF(es_token_t, size, 0);
WARD_ES_OFF(es_token_t, data, 8);
WARD_ES_SIZE(es_string_token_t, 16);
WARD_ES_OFF(es_string_token_t, length, 0);
WARD_ES_OFF(es_string_token_t, data, 8);
WARD_ES_SIZE(struct timespec, 16);
WARD_ES_OFF(struct timespec, tv_sec, 0);
WARD_ES_OFF(struct timespec, tv_nsec, 8);
WARD_ES_SIZE(struct timeval, 16);
WARD_ES_OFF(struct timeval, tv_sec, 0);
WARD_ES_OFF(struct timeval, tv_usec, 8);

WARD_ES_SIZE(ward_darwin_stat_t, 144);
WARD_ES_OFF(ward_darwin_stat_t, st_dev, 0);
WARD_ES_OFF(ward_darwin_stat_t, st_mode, 4);
WARD_ES_OFF(ward_darwin_stat_t, st_nlink, 6);
WARD_ES_OFF(ward_darwin_stat_t, st_ino, 8);
WARD_ES_OFF(ward_darwin_stat_t, st_uid, 16);
WARD_ES_OFF(ward_darwin_stat_t, st_gid, 20);
WARD_ES_OFF(ward_darwin_stat_t, st_rdev, 24);
WARD_ES_OFF(ward_darwin_stat_t, st_atimespec, 32);
WARD_ES_OFF(ward_darwin_stat_t, st_mtimespec, 48);
WARD_ES_OFF(ward_darwin_stat_t, st_ctimespec, 64);
WARD_ES_OFF(ward_darwin_stat_t, st_birthtimespec, 80);
WARD_ES_OFF(ward_darwin_stat_t, st_size, 96);
WARD_ES_OFF(ward_darwin_stat_t, st_blocks, 104);
WARD_ES_OFF(ward_darwin_stat_t, st_blksize, 112);
WARD_ES_OFF(ward_darwin_stat_t, st_flags, 116);
WARD_ES_OFF(ward_darwin_stat_t, st_gen, 120);
WARD_ES_OFF(ward_darwin_stat_t, st_lspare, 124);
WARD_ES_OFF(ward_darwin_stat_t, st_qspare, 128);

WARD_ES_SIZE(ward_darwin_statfs_t, 2168);
WARD_ES_OFF(ward_darwin_statfs_t, f_fsid, 48);
WARD_ES_OFF(ward_darwin_statfs_t, f_owner, 56);
WARD_ES_OFF(ward_darwin_statfs_t, f_fstypename, 72);
WARD_ES_OFF(ward_darwin_statfs_t, f_mntonname, 88);
WARD_ES_OFF(ward_darwin_statfs_t, f_mntfromname, 1112);
WARD_ES_OFF(ward_darwin_statfs_t, f_flags_ext, 2136);

WARD_ES_SIZE(es_file_t, 168);
WARD_ES_OFF(es_file_t, path, 0);
WARD_ES_OFF(es_file_t, path_truncated, 16);
WARD_ES_OFF(es_file_t, stat, 24);

WARD_ES_SIZE(es_thread_t, 8);
WARD_ES_OFF(es_thread_t, thread_id, 0);

WARD_ES_SIZE(es_process_t, 208);
WARD_ES_OFF(es_process_t, audit_token, 0);
WARD_ES_OFF(es_process_t, ppid, 32);
WARD_ES_OFF(es_process_t, original_ppid, 36);
WARD_ES_OFF(es_process_t, group_id, 40);
WARD_ES_OFF(es_process_t, session_id, 44);
WARD_ES_OFF(es_process_t, codesigning_flags, 48);
WARD_ES_OFF(es_process_t, is_platform_binary, 52);
WARD_ES_OFF(es_process_t, is_es_client, 53);
WARD_ES_OFF(es_process_t, cdhash, 54);
WARD_ES_OFF(es_process_t, signing_id, 80);
WARD_ES_OFF(es_process_t, team_id, 96);
WARD_ES_OFF(es_process_t, executable, 112);
WARD_ES_OFF(es_process_t, tty, 120);
WARD_ES_OFF(es_process_t, start_time, 128);
WARD_ES_OFF(es_process_t, responsible_audit_token, 144);
WARD_ES_OFF(es_process_t, parent_audit_token, 176);

WARD_ES_SIZE(es_event_exec_t, 88);
WARD_ES_OFF(es_event_exec_t, target, 0);
WARD_ES_OFF(es_event_exec_t, dyld_exec_path, 8);
WARD_ES_OFF(es_event_exec_t, reserved, 24);
WARD_ES_OFF(es_event_exec_t, script, 24 + 0);
WARD_ES_OFF(es_event_exec_t, cwd, 24 + 8);
WARD_ES_OFF(es_event_exec_t, last_fd, 24 + 16);
WARD_ES_OFF(es_event_exec_t, image_cputype, 24 + 20);
WARD_ES_OFF(es_event_exec_t, image_cpusubtype, 24 + 24);

WARD_ES_SIZE(es_event_open_t, 80);
WARD_ES_OFF(es_event_open_t, fflag, 0);
WARD_ES_OFF(es_event_open_t, file, 8);
WARD_ES_OFF(es_event_open_t, reserved, 16);

WARD_ES_SIZE(es_event_close_t, 80);
WARD_ES_OFF(es_event_close_t, modified, 0);
WARD_ES_OFF(es_event_close_t, target, 8);
WARD_ES_OFF(es_event_close_t, was_mapped_writable, 16);

WARD_ES_SIZE(es_event_exit_t, 68);
WARD_ES_OFF(es_event_exit_t, stat, 0);
WARD_ES_OFF(es_event_exit_t, reserved, 4);

WARD_ES_SIZE(es_event_rename_t, 104);
WARD_ES_OFF(es_event_rename_t, source, 0);
WARD_ES_OFF(es_event_rename_t, destination_type, 8);
WARD_ES_OFF(es_event_rename_t, destination, 16);
WARD_ES_OFF(es_event_rename_t, destination.existing_file, 16);
WARD_ES_OFF(es_event_rename_t, destination.new_path.dir, 16);
WARD_ES_OFF(es_event_rename_t, destination.new_path.filename, 24);
WARD_ES_OFF(es_event_rename_t, reserved, 40);

WARD_ES_SIZE(es_event_unlink_t, 80);
WARD_ES_OFF(es_event_unlink_t, target, 0);
WARD_ES_OFF(es_event_unlink_t, parent_dir, 8);

WARD_ES_SIZE(es_event_unmount_t, 72);
WARD_ES_OFF(es_event_unmount_t, statfs, 0);

WARD_ES_SIZE(es_events_t, 104);

WARD_ES_SIZE(es_result_t, 36);
WARD_ES_OFF(es_result_t, result_type, 0);
WARD_ES_OFF(es_result_t, result, 4);
WARD_ES_OFF(es_result_t, result.auth, 4);
WARD_ES_OFF(es_result_t, result.flags, 4);

WARD_ES_SIZE(es_message_t, 224);
WARD_ES_OFF(es_message_t, version, 0);
WARD_ES_OFF(es_message_t, time, 8);
WARD_ES_OFF(es_message_t, mach_time, 24);
WARD_ES_OFF(es_message_t, deadline, 32);
WARD_ES_OFF(es_message_t, process, 40);
WARD_ES_OFF(es_message_t, seq_num, 48);
WARD_ES_OFF(es_message_t, action_type, 56);
WARD_ES_OFF(es_message_t, action, 60);
WARD_ES_OFF(es_message_t, event_type, 96);
WARD_ES_OFF(es_message_t, event, 104);
WARD_ES_OFF(es_message_t, thread, 208);
WARD_ES_OFF(es_message_t, global_seq_num, 216);
WARD_ES_OFF(es_message_t, opaque, 224);

#if defined(__APPLE__)
/* The Darwin system types that ES embeds must be the ones declared above. */
#include <sys/mount.h>
#include <sys/stat.h>
#define WARD_ES_SAME(T, U, f) \
	_Static_assert(offsetof(T, f) == offsetof(U, f) && \
	               sizeof(((T *)0)->f) == sizeof(((U *)0)->f), "Darwin ABI: " #U "." #f)
_Static_assert(sizeof(struct stat) == sizeof(ward_darwin_stat_t), "Darwin ABI: struct stat");
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_dev);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_mode);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_nlink);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_ino);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_uid);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_gid);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_rdev);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_mtimespec);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_ctimespec);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_size);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_flags);
WARD_ES_SAME(ward_darwin_stat_t, struct stat, st_gen);
_Static_assert(sizeof(struct statfs) == sizeof(ward_darwin_statfs_t), "Darwin ABI: statfs");
WARD_ES_SAME(ward_darwin_statfs_t, struct statfs, f_fsid);
WARD_ES_SAME(ward_darwin_statfs_t, struct statfs, f_fstypename);
WARD_ES_SAME(ward_darwin_statfs_t, struct statfs, f_mntonname);
WARD_ES_SAME(ward_darwin_statfs_t, struct statfs, f_mntfromname);
#undef WARD_ES_SAME
#endif

#undef WARD_ES_SIZE
#undef WARD_ES_OFF
#endif
