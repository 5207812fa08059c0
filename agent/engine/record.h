/*
 * The decision record: what decide() found and what the engine answered, as typed
 * data (no sentences, no formatting). The engine fills it on the decision path and
 * hands it to its subscribers after the kernel has its answer: the event log formats
 * it, metrics count it, the denial list and the exception hint remember it, the sync
 * spool uploads it. Fixed size: it is copied into bounded rings, never allocated.
 */
#ifndef WARD_AGENT_RECORD_H
#define WARD_AGENT_RECORD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/backend.h"
#include "common/limits.h"
#include "agent/engine/trust.h"
#include "agent/engine/verdict.h"
#include "rules/faa.h"
#include "profiles/config.h"

/* Facts about how a decision was reached that the log states (bit set). */
enum {
	WARD_NOTE_NOSTAT      = 1u << 0,  /* the target could not be stat'ed */
	WARD_NOTE_UNREADABLE  = 1u << 1,  /* the target could not be read (err_code says why) */
	WARD_NOTE_SHA_ONLY    = 1u << 2,  /* not a well-formed container: named by SHA-256 */
	WARD_NOTE_TOO_BIG     = 1u << 3,  /* unknown and over UnknownMaxBytes: not read */
	WARD_NOTE_OUT_OF_TIME = 1u << 4,  /* reading the target ran into the event's deadline */
	WARD_NOTE_CHANGED     = 1u << 5,  /* the target changed while it was decided */
	WARD_NOTE_LATE        = 1u << 6,  /* decided after the deadline keeper had answered */
	WARD_NOTE_HINTS       = 1u << 7,  /* identity from the kernel's hints, file not read */
	WARD_NOTE_USER_WRITABLE = 1u << 8,/* a user other than root can write the target:
	                                     never cached (a mapping can change it unseen) */
	WARD_NOTE_SCAN_AUDIT  = 1u << 9,  /* a YARA audit rule matched (scan_rule names it) */
	WARD_NOTE_NO_POLICY   = 1u << 10, /* OPEN with no file-access policy for the path */
	WARD_NOTE_BUSY_USER   = 1u << 11, /* the user's share of the workers was full */
	WARD_NOTE_PROGRAM     = 1u << 12, /* OPEN of a program by the loader or an interpreter:
	                                     decided as an exec (faa_why says by whom) */
	WARD_NOTE_TO_WORKER   = 1u << 13, /* internal: the reader's try stopped (a scan was
	                                     due); a worker decides the event */
	WARD_NOTE_TTY_SILENT  = 1u << 14, /* no terminal line for this denial (a watch item's
	                                     EnableSilentTTYMode) */
};

typedef struct ward_record {
	/* ---- the event ---- */
	ward_event_kind_t kind;
	ward_subject_t proc;
	bool key_ok;
	ward_filekey_t key;
	uint32_t access;            /* OPEN: requested */
	/* ---- the decision (decide) ---- */
	ward_verdict_t v;
	ward_answer_t answer;       /* what the kernel was told (engine) */
	ward_mode_t mode;
	uint32_t notes;             /* WARD_NOTE_* */
	ward_err_t err_code;        /* with WARD_NOTE_UNREADABLE / SHA_ONLY: the reader's code */
	ward_trust_t trust;         /* with a file under a trusted path that failed the check */
	uint16_t trust_dirlen;      /* WARD_TRUST_DIR_WRITABLE: path[0..trust_dirlen) is the directory */
	int scan_step;              /* ward_scanstep_t + 1 when the scan step ran, else 0 */
	bool scan_other;            /* rules matched that neither block nor audit */
	char scan_rule[WARD_SCAN_REASON_MAX]; /* the deciding match ("yara:<ns>:<rule>") or
	                                         why the file was not scanned */
	char team_id[WARD_MAX_TEAM_ID + 1];
	char signing_id[WARD_MAX_SIGNING_ID + 1];
	char arch[16];              /* the Mach-O slice the identity above is of ("" none); a
	                               universal binary: the slice whose result decided */
	uint8_t nslices;            /* slices the file was decided on (>1: universal binary,
	                               the most restrictive result decided) */
	char rule_identifier[WARD_RULE_ID_MAX + 1]; /* empty when unknown (cache hits) */
	char origin_detail[192];    /* a sentence from a decider outside decide() (the BPF
	                               ground), printed first in the log's detail ("" none) */
	char decide_why[224];       /* what decided a path-regex or bad-signature verdict
	                               (the pattern, the signature's fault) ("" none) */
	/* ---- filled by the engine around the answer ---- */
	struct timespec when;       /* CLOCK_REALTIME of the answer */
	uint64_t latency_us;        /* event read -> answer written */
	uint32_t budget_ms;         /* the decision budget in force (deadline records) */
	char path[PATH_MAX];        /* the target's path (empty: unknown) */
	ward_procinfo_t pinfo;      /* the subject's details (only for logged records) */
	/* ---- OPEN decided by a watch item (reason file_access) ---- */
	char faa_item[WARD_FAA_MAX_NAME + 1];
	char faa_version[80];       /* the policy's Version (truncated) */
	char faa_opener[PATH_MAX];  /* the opener's executable */
	bool faa_has_opener_sha;
	uint8_t faa_opener_sha[32];
	char faa_why[WARD_FAA_WHY_MAX];
	/* ---- a denying rule's texts for the user's terminal line (agent/ttymsg.c) ---- */
	char rule_msg[WARD_MAX_RULE_TEXT + 1]; /* custom_msg ("" none; never for SILENT_BLOCKLIST);
	                                          an OPEN denied by a watch item: its BlockMessage */
	char rule_url[WARD_MAX_RULE_TEXT + 1]; /* custom_url ("" none); a watch item's
	                                          EventDetailURL (the item's, else the policy's) */
} ward_record_t;

/* Reset r to an empty record of kind k (cheap: clears the fixed fields, not the big
 * buffers, which are marked empty). */
void ward_record_reset(ward_record_t *r, ward_event_kind_t k);

/* Stable log names. */
const char *ward_event_kind_name(ward_event_kind_t k);

/*
 * One sentence for a record's "detail" in the log ("" when nothing to say), built from
 * its notes, error code, trust result and scan outcome. Off the decision path only.
 */
void ward_record_detail(const ward_record_t *r, char *buf, size_t len);

#endif
