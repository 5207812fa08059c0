/*
 * wardenctl status [--json] [--socket PATH]
 *
 * Asks the running agent for its state over the control socket: mode, uptime, the
 * configuration in force (sources, last reload, last error), rules, caches, decisions by
 * verdict and reason, queue, deadline misses, decision latency.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "agent/ctl/client.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl status [--json] [--socket PATH]\n"
	        "\n"
	        "Show the running agent's state: mode, uptime, the configuration in force (its\n"
	        "sources, when it was loaded, and the error of the last reload if it failed: the\n"
	        "previous configuration then stays in force; and whether the agent runs on the\n"
	        "last good configuration because its sources did not load at start: then\n"
	        "configuration.fallback is true, with fallback_saved_at), rule counts, the user-space and\n"
	        "kernel verdict caches (size, hit rate), decisions by verdict and reason, queue\n"
	        "depth, deadline misses and decision latency (p50/p99/max, microseconds), and\n"
	        "YARA scanning: the rule set (count, generation, the last reload error), scans\n"
	        "done, matched, timed out (budget spent: decided without the verdict), late\n"
	        "verdicts, scan queue depth, mean and p99 scan time; the BPF ground under\n"
	        "fanotify (ground: active with its hook, or why not, with a warning naming the\n"
	        "sysctls that close what it would cover) and the mount-table changes seen;\n"
	        "fleet sync: the server, the last success, the last error and its stage, the\n"
	        "next run, the settings the server set, and the spool of events waiting for\n"
	        "upload (depth, dropped); the lines written to the terminals of denied programs\n"
	        "(tty_messages: denials handled, lines written, silent by rule or configuration,\n"
	        "no terminal, refused terminals, rate-limited, failed writes, dropped).\n"
	        "Any user may ask.\n"
	        "\n"
	        "  --json         print the agent's reply as one JSON object\n"
	        "  --socket PATH  control socket (default $WARDEN_SOCKET, else %s)\n"
	        "\n"
	        "Exit status: 0 on success, 1 if the agent cannot be reached, 2 on usage error.\n",
	        WARD_CTL_DEFAULT_SOCKET);
}

static json_int_t num(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		size_t n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return 0;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_integer_value(json_object_get(o, path));
}

static const char *str(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : "-";
}

static void row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-24s | ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void print_decisions(const json_t *r, const char *verdict)
{
	const json_t *by = json_object_get(json_object_get(r, "decisions"), verdict);
	const char *reason;
	json_t *n;
	char label[64];

	json_object_foreach((json_t *)by, reason, n) {
		snprintf(label, sizeof(label), "%s (%s)", verdict, reason);
		row(label, "%lld", (long long)json_integer_value(n));
	}
}

static void print_scan(const json_t *sc)
{
	const json_t *rules = json_object_get(sc, "rules"), *err = json_object_get(rules, "error");

	if (sc == NULL)
		return;
	printf(">>> YARA scanning\n");
	row("Scanning", "%s", json_is_true(json_object_get(sc, "enabled")) ? "on" : "off (no rules)");
	row("Rules", "%lld from %lld files, generation %lld", (long long)num(rules, "count"),
	    (long long)num(rules, "files"), (long long)num(rules, "generation"));
	if (json_is_string(err))
		row("Last reload error", "%s", json_string_value(err));
	row("Budget / max size", "%lld ms / %lld bytes", (long long)num(sc, "budget_ms"),
	    (long long)num(sc, "max_bytes"));
	row("Scans", "%lld (matched %lld: %lld block, %lld audit)", (long long)num(sc, "scans"),
	    (long long)num(sc, "matched"), (long long)num(sc, "blocked"), (long long)num(sc, "audited"));
	row("Timed out (budget)", "%lld (late verdicts %lld)", (long long)num(sc, "timed_out"),
	    (long long)num(sc, "late"));
	row("Aborted / failed", "%lld / %lld", (long long)num(sc, "aborted"), (long long)num(sc, "failed"));
	row("Skipped / busy", "%lld / %lld", (long long)num(sc, "skipped"), (long long)num(sc, "busy"));
	row("Scan cache hits", "%lld", (long long)num(sc, "cache_hits"));
	row("Queue", "%lld queued / %lld, %lld running, %lld workers", (long long)num(sc, "queue.depth"),
	    (long long)num(sc, "queue.capacity"), (long long)num(sc, "queue.running"),
	    (long long)num(sc, "queue.workers"));
	row("Scan time mean/p99/max", "%lld / %lld / %lld us", (long long)num(sc, "scan_us.mean"),
	    (long long)num(sc, "scan_us.p99"), (long long)num(sc, "scan_us.max"));
}

static void print_sync(const json_t *sy)
{
	const json_t *e = json_object_get(sy, "last_error"), *set = json_object_get(sy, "server_settings");
	const char *k;
	json_t *v;

	if (sy == NULL)
		return;
	printf(">>> Fleet sync\n");
	if (!json_is_true(json_object_get(sy, "configured"))) {
		row("Sync server", "none (SyncBaseURL not set)");
		if (num(sy, "spool.depth") == 0)
			return;
	} else {
		row("Sync server", "%s", str(sy, "server", NULL));
	}
	row("Last success", "%s", str(sy, "last_success", NULL));
	if (json_is_object(e))
		row("Last error", "%s: %s (%s)", str(e, "stage", NULL), str(e, "message", NULL),
		    str(e, "at", NULL));
	row("Next run", "%s", str(sy, "next_run", NULL));
	row("Runs / failures", "%lld / %lld", (long long)num(sy, "runs"), (long long)num(sy, "failures"));
	json_object_foreach((json_t *)set, k, v) {
		char label[64], *val = json_dumps(v, JSON_ENCODE_ANY);
		snprintf(label, sizeof(label), "Server: %s", k);
		row(label, "%s", val ? val : "?");
		free(val);
	}
	if (num(sy, "refused_rules.count") > 0)
		row("Refused rules", "%lld CEL rule(s) of the last sync: %s", (long long)num(sy, "refused_rules.count"),
		    str(json_object_get(sy, "refused_rules"), "rules", NULL));
	row("Spool", "%lld waiting (max %lld), %lld uploaded, %lld dropped", (long long)num(sy, "spool.depth"),
	    (long long)num(sy, "spool.max"), (long long)num(sy, "spool.uploaded"),
	    (long long)num(sy, "spool.dropped"));
}

static void print_fileaccess(const json_t *fa)
{
	const json_t *it;
	size_t i;

	if (fa == NULL)
		return;
	printf(">>> File access\n");
	if (!json_is_true(json_object_get(fa, "active"))) {
		row("Policy", "none");
		return;
	}
	row("Policy version", "%s", str(fa, "version", NULL));
	row("Opens reported", "%s", json_is_true(json_object_get(fa, "opens_reported"))
	                                ? "yes" : "NO: some watched paths are not enforced (see the agent's log)");
	row("Decisions", "%lld (remembered ALLOWs %lld, identity errors %lld)",
	    (long long)num(fa, "decisions"), (long long)num(fa, "cache_hits"),
	    (long long)num(fa, "identity_errors"));
	row("Log records dropped", "%lld", (long long)num(fa, "log_dropped"));
	json_array_foreach(json_object_get(fa, "not_enforced"), i, it)
		row("NOT ENFORCED", "%s (on no --watch filesystem)", json_string_value(it));
	json_array_foreach(json_object_get(fa, "items"), i, it) {
		char label[96];
		snprintf(label, sizeof(label), "%.80s", str(it, "name", NULL));
		row(label, "%s%s%s: allowed %lld, audited %lld, denied %lld",
		    str(it, "rule_type", NULL), json_is_true(json_object_get(it, "audit_only")) ? ", AuditOnly" : "",
		    json_is_true(json_object_get(it, "allow_read_access")) ? ", AllowReadAccess" : "",
		    (long long)num(it, "allowed"), (long long)num(it, "audited"), (long long)num(it, "denied"));
	}
}

static void print_configuration(const json_t *c)
{
	const json_t *v, *e = json_object_get(c, "last_error");
	size_t i;

	if (c == NULL)
		return;
	printf(">>> Configuration\n");
	row("Config file", "%s", str(c, "config_file", NULL));
	row("Profiles directory", "%s%s", str(c, "profiles_dir", NULL),
	    json_is_true(json_object_get(c, "watching")) ? " (watched)" : " (not watched)");
	if (json_is_string(json_object_get(c, "watch_error")))
		row("Watch error", "%s", str(c, "watch_error", NULL));
	if (json_is_true(json_object_get(c, "fallback")))
		row("IN FORCE", "the LAST GOOD CONFIGURATION of %s (%s): the sources do not load; sources it came from:",
		    str(c, "fallback_saved_at", NULL), str(c, "fallback_file", NULL));
	if (json_array_size(json_object_get(c, "sources")) == 0)
		row("Sources", "none (embedded defaults)");
	json_array_foreach(json_object_get(c, "sources"), i, v) {
		const json_t *signer = json_object_get(v, "signer");
		if (json_is_true(json_object_get(v, "signed")))
			row(i ? "" : "Sources", "%s (%s, signed by \"%s\", %s)", str(v, "file", NULL),
			    str(v, "kind", NULL), json_is_string(signer) ? json_string_value(signer) : "?",
			    json_is_true(json_object_get(v, "verified")) ? "verified" : "signer not verified");
		else
			row(i ? "" : "Sources", "%s (%s)", str(v, "file", NULL), str(v, "kind", NULL));
	}
	row("Loaded", "%s (%s); %lld reloads, %lld failed", str(c, "loaded_at", NULL),
	    str(c, "loaded_trigger", NULL), (long long)num(c, "reloads"), (long long)num(c, "failures"));
	row("Warnings", "%zu", json_array_size(json_object_get(c, "warnings")));
	json_array_foreach(json_object_get(c, "not_enforced"), i, v)
		row(i ? "" : "NOT ENFORCED (keys)", "%s (%s): %s", str(v, "key", NULL), str(v, "origin", NULL),
		    str(v, "why", NULL));
	json_array_foreach(json_object_get(c, "refused_rules"), i, v)
		row(i ? "" : "Refused rules", "%s (%s): %s", str(v, "rule", NULL), str(v, "origin", NULL),
		    str(v, "why", NULL));
	if (!json_is_object(e)) {
		row("Last reload", "ok");
		return;
	}
	row("Last reload", "FAILED at %s (%s): the %s stays in force", str(e, "at", NULL),
	    str(e, "trigger", NULL), json_is_true(json_object_get(c, "fallback")) ?
	    "last good configuration" : "configuration above");
	json_array_foreach(json_object_get(e, "errors"), i, v)
		row(i ? "" : "Errors", "%s", str(v, "text", NULL));
	if (json_array_size(json_object_get(e, "errors")) == 0)
		row("Errors", "%s", str(e, "message", NULL));
}

/* The BPF ground: how it enforces, or a warning when it does not. */
static void print_ground(const json_t *r)
{
	const json_t *g = json_object_get(r, "ground");
	const char *state = str(g, "state", NULL);

	if (g == NULL)
		return;
	printf(">>> Ground (user-namespace mounts, memfd programs)\n");
	if (strcmp(state, "active") == 0) {
		row("State", "active (%s hook: %s in LOCKDOWN)", str(g, "hook", NULL), str(g, "enforcement", NULL));
		row("Seen / unseen / denied", "%lld / %lld / %lld", (long long)num(g, "counters.calls"),
		    (long long)num(g, "counters.unseen"), (long long)num(g, "counters.denied"));
	} else {
		row("State", "%s: %s", state, str(g, "reason", NULL));
		if (json_is_string(json_object_get(g, "warning")))
			printf("WARNING: %s\n", str(g, "warning", NULL));
	}
	row("Mount-table changes", "%lld", (long long)num(r, "mount_rescans"));
}

static void print_text(const json_t *r)
{
	const json_t *cache = json_object_get(r, "cache");
	json_int_t up = num(r, "uptime_s");

	printf(">>> Agent\n");
	row("Mode", "%s", str(r, "mode", NULL));
	row("Fail closed", "%s", json_is_true(json_object_get(r, "fail_closed")) ? "yes" : "no");
	row("Version", "%s", str(r, "version", NULL));
	row("PID", "%lld", (long long)num(r, "pid"));
	row("Uptime", "%lldd %02lld:%02lld:%02lld", (long long)(up / 86400), (long long)(up / 3600 % 24),
	    (long long)(up / 60 % 60), (long long)(up % 60));
	row("Backend", "%s", str(r, "backend", NULL));
	print_configuration(json_object_get(r, "configuration"));
	printf(">>> Rules\n");
	row("Total", "%lld", (long long)num(r, "rules.total"));
	const json_t *by = json_object_get(json_object_get(r, "rules"), "by_type");
	const char *type;
	json_t *pol;
	json_object_foreach((json_t *)by, type, pol) {
		const char *p;
		json_t *n;
		json_object_foreach(pol, p, n) {
			char label[64];
			snprintf(label, sizeof(label), "%s %s", type, p);
			row(label, "%lld", (long long)json_integer_value(n));
		}
	}
	row("Store generation", "%lld", (long long)num(r, "rules.generation"));
	printf(">>> Caches\n");
	if (json_is_true(json_object_get(cache, "enabled"))) {
		row("Verdict cache", "%lld / %lld entries (%lld KiB)", (long long)num(cache, "entries"),
		    (long long)num(cache, "capacity"), (long long)num(cache, "bytes") / 1024);
		row("Hit rate", "%.1f%% (%lld hits, %lld misses)",
		    100.0 * json_real_value(json_object_get(cache, "hit_rate")),
		    (long long)num(cache, "hits"), (long long)num(cache, "misses"));
		row("Evictions / expired", "%lld / %lld", (long long)num(cache, "evictions"),
		    (long long)num(cache, "expired"));
	} else {
		row("Verdict cache", "disabled");
	}
	row("Kernel cache", "%s%s, %lld marks added, %lld flushes",
	    json_is_true(json_object_get(json_object_get(r, "kernel_cache"), "enabled")) ? "on" : "off",
	    json_is_true(json_object_get(json_object_get(r, "kernel_cache"), "evictable")) ? " (evictable)" : "",
	    (long long)num(r, "kernel_cache.marks_added"), (long long)num(r, "kernel_cache.flushes"));
	printf(">>> Decisions\n");
	row("Events", "%lld", (long long)num(r, "events"));
	row("Total", "%lld", (long long)num(r, "decisions.total"));
	print_decisions(r, "ALLOW");
	print_decisions(r, "DENY");
	printf(">>> Pipeline\n");
	row("Queue", "%lld in flight / %lld (high water %lld, full %lld times)",
	    (long long)num(r, "queue.depth"), (long long)num(r, "queue.capacity"),
	    (long long)num(r, "queue.high_water"), (long long)num(r, "queue.full"));
	row("Workers", "%lld", (long long)num(r, "queue.workers"));
	row("Decision budget", "%lld ms", (long long)num(r, "deadline.budget_ms"));
	row("Deadline misses", "%lld (late verdicts %lld)", (long long)num(r, "deadline.misses"),
	    (long long)num(r, "deadline.late_verdicts"));
	row("Latency p50/p99/max", "%lld / %lld / %lld us", (long long)num(r, "latency_us.p50"),
	    (long long)num(r, "latency_us.p99"), (long long)num(r, "latency_us.max"));
	print_scan(json_object_get(r, "scan"));
	print_sync(json_object_get(r, "sync"));
	print_fileaccess(json_object_get(r, "fileaccess"));
	print_ground(r);
	printf(">>> Event log\n");
	row("Path", "%s", str(r, "event_log", "path"));
	row("Written / dropped", "%lld / %lld", (long long)num(r, "event_log.written"),
	    (long long)num(r, "event_log.dropped"));
	if (json_is_object(json_object_get(r, "tty_messages"))) {
		printf(">>> Terminal messages\n");
		row("Denials / lines written", "%lld / %lld", (long long)num(r, "tty_messages.denials"),
		    (long long)num(r, "tty_messages.written"));
		row("Silent (rule / config)", "%lld / %lld", (long long)num(r, "tty_messages.silent_rule"),
		    (long long)num(r, "tty_messages.silent_config"));
		row("No terminal / refused", "%lld / %lld", (long long)num(r, "tty_messages.no_terminal"),
		    (long long)num(r, "tty_messages.refused"));
		row("Rate-limited / failed", "%lld / %lld", (long long)num(r, "tty_messages.rate_limited"),
		    (long long)num(r, "tty_messages.failed"));
	}
}

int ctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	ward_error_t err = { 0 };
	json_t *req, *reply = NULL;
	int json = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	sock = ward_ctl_client_socket(sock);
	req = json_pack("{s:s}", "cmd", "status");
	if (ward_ctl_client_request(sock, req, 5000, &reply, &err) != WARD_OK ||
	    ward_ctl_client_failed(reply, &err) != WARD_OK) {
		json_decref(req);
		json_decref(reply);
		if (json)
			printf("{\"ok\":false,\"error\":\"%s\"}\n", ward_strerror(err.code));
		fprintf(stderr, "wardenctl status: %s\n", err.msg);
		return CTL_EXIT_FAIL;
	}
	json_decref(req);
	if (json) {
		char *s = json_dumps(reply, JSON_COMPACT);
		if (s)
			puts(s);
		free(s);
	} else {
		print_text(reply);
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}
