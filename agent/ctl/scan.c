/*
 * wardenctl scan [--json] [--rules PATH]... [--max-bytes N] [--timeout SECONDS] PATH...
 *
 * Scans files with YARA rules, standalone (no agent needed), and shows for each file
 * what the agent would make of it: the matching rules, each rule's meaning (block,
 * audit, none), the resulting action and the time taken. Exit 0 when every file was
 * scanned, whether or not it matched; 1 when rules could not be loaded or any file
 * could not be scanned (named on stderr); 2 on usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "profiles/config.h"
#include "scanner/scan.h"

#define MAX_RULE_ARGS 64

static void usage(FILE *out)
{
	ward_config_t cfg;

	ward_config_defaults(&cfg);
	fprintf(out,
	        "usage: wardenctl scan [--json] [--rules PATH]... [--max-bytes N] [--timeout SECONDS]\n"
	        "                      PATH...\n"
	        "\n"
	        "Scan files with YARA rules, without the agent, and show the matching rules, what\n"
	        "each means to warden and the resulting action: a rule with the tag 'block' or\n"
	        "meta warden_action = \"block\" blocks; 'audit' is logged only; other rules have\n"
	        "no effect.\n"
	        "\n"
	        "  --json            one JSON object per file, one per line\n"
	        "  --rules PATH      rule source file, glob pattern or compiled rules file;\n"
	        "                    repeatable (default: %s)\n"
	        "  --max-bytes N     do not scan files larger than N bytes (default: %llu,\n"
	        "                    ScanMaxBytes' default)\n"
	        "  --timeout SECONDS stop a scan after this long (default: %u)\n"
	        "\n"
	        "Exit status: 0 if every file was scanned (matched or not), 1 if the rules could\n"
	        "not be loaded or any file was not scanned (error, too large, timed out), 2 on\n"
	        "usage error.\n",
	        WARD_SCAN_DEFAULT_RULES, (unsigned long long)cfg.scan_max_bytes, WARD_SCAN_HARD_LIMIT_S);
}

static void diag(void *ctx, bool warning, const char *file, int line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "wardenctl: %s%s:%d: %s\n", warning ? "warning: " : "", file ? file : "<rules>",
	        line, msg);
}

static void on_match(void *ctx, const ward_scan_match_t *m)
{
	json_t *arr = ctx, *o = json_object(), *tags = json_array();
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", m->tags);
	for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
		json_array_append_new(tags, json_string(t));
	json_object_set_new(o, "namespace", json_string(m->ns));
	json_object_set_new(o, "rule", json_string(m->rule));
	json_object_set_new(o, "action", json_string(ward_scan_action_name(m->action)));
	json_object_set_new(o, "tags", tags);
	json_array_append_new(arr, o);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static void print_json(const char *path, const ward_scan_verdict_t *v, json_t *matches)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "status", json_string(ward_scan_status_name(v->status)));
	if (v->status == WARD_SCAN_DONE) {
		json_object_set_new(o, "action", json_string(ward_scan_action_name(v->action)));
		json_object_set_new(o, "reason", v->reason[0] ? json_string(v->reason) : json_null());
		json_object_set(o, "matches", matches);
	} else {
		json_object_set_new(o, "error", json_string(v->reason));
	}
	json_object_set_new(o, "size", json_integer((json_int_t)v->file_size));
	json_object_set_new(o, "scan_ms", json_real((double)v->scan_us / 1000.0));
	s = json_dumps(o, JSON_COMPACT);
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

static void print_text(const char *path, const ward_scan_verdict_t *v, json_t *matches)
{
	size_t i;
	json_t *m;

	if (v->status != WARD_SCAN_DONE)
		return; /* said on stderr */
	printf("%s: %s", path, v->nmatches == 0 ? "no match" :
	       v->action == WARD_SCAN_NONE ? "no effect" : ward_scan_action_name(v->action));
	if (v->action != WARD_SCAN_NONE)
		printf(" (%s)", v->reason);
	if (v->nmatches)
		printf(", %u match%s", v->nmatches, v->nmatches == 1 ? "" : "es");
	printf(", %.2f ms\n", (double)v->scan_us / 1000.0);
	json_array_foreach(matches, i, m) {
		json_t *tags = json_object_get(m, "tags"), *t;
		size_t k;

		printf("  %s:%s  %s", json_string_value(json_object_get(m, "namespace")),
		       json_string_value(json_object_get(m, "rule")),
		       json_string_value(json_object_get(m, "action")));
		if (json_array_size(tags) > 0) {
			printf("  [");
			json_array_foreach(tags, k, t)
				printf("%s%s", k ? " " : "", json_string_value(t));
			printf("]");
		}
		printf("\n");
	}
}

int ctl_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rules", required_argument, NULL, 'r' },
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules[MAX_RULE_ARGS];
	size_t nrules = 0;
	ward_config_t cfg;
	uint64_t max_bytes, timeout = WARD_SCAN_HARD_LIMIT_S;
	ward_yrules_t *r = NULL;
	ward_yscanner_t *s = NULL;
	ward_error_t e = { 0 };
	int json = 0, c, status = CTL_EXIT_OK;

	ward_config_defaults(&cfg);
	max_bytes = cfg.scan_max_bytes;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'r':
			if (nrules == MAX_RULE_ARGS) {
				fprintf(stderr, "wardenctl: scan: more than %d --rules\n", MAX_RULE_ARGS);
				return CTL_EXIT_USAGE;
			}
			rules[nrules++] = optarg;
			break;
		case 'm':
			if (!parse_u64(optarg, UINT64_MAX >> 1, &max_bytes)) {
				fprintf(stderr, "wardenctl: scan: --max-bytes: '%s' is not a byte count\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case 't':
			if (!parse_u64(optarg, WARD_SCAN_MAX_HARD_LIMIT_S, &timeout) || timeout == 0) {
				fprintf(stderr, "wardenctl: scan: --timeout: '%s' is not 1..%u seconds\n", optarg,
				        WARD_SCAN_MAX_HARD_LIMIT_S);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (nrules == 0)
		rules[nrules++] = WARD_SCAN_DEFAULT_RULES;

	if (ward_yrules_open(rules, nrules, diag, NULL, &r, &e) != WARD_OK) {
		fprintf(stderr, "wardenctl: scan: rules not loaded: %s\n", e.msg);
		return CTL_EXIT_FAIL;
	}
	if (ward_yrules_count(r) == 0) {
		fprintf(stderr, "wardenctl: scan: no YARA rules in");
		for (size_t i = 0; i < nrules; i++)
			fprintf(stderr, " %s", rules[i]);
		fprintf(stderr, "\n");
		ward_yrules_unref(r);
		return CTL_EXIT_FAIL;
	}
	if (ward_yscanner_create(r, (unsigned)timeout, &s, &e) != WARD_OK) {
		fprintf(stderr, "wardenctl: scan: %s\n", e.msg);
		ward_yrules_unref(r);
		return CTL_EXIT_FAIL;
	}

	for (int i = optind; i < argc; i++) {
		ward_scan_verdict_t v;
		json_t *matches = json_array();
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0) {
			memset(&v, 0, sizeof(v));
			v.status = WARD_SCAN_FAILED;
			snprintf(v.reason, sizeof(v.reason), "%s", strerror(errno));
		} else {
			ward_error_clear(&e);
			ward_yscanner_scan_fd(s, fd, max_bytes, NULL, on_match, matches, NULL, &v, &e);
			close(fd);
		}
		if (v.status != WARD_SCAN_DONE) {
			fprintf(stderr, "wardenctl: %s: not scanned: %s\n", argv[i], v.reason);
			status = CTL_EXIT_FAIL;
		}
		if (json)
			print_json(argv[i], &v, matches);
		else
			print_text(argv[i], &v, matches);
		json_decref(matches);
	}
	ward_yscanner_destroy(s);
	ward_yrules_unref(r);
	return status;
}
