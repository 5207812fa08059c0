/*
 * warden — every hard limit in one place. Untrusted input (Mach-O, plist, JSON, socket
 * messages) is checked against these before anything is allocated or dereferenced.
 * Modules add their limits here, grouped by module.
 */
#ifndef WARD_COMMON_LIMITS_H
#define WARD_COMMON_LIMITS_H

/* ---- scanner: Mach-O / code signature ---- */
#define WARD_MAX_SLICES          16u        /* fat archs we look at */
#define WARD_MAX_LOAD_COMMANDS   4096u      /* ncmds in one Mach-O header */
#define WARD_MAX_SIZEOFCMDS      (16u << 20)/* bytes of load commands */
#define WARD_MAX_SIGNATURE_BYTES (64u << 20)/* LC_CODE_SIGNATURE datasize */
#define WARD_MAX_BLOB_INDEXES    64u        /* SuperBlob count */
#define WARD_MAX_CODE_SLOTS      (1u << 24) /* nCodeSlots */
#define WARD_MAX_SPECIAL_SLOTS   64u        /* nSpecialSlots */
#define WARD_MAX_SIGNING_ID      255u       /* bytes, without NUL */
#define WARD_MAX_TEAM_ID         63u        /* bytes, without NUL */
#define WARD_IO_CHUNK            (256u << 10)/* streaming read size for hashing */
#define WARD_SHA256_THREADED_MIN (4u << 20)/* files this big are read by a helper thread */
#define WARD_SHA256_RING         8u         /* WARD_IO_CHUNK buffers between reader and hasher */
#define WARD_MAX_CMS_CERTS       16u        /* certificates in one code-signature CMS blob */
#define WARD_CERT_CACHE_ENTRIES  64u        /* verified signer certificate sets kept per process */

/* ---- scanner: YARA scan pool ---- */
#define WARD_SCAN_MAX_RULE_FILES  1024u     /* files one YaraRulesPaths set may expand to */
#define WARD_SCAN_MAX_RULE_BYTES  (64u << 20)/* one rule source or compiled-rules file */
#define WARD_SCAN_MAX_RULES       (1u << 20)/* rules in one compiled set */
#define WARD_SCAN_MAX_WORKERS     64u       /* scan threads */
#define WARD_SCAN_QUEUE_DEFAULT   64u       /* queued scans before BUSY */
#define WARD_SCAN_MAX_QUEUE       4096u
#define WARD_SCAN_CACHE_DEFAULT   8192u     /* cached verdicts */
#define WARD_SCAN_MAX_CACHE       (1u << 20)
#define WARD_SCAN_HARD_LIMIT_S    30u       /* libyara timeout: no scan runs longer */
#define WARD_SCAN_MAX_HARD_LIMIT_S 3600u
#define WARD_SCAN_MAX_BUDGET_MS   600000u   /* a caller's wait */
#define WARD_SCAN_KEEP_BUFFER     (16u << 20)/* read buffer a worker keeps between scans */
#define WARD_SCAN_REASON_MAX      288u      /* "yara:" + namespace + ":" + rule, or why not */
#define WARD_SCAN_WORKER_NICE     5         /* scan threads run this much nicer than decisions */

/* ---- rules ---- */
#define WARD_MAX_RULES           (4u << 20) /* rules in one store */
#define WARD_MAX_IMPORT_BYTES    (256u << 20)/* rule JSON file */
#define WARD_MAX_RULE_TEXT       1024u      /* custom_msg, custom_url, comment */

/* ---- profiles ---- */
#define WARD_MAX_PLIST_BYTES     (16u << 20)
#define WARD_MAX_PLIST_DEPTH     32u
#define WARD_MAX_PLIST_NODES     (1u << 20)
#define WARD_MAX_PROFILE_BYTES   (WARD_MAX_PLIST_BYTES + (1u << 20)) /* file: plist + CMS */
#define WARD_MAX_CONF_BYTES      (16u << 20)/* warden.conf (JSON) */
#define WARD_MAX_PROFILE_FILES   64u        /* profiles read from one directory */
#define WARD_MAX_PAYLOADS        64u        /* warden/Santa payloads in one profile */
#define WARD_MAX_STATIC_RULES    16384u     /* StaticRules over all sources */
#define WARD_MAX_PATH_REGEX      4096u      /* bytes of Allowed/BlockedPathRegex */
#define WARD_MAX_YARA_PATHS      32u        /* YaraRulesPaths entries */
#define WARD_MAX_INTERPRETERS    64u        /* Interpreters entries */
#define WARD_MAX_INTERPRETER_NAME 255u      /* bytes of one Interpreters entry */
#define WARD_MAX_TRUST_ANCHORS   8u         /* ProfileTrustAnchors files */
#define WARD_MAX_ANCHOR_CERTS    64u        /* certificates in all anchor files */
#define WARD_MAX_CONFIG_DIAGS    200u       /* errors+warnings kept by one load */

/* ---- rules: file-access authorization (rules/faa.c) ---- */
#define WARD_FAA_MAX_ITEMS       1024u      /* WatchItems in one policy */
#define WARD_FAA_MAX_PATHS       4096u      /* Paths over all items */
#define WARD_FAA_MAX_PROCS       4096u      /* Processes over all items */
#define WARD_FAA_MAX_NAME        64u        /* bytes of a watch item name */
#define WARD_FAA_MAX_PATH        4095u      /* bytes of a Path or BinaryPath (PATH_MAX - 1) */
#define WARD_FAA_MAX_VERSION     256u       /* bytes of Version */
#define WARD_FAA_MAX_URL         6000u      /* bytes of EventDetailURL */
#define WARD_FAA_MAX_DETAIL_TEXT 48u        /* bytes of EventDetailText (a button label) */
#define WARD_FAA_MAX_MESSAGE     2048u      /* bytes of BlockMessage */
#define WARD_FAA_MAX_SIGNING_ID  512u       /* bytes of a SigningID */
#define WARD_FAA_MAX_GLOB_CHARS  64u        /* glob metacharacters in one Path */
#define WARD_FAA_IDENT_CACHE     256u       /* opener identities remembered (agent/fileaccess.c) */
#define WARD_FAA_ALLOW_CACHE     4096u      /* plain ALLOWs of watched opens remembered */
#define WARD_FAA_LOG_PER_SEC     50u        /* event-log records of denied/audited opens per second */
#define WARD_FAA_LOG_BURST       200u       /* ... and in one burst; past it they are counted as dropped */

/* ---- agent: control socket ---- */
#define WARD_MAX_CTL_MESSAGE     (64u << 10)/* one request line */
#define WARD_MAX_CTL_CLIENTS     32u
#define WARD_CTL_CLIENTS_PER_UID 4u         /* connections one non-root uid may hold */
#define WARD_CTL_ROOT_RESERVE    4u         /* of WARD_MAX_CTL_CLIENTS, kept for root */
#define WARD_CTL_MAX_PEER_GROUPS 256u       /* supplementary groups kept per connection */
#define WARD_CTL_READ_TIMEOUT_MS 5000u      /* a client's partial request may wait this long */
#define WARD_CTL_CONFIG_RULE_BYTES (512u << 10)/* StaticRules JSON in a config reply (replies < 1 MiB) */

/* ---- agent: decision pipeline ---- */
#define WARD_MAX_QUEUE           1024u      /* events in flight (queued or being decided) */
#define WARD_MAX_WORKERS         16u
#define WARD_LOG_HASH_MAX_BYTES  (64ull << 20) /* after the answer, the log's SHA-256 of
                                                  files up to this size */
#define WARD_READER_MAX_BYTES    (256u << 10)/* cold execs of files up to this size may be
                                                decided by the event reader itself */
#define WARD_READER_LOG_HASH_MAX (64u << 10)/* ... and hashed there for the log */
#define WARD_LOG_HASH_BUDGET_MS  1000u
#define WARD_ENGINE_SUBSCRIBERS  8u         /* decision-record subscribers */
#define WARD_UNKNOWN_MAX_BYTES   (512ull << 20) /* a file a BINARY rule could name is hashed
                                                  up to this size; bigger: not identified */
#define WARD_CACHE_ENTRIES       32768u     /* user-space verdict cache (entries; memory = entries * 144 B) */
#define WARD_CACHE_DENY_TTL_MS   5000u      /* DENY verdicts are forgotten after this */
#define WARD_EVLOG_LINES         64u        /* non-decision lines waiting for the writer */
#define WARD_EVLOG_RING          512u       /* event log records waiting for the writer */
#define WARD_EVLOG_MAX_ARGV      2048u      /* bytes of argv kept per event log line */
#define WARD_STORE_POLL_MS       250u       /* store generation poll period (rule change < 1 s) */
#define WARD_RELOAD_QUIET_MS     150u       /* a config source change is reloaded after this much quiet */
#define WARD_RELOAD_MAX_DELAY_MS 600u       /* ... and at most this long after the first change */

/* ---- the denied user's terminal line (agent/blockmsg.c, agent/ttymsg.c) ---- */
#define WARD_MAX_BLOCK_TEXT      1024u      /* UnknownBlockMessage / BannedBlockMessage bytes */
#define WARD_MAX_DETAIL_URL      1024u      /* EventDetailURL bytes (before expansion) */
#define WARD_MAX_DETAIL_TEXT     127u       /* EventDetailText bytes */
#define WARD_TTYMSG_LINE_MAX     2048u      /* one terminal line, everything included */
#define WARD_TTYMSG_RING         32u        /* denials waiting for the terminal writer */
#define WARD_TTYMSG_TTYS         128u       /* terminals whose last line is remembered */
#define WARD_TTYMSG_INTERVAL_MS  3000u      /* at most one line per terminal this often */
#define WARD_TTYMSG_PER_SECOND   20u        /* lines to all terminals in any second */

/* ---- fleet sync (warden-sync, agent/sync/; the spool in agent/syncspool.c) ---- */
#define WARD_MAX_SYNC_URL        1024u      /* SyncBaseURL bytes */
#define WARD_MAX_MACHINE_ID      127u       /* MachineID / MachineIDKey / MachineOwner bytes */
#define WARD_MAX_SYNC_HEADERS    4096u      /* SyncExtraHeaders, as "Name: value" lines */
#define WARD_MAX_SYNC_RESPONSE   (32u << 20)/* one HTTP response body (inflated) */
#define WARD_MAX_SYNC_PAGE_RULES 100000u    /* rules in one ruledownload page */
#define WARD_MAX_SYNC_RULES      (1u << 20) /* rules in one sync (all pages) */
#define WARD_MAX_SYNC_PAGES      100000u    /* ruledownload pages in one sync */
#define WARD_MAX_SYNC_CURSOR     1024u      /* bytes of a ruledownload cursor */
#define WARD_SYNC_BATCH_DEFAULT  50u        /* events per eventupload (server may set batch_size) */
#define WARD_SYNC_MAX_BATCH      1000u
#define WARD_SYNC_CTL_RULES      200u       /* rules per sync_rules control message (< 64 KiB) */
#define WARD_SYNC_STAGE_TTL_S    300u       /* staged synced rules not committed by then are dropped */
#define WARD_SPOOL_MAX_EVENTS    100000u    /* events kept for upload; the oldest are dropped */
#define WARD_SPOOL_TAKE_MAX      200u       /* events per sync_events control reply (< 1 MiB) */

/* ---- exception requests (rules/requests.c, agent/exceptions.c) ---- */
#define WARD_MAX_REQUEST_TEXT    512u       /* bytes of a reason, deny reason or approval comment */
#define WARD_REQUESTS_PER_HOUR   10u        /* new requests one uid may file in any hour */
#define WARD_REQ_MAX_FILE_BYTES  (512ull << 20)/* a file one may ask an exception for */
#define WARD_REQ_HASH_BUDGET_MS  10000u     /* reading + hashing + scanning one requested file */
#define WARD_REQ_JOBS            2u         /* requests being read at once (one per uid) */
#define WARD_MAX_PENDING_PER_UID 20u        /* pending requests of one uid */
#define WARD_MAX_PENDING         1000u      /* pending requests of all users */
#define WARD_MAX_BULK_DECISIONS  256u       /* lines of one approve --from file */
#define WARD_MAX_BULK_BYTES      (48u << 10)/* approve --from file (it travels in one control message) */
#define WARD_REQUESTS_PAGE       100u       /* requests per control reply (export pages through) */
#define WARD_DENIAL_UIDS         64u        /* users whose recent denials the agent remembers */
#define WARD_DENIALS_PER_UID     16u        /* recent denials kept per user (wardenctl blocked) */

/* ---- EndpointSecurity backend (agent/backends/es/) ---- */
#define WARD_ES_MAX_PATH         1024u      /* Darwin MAXPATHLEN, with the NUL */
#define WARD_ES_HEADROOM_MIN_NS  1000000000ull /* answer at least 1 s before msg->deadline */
#define WARD_ES_HEADROOM_MAX_NS  5000000000ull /* and keep no more than 5 s back */
#define WARD_ES_HEADROOM_DIV     10u        /* headroom: a tenth of the time left, clamped */
#define WARD_ESLOGGER_MAX_LINE   (1u << 20) /* one eslogger JSON line (exec env can be long) */
#define WARD_ESLOGGER_MAX_LINES  (1u << 24) /* lines in one recording */

#endif
