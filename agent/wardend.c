/*
 * wardend — the warden agent. Parses flags, loads the configuration, opens the rule
 * store, the event log, the backend and the control socket, starts the pipeline
 * (agent/engine/pipeline.c), then runs the main loop: signals (common/sigwatch.h), control clients,
 * and the store watcher. Everything that decides lives elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/confine.h"
#include "agent/backends/bpfground.h"
#include "agent/backends/procinfo.h"
#include "agent/daemon.h"
#include "agent/dirwatch.h"
#include "agent/backends/open/open.h"
#include "agent/exceptions.h"
#include "agent/lastgood.h"
#include "agent/log.h"
#include "agent/syncd.h"
#include "agent/ttymsg.h"
#include "agent/version.h"
#include "profiles/diag.h"
#include "agent/yarascan.h"
#include "common/paths.h"
#include "common/platform.h"
#include "common/sigwatch.h"

#define DEFAULT_CONFIG WARD_DEFAULT_CONFIG
#define DEFAULT_PROFILES WARD_DEFAULT_PROFILES
#define DEFAULT_SOCKET WARD_DEFAULT_SOCKET

static void usage(FILE *out)
{
	fprintf(out,
	"usage: wardend [--config FILE] [--profiles-dir DIR] [--foreground]\n"
	"               [--mode monitor|lockdown] [--watch PATH]... [--db FILE]\n"
	"               [--socket PATH] [--event-log FILE] [--workers N] [--yara PATH]...\n"
	"               [--no-kernel-cache] [--no-cache] [--mount-marks]\n"
	"               [--no-ground] [--ground-uid UID]... [--debug]\n"
	"               [--help] [--version]\n"
	"\n"
	"The warden agent: authorizes every program start (%s) on the\n"
	"watched filesystems from the rules in the store, the trusted paths and the mode.\n"
	"\n"
	"  --config FILE      JSON configuration (default " DEFAULT_CONFIG "; a missing\n"
	"                     default file means none, a missing --config FILE is an error)\n"
	"  --profiles-dir DIR configuration profiles: DIR/*.mobileconfig and DIR/*.plist,\n"
	"                     applied after the config file in name order (default\n"
	"                     " DEFAULT_PROFILES "; a missing directory means none;\n"
	"                     \"\" reads no profiles). With neither: embedded defaults (MONITOR)\n"
	"  --foreground       do not detach; diagnostics go to stderr instead of syslog\n"
	"  --mode MODE        monitor or lockdown; overrides ClientMode from the config and\n"
	"                     profiles, also across reloads\n"
	"  --watch PATH       authorize execs on the filesystem holding PATH (repeatable;\n"
	"                     default: every local filesystem, and each local filesystem\n"
	"                     mounted later in the agent's mount namespace; with --watch,\n"
	"                     exactly the listed filesystems, never a later mount)\n"
	"  --db FILE          rule store (default " WARD_STORE_DEFAULT_PATH ")\n"
	"  --socket PATH      control socket (default " DEFAULT_SOCKET ")\n"
	"  --event-log FILE   event log (default: EventLogPath from the config,\n"
	"                     /var/log/warden/events.jsonl)\n"
	"  --workers N        decision threads, 1..%u (default: 2 per CPU, at least 4: a\n"
	"                     decision may wait up to ScanBudgetMs on a YARA scan)\n"
	"  --yara PATH        YARA rule file or glob pattern, instead of YaraRulesPaths\n"
	"                     (repeatable; default /etc/warden/yara/*.yar; none found: no\n"
	"                     scanning)\n"
	"  --no-kernel-cache  do not let the kernel remember ALLOW verdicts (benchmarks)\n"
	"  --no-cache         no user-space verdict cache either\n"
	"  --mount-marks      mark the mount of each --watch PATH instead of its filesystem\n"
	"  --no-ground        do not load the BPF ground: programs on filesystems mounted in\n"
	"                     a user namespace and memfd programs then run undecided, and a\n"
	"                     program rewritten between its ALLOW and its exec runs once\n"
	"  --ground-uid UID   the BPF ground decides only execs by this real uid (repeatable,\n"
	"                     at most 64; for tests; default: every uid). The ground denies\n"
	"                     such execs in LOCKDOWN and logs them in MONITOR, whatever\n"
	"                     --watch says\n"
	"  --debug            verbose diagnostics\n"
	"\n"
	"The config file and the profiles directory are watched (%s): a change is\n"
	"reloaded within a second. The new configuration is validated completely first; if\n"
	"any source is invalid nothing changes, the errors are logged (file:line) and shown\n"
	"by 'wardenctl status', and the last good configuration stays in force. Files and\n"
	"the directory must be owned by root and not writable by group or others.\n"
	"Every good load is saved as the last good configuration (last-good-config.json\n"
	"in the directory of --db); if the sources do not load at start, the agent logs\n"
	"the errors and runs on it (--mode still applies) until a reload succeeds, and\n"
	"exits 2 only when there is none.\n"
	"\n"
	"Signals: TERM/INT stop (pending execs are allowed by the kernel when the agent's\n"
	"fanotify group closes), HUP reopens the event log and reloads the configuration\n"
	"and the YARA rules (rebuilt only if a rule file changed; a set that does not\n"
	"compile leaves the previous one active).\n"
	"Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on a usage or\n"
	"configuration error (invalid sources at start and no last good configuration).\n%s",
	ward_backend_hook, WARD_MAX_WORKERS, ward_dirwatch_kind, ward_backend_help_note);
}

static bool copy_path(char *dst, size_t cap, const char *src, const char *what)
{
	if (strlen(src) >= cap || src[0] == '\0') {
		fprintf(stderr, "wardend: %s: bad path '%s'\n", what, src);
		return false;
	}
	snprintf(dst, cap, "%s", src);
	return true;
}

/* Create the last directory of path's parent if it is missing (like the unit's
 * RuntimeDirectory/StateDirectory/LogsDirectory do under systemd). */
static void mkdir_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		log_warn("mkdir %s", dir);
}

static const char *iso_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "?");
	return buf;
}

/* Tell systemd (Type=notify) we are ready, if it asked. */
static void notify_ready(void)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (p == NULL || (p[0] != '/' && p[0] != '@') || strlen(p) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, p, strlen(p));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = ward_socket(AF_UNIX, SOCK_DGRAM, WARD_SOCK_CLOEXEC)) < 0)
		return;
	(void)!sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun,
	              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p)));
	close(fd);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Every event in flight holds a descriptor the kernel opened for us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Say once per poll period when the kernel side went wrong (the counters are in status). */
static void report_backend_errors(ward_backend_t *b)
{
	static uint64_t overflows, read_errors, mark_errors;
	uint64_t o = atomic_load(&b->overflows), r = atomic_load(&b->read_errors);
	uint64_t m = atomic_load(&b->mark_errors);

	if (o != overflows)
		log_warnx("fanotify queue overflow: %llu events lost so far", (unsigned long long)o);
	if (r != read_errors)
		log_warnx("fanotify read errors: %llu so far (descriptor limit?)", (unsigned long long)r);
	if (m != mark_errors)
		log_warnx("kernel cache marks that failed: %llu so far", (unsigned long long)m);
	overflows = o;
	read_errors = r;
	mark_errors = m;
}

/* The scan step's hooks into the engine (agent/yarascan.h). */
static void yara_flush(void *arg)
{
	ward_daemon_t *d = arg;
	ward_engine_info_t ei;

	ward_engine_info(d->engine, &ei);
	if (ei.started) /* before the start nothing is cached */
		ward_engine_flush(d->engine);
}

static void yara_emit(void *arg, const ward_record_t *r)
{
	ward_daemon_t *d = arg;
	ward_engine_emit(d->engine, r);
}

static ward_mode_t yara_mode(void *arg)
{
	ward_daemon_t *d = arg;
	return ward_engine_mode(d->engine);
}

/*
 * The backend's last resort (ES: its own timer, when the engine has not answered by the
 * kernel's deadline less half the headroom): the engine itself failed, so FailClosed
 * decides in LOCKDOWN. Lock-free: it runs while the engine may be stuck.
 */
static ward_decision_t backend_fallback(void *arg)
{
	ward_daemon_t *d = arg;
	ward_verdict_t v;

	if (d->engine == NULL)
		return WARD_ALLOW;
	ward_decide_fallback(ward_engine_mode(d->engine),
	                     __atomic_load_n(&d->cfg.fail_closed, __ATOMIC_RELAXED),
	                     WARD_RSN_DEADLINE, false, &v);
	return v.decision;
}

/* The event log subscribes to the engine's decision records. */
static void evlog_subscriber(void *arg, const ward_record_t *r)
{
	(void)ward_evlog_submit(arg, r);
}

/* The scan step: load the YARA rules (a set that does not compile is logged and shown
 * by status; the agent then runs without scanning until a reload fixes it). */
static void start_yara(ward_daemon_t *d, const char *const *paths, size_t n)
{
	ward_error_t err = { 0 };
	ward_yarascan_hooks_t h = { .flush = yara_flush, .emit = yara_emit, .mode = yara_mode, .arg = d };

	if (ward_yarascan_create(&h, &d->yara, &err) != WARD_OK ||
	    ward_yarascan_override(d->yara, paths, n, &err) != WARD_OK)
		fatalx("%s", err.msg);
	ward_yarascan_reload(d->yara, &d->cfg, NULL, NULL);
	ward_engine_set_scan(d->engine, ward_yarascan_step, d->yara, ward_yarascan_forget, d->yara);
	ward_engine_set_scan_idle(d->engine, ward_yarascan_idle);
}

/* The event log writer's subscribers, after each answer: recent denials for `blocked`,
 * and the sync spool (when a sync server is configured). */
static void evlog_hooks(void *arg, const ward_evrec_t *r)
{
	ward_daemon_t *d = arg;

	ward_exc_evlog_hook(d->exc, r);
	/* no sync server, nothing to upload: no disk writes for it either */
	if (atomic_load(&d->spool_events))
		ward_syncspool_hook(ward_syncd_spool(d->sync), r);
}

/* The BPF ground follows the mode of every published snapshot. */
static void ground_set_mode(void *arg, ward_mode_t mode)
{
	ward_bpfground_set_mode(arg, mode);
}

/* The engine is about to answer ALLOW to an exec (the answer path, before the answer). */
static void ground_note_allow(void *arg, const ward_filekey_t *key, bool user_writable)
{
	ward_bpfground_note_allow(arg, key, !user_writable);
}

/* An exec the BPF ground decided (its reader thread): one event-log line. The process
 * may have exec'd already (MONITOR) or be back from a failed execve (LOCKDOWN). */
static void ground_report(void *arg, const ward_ground_report_t *r)
{
	ward_daemon_t *d = arg;
	static ward_record_t rec; /* one reader thread; too large for its stack */

	ward_record_reset(&rec, WARD_EV_EXEC);
	clock_gettime(CLOCK_REALTIME, &rec.when);
	rec.v.decision = r->denied ? WARD_DENY : WARD_ALLOW;
	rec.v.reason = r->changed ? WARD_RSN_CHANGED : WARD_RSN_GROUND;
	rec.mode = r->denied ? WARD_MODE_LOCKDOWN : WARD_MODE_MONITOR;
	rec.proc.pid = r->pid;
	rec.proc.creds_ok = true;
	rec.proc.uid = r->uid;
	snprintf(rec.path, sizeof(rec.path), "%s", r->filename);
	snprintf(rec.origin_detail, sizeof(rec.origin_detail),
	         "bpf ground: %s (%s, dev %llu:%llu, inode %llu), comm %s",
	         r->changed ? "the program changed after the agent allowed it, before it ran" :
	         r->userns ? "a filesystem mounted in a user namespace" : "a kernel-internal file (memfd)",
	         r->fstype, (unsigned long long)(r->dev >> 20), (unsigned long long)(r->dev & 0xfffff),
	         (unsigned long long)r->ino, r->comm);
	if (!ward_procinfo_read(r->pid, &rec.pinfo) || rec.pinfo.uid != r->uid) {
		memset(&rec.pinfo, 0, sizeof(rec.pinfo));
		rec.pinfo.ok = true; /* the uid the kernel saw is what matters */
		rec.pinfo.uid = r->uid;
		rec.pinfo.ppid = 0;
	}
	rec.pinfo.argv_is_caller = false;
	ward_engine_emit(d->engine, &rec);
	if (r->denied)
		log_info("bpf ground: denied %s (%s%s) for uid %u pid %d", r->filename, r->fstype,
		         r->changed ? ", changed after it was allowed" : "", (unsigned)r->uid, (int)r->pid);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "profiles-dir", required_argument, NULL, 'P' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "watch", required_argument, NULL, 'w' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "event-log", required_argument, NULL, 'e' },
		{ "workers", required_argument, NULL, 'n' },
		{ "yara", required_argument, NULL, 'y' },
		{ "no-kernel-cache", no_argument, NULL, 'K' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "mount-marks", no_argument, NULL, 'M' },
		{ "no-ground", no_argument, NULL, 'G' },
		{ "ground-uid", required_argument, NULL, 'u' },
		{ "debug", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static ward_daemon_t d;
	static const char *watch[64];
	static const char *yara[WARD_MAX_YARA_PATHS + 1];
	size_t nwatch = 0, nyara = 0, nground_uids = 0;
	static uint32_t ground_uids[64];
	bool no_ground = false;
	bool foreground = false, debug = false, user_cache = true, mount_marks = false;
	const char *event_log = NULL;
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	bool workers_given = false, profiles_given = false;
	json_t *diags;
	ward_error_t err = { 0 };
	ward_snapshot_t *snap = NULL;
	bool fallback = false;           /* the sources did not load: the last good configuration */
	int64_t fallback_at = 0;
	json_t *fallback_sources = NULL, *fallback_diags = NULL;
	ward_error_t fallback_err = { 0 };
	char when[32];
	int c;

	d.kernel_cache = true;
	snprintf(d.db_path, sizeof(d.db_path), "%s", WARD_STORE_DEFAULT_PATH);
	snprintf(d.socket_path, sizeof(d.socket_path), "%s", DEFAULT_SOCKET);
	while ((c = getopt_long(argc, argv, "c:fm:w:d:s:e:n:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!copy_path(d.config_path, sizeof(d.config_path), optarg, "--config"))
				return 2;
			d.config_required = true;
			break;
		case 'P':
			if (optarg[0] != '\0' &&
			    !copy_path(d.profiles_dir, sizeof(d.profiles_dir), optarg, "--profiles-dir"))
				return 2;
			profiles_given = true;
			break;
		case 'f': foreground = true; break;
		case 'm':
			if (strcasecmp(optarg, "monitor") == 0)
				d.mode_override = WARD_MODE_MONITOR;
			else if (strcasecmp(optarg, "lockdown") == 0)
				d.mode_override = WARD_MODE_LOCKDOWN;
			else {
				fprintf(stderr, "wardend: --mode: expected monitor or lockdown, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			if (nwatch + 1 >= sizeof(watch) / sizeof(watch[0])) {
				fprintf(stderr, "wardend: --watch: at most %zu paths\n", sizeof(watch) / sizeof(watch[0]) - 1);
				return 2;
			}
			watch[nwatch++] = optarg;
			break;
		case 'd':
			if (!copy_path(d.db_path, sizeof(d.db_path), optarg, "--db"))
				return 2;
			break;
		case 's':
			if (!copy_path(d.socket_path, sizeof(d.socket_path), optarg, "--socket"))
				return 2;
			break;
		case 'e': event_log = optarg; break;
		case 'y':
			if (nyara >= WARD_MAX_YARA_PATHS || optarg[0] == '\0' || strlen(optarg) >= WARD_MAX_PATH) {
				fprintf(stderr, "wardend: --yara: at most %u paths, each 1..%u bytes\n",
				        WARD_MAX_YARA_PATHS, WARD_MAX_PATH - 1);
				return 2;
			}
			yara[nyara++] = optarg;
			break;
		case 'n': {
			char *end;
			workers = strtol(optarg, &end, 10);
			if (*end || workers < 1 || workers > WARD_MAX_WORKERS) {
				fprintf(stderr, "wardend: --workers: expected 1..%u\n", WARD_MAX_WORKERS);
				return 2;
			}
			workers_given = true;
			break;
		}
		case 'K': d.kernel_cache = false; break;
		case 'C': user_cache = false; break;
		case 'M': mount_marks = true; break;
		case 'G': no_ground = true; break;
		case 'u': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || v >= UINT32_MAX ||
			    nground_uids >= sizeof(ground_uids) / sizeof(ground_uids[0])) {
				fprintf(stderr, "wardend: --ground-uid: expected a uid (at most %zu), got '%s'\n",
				        sizeof(ground_uids) / sizeof(ground_uids[0]), optarg);
				return 2;
			}
			ground_uids[nground_uids++] = (uint32_t)v;
			break;
		}
		case 'D': debug = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("wardend %s\n", WARD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wardend: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!workers_given)
		workers = workers < 2 ? 4 : 2 * workers; /* slow decisions (a scan waits up to
		                                           ScanBudgetMs) must not hold up others */
	if (workers > WARD_MAX_WORKERS)
		workers = WARD_MAX_WORKERS;
	log_init("wardend", true, debug);
	if (d.config_path[0] == '\0')
		snprintf(d.config_path, sizeof(d.config_path), "%s", DEFAULT_CONFIG);
	if (!profiles_given)
		snprintf(d.profiles_dir, sizeof(d.profiles_dir), "%s", DEFAULT_PROFILES);
	/* Watch before reading, so a change made while we read is not missed. */
	if (ward_profwatch_create(d.config_path, d.profiles_dir, &d.watch, &err) != WARD_OK) {
		if (d.watch == NULL)
			fatalx("%s", err.msg);
		log_warnx("configuration changes will not be seen (reload with SIGHUP): %s", err.msg);
	}
	if (!ward_lastgood_path(d.db_path, d.lastgood_path, sizeof(d.lastgood_path)))
		d.lastgood_path[0] = '\0';
	/* Fleet sync's state (server settings, spool) before the configuration: the
	 * server's client_mode is a layer of it. */
	mkdir_parent(d.db_path, 0700);
	{
		char dir[PATH_MAX], *slash;
		snprintf(dir, sizeof(dir), "%s", d.db_path);
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		if (ward_syncd_create(dir, &d.sync, &err) != WARD_OK)
			log_warnx("fleet sync unavailable (no spool, no server settings): %s", err.msg);
	}
	diags = json_array();
	if (ward_daemon_load_config(&d, &d.confset, &d.cfg, diags, &err) != WARD_OK) {
		ward_error_t lerr = { 0 };
		size_t i;
		json_t *dg;
		json_array_foreach(diags, i, dg) {
			const char *sev = json_string_value(json_object_get(dg, "severity"));
			if (sev != NULL && strcmp(sev, "error") == 0)
				log_warnx("configuration: %s", ward_diag_text(dg));
		}
		log_warnx("invalid configuration: %s", err.msg);
		/*
		 * Start from the last good configuration, if there is one we can trust: the
		 * machine keeps enforcing what it enforced (a LOCKDOWN fleet stays LOCKDOWN)
		 * instead of having no agent. Without one, refuse: the embedded defaults
		 * (MONITOR) would silently weaken a LOCKDOWN machine.
		 */
		if (d.lastgood_path[0] == '\0' ||
		    ward_lastgood_load(d.lastgood_path, &d.cfg, &fallback_at, &fallback_sources, &lerr) != WARD_OK) {
			log_warnx("no usable last good configuration (%s): not starting",
			          d.lastgood_path[0] ? lerr.msg : "no path");
			json_decref(diags);
			ward_profwatch_destroy(d.watch);
			return 2;
		}
		ward_syncd_overlay(d.sync, &d.cfg);
		if (d.mode_override)
			d.cfg.mode = (ward_mode_t)d.mode_override;
		fallback = true;
		fallback_err = err;
		fallback_diags = diags;
		log_warnx("RUNNING ON THE LAST GOOD CONFIGURATION of %s (%s, %s): the sources above do "
		          "not load; fix them and the agent reloads them", iso_time(fallback_at, when, sizeof(when)),
		          d.lastgood_path, ward_mode_name(d.cfg.mode));
	} else {
		json_decref(diags);
	}
	atomic_store(&d.spool_events, d.cfg.sync.base_url[0] != '\0');
	if (!copy_path(d.event_log_path, sizeof(d.event_log_path),
	               event_log ? event_log : d.cfg.event_log_path, "--event-log"))
		return 2;

	/* Signals reach the main loop through a pipe (common/sigwatch.h): block them in
	 * every thread, before any exists. */
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	const size_t nsigs = sizeof(sigs) / sizeof(sigs[0]);
	if (!ward_sigwatch_block(sigs, nsigs))
		fatal("blocking signals");
	raise_nofile();

	mkdir_parent(d.db_path, 0700);
	if (ward_store_open(d.db_path, WARD_STORE_CREATE, &d.store, &err) != WARD_OK)
		fatalx("rule store: %s", err.msg);
	ward_daemon_store_opened(&d);
	{
		/* the unclean-exit counter lives next to the store (the state directory) */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", d.db_path);
		char *slash = strrchr(dir, '/');
		if (slash != NULL) {
			*(slash == dir ? slash + 1 : slash) = '\0';
			ward_crashes_start(dir);
		} else {
			ward_crashes_start(".");
		}
	}
	/* On the last good configuration the managed rules stay as the last sync left them
	 * (a sync needs the sources' StaticRules; without them it would drop every one). */
	if (!fallback && ward_confset_sync_rules(d.confset, d.store, NULL, &err) != WARD_OK)
		fatalx("StaticRules: %s", err.msg);
	if (ward_snapshot_build(&d.cfg, d.store, &snap, &err) != WARD_OK)
		fatalx("rules: %s", err.msg);
	mkdir_parent(d.event_log_path, 0750);
	if (ward_evlog_open(d.event_log_path, WARD_EVLOG_RING, &d.evlog, &err) != WARD_OK)
		fatalx("%s", err.msg);
	if (ward_exc_create(&d.exc, &err) != WARD_OK)
		fatalx("%s", err.msg);
	ward_evlog_set_hook(d.evlog, evlog_hooks, &d);
	if (user_cache && ward_cache_create(WARD_CACHE_ENTRIES, WARD_CACHE_DENY_TTL_MS, &d.cache, &err) != WARD_OK)
		fatalx("%s", err.msg);
	if (ward_queue_create(WARD_MAX_QUEUE, &d.queue, &err) != WARD_OK ||
	    ward_compilers_create(&d.compilers, &err) != WARD_OK)
		fatalx("%s", err.msg);

	ward_backend_args_t ba = { .watch = watch, .kernel_cache = d.kernel_cache,
	                           .mount_marks = mount_marks, .fallback = backend_fallback,
	                           .fallback_arg = &d };
	if (ward_backend_open(&ba, &d.backend, &err) != WARD_OK)
		fatalx("%s", err.msg);
	/* The ground under fanotify. Its link lives in a descriptor of this process: it
	 * follows us through daemon() and is detached by the kernel however we exit. */
	ward_bpfground_opts_t go = {
		.disabled = no_ground, .scope_uids = ground_uids, .nscope = nground_uids,
		.mode = d.cfg.mode, .report = ground_report, .report_arg = &d,
	};
	if (ward_bpfground_open(&go, &d.ground, &err) != WARD_OK)
		fatalx("%s", err.msg);
	if (ward_bpfground_state(d.ground) == WARD_GROUND_ACTIVE)
		log_info("bpf ground: active (%s%s%s)", nground_uids ? "scoped to --ground-uid" : "every uid",
		         ward_bpfground_reason(d.ground)[0] ? "; " : "", ward_bpfground_reason(d.ground));
	else if (ward_bpfground_state(d.ground) != WARD_GROUND_DISABLED)
		log_warnx("bpf ground %s: %s; programs on user-namespace mounts and memfd programs "
		          "run undecided (see docs/threat-model.md for the sysctls that close this)",
		          ward_bpfground_state_name(ward_bpfground_state(d.ground)),
		          ward_bpfground_reason(d.ground));
	mkdir_parent(d.socket_path, 0755);
	if (ward_ctl_listen(d.socket_path, ward_daemon_commands, ward_daemon_ncommands, &d,
	                    ward_daemon_admin_gid(&d.cfg), &d.ctl, &err) != WARD_OK)
		fatalx("%s", err.msg);

	if (!foreground) {
		/* Detach before any thread exists (fork copies only the caller). */
		if (!ward_daemonize())
			fatal("daemon");
		log_init("wardend", false, debug);
	}
	ward_sigwatch_t *sigw;
	if (!ward_sigwatch_start(sigs, nsigs, &sigw))
		fatal("signal thread");
	if (ward_evlog_start(d.evlog, &err) != WARD_OK)
		fatalx("%s", err.msg);

	if (ward_fileaccess_create(&d.fa, &err) != WARD_OK)
		fatalx("%s", err.msg);
	watch[nwatch] = NULL;
	d.watch_paths = watch;
	yara[nyara] = NULL;
	d.yara_paths = nyara ? yara : NULL;
	if (ward_daemon_fileaccess(&d, fallback ? NULL : d.confset, &d.cfg, &err) != WARD_OK)
		fatalx("file access: %s", err.msg);
	if (fallback)
		log_warnx("file access: on the last good configuration only warden's own files are protected");
	ward_engine_opts_t eo = {
		.fileaccess = d.fa,
		.backend = d.backend,
		.cache = d.cache,
		.queue = d.queue,
		.nworkers = (unsigned)workers,
		.kernel_cache = d.kernel_cache,
		.compilers = d.compilers,
		.on_publish = ground_set_mode,
		.on_publish_arg = d.ground,
		/* with no ground (--no-ground, or the kernel has none) no syscall per answer */
		.on_exec_allow = ward_bpfground_state(d.ground) == WARD_GROUND_ACTIVE ? ground_note_allow : NULL,
		.on_exec_allow_arg = d.ground,
	};
	if (ward_engine_create(&eo, snap, &d.engine, &err) != WARD_OK ||
	    ward_engine_subscribe(d.engine, evlog_subscriber, d.evlog, &err) != WARD_OK)
		fatalx("%s", err.msg);
	/* the denied user's terminal line, after the answer, on a thread of its own */
	if (ward_ttymsg_create(d.engine, &d.tty, &err) != WARD_OK ||
	    ward_engine_subscribe(d.engine, ward_ttymsg_record, d.tty, &err) != WARD_OK ||
	    ward_ttymsg_start(d.tty, &err) != WARD_OK)
		fatalx("%s", err.msg);
	if (fallback) {
		ward_profwatch_fallback(d.watch, d.lastgood_path, fallback_at, fallback_sources,
		                        &fallback_err, fallback_diags);
		json_decref(fallback_sources);
		json_decref(fallback_diags);
	} else {
		ward_profwatch_loaded(d.watch, d.confset, "start");
	}
	ward_daemon_log_config(&d, "start");
	if (d.cfg.ninterpreters > 0 && !ward_backend_program_opens)
		log_warnx("Interpreters: the %s backend does not report scripts opened by an "
		          "interpreter; they are not decided by the exec rules (docs/macos.md)",
		          ward_backend_flavour);
	ward_daemon_save_last_good(&d, "start"); /* nothing on the last good one */
	ward_engine_watch_writes(d.engine);
	start_yara(&d, yara, nyara); /* after the fork: the scan pool has threads */
	{
		ward_exc_env_t xe = { .store = d.store, .engine = d.engine, .cfg = &d.cfg, .evlog = d.evlog,
		                      .yara = d.yara, .ctl = d.ctl };
		ward_exc_bind(d.exc, &xe);
	}
	if (!ward_ctl_start_parser())
		log_warnx("control: no parser thread; control lines are parsed unconfined");
	if (ward_bpfground_start(d.ground, &err) != WARD_OK)
		fatalx("%s", err.msg);
	if (ward_engine_start(d.engine, &err) != WARD_OK)
		fatalx("%s", err.msg);
	/* now that the reader runs, the kernel may report opens (the agent's own included,
	 * which the reader answers at once) */
	d.opens_live = true;
	if (ward_daemon_fileaccess(&d, fallback ? NULL : d.confset, &d.cfg, &err) != WARD_OK)
		fatalx("file access: %s", err.msg);
	log_info("ready: %s, %zu rules, %u workers, watching %s%s, pid %d", ward_mode_name(d.cfg.mode),
	         snap->rule_count, (unsigned)workers, nwatch ? watch[0] : "every local filesystem",
	         nwatch > 1 ? " and more" : "", (int)getpid());
	notify_ready();

	int status = 0;
	uint64_t next_poll = ward_mono_ns() / 1000000 + WARD_STORE_POLL_MS;
	for (;;) {
		struct pollfd pfd[4 + 1 + WARD_MAX_CTL_CLIENTS];
		uint64_t now = ward_mono_ns() / 1000000;
		int timeout = next_poll > now ? (int)(next_poll - now) : 0;
		int ct = ward_ctl_timeout(d.ctl, now);
		size_t n;

		if (ct >= 0 && ct < timeout)
			timeout = ct;
		ct = ward_profwatch_timeout(d.watch, now);
		if (ct >= 0 && ct < timeout)
			timeout = ct;
		pfd[0] = (struct pollfd){ .fd = ward_sigwatch_fd(sigw), .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = ward_compilers_wakefd(d.compilers), .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = ward_profwatch_fd(d.watch), .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = ward_exc_wakefd(d.exc), .events = POLLIN };
		n = 4 + ward_ctl_pollfds(d.ctl, pfd + 4, sizeof(pfd) / sizeof(pfd[0]) - 4);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			fatal("poll");
		if (pfd[0].revents & POLLIN) {
			int got[16];
			size_t ngot;
			bool stop = false, hup = false;
			while ((ngot = ward_sigwatch_read(sigw, got, sizeof(got) / sizeof(got[0]))) > 0)
				for (size_t i = 0; i < ngot; i++) {
					if (got[i] == SIGHUP)
						hup = true;
					else
						stop = true;
				}
			if (stop)
				break;
			if (hup) {
				log_info("SIGHUP: reopening the event log, reloading the configuration");
				ward_evlog_reopen(d.evlog);
				(void)ward_daemon_reload(&d, "SIGHUP", &err); /* logs what failed */
			}
		}
		if (ward_engine_failed(d.engine, NULL)) {
			status = 1;
			break;
		}
		if (pfd[1].revents & POLLIN)
			ward_daemon_compiler_outputs(&d);
		now = ward_mono_ns() / 1000000;
		if (pfd[3].revents & POLLIN)
			ward_exc_jobs_finish(d.exc); /* files read for request/approve */
		ward_ctl_dispatch(d.ctl, pfd + 4, n - 4, now);
		if (pfd[2].revents & POLLIN)
			ward_profwatch_read(d.watch, now);
		if (ward_profwatch_due(d.watch, now))
			(void)ward_daemon_reload(&d, ward_dirwatch_kind, &err); /* logs what failed */
		if (now >= next_poll) {
			bool changed;
			if (ward_engine_refresh(d.engine, d.store, &d.cfg, false, &changed, &err) != WARD_OK)
				log_warnx("store watcher: %s", err.msg);
			else if (changed)
				log_info("rules changed: index rebuilt, caches flushed");
			ward_exc_tick(d.exc);
			next_poll = now + WARD_STORE_POLL_MS;
			report_backend_errors(d.backend);
			ward_daemon_check_health(&d, now);
			ward_profwatch_tick(d.watch, now);
		}
	}

	log_info("stopping");
	ward_exc_stop(d.exc); /* the threads reading requested files use the engine */
	ward_engine_stop(d.engine);
	ward_ctl_close(d.ctl);
	d.backend->ops->destroy(d.backend); /* the kernel allows whatever is still pending */
	ward_bpfground_destroy(d.ground);   /* before the event log it reports to */
	ward_yarascan_destroy(d.yara);      /* before the event log it writes to */
	ward_evlog_close(d.evlog);
	ward_ttymsg_destroy(d.tty);
	ward_exc_destroy(d.exc);
	ward_syncd_destroy(d.sync);
	ward_engine_destroy(d.engine);
	ward_fileaccess_destroy(d.fa);
	json_decref(d.unenforced);
	ward_store_close(d.store);
	ward_cache_destroy(d.cache);
	ward_queue_destroy(d.queue);
	ward_compilers_destroy(d.compilers);
	ward_profwatch_destroy(d.watch);
	ward_confset_free(d.confset);
	ward_sigwatch_destroy(sigw);
	if (status == 0)
		ward_crashes_clean_exit();
	return status;
}
