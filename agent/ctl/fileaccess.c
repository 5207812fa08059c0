/*
 * wardenctl fileaccess check --path FILE [--process EXE | --pid PID] [--access MODE]
 *                           [--config FILE] [--dir DIR] [--json]
 * wardenctl fileaccess items [--config FILE] [--dir DIR] [--json]
 *
 * check explains which watch item of the FileAccessPolicy decides an open of FILE by a
 * process, and why; items lists the watch items. Both build the configuration from
 * warden.conf and the profiles directory exactly as wardend does (as `profile show`),
 * and name the opener as wardend does (agent/opener.c).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "common/paths.h"
#include "agent/engine/trust.h"
#include "agent/opener.h"
#include "profiles/config.h"
#include "rules/faa.h"

#define DEFAULT_CONF WARD_DEFAULT_CONFIG
#define DEFAULT_DIR  WARD_DEFAULT_PROFILES

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl fileaccess check --path FILE [--process EXE | --pid PID]\n"
	        "                                 [--access read|write|readwrite] [--json]\n"
	        "                                 [--config FILE] [--dir DIR]\n"
	        "       wardenctl fileaccess items [--json] [--config FILE] [--dir DIR]\n"
	        "\n"
	        "check  say which watch item of the FileAccessPolicy decides an open of FILE\n"
	        "       by a process, and why: the item, the path pattern that matched (the\n"
	        "       longest match wins), the Processes entry the opener matches, and the\n"
	        "       outcome (allowed, audited, denied). The opener is EXE or the executable\n"
	        "       of PID, named by its SHA-256, path, platform trust (TrustedPaths) and,\n"
	        "       for Mach-O, its signing identity; without either, a process that no\n"
	        "       Processes entry lists.\n"
	        "items  list the watch items in force with their paths and processes.\n"
	        "\n"
	        "The configuration is built as wardend builds it: the config file, then\n"
	        "DIR/*.mobileconfig and DIR/*.plist (FileAccessPolicy inline, or the file named\n"
	        "by FileAccessPolicyPlist).\n"
	        "\n"
	        "  --path FILE    the file opened (resolved to its real path when it exists)\n"
	        "  --process EXE  the opener's executable\n"
	        "  --pid PID      the opener: a running process\n"
	        "  --access MODE  read (default), write or readwrite\n"
	        "  --json         print one JSON object\n"
	        "  --config FILE  warden.conf to read (default %s)\n"
	        "  --dir DIR      profiles directory (default %s)\n"
	        "\n"
	        "Exit status: 0 allowed or not watched, 1 denied (or an error), 2 usage error.\n"
	        "An audited open (AuditOnly) is allowed: exit 0.\n",
	        DEFAULT_CONF, DEFAULT_DIR);
}

static const char *outcome_name(ward_faa_outcome_t o)
{
	switch (o) {
	case WARD_FAA_ALLOW: return "ALLOW";
	case WARD_FAA_AUDIT: return "AUDIT";
	case WARD_FAA_DENY: return "DENY";
	default: return "UNWATCHED";
	}
}

int ctl_fileaccess(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", required_argument, NULL, 'f' }, { "process", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },  { "access", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },       { "config", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *exe = NULL, *conf = DEFAULT_CONF, *dir = DEFAULT_DIR, *verb;
	bool json = false, explicit_conf = false;
	long pid = 0;
	uint32_t access = WARD_FAA_READ;
	ward_confset_t *cs = NULL;
	ward_error_t err = { 0 };
	const ward_faa_t *faa;
	ward_config_t cfg;
	int c, rc = CTL_EXIT_OK;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "check") != 0 && strcmp(verb, "items") != 0) {
		fprintf(stderr, "wardenctl fileaccess: unknown verb '%s'\n", verb);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 'e': exe = optarg; break;
		case 'p': {
			char *end;
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0 || pid > INT_MAX) {
				fprintf(stderr, "wardenctl fileaccess: --pid: not a process id: %s\n", optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		}
		case 'a':
			if (strcmp(optarg, "read") == 0)
				access = WARD_FAA_READ;
			else if (strcmp(optarg, "write") == 0)
				access = WARD_FAA_WRITE;
			else if (strcmp(optarg, "readwrite") == 0)
				access = WARD_FAA_READ | WARD_FAA_WRITE;
			else {
				fprintf(stderr, "wardenctl fileaccess: --access: read, write or readwrite\n");
				return CTL_EXIT_USAGE;
			}
			break;
		case 'j': json = true; break;
		case 'c': conf = optarg; explicit_conf = true; break;
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc - 1 || (strcmp(verb, "check") == 0 && !path) || (exe && pid) ||
	    (strcmp(verb, "items") == 0 && (path || exe || pid))) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ward_config_load_sources(conf, dir,
	                             WARD_LOAD_STRICT_PERMS | (explicit_conf ? WARD_LOAD_CONF_REQUIRED : 0),
	                             &cs, NULL, &err) != WARD_OK) {
		fprintf(stderr, "wardenctl fileaccess: %s\n", err.msg);
		return CTL_EXIT_FAIL;
	}
	faa = ward_confset_faa(cs);
	cfg = *ward_confset_config(cs);
	ward_trust_canon(&cfg);

	if (strcmp(verb, "items") == 0) {
		json_t *items = json_array();
		for (size_t i = 0; i < ward_faa_nitems(faa); i++)
			json_array_append_new(items, ward_faa_item_json(faa, i));
		if (json) {
			json_t *o = json_pack("{s:s?, s:o}", "version", faa ? ward_faa_version(faa) : NULL,
			                      "items", items);
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else {
			size_t i;
			json_t *it;
			if (!faa)
				printf("no FileAccessPolicy\n");
			else
				printf("FileAccessPolicy version %s: %zu watch item(s)\n", ward_faa_version(faa),
				       json_array_size(items));
			json_array_foreach(items, i, it) {
				size_t k;
				json_t *pth;
				printf("%s  %s%s%s\n", json_string_value(json_object_get(it, "name")),
				       json_string_value(json_object_get(it, "rule_type")),
				       json_is_true(json_object_get(it, "audit_only")) ? " AuditOnly" : "",
				       json_is_true(json_object_get(it, "allow_read_access")) ? " AllowReadAccess" : "");
				json_array_foreach(json_object_get(it, "paths"), k, pth)
					printf("    %s%s\n", json_string_value(json_object_get(pth, "path")),
					       json_is_true(json_object_get(pth, "prefix")) ? " (prefix)" : "");
				printf("    %zu process entr%s\n", json_array_size(json_object_get(it, "processes")),
				       json_array_size(json_object_get(it, "processes")) == 1 ? "y" : "ies");
			}
			json_decref(items);
		}
		ward_confset_free(cs);
		return CTL_EXIT_OK;
	}

	{
		char real[PATH_MAX];
		const char *target = realpath(path, real) ? real : path;
		ward_opener_t *op = calloc(1, sizeof(*op));
		ward_faa_proc_t view, *pv = NULL;
		ward_faa_result_t r;

		if (!op) {
			ward_confset_free(cs);
			return CTL_EXIT_FAIL;
		}
		if (target[0] != '/') {
			fprintf(stderr, "wardenctl fileaccess: --path: %s does not exist and is not absolute\n", path);
			free(op);
			ward_confset_free(cs);
			return CTL_EXIT_USAGE;
		}
		if (exe || pid) {
			ward_err_t e = exe ? ward_opener_from_path(&cfg, exe, op, &err)
			                   : ward_opener_from_pid(&cfg, (pid_t)pid, op, &err);
			if (e != WARD_OK) {
				fprintf(stderr, "wardenctl fileaccess: %s\n", err.msg);
				free(op);
				ward_confset_free(cs);
				return CTL_EXIT_FAIL;
			}
			ward_opener_view(op, &view);
			pv = &view;
		}
		ward_faa_match(faa, target, pv, access, &r);
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:s, s:s?}", "path", target,
			                      "decision", outcome_name(r.outcome), "access",
			                      access == WARD_FAA_READ ? "read" : access == WARD_FAA_WRITE ? "write" : "readwrite",
			                      "item", r.item >= 0 ? r.item_name : NULL, "cacheable", r.cacheable,
			                      "why", r.why, "policy_version", faa ? ward_faa_version(faa) : NULL);
			json_object_set_new(o, "opener", pv ? ward_opener_json(op) : json_null());
			json_object_set_new(o, "allowed_read", json_boolean(r.allowed & WARD_FAA_READ));
			json_object_set_new(o, "allowed_write", json_boolean(r.allowed & WARD_FAA_WRITE));
			if (r.outcome == WARD_FAA_DENY && r.block_message[0])
				json_object_set_new(o, "block_message", json_string(r.block_message));
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else {
			printf("%s: %s\n", outcome_name(r.outcome), r.why);
			if (pv)
				printf("opener: %s%s\n", op->path, op->platform ? " (platform)" : "");
			else
				printf("opener: a process that no Processes entry lists\n");
			if (r.outcome == WARD_FAA_DENY && r.block_message[0])
				printf("message: %s\n", r.block_message);
		}
		if (r.outcome == WARD_FAA_DENY)
			rc = CTL_EXIT_FAIL;
		free(op);
	}
	ward_confset_free(cs);
	return rc;
}
