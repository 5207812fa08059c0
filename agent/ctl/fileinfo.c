/*
 * wardenctl fileinfo [--json] [--arch ARCH|--all-arches] PATH...
 *
 * Prints, per file, the path, type, SHA-256 and, per Mach-O slice, the code-signing
 * identity; and, when an agent is running, the YARA verdict it has cached for the file.
 * Exit 0 when every file was read, 1 when any could not be (named on stderr).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agent/ctl/ctl.h"
#include "agent/ctl/client.h"
#include "common/hex.h"
#include "scanner/identity.h"
#include "common/platform.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: wardenctl fileinfo [--json] [--arch ARCH | --all-arches] PATH...\n"
	        "\n"
	        "Show the type (macho, fat, elf, script, other), size and SHA-256 of each file\n"
	        "and, for every Mach-O slice, its architecture and code signature: CDHash,\n"
	        "team ID, signing ID, CodeDirectory version and flags, leaf certificate\n"
	        "SHA-256, CN and OU, and the status:\n"
	        "  unsigned  no code signature\n"
	        "  adhoc     no certificate (any team ID in it is not trusted, not shown)\n"
	        "  signed    CMS signature over the CodeDirectory verified, certificate chain\n"
	        "            to an Apple root CA, team ID matching the certificate\n"
	        "  invalid   with the reason: which code page, slot or blob is wrong; the team\n"
	        "            and signing ID it claims are marked UNVERIFIED (no rule matches them)\n"
	        "Every code page and special slot is hashed and compared. Nothing is run.\n"
	        "When an agent is running (socket $WARDEN_SOCKET, else %s), also\n"
	        "the YARA verdict it has cached for the file (\"Agent scan\"; JSON \"agent_scan\":\n"
	        "found, status, action, reason, matches, generation); without an agent that\n"
	        "line is left out.\n"
	        "\n"
	        "  --json         one JSON object per file, one per line (see docs/identity.md)\n"
	        "  --arch ARCH    show only this slice of a Mach-O (" WARD_ARCH_NAMES ");\n"
	        "                 a file without that slice is an error naming the slices it\n"
	        "                 has, and is not shown\n"
	        "  --all-arches   show every slice (the default)\n"
	        "\n"
	        "Exit status: 0 if every file was read, 1 if any could not be (missing,\n"
	        "unreadable, truncated or malformed container; the file and reason go to\n"
	        "stderr), 2 on usage error. An invalid signature is reported, not an error.\n",
	        WARD_CTL_DEFAULT_SOCKET);
}

static json_t *slice_json(const ward_slice_t *s)
{
	char hex[2 * WARD_SHA256_LEN + 1];
	json_t *o = json_object();

	json_object_set_new(o, "arch", json_string(s->arch));
	json_object_set_new(o, "signature", json_string(ward_sigstatus_name(s->status)));
	if (s->status == WARD_SIG_INVALID)
		json_object_set_new(o, "invalid_reason", json_string(s->invalid_reason));
	if (s->has_cdhash) {
		ward_hex_encode(s->cdhash, WARD_CDHASH_LEN, hex);
		json_object_set_new(o, "cdhash", json_string(hex));
		json_object_set_new(o, "cd_version", json_integer(s->cd_version));
		json_object_set_new(o, "cd_flags", json_integer(s->cd_flags));
		json_object_set_new(o, "hash_type", json_integer(s->hash_type));
	}
	json_object_set_new(o, "signing_id", s->signing_id[0] ? json_string(s->signing_id) : json_null());
	json_object_set_new(o, "team_id", s->team_id[0] ? json_string(s->team_id) : json_null());
	/* what the signature claims is only an identity when the signature holds */
	json_object_set_new(o, "identity_verified", json_boolean(s->status == WARD_SIG_SIGNED));
	if (s->has_cert) {
		ward_hex_encode(s->cert_sha256, WARD_SHA256_LEN, hex);
		json_object_set_new(o, "certificate_sha256", json_string(hex));
		json_object_set_new(o, "certificate_cn", json_string(s->cert_cn));
		json_object_set_new(o, "certificate_ou", json_string(s->cert_ou));
	}
	if (s->pages_checked)
		json_object_set_new(o, "pages_checked", json_integer(s->pages_checked));
	return o;
}

/*
 * The agent's cached YARA verdict for path (its reply without "ok"), or NULL when no
 * agent answers: fileinfo works the same without one.
 */
static json_t *agent_scan(const char *path)
{
	struct stat st;
	json_t *req;
	ward_error_t err = { 0 };

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	req = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "cmd", "scan-result",
	                "dev", (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino,
	                "ctime_sec", (json_int_t)st.st_ctim.tv_sec,
	                "ctime_nsec", (json_int_t)st.st_ctim.tv_nsec, "size", (json_int_t)st.st_size);
	return ward_ctl_client_call(ward_ctl_client_socket(NULL), req, 2000, &err);
}

static void print_agent_scan(const json_t *a)
{
	const json_t *reason = json_object_get(a, "reason");

	if (a == NULL)
		return;
	if (!json_is_true(json_object_get(a, "scanning")) && !json_is_true(json_object_get(a, "found"))) {
		printf("%-21s: off (the agent has no YARA rules loaded)\n", "Agent scan");
	} else if (!json_is_true(json_object_get(a, "found"))) {
		printf("%-21s: no cached verdict (rule set generation %lld)\n", "Agent scan",
		       (long long)json_integer_value(json_object_get(a, "generation")));
	} else {
		printf("%-21s: %s", "Agent scan", json_string_value(json_object_get(a, "status")));
		if (strcmp(json_string_value(json_object_get(a, "status")), "done") == 0)
			printf(", %s", json_string_value(json_object_get(a, "action")));
		if (json_is_string(reason))
			printf(" (%s)", json_string_value(reason));
		printf(", %lld matching rules, generation %lld, %.2f ms\n",
		       (long long)json_integer_value(json_object_get(a, "matches")),
		       (long long)json_integer_value(json_object_get(a, "generation")),
		       json_number_value(json_object_get(a, "scan_ms")));
	}
}

static void print_text(const char *path, const ward_identity_t *id, const char *arch)
{
	char hex[2 * WARD_SHA256_LEN + 1];

	printf("%-21s: %s\n", "Path", path);
	printf("%-21s: %s\n", "Type", ward_filetype_name(id->type));
	printf("%-21s: %llu\n", "Size", (unsigned long long)id->file_size);
	if (id->has_sha256) {
		ward_hex_encode(id->sha256, WARD_SHA256_LEN, hex);
		printf("%-21s: %s\n", "SHA-256", hex);
	}
	if (id->type == WARD_FT_SCRIPT)
		printf("%-21s: %s\n", "Interpreter", id->interpreter);
	for (unsigned i = 0; i < id->nslices; i++) {
		const ward_slice_t *s = &id->slices[i];
		if (arch && strcmp(arch, s->arch) != 0)
			continue;
		printf("%-21s: %s\n", "Architecture", s->arch);
		printf("  %-19s: %s", "Signature", ward_sigstatus_name(s->status));
		if (s->status == WARD_SIG_INVALID)
			printf(" (%s)", s->invalid_reason);
		printf("\n");
		if (s->has_cdhash) {
			ward_hex_encode(s->cdhash, WARD_CDHASH_LEN, hex);
			printf("  %-19s: %s\n", "CDHash", hex);
		}
		const char *unv = s->status == WARD_SIG_SIGNED ? "" : s->status == WARD_SIG_INVALID
		                  ? " (UNVERIFIED: the signature is invalid; no rule matches it)"
		                  : " (unverified)";
		printf("  %-19s: %s%s\n", "Team ID", s->team_id[0] ? s->team_id : "-",
		       s->team_id[0] ? unv : "");
		printf("  %-19s: %s%s\n", "Signing ID", s->signing_id[0] ? s->signing_id : "-",
		       s->signing_id[0] ? unv : "");
		if (s->has_cdhash)
			printf("  %-19s: 0x%x, flags 0x%x, hash type %u\n", "CodeDirectory",
			       s->cd_version, s->cd_flags, s->hash_type);
		if (s->has_cert) {
			ward_hex_encode(s->cert_sha256, WARD_SHA256_LEN, hex);
			printf("  %-19s: %s\n", "Certificate SHA-256", hex);
			printf("  %-19s: %s\n", "Certificate CN", s->cert_cn);
			printf("  %-19s: %s\n", "Certificate OU", s->cert_ou[0] ? s->cert_ou : "-");
		}
		if (s->pages_checked)
			printf("  %-19s: %u\n", "Pages verified", s->pages_checked);
	}
}

int ctl_fileinfo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "arch", required_argument, NULL, 'a' },
		{ "all-arches", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *arch = NULL;
	int json = 0, c, status = CTL_EXIT_OK, shown = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': arch = optarg; break;
		case 'A': arch = NULL; break;
		case 'h': usage(stdout); return CTL_EXIT_OK;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (arch != NULL && !ward_arch_name_valid(arch)) {
		fprintf(stderr, "wardenctl fileinfo: --arch '%s': not an architecture name (%s)\n",
		        arch, WARD_ARCH_NAMES);
		return CTL_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		ward_identity_t id;
		ward_error_t err = { 0 };

		if (ward_identity_read_path(argv[i], WARD_ID_SHA256 | WARD_ID_VERIFY_PAGES, &id, &err) != WARD_OK) {
			fprintf(stderr, "wardenctl: %s: %s: %s\n", argv[i], ward_strerror(err.code), err.msg);
			status = CTL_EXIT_FAIL;
			continue;
		}
		if (arch != NULL) {
			unsigned k;
			if (ward_identity_find_arch(&id, arch, &k, &err) != WARD_OK) {
				fprintf(stderr, "wardenctl: %s: %s\n", argv[i], err.msg);
				status = CTL_EXIT_FAIL;
				continue;
			}
		}
		if (json) {
			char hex[2 * WARD_SHA256_LEN + 1];
			json_t *o = json_object(), *slices = json_array();
			json_object_set_new(o, "path", json_string(argv[i]));
			json_object_set_new(o, "type", json_string(ward_filetype_name(id.type)));
			json_object_set_new(o, "size", json_integer((json_int_t)id.file_size));
			ward_hex_encode(id.sha256, WARD_SHA256_LEN, hex);
			json_object_set_new(o, "sha256", json_string(hex));
			if (id.type == WARD_FT_SCRIPT)
				json_object_set_new(o, "interpreter", json_string(id.interpreter));
			for (unsigned k = 0; k < id.nslices; k++)
				if (!arch || strcmp(arch, id.slices[k].arch) == 0)
					json_array_append_new(slices, slice_json(&id.slices[k]));
			json_object_set_new(o, "slices", slices);
			json_t *as = agent_scan(argv[i]);
			if (as != NULL)
				json_object_set_new(o, "agent_scan", as);
			char *s = json_dumps(o, JSON_COMPACT);
			if (s)
				puts(s);
			free(s);
			json_decref(o);
		} else {
			if (shown++ > 0)
				printf("\n");
			print_text(argv[i], &id, arch);
			json_t *as = agent_scan(argv[i]);
			print_agent_scan(as);
			json_decref(as);
		}
	}
	return status;
}
