/*
 * wardenctl profile validate [--json] [--config FILE] FILE...
 * wardenctl profile show [--json] [--config FILE] [--dir DIR]
 * wardenctl profile show --agent [--json] [--socket PATH]
 * wardenctl profile keys [--json]
 *
 * validate checks each file on its own (a profile, or a warden.conf when it is JSON)
 * and prints every error and warning as file:line; show prints the configuration the
 * agent would build from warden.conf and the profiles directory, and where each value
 * came from; show --agent asks the running agent what it has in force; keys lists every
 * configuration key warden knows, from the table the loader itself uses.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "common/paths.h"
#include "agent/ctl/client.h"
#include "profiles/config.h"
#include "profiles/diag.h"

#define DEFAULT_CONF WARD_DEFAULT_CONFIG
#define DEFAULT_DIR  WARD_DEFAULT_PROFILES

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl profile validate [--json] [--config FILE] FILE...\n"
	        "       wardenctl profile show [--json] [--config FILE] [--dir DIR]\n"
	        "       wardenctl profile show --agent [--json] [--socket PATH]\n"
	        "       wardenctl profile keys [--json]\n"
	        "\n"
	        "validate  check each FILE on its own: a .mobileconfig or .plist profile (signed\n"
	        "          or not), or a warden.conf (JSON). Every error and warning is printed\n"
	        "          as file:line: severity: key: message. Signatures are verified against\n"
	        "          the ProfileTrustAnchors of the --config file, whose\n"
	        "          RequireSignedProfiles also applies. Unknown keys are warnings.\n"
	        "show      build the effective configuration exactly as wardend does (defaults,\n"
	        "          then the config file, then DIR/*.mobileconfig and DIR/*.plist sorted by\n"
	        "          name; later wins per key, StaticRules are concatenated) and print each\n"
	        "          value with where it came from. Files must be owned by root and not\n"
	        "          group/other-writable, as for wardend. This reads the files as they are\n"
	        "          now: with --agent, show asks the running agent instead what it has in\n"
	        "          force (after its last good reload, with its --mode applied), and\n"
	        "          whether its last reload failed.\n"
	        "keys      every configuration key warden knows: type, default, whether Santa\n"
	        "          payloads may set it, warden.conf-only keys, keys recognised only to be\n"
	        "          refused, and a line of help. The loader reads keys from this table.\n"
	        "          Then Santa's keys that warden reads but does not enforce, and why.\n"
	        "\n"
	        "  --json         print one JSON object\n"
	        "  --config FILE  warden.conf to read (default %s; a missing default\n"
	        "                 file means none, a missing --config FILE is an error)\n"
	        "  --dir DIR      profiles directory for show (default %s)\n"
	        "  --agent        show: the running agent's configuration (control socket)\n"
	        "  --socket PATH  control socket for --agent (default $WARDEN_SOCKET, else\n"
	        "                 " WARD_CTL_DEFAULT_SOCKET ")\n"
	        "\n"
	        "Exit status: 0 valid, 1 any error (show --agent: the agent cannot be reached), 2\n"
	        "usage error.\n",
	        DEFAULT_CONF, DEFAULT_DIR);
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2));

	if (s)
		puts(s);
	free(s);
}

/* "file:line: severity: key: message" */
static void print_diag(FILE *out, const json_t *d)
{
	const char *file = json_string_value(json_object_get(d, "file"));
	const char *key = json_string_value(json_object_get(d, "key"));
	const char *sev = json_string_value(json_object_get(d, "severity"));
	const char *msg = json_string_value(json_object_get(d, "message"));
	json_int_t line = json_integer_value(json_object_get(d, "line"));

	if (file)
		fprintf(out, "%s:", file);
	if (file && line > 0)
		fprintf(out, "%lld:", (long long)line);
	fprintf(out, "%s%s: ", file ? " " : "", sev ? sev : "error");
	if (key)
		fprintf(out, "%s: ", key);
	fprintf(out, "%s\n", msg ? msg : "");
}

static void print_diags(FILE *out, const json_t *diags, const char *sev)
{
	size_t i;
	json_t *d;

	json_array_foreach((json_t *)diags, i, d) {
		const char *s = json_string_value(json_object_get(d, "severity"));
		if (sev == NULL || (s && strcmp(s, sev) == 0))
			print_diag(out, d);
	}
}

static json_t *filter(const json_t *diags, const char *sev)
{
	json_t *a = json_array();
	size_t i;
	json_t *d;

	json_array_foreach((json_t *)diags, i, d) {
		const char *s = json_string_value(json_object_get(d, "severity"));
		if (s && strcmp(s, sev) == 0)
			json_array_append(a, d);
	}
	return a;
}

/* The --config file: its trust anchors verify the profiles being validated or shown. */
static int load_base(const char *conf, bool explicit_conf, ward_confset_t **base, bool json)
{
	ward_error_t err = { 0 };
	json_t *diags = json_array();

	if (ward_config_load_sources(conf, NULL, explicit_conf ? WARD_LOAD_CONF_REQUIRED : 0, base,
	                             diags, &err) != WARD_OK) {
		if (json) {
			json_t *o = json_pack("{s:b, s:s, s:O}", "valid", 0, "error", err.msg, "errors", diags);
			print_json(o);
			json_decref(o);
		} else {
			fprintf(stderr, "wardenctl: cannot use the configuration %s:\n", conf);
			print_diags(stderr, diags, "error");
		}
		json_decref(diags);
		return CTL_EXIT_FAIL;
	}
	json_decref(diags);
	return CTL_EXIT_OK;
}

static int cmd_validate(int argc, char **argv, int first, const char *conf, bool explicit_conf,
                        bool json)
{
	ward_confset_t *base = NULL;
	json_t *files = json_array();
	int status = CTL_EXIT_OK;

	if (load_base(conf, explicit_conf, &base, json) != CTL_EXIT_OK) {
		json_decref(files);
		return CTL_EXIT_FAIL;
	}
	for (int i = first; i < argc; i++) {
		ward_error_t err = { 0 };
		ward_confset_t *cs = NULL;
		json_t *diags = json_array();
		bool ok = ward_config_validate_file(argv[i], base, &cs, diags, &err) == WARD_OK;

		if (!ok)
			status = CTL_EXIT_FAIL;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "file", json_string(argv[i]));
			json_object_set_new(o, "valid", json_boolean(ok));
			if (ok) {
				json_t *full = ward_confset_to_json(cs);
				json_object_set(o, "sources", json_object_get(full, "sources"));
				json_decref(full);
			}
			json_object_set_new(o, "errors", filter(diags, "error"));
			json_object_set_new(o, "warnings", filter(diags, "warning"));
			json_array_append_new(files, o);
		} else {
			print_diags(ok ? stdout : stderr, diags, NULL);
			if (ok) {
				json_t *full = ward_confset_to_json(cs);
				json_t *src = json_array_get(json_object_get(full, "sources"), 0);
				printf("%s: valid", argv[i]);
				if (json_is_true(json_object_get(src, "signed")))
					printf(", signed by \"%s\" (%s)",
					       json_string_value(json_object_get(src, "signer")),
					       json_is_true(json_object_get(src, "verified")) ?
					       "verified against ProfileTrustAnchors" : "signer NOT verified");
				printf(" (%zu warning%s)\n", ward_diag_count(diags, WARD_DIAG_WARNING),
				       ward_diag_count(diags, WARD_DIAG_WARNING) == 1 ? "" : "s");
				json_decref(full);
			} else {
				fprintf(stderr, "%s: invalid (%zu error%s)\n", argv[i],
				        ward_diag_count(diags, WARD_DIAG_ERROR),
				        ward_diag_count(diags, WARD_DIAG_ERROR) == 1 ? "" : "s");
			}
		}
		ward_confset_free(cs);
		json_decref(diags);
	}
	if (json) {
		json_t *o = json_pack("{s:b, s:o}", "valid", status == CTL_EXIT_OK, "files", files);
		print_json(o);
		json_decref(o);
	} else {
		json_decref(files);
	}
	ward_confset_free(base);
	return status;
}

static void print_value_line(const char *key, const json_t *v, const char *origin)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	printf("  %-22s %-40s %s\n", key, s ? s : "?", origin);
	free(s);
}

/* The text form of a {config, origin, sources, warnings} object. */
static void print_full(const json_t *full)
{
	json_t *cfg, *origin;
	const char *k;
	json_t *v;
	size_t i;

	cfg = json_object_get(full, "config");
	origin = json_object_get(full, "origin");
	printf("Sources (in merge order; later wins per key):\n");
	if (json_array_size(json_object_get(full, "sources")) == 0)
		printf("  (none: embedded defaults)\n");
	json_array_foreach(json_object_get(full, "sources"), i, v) {
		printf("  %s (%s", json_string_value(json_object_get(v, "file")),
		       json_string_value(json_object_get(v, "kind")));
		if (json_is_true(json_object_get(v, "signed")))
			printf(", signed by \"%s\", %s", json_string_value(json_object_get(v, "signer")),
			       json_is_true(json_object_get(v, "verified")) ? "verified" : "signer not verified");
		printf(")\n");
	}
	printf("\nConfiguration:\n");
	json_object_foreach(cfg, k, v) {
		if (strcmp(k, "StaticRules") == 0)
			continue;
		print_value_line(k, v, json_string_value(json_object_get(origin, k)));
	}
	printf("\nStaticRules (%zu, managed):\n", json_array_size(json_object_get(cfg, "StaticRules")));
	json_array_foreach(json_object_get(cfg, "StaticRules"), i, v) {
		printf("  %-11s %-18s %-66s %s\n", json_string_value(json_object_get(v, "rule_type")),
		       json_string_value(json_object_get(v, "policy")),
		       json_string_value(json_object_get(v, "identifier")),
		       json_string_value(json_object_get(v, "origin")));
	}
	if (json_array_size(json_object_get(full, "warnings")) > 0) {
		printf("\nWarnings:\n");
		print_diags(stdout, json_object_get(full, "warnings"), NULL);
	}
}

static int cmd_show(const char *conf, bool explicit_conf, const char *dir, bool json)
{
	ward_error_t err = { 0 };
	ward_confset_t *cs = NULL;
	json_t *diags = json_array(), *full;

	if (ward_config_load_sources(conf, dir,
	                             WARD_LOAD_STRICT_PERMS | (explicit_conf ? WARD_LOAD_CONF_REQUIRED : 0),
	                             &cs, diags, &err) != WARD_OK) {
		if (json) {
			json_t *o = json_pack("{s:b, s:s, s:o, s:o}", "valid", 0, "error", err.msg, "errors",
			                      filter(diags, "error"), "warnings", filter(diags, "warning"));
			print_json(o);
			json_decref(o);
		} else {
			print_diags(stderr, diags, NULL);
			fprintf(stderr, "wardenctl: the configuration is invalid: %s\n", err.msg);
		}
		json_decref(diags);
		return CTL_EXIT_FAIL;
	}
	json_decref(diags);
	full = ward_confset_to_json(cs);
	if (json)
		print_json(full);
	else
		print_full(full);
	json_decref(full);
	ward_confset_free(cs);
	return CTL_EXIT_OK;
}

/* keys: the key table, as the loader reads it. */
static int cmd_keys(bool json)
{
	json_t *a = ward_config_keys_json(), *k;
	size_t i;

	if (a == NULL) {
		fprintf(stderr, "wardenctl profile keys: out of memory\n");
		return CTL_EXIT_FAIL;
	}
	if (json) {
		json_t *o = json_pack("{s:o, s:o}", "keys", a, "santa_not_enforced",
		                      ward_config_santa_unenforced_json());
		print_json(o);
		json_decref(o);
		return CTL_EXIT_OK;
	}
	printf("%-30s %-26s %-6s %s\n", "KEY", "TYPE", "SANTA", "DEFAULT / HELP");
	json_array_foreach(a, i, k) {
		const json_t *d = json_object_get(k, "default"), *r = json_object_get(k, "range");
		char *dt = json_is_null(d) ? NULL : json_dumps(d, JSON_ENCODE_ANY | JSON_COMPACT);
		const char *note = json_is_true(json_object_get(k, "refused")) ? " (refused)"
		                   : json_is_true(json_object_get(k, "local_only")) ? " (warden.conf only)" : "";
		printf("%-30s %-26s %-6s default %s", json_string_value(json_object_get(k, "name")),
		       json_string_value(json_object_get(k, "type")),
		       json_is_true(json_object_get(k, "santa")) ? "yes" : "no", dt ? dt : "unset");
		if (json_is_array(r))
			printf(", range [%lld, %lld]", (long long)json_integer_value(json_array_get(r, 0)),
			       (long long)json_integer_value(json_array_get(r, 1)));
		printf("%s\n%-64s %s\n", note, "", json_string_value(json_object_get(k, "help")));
		free(dt);
	}
	json_decref(a);
	a = ward_config_santa_unenforced_json();
	printf("\nSanta keys read but not enforced (a profile setting one gets a warning naming it):\n");
	json_array_foreach(a, i, k)
		printf("  %-34s %s\n", json_string_value(json_object_get(k, "name")),
		       json_string_value(json_object_get(k, "why")));
	json_decref(a);
	return CTL_EXIT_OK;
}

/* show --agent: what the running agent has in force, and how its last reload went. */
static int cmd_show_agent(const char *sock, bool json)
{
	ward_error_t err = { 0 };
	json_t *req = json_pack("{s:s}", "cmd", "config"), *reply = NULL, *c, *e, *v;
	size_t i;

	sock = ward_ctl_client_socket(sock);
	if ((reply = ward_ctl_client_call(sock, req, 5000, &err)) == NULL) {
		if (json)
			printf("{\"ok\":false,\"error\":\"%s\"}\n", ward_strerror(err.code));
		fprintf(stderr, "wardenctl profile show --agent: %s\n", err.msg);
		return CTL_EXIT_FAIL;
	}
	if (json) {
		print_json(reply);
		json_decref(reply);
		return CTL_EXIT_OK;
	}
	c = json_object_get(reply, "configuration");
	printf("In force in the agent since %s (%s)\n\n",
	       json_string_value(json_object_get(c, "loaded_at")) ? json_string_value(json_object_get(c, "loaded_at")) : "?",
	       json_string_value(json_object_get(c, "loaded_trigger")) ? json_string_value(json_object_get(c, "loaded_trigger")) : "?");
	print_full(reply);
	v = json_object_get(reply, "static_rules");
	if (json_integer_value(json_object_get(v, "shown")) < json_integer_value(json_object_get(v, "total")))
		printf("  ... %lld more (wardenctl profile show lists them all)\n",
		       (long long)(json_integer_value(json_object_get(v, "total")) -
		                   json_integer_value(json_object_get(v, "shown"))));
	e = json_object_get(c, "last_error");
	if (json_is_object(e)) {
		printf("\nThe last reload FAILED (%s, %s); the configuration above stays in force:\n",
		       json_string_value(json_object_get(e, "at")), json_string_value(json_object_get(e, "trigger")));
		json_array_foreach(json_object_get(e, "errors"), i, v)
			print_diag(stdout, v);
		if (json_array_size(json_object_get(e, "errors")) == 0)
			printf("  %s\n", json_string_value(json_object_get(e, "message")));
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}

int ctl_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "agent", no_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = DEFAULT_CONF, *dir = DEFAULT_DIR, *verb, *sock = NULL;
	bool json = false, explicit_conf = false, have_dir = false, agent = false;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "validate") != 0 && strcmp(argv[1], "show") != 0 &&
	                 strcmp(argv[1], "keys") != 0)) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	verb = argv[1];
	optind = 1;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'c': conf = optarg; explicit_conf = true; break;
		case 'd': dir = optarg; have_dir = true; break;
		case 'a': agent = true; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(verb, "validate") == 0) {
		if (optind >= argc || have_dir || agent || sock) {
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
		return cmd_validate(argc, argv, optind, conf, explicit_conf, json);
	}
	if (strcmp(verb, "keys") == 0) {
		if (optind < argc || explicit_conf || have_dir || agent || sock) {
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
		return cmd_keys(json);
	}
	if (optind < argc || (agent && (explicit_conf || have_dir)) || (sock && !agent)) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (agent)
		return cmd_show_agent(sock, json);
	return cmd_show(conf, explicit_conf, dir, json);
}
