/*
 * wardenctl sync [--clean] [--json] [--socket PATH]
 *
 * One sync now, as santactl sync does: runs warden-sync --once, which prints each stage.
 * wardenctl has no network code of its own: warden-sync is the one program that talks
 * to the sync server. It is looked for next to wardenctl, then in $WARDEN_SYNC.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/ctl/client.h"
#include "agent/ctl/ctl.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl sync [--clean] [--json] [--socket PATH]\n"
	        "\n"
	        "Sync with the fleet's sync server now (SyncBaseURL): preflight, eventupload,\n"
	        "ruledownload, apply, postflight, each stage printed as it ends. The sync runs in\n"
	        "warden-sync, never in wardend; the rules and settings it receives are applied by\n"
	        "wardend in one transaction, and a failure before that changes nothing. Root, the\n"
	        "AdminGroup or SyncUser may run it.\n"
	        "\n"
	        "  --clean        ask the server for a clean sync: the synced rules are replaced\n"
	        "                 by what it sends (local and profile rules stay)\n"
	        "  --json         print the outcome as one JSON object\n"
	        "  --socket PATH  control socket (default $WARDEN_SOCKET, else %s)\n"
	        "\n"
	        "warden-sync is found next to wardenctl, else at $WARDEN_SYNC.\n"
	        "Exit status: 0 synced, 1 the sync failed, 2 usage error.\n",
	        WARD_CTL_DEFAULT_SOCKET);
}

/* warden-sync next to our own executable (build/, /usr/local/sbin vs bin), else $WARDEN_SYNC. */
static bool find_sync(char *out, size_t cap)
{
	static const char *const rel[] = { "warden-sync", "../sbin/warden-sync" };
	char self[PATH_MAX];
	const char *env = getenv("WARDEN_SYNC");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				if ((size_t)snprintf(out, cap, "%s/%s", self, rel[i]) < cap && access(out, X_OK) == 0)
					return true;
			}
		}
	}
	if (env && *env && strlen(env) < cap && access(env, X_OK) == 0) {
		snprintf(out, cap, "%s", env);
		return true;
	}
	return false;
}

int ctl_sync(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clean", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	char path[PATH_MAX];
	char *args[8];
	int n = 0, c;
	bool clean = false, json = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': clean = true; break;
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (!find_sync(path, sizeof(path))) {
		fprintf(stderr, "wardenctl sync: warden-sync not found next to wardenctl (set WARDEN_SYNC)\n");
		return CTL_EXIT_FAIL;
	}
	args[n++] = path;
	args[n++] = (char *)"--once";
	if (clean)
		args[n++] = (char *)"--clean";
	if (json)
		args[n++] = (char *)"--json";
	args[n++] = (char *)"--socket";
	args[n++] = (char *)ward_ctl_client_socket(sock);
	args[n] = NULL;
	fflush(stdout);
	execv(path, args);
	fprintf(stderr, "wardenctl sync: %s: %s\n", path, strerror(errno));
	return CTL_EXIT_FAIL;
}
