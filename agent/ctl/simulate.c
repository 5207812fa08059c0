/*
 * wardenctl simulate --eslogger FILE [--db PATH] [--mode lockdown|monitor] [--json]
 *
 * Replay a recording from Apple's eslogger (`eslogger exec open > day.jsonl` on a pilot
 * Mac) through the rules, and report what would have been blocked, by rule and by
 * program: tighten the policy before switching the fleet to LOCKDOWN. Each exec is
 * decided on the identities the kernel reported in the recording (cdhash, team ID,
 * signing ID, platform binary: ward_es_match_key), first rule hit in precedence order,
 * else the mode. No file is read, so BINARY (SHA-256) and CERTIFICATE rules, TrustedPaths
 * and YARA cannot match here; the report says so.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/backends/es/eslogger.h"
#include "agent/ctl/ctl.h"
#include "common/limits.h"
#include "rules/rules.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl simulate --eslogger FILE [--db PATH] [--mode lockdown|monitor] [--json]\n"
	        "\n"
	        "Replay an eslogger recording (JSON lines of exec and open events, as\n"
	        "`eslogger exec open` prints them) through the current rules and report which\n"
	        "executions would have been blocked, by rule and by program.\n"
	        "\n"
	        "  --eslogger FILE  the recording ('-' for standard input)\n"
	        "  --db PATH        rule database (default $WARDEN_DB, else " WARD_STORE_DEFAULT_PATH ")\n"
	        "  --mode MODE      lockdown (default: unknown programs are blocked) or monitor\n"
	        "  --json           machine-readable report\n"
	        "\n"
	        "Executions are decided on the identities the kernel recorded (CDHASH, TEAMID,\n"
	        "SIGNINGID rules, platform binaries as platform:ID); BINARY and CERTIFICATE rules,\n"
	        "TrustedPaths and YARA need the file and are not evaluated. Open events are\n"
	        "counted, not decided. A line that cannot be read is reported as FILE:LINE.\n"
	        "\n"
	        "Exit status: 0 report printed, 1 the recording or the rules cannot be read,\n"
	        "2 usage error.\n");
}

struct tally {
	json_t *by_rule;    /* "key" -> {type, policy, identifier, rule_id, count} */
	json_t *by_program; /* path -> {count, blocked, reason, cdhash, team_id, signing_id} */
	json_t *errors;     /* [{line, error}] (first 20) */
	size_t lines, exec, open, skipped, blocked, allowed;
};

static void count_rule(struct tally *t, const ward_rule_t *r, bool blocked)
{
	char key[WARD_RULE_ID_MAX + 64];
	json_t *o;

	if (r)
		snprintf(key, sizeof(key), "%s:%s:%s", ward_rule_type_name(r->type),
		         ward_policy_name(r->policy), r->identifier);
	else
		snprintf(key, sizeof(key), "none:%s", blocked ? "unknown" : "allowed-by-mode");
	if ((o = json_object_get(t->by_rule, key)) == NULL) {
		o = r ? json_pack("{s:s, s:s, s:s, s:I, s:i, s:b}", "type", ward_rule_type_name(r->type),
		                  "policy", ward_policy_name(r->policy), "identifier", r->identifier,
		                  "rule_id", (json_int_t)r->id, "count", 0, "blocks", blocked)
		      : json_pack("{s:n, s:s, s:i, s:b}", "type", "reason",
		                  blocked ? "unknown" : "mode", "count", 0, "blocks", blocked);
		json_object_set_new(t->by_rule, key, o);
	}
	json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(o, "count")) + 1));
}

static void count_program(struct tally *t, const ward_es_event_t *ev, const ward_match_key_t *k,
                          const ward_rule_t *r, bool blocked)
{
	const char *path = ev->file.path_ok ? ev->file.path : "(no path)";
	json_t *o = json_object_get(t->by_program, path);

	if (o == NULL) {
		o = json_pack("{s:s, s:i, s:i, s:s, s:s?, s:s?, s:s?, s:b}", "path", path, "count", 0,
		              "blocked", 0, "reason", r ? ward_rule_type_name(r->type) : "unknown",
		              "cdhash", k->cdhash[0] ? k->cdhash : NULL,
		              "team_id", k->team_id[0] ? k->team_id : NULL,
		              "signing_id", k->signing_id[0] ? k->signing_id : NULL,
		              "platform", ev->target.hints.platform);
		json_object_set_new(t->by_program, path, o);
	}
	json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(o, "count")) + 1));
	if (blocked)
		json_object_set_new(o, "blocked",
		                    json_integer(json_integer_value(json_object_get(o, "blocked")) + 1));
}

static int replay(FILE *in, const char *name, const ward_index_t *ix, bool lockdown,
                  struct tally *t)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	ward_es_event_t *ev = malloc(sizeof(*ev));
	int64_t now = (int64_t)time(NULL);

	if (ev == NULL)
		return -1;
	while ((n = getline(&line, &cap, in)) >= 0) {
		ward_error_t err = { 0 };
		ward_match_key_t key;
		const ward_rule_t *r = NULL;
		bool blocked;

		if (++t->lines > WARD_ESLOGGER_MAX_LINES) {
			fprintf(stderr, "wardenctl: %s: more than %u lines\n", name, WARD_ESLOGGER_MAX_LINES);
			break;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		ward_err_t rc = ward_eslogger_parse(line, (size_t)n, ev, &err);
		if (rc == WARD_E_UNSUPPORTED) {
			t->skipped++;
			continue;
		}
		if (rc != WARD_OK) {
			t->skipped++;
			if (json_array_size(t->errors) < 20)
				json_array_append_new(t->errors, json_pack("{s:s, s:I, s:s}", "file", name,
				                      "line", (json_int_t)t->lines, "error", err.msg));
			continue;
		}
		if (ev->kind == WARD_ES_K_OPEN) {
			t->open++;
			continue;
		}
		t->exec++;
		ward_es_match_key(&ev->target.hints, &key);
		if (ix != NULL)
			r = ward_index_match(ix, &key, now);
		if (r != NULL)
			blocked = ward_policy_blocks(r->policy);
		else
			blocked = lockdown;
		if (blocked)
			t->blocked++;
		else
			t->allowed++;
		count_rule(t, r, blocked);
		count_program(t, ev, &key, r, blocked);
	}
	free(line);
	free(ev);
	return ferror(in) ? -1 : 0;
}

static int by_count_desc(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Object of objects -> array sorted by count, descending. */
static json_t *sorted(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *arr = json_array(), *o;
	const char *k;

	json_object_foreach(obj, k, o)
		v[i++] = o;
	qsort(v, n, sizeof(*v), by_count_desc);
	for (i = 0; i < n; i++)
		json_array_append(arr, v[i]);
	free(v);
	return arr;
}

int ctl_simulate(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "eslogger", required_argument, NULL, 'e' }, { "db", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },     { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *db = NULL, *env = getenv("WARDEN_DB");
	bool json = false, lockdown = true;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'e': file = optarg; break;
		case 'd': db = optarg; break;
		case 'j': json = true; break;
		case 'm':
			if (strcasecmp(optarg, "lockdown") == 0)
				lockdown = true;
			else if (strcasecmp(optarg, "monitor") == 0)
				lockdown = false;
			else {
				fprintf(stderr, "wardenctl simulate: --mode: lockdown or monitor, not '%s'\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (file == NULL || optind != argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (db == NULL)
		db = env && *env ? env : WARD_STORE_DEFAULT_PATH;

	ward_error_t err = { 0 };
	ward_store_t *st = NULL;
	ward_index_t *ix = NULL;
	ward_err_t rc = ward_store_open(db, WARD_STORE_READONLY, &st, &err);
	if (rc != WARD_OK && rc != WARD_E_NOTFOUND) {
		fprintf(stderr, "wardenctl simulate: %s\n", err.msg);
		return CTL_EXIT_FAIL;
	}
	if (st && ward_index_build(st, &ix, &err) != WARD_OK) {
		fprintf(stderr, "wardenctl simulate: %s\n", err.msg);
		ward_store_close(st);
		return CTL_EXIT_FAIL;
	}
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
	if (in == NULL) {
		fprintf(stderr, "wardenctl simulate: %s: %s\n", file, strerror(errno));
		ward_index_free(ix);
		ward_store_close(st);
		return CTL_EXIT_FAIL;
	}
	struct tally t = { json_object(), json_object(), json_array(), 0, 0, 0, 0, 0, 0 };
	int r = replay(in, file, ix, lockdown, &t);
	if (in != stdin)
		fclose(in);
	ward_index_free(ix);
	ward_store_close(st);
	if (r != 0) {
		fprintf(stderr, "wardenctl simulate: %s: read error\n", file);
		json_decref(t.by_rule);
		json_decref(t.by_program);
		json_decref(t.errors);
		return CTL_EXIT_FAIL;
	}

	json_t *rules = sorted(t.by_rule), *progs = sorted(t.by_program);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:[sss]}",
		                      "recording", file, "mode", lockdown ? "LOCKDOWN" : "MONITOR",
		                      "exec", (json_int_t)t.exec, "open", (json_int_t)t.open,
		                      "skipped", (json_int_t)t.skipped, "blocked", (json_int_t)t.blocked,
		                      "allowed", (json_int_t)t.allowed, "by_rule", rules,
		                      "by_program", progs, "errors", t.errors,
		                      "not_evaluated", "BINARY and CERTIFICATE rules", "TrustedPaths",
		                      "YARA");
		char *s = json_dumps(o, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		size_t i;
		json_t *v;
		printf("%s, %s: %zu executions replayed, %zu would be blocked, %zu allowed "
		       "(%zu opens counted, not decided; %zu lines skipped)\n",
		       file, lockdown ? "LOCKDOWN" : "MONITOR", t.exec, t.blocked, t.allowed, t.open,
		       t.skipped);
		json_array_foreach(t.errors, i, v)
			fprintf(stderr, "%s:%lld: %s\n", file,
			        (long long)json_integer_value(json_object_get(v, "line")),
			        json_string_value(json_object_get(v, "error")));
		printf("\nBy rule:\n");
		json_array_foreach(rules, i, v) {
			const char *ty = json_string_value(json_object_get(v, "type"));
			long long cnt = (long long)json_integer_value(json_object_get(v, "count"));
			const char *what = json_is_true(json_object_get(v, "blocks")) ? "BLOCKS" : "allows";
			if (ty)
				printf("  %-6s %7lld  %s %s %s\n", what, cnt, ty,
				       json_string_value(json_object_get(v, "policy")),
				       json_string_value(json_object_get(v, "identifier")));
			else
				printf("  %-6s %7lld  no rule (%s)\n", what, cnt,
				       json_string_value(json_object_get(v, "reason")));
		}
		printf("\nBlocked programs (executions, identities for a rule):\n");
		json_array_foreach(progs, i, v) {
			json_int_t b = json_integer_value(json_object_get(v, "blocked"));
			if (b == 0)
				continue;
			const char *cd = json_string_value(json_object_get(v, "cdhash"));
			const char *tm = json_string_value(json_object_get(v, "team_id"));
			const char *sg = json_string_value(json_object_get(v, "signing_id"));
			printf("  %7lld  %s\n           cdhash %s  team %s  signing %s\n", (long long)b,
			       json_string_value(json_object_get(v, "path")), cd ? cd : "-",
			       tm ? tm : "-", sg ? sg : "-");
		}
		printf("\nNot evaluated without the files: BINARY and CERTIFICATE rules, TrustedPaths, YARA.\n");
		json_decref(rules);
		json_decref(progs);
		json_decref(t.errors);
	}
	json_decref(t.by_rule);
	json_decref(t.by_program);
	return CTL_EXIT_OK;
}
