/*
 * The portable half of the EndpointSecurity backend: es_message_t -> a flat event the
 * engine can decide on. No ES call, no OS call: the caller passes the clock readings, so
 * the mapping is unit-tested on Linux with hand-built messages (tests/unit/test_es_map.c)
 * and reused by `wardenctl simulate --eslogger`.
 *
 * Everything is read under the message-version gates documented in es_api.h; a field
 * newer than msg->version is never touched. Strings are copied (bounded) so the mapped
 * event does not point into the message.
 */
#ifndef WARD_ES_MAP_H
#define WARD_ES_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/backends/es/es_api.h"
#include "agent/engine/verdict.h"
#include "common/error.h"
#include "common/limits.h"

typedef enum {
	WARD_ES_K_EXEC = 1,     /* AUTH_EXEC / NOTIFY_EXEC: decide the new image */
	WARD_ES_K_OPEN = 2,     /* AUTH_OPEN: decide the access asked for */
	WARD_ES_K_MODIFIED = 3, /* NOTIFY_CLOSE with modified: evict the file's verdicts */
	WARD_ES_K_RENAME = 4,   /* NOTIFY_RENAME: evict the source (and a replaced target) */
	WARD_ES_K_UNLINK = 5,   /* NOTIFY_UNLINK: evict */
	WARD_ES_K_EXIT = 6,     /* NOTIFY_EXIT: forget the process */
	WARD_ES_K_UNMOUNT = 7,  /* NOTIFY_UNMOUNT: evict everything on that device */
	WARD_ES_K_CLOSE = 8,    /* NOTIFY_CLOSE without modified: nothing to do */
} ward_es_kind_t;

/* Requested / allowed access of an OPEN, as the engine counts it. */
enum { WARD_ES_ACC_READ = 1u << 0, WARD_ES_ACC_WRITE = 1u << 1 };

/* Code-signing facts the kernel verified (es_process_t), for decide() to trust without
 * reading the file. valid is false when the image is not validly signed. */
typedef struct ward_es_hints {
	bool valid;          /* CS_VALID and CS_SIGNED set: cdhash is the kernel's */
	bool adhoc;          /* CS_ADHOC: no team, signing id not meaningful */
	bool platform;       /* is_platform_binary */
	uint32_t cs_flags;
	uint8_t cdhash[WARD_CDHASH_LEN];
	char team_id[WARD_MAX_TEAM_ID + 1];       /* "" when none or adhoc */
	char signing_id[WARD_MAX_SIGNING_ID + 1]; /* "" when none */
} ward_es_hints_t;

/* A file as ES reports it: key from es_file_t.stat, path copied (NULL if truncated). */
typedef struct ward_es_file {
	bool present;
	bool key_ok;
	ward_filekey_t key;
	uint32_t st_uid;
	uint32_t st_mode;
	bool path_ok;          /* path is the whole path (not truncated, no NUL inside) */
	char path[WARD_ES_MAX_PATH];
} ward_es_file_t;

/* The process a message is about (es_process_t). */
typedef struct ward_es_proc {
	pid_t pid;            /* audit_token val[5] */
	uint32_t pidversion;  /* audit_token val[7]: tells a reused pid apart */
	uint32_t euid, egid, ruid;
	pid_t ppid;
	ward_es_file_t exe;   /* its executable */
	ward_es_hints_t hints;
} ward_es_proc_t;

typedef struct ward_es_event {
	ward_es_kind_t kind;
	es_event_type_t type;
	uint32_t version;
	bool auth;              /* an AUTH message: must be answered exactly once */
	uint64_t seq;           /* seq_num (v2) or 0 */
	ward_es_proc_t proc;    /* the subject: msg->process */
	/* EXEC: the new image (event.exec.target) and, v2+, the script a #! ran */
	ward_es_proc_t target;
	ward_es_file_t script;
	/* OPEN/CLOSE/UNLINK/RENAME: the file; RENAME: dest (existing file or dir+name) */
	ward_es_file_t file;
	ward_es_file_t dest;
	uint32_t fflag;         /* OPEN: the kernel's open flags */
	uint32_t access;        /* OPEN: WARD_ES_ACC_* asked for */
	int exit_status;        /* EXIT */
	uint64_t unmount_dev;   /* UNMOUNT: f_fsid[0] as a dev number */
	char unmount_on[WARD_ES_MAX_PATH];
	/* time: t_recv_ns from the caller's clock; deadline_ns when the fallback answer is
	 * due (0 for NOTIFY). left_ns is the whole time ES gave. */
	uint64_t t_recv_ns;
	uint64_t left_ns;
	uint64_t deadline_ns;
} ward_es_event_t;

/* mach absolute time -> ns. numer/denom from mach_timebase_info (1/1 on Intel,
 * 125/3 on Apple silicon). */
typedef struct ward_es_clock {
	uint32_t numer, denom;
	uint64_t now_mach;  /* mach_absolute_time() when the message was received */
	uint64_t now_ns;    /* the backend's monotonic clock at the same moment */
} ward_es_clock_t;

/* mach ticks -> ns without overflow for any 64-bit input (saturates). */
uint64_t ward_es_mach_to_ns(const ward_es_clock_t *clk, uint64_t ticks);

/*
 * How long the engine may work on a message with left_ns until ES's deadline before the
 * fallback answer goes out: Santa's discipline, answer within a fraction of the time
 * left and keep headroom for the answer to reach the kernel (a client that misses a
 * deadline is killed by ES). Headroom is left/WARD_ES_HEADROOM_DIV clamped to
 * [WARD_ES_HEADROOM_MIN_NS, WARD_ES_HEADROOM_MAX_NS], and never more than half of
 * left_ns, so a short deadline still gets half its time. 0 when left_ns is 0.
 */
uint64_t ward_es_budget_ns(uint64_t left_ns);

/* Requested access of an AUTH_OPEN from its fflag. */
uint32_t ward_es_fflag_access(uint32_t fflag);

/*
 * The flags to pass to es_respond_flags_result for an OPEN whose decision allows
 * `allowed` (WARD_ES_ACC_*): everything when the whole request is allowed, the request
 * without FWRITE when only reading is, 0 when nothing is.
 */
uint32_t ward_es_flags_result(uint32_t fflag, uint32_t allowed);

/*
 * Map msg into *out. Returns WARD_OK, or WARD_E_UNSUPPORTED for an event type warden
 * does not subscribe to, or WARD_E_MALFORMED when a pointer ES guarantees is NULL (the
 * caller answers an AUTH message with its fallback either way). out is filled as far as
 * it could be, kind and auth always.
 */
ward_err_t ward_es_map(const es_message_t *msg, const ward_es_clock_t *clk,
                       ward_es_event_t *out, ward_error_t *err);

/*
 * The rule identities the kernel vouched for (no file read): cdhash, team ID, signing ID
 * as "TEAMID:id", or "platform:id" for a platform binary (only ES can say that), in the
 * canonical form ward_index_match takes. Empty fields when hints are not valid.
 */
struct ward_match_key;
void ward_es_match_key(const ward_es_hints_t *h, struct ward_match_key *key);

/* Copy a token into buf (NUL-terminated); false if it does not fit or holds a NUL. */
bool ward_es_token_copy(const es_string_token_t *tok, char *buf, size_t len);

#endif
