/*
 * The subset of Apple's EndpointSecurity C API that warden uses, declared by hand from
 * Apple's public documentation (developer.apple.com/documentation/endpointsecurity);
 * no Apple header is copied. The same declarations serve three builds:
 *   - macOS (arm64, x86_64): wardend links libEndpointSecurity.dylib;
 *   - Linux: the ES emulation (agent/backends/es_emul/) implements these functions over
 *     fanotify, so agent/backends/es.c runs unchanged against real processes;
 *   - unit tests of the mapping layer, which build es_message_t values by hand.
 *
 * ABI: every struct size and every field warden reads is pinned in es_layout.h with
 * _Static_assert against the layout of the macOS 13.1 SDK (public bindgen layout tests),
 * for LP64 (arm64 and x86_64 alike). es_layout.h is included below, so any translation
 * unit that includes this header checks the layout on the target it is compiled for.
 *
 * Message versions: ES appends fields to its structs and gates them by
 * es_message_t.version. A field marked "vN" below exists only when msg->version >= N and
 * must not be read otherwise (es_map.c checks before every such read).
 */
#ifndef WARD_ES_API_H
#define WARD_ES_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h> /* struct timeval, struct timespec: LP64 layout same on both OSes */
#include <time.h>

#if defined(__APPLE__)
#include <mach/message.h> /* audit_token_t */
#else
/* Darwin's audit token: eight 32-bit words (mach/message.h). */
typedef struct {
	unsigned int val[8];
} audit_token_t;
#endif

/*
 * Indices into audit_token_t.val, as libbsm's audit_token_to_au32() reads them
 * (audit_token_to_pid() is val[5], audit_token_to_pidversion() is val[7]). Reading the
 * words directly keeps the mapping portable and avoids linking libbsm.
 */
enum {
	WARD_AT_AUID = 0,
	WARD_AT_EUID = 1,
	WARD_AT_EGID = 2,
	WARD_AT_RUID = 3,
	WARD_AT_RGID = 4,
	WARD_AT_PID = 5,
	WARD_AT_ASID = 6,
	WARD_AT_PIDVERSION = 7,
};

/* Darwin's struct stat (64-bit inode flavour, the only one ES reports), under our own
 * name so the Linux builds carry the Darwin layout too. On macOS es_layout.h checks it
 * against the system struct stat field by field. */
typedef struct ward_darwin_stat {
	int32_t st_dev;
	uint16_t st_mode;
	uint16_t st_nlink;
	uint64_t st_ino;
	uint32_t st_uid;
	uint32_t st_gid;
	int32_t st_rdev;
	struct timespec st_atimespec;
	struct timespec st_mtimespec;
	struct timespec st_ctimespec;
	struct timespec st_birthtimespec;
	int64_t st_size;
	int64_t st_blocks;
	int32_t st_blksize;
	uint32_t st_flags;
	uint32_t st_gen;
	int32_t st_lspare;
	int64_t st_qspare[2];
} ward_darwin_stat_t;

/* Darwin's struct statfs (64-bit flavour), as ES_EVENT_TYPE_NOTIFY_UNMOUNT reports it. */
typedef struct ward_darwin_statfs {
	uint32_t f_bsize;
	int32_t f_iosize;
	uint64_t f_blocks;
	uint64_t f_bfree;
	uint64_t f_bavail;
	uint64_t f_files;
	uint64_t f_ffree;
	int32_t f_fsid[2];
	uint32_t f_owner;
	uint32_t f_type;
	uint32_t f_flags;
	uint32_t f_fssubtype;
	char f_fstypename[16];
	char f_mntonname[1024];
	char f_mntfromname[1024];
	uint32_t f_flags_ext;
	uint32_t f_reserved[7];
} ward_darwin_statfs_t;

/* ---- enums: 32-bit integers in the ABI; values as documented ---- */
typedef uint32_t es_event_type_t;
enum {
	ES_EVENT_TYPE_AUTH_EXEC = 0,
	ES_EVENT_TYPE_AUTH_OPEN = 1,
	ES_EVENT_TYPE_AUTH_RENAME = 6,
	ES_EVENT_TYPE_AUTH_UNLINK = 8,
	ES_EVENT_TYPE_NOTIFY_EXEC = 9,
	ES_EVENT_TYPE_NOTIFY_OPEN = 10,
	ES_EVENT_TYPE_NOTIFY_CLOSE = 12,
	ES_EVENT_TYPE_NOTIFY_EXIT = 15,
	ES_EVENT_TYPE_NOTIFY_UNMOUNT = 23,
	ES_EVENT_TYPE_NOTIFY_RENAME = 25,
	ES_EVENT_TYPE_NOTIFY_UNLINK = 32,
	ES_EVENT_TYPE_LAST_13_1 = 126, /* ES_EVENT_TYPE_LAST in the macOS 13.1 SDK */
};

typedef uint32_t es_action_type_t;
enum { ES_ACTION_TYPE_AUTH = 0, ES_ACTION_TYPE_NOTIFY = 1 };

typedef uint32_t es_auth_result_t;
enum { ES_AUTH_RESULT_ALLOW = 0, ES_AUTH_RESULT_DENY = 1 };

typedef uint32_t es_result_type_t;
enum { ES_RESULT_TYPE_AUTH = 0, ES_RESULT_TYPE_FLAGS = 1 };

typedef uint32_t es_return_t;
enum { ES_RETURN_SUCCESS = 0, ES_RETURN_ERROR = 1 };

typedef uint32_t es_respond_result_t;
enum {
	ES_RESPOND_RESULT_SUCCESS = 0,
	ES_RESPOND_RESULT_ERR_INVALID_ARGUMENT = 1,
	ES_RESPOND_RESULT_ERR_INTERNAL = 2,
	ES_RESPOND_RESULT_NOT_FOUND = 3,
	ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE = 4,
	ES_RESPOND_RESULT_ERR_EVENT_TYPE = 5,
};

typedef uint32_t es_new_client_result_t;
enum {
	ES_NEW_CLIENT_RESULT_SUCCESS = 0,
	ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT = 1,
	ES_NEW_CLIENT_RESULT_ERR_INTERNAL = 2,
	ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED = 3,
	ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED = 4,
	ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED = 5,
	ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS = 6,
};

typedef uint32_t es_clear_cache_result_t;
enum {
	ES_CLEAR_CACHE_RESULT_SUCCESS = 0,
	ES_CLEAR_CACHE_RESULT_ERR_INTERNAL = 1,
	ES_CLEAR_CACHE_RESULT_ERR_THROTTLE = 2,
};

typedef uint32_t es_mute_path_type_t;
enum {
	ES_MUTE_PATH_TYPE_PREFIX = 0,
	ES_MUTE_PATH_TYPE_LITERAL = 1,
	ES_MUTE_PATH_TYPE_TARGET_PREFIX = 2,
	ES_MUTE_PATH_TYPE_TARGET_LITERAL = 3,
};

typedef uint32_t es_mute_inversion_type_t;
enum {
	ES_MUTE_INVERSION_TYPE_PROCESS = 0,
	ES_MUTE_INVERSION_TYPE_PATH = 1,
	ES_MUTE_INVERSION_TYPE_TARGET_PATH = 2,
};

typedef uint32_t es_destination_type_t;
enum { ES_DESTINATION_TYPE_EXISTING_FILE = 0, ES_DESTINATION_TYPE_NEW_PATH = 1 };

/* ---- structs ---- */
typedef struct {
	size_t length;
	const char *data; /* not NUL-terminated in general: use length */
} es_string_token_t;

typedef struct {
	size_t size;
	const uint8_t *data;
} es_token_t;

typedef struct {
	es_string_token_t path;
	bool path_truncated;
	ward_darwin_stat_t stat;
} es_file_t;

typedef struct {
	uint64_t thread_id;
} es_thread_t;

typedef struct {
	audit_token_t audit_token;
	int32_t ppid;
	int32_t original_ppid;
	int32_t group_id;
	int32_t session_id;
	uint32_t codesigning_flags;
	bool is_platform_binary;
	bool is_es_client;
	uint8_t cdhash[20];
	es_string_token_t signing_id;
	es_string_token_t team_id;
	es_file_t *executable;
	es_file_t *tty;                        /* v2 */
	struct timeval start_time;             /* v3 */
	audit_token_t responsible_audit_token; /* v4 */
	audit_token_t parent_audit_token;      /* v4 */
} es_process_t;

typedef struct {
	es_process_t *target;
	es_string_token_t dyld_exec_path; /* v7 (reserved before) */
	union {
		uint8_t reserved[64];
		struct {
			es_file_t *script;        /* v2 */
			es_file_t *cwd;           /* v3 */
			int last_fd;              /* v4 */
			int32_t image_cputype;    /* v6 */
			int32_t image_cpusubtype; /* v6 */
		};
	};
} es_event_exec_t;

typedef struct {
	int32_t fflag; /* FREAD | FWRITE | ...: the kernel's open flags */
	es_file_t *file;
	uint8_t reserved[64];
} es_event_open_t;

typedef struct {
	bool modified;
	es_file_t *target;
	union {
		uint8_t reserved[64];
		struct {
			bool was_mapped_writable; /* v6 */
		};
	};
} es_event_close_t;

typedef struct {
	int stat;
	uint8_t reserved[64];
} es_event_exit_t;

typedef struct {
	es_file_t *source;
	es_destination_type_t destination_type;
	union {
		es_file_t *existing_file;
		struct {
			es_file_t *dir;
			es_string_token_t filename;
		} new_path;
	} destination;
	uint8_t reserved[64];
} es_event_rename_t;

typedef struct {
	es_file_t *target;
	es_file_t *parent_dir;
	uint8_t reserved[64];
} es_event_unlink_t;

typedef struct {
	ward_darwin_statfs_t *statfs;
	uint8_t reserved[64];
} es_event_unmount_t;

/* Only the members warden reads are declared; the SDK union is exactly 104 bytes
 * (es_event_rename_t is one of its largest members), which es_layout.h pins. */
typedef union {
	es_event_exec_t exec;
	es_event_open_t open;
	es_event_close_t close;
	es_event_exit_t exit;
	es_event_rename_t rename;
	es_event_unlink_t unlink;
	es_event_unmount_t unmount;
} es_events_t;

typedef struct {
	es_result_type_t result_type;
	union {
		es_auth_result_t auth;
		uint32_t flags;
		uint8_t reserved[32];
	} result;
} es_result_t;

typedef struct {
	uint8_t reserved[32];
} es_event_id_t;

typedef struct {
	uint32_t version;
	struct timespec time;
	uint64_t mach_time;
	uint64_t deadline; /* mach absolute time by which an AUTH message must be answered */
	es_process_t *process;
	uint64_t seq_num; /* v2 */
	es_action_type_t action_type;
	union {
		es_event_id_t auth;
		es_result_t notify;
	} action;
	es_event_type_t event_type;
	es_events_t event;
	es_thread_t *thread;     /* v4 */
	uint64_t global_seq_num; /* v4 */
	uint64_t opaque[];       /* owned by ES */
} es_message_t;

typedef struct es_client_s es_client_t;

/* ---- functions (libEndpointSecurity; the emulation implements the same) ---- */
#if defined(__BLOCKS__)
typedef void (^es_handler_block_t)(es_client_t *client, const es_message_t *msg);
es_new_client_result_t es_new_client(es_client_t **client, es_handler_block_t handler);
#endif
es_return_t es_delete_client(es_client_t *client);
es_return_t es_subscribe(es_client_t *client, const es_event_type_t *events, uint32_t count);
es_return_t es_unsubscribe_all(es_client_t *client);
es_respond_result_t es_respond_auth_result(es_client_t *client, const es_message_t *msg,
                                           es_auth_result_t result, bool cache);
es_respond_result_t es_respond_flags_result(es_client_t *client, const es_message_t *msg,
                                            uint32_t authorized_flags, bool cache);
es_return_t es_mute_process(es_client_t *client, const audit_token_t *audit_token);
es_return_t es_mute_path(es_client_t *client, const char *path, es_mute_path_type_t type);
es_return_t es_unmute_all_paths(es_client_t *client);
es_return_t es_unmute_all_target_paths(es_client_t *client);
es_return_t es_invert_muting(es_client_t *client, es_mute_inversion_type_t mute_type);
es_clear_cache_result_t es_clear_cache(es_client_t *client);
void es_retain_message(const es_message_t *msg);
void es_release_message(const es_message_t *msg);

/*
 * es_new_client without blocks: the backend is plain C11 and built by gcc on Linux, so it
 * creates clients through this call. On macOS it is a three-line block wrapper
 * (es_client_darwin.c, built with -fblocks); the emulation implements it directly.
 * fn runs on ES's delivery queue, one message at a time per client.
 */
typedef void (*ward_es_handler_fn)(void *ctx, es_client_t *client, const es_message_t *msg);
es_new_client_result_t ward_es_new_client(es_client_t **client, ward_es_handler_fn fn, void *ctx);

/* The calling process's audit token, for es_mute_process (macOS: task_info
 * TASK_AUDIT_TOKEN; emulation: pid and start time). false on failure. */
bool ward_es_self_token(audit_token_t *out);

/* Read the clock ES deadlines are in: mach_absolute_time() with its timebase, and
 * CLOCK_MONOTONIC in ns at the same moment (the emulation: both are CLOCK_MONOTONIC). */
void ward_es_clock_now(uint32_t *numer, uint32_t *denom, uint64_t *mach, uint64_t *mono_ns);

/* Open flags as ES reports them in es_event_open_t.fflag (sys/fcntl.h, kernel FFLAGS). */
enum { WARD_DARWIN_FREAD = 0x0001, WARD_DARWIN_FWRITE = 0x0002 };

#include "agent/backends/es/es_layout.h"

#endif
