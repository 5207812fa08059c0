/*
 * wardenctl — the warden command line. Verbs follow Santa's santactl so its admins
 * feel at home; every verb takes --json. This file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "agent/ctl/ctl.h"
#include "agent/version.h"

struct ctl_cmd {
	const char *name;
	ctl_cmd_fn fn;
	const char *summary;
};

static int ctl_version(int argc, char **argv);
static int ctl_help(int argc, char **argv);

static const struct ctl_cmd commands[] = {
	{ "fileinfo", ctl_fileinfo, "show type, hashes and code-signing identity of files" },
	{ "profile", ctl_profile, "validate profiles; show the effective configuration and its sources" },
	{ "status", ctl_status, "show the running agent's mode, rules, caches and decisions" },
	{ "rule", ctl_rule, "add, remove, check, list, import and export rules" },
	{ "scan", ctl_scan, "scan files with YARA rules, standalone (no agent needed)" },
	{ "simulate", ctl_simulate, "replay an eslogger recording: what the rules would block" },
	{ "request", ctl_request, "ask for an exception for a blocked program; --status ID" },
	{ "requests", ctl_requests, "list, export or audit exception requests" },
	{ "approve", ctl_approve, "approve exception requests (one, or --from a file)" },
	{ "deny", ctl_deny, "deny an exception request" },
	{ "blocked", ctl_blocked, "your recent denials, with the command to request each" },
	{ "sync", ctl_sync, "sync with the fleet's sync server now (runs warden-sync --once)" },
	{ "fileaccess", ctl_fileaccess, "explain which file-access watch item decides an open, and why" },
	{ "version", ctl_version, "print the version" },
	{ "help", ctl_help, "show this help" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: wardenctl <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'wardenctl <command> --help' for the options of a command.\n");
}

static int ctl_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return CTL_EXIT_OK;
}

static int ctl_version(int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: wardenctl version [--json]\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (json)
		printf("{\"version\":\"%s\"}\n", WARD_VERSION);
	else
		printf("wardenctl %s\n", WARD_VERSION);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return ctl_help(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0)
		return ctl_version(1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "wardenctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
