/*
 * How long a configuration reload takes with a large profile: WARD_MAX_STATIC_RULES
 * Santa rules in one .mobileconfig (the worst a fleet can send), read, parsed,
 * validated and merged by ward_config_load_sources. Baseline, side by side: libxml2
 * alone parsing the same bytes into a DOM (xmlReadMemory, no checks, no conversion),
 * the floor any plist reader pays. Prints median of 7 runs of each and the ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "common/limits.h"
#include "profiles/config.h"
#include "tests/bench/benchutil.h"

#define RUNS 7

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	char dir[] = "/tmp/warden-bench-profiles-XXXXXX", path[256];
	double t_load[RUNS], t_xml[RUNS];
	size_t cap = (size_t)WARD_MAX_STATIC_RULES * 320 + 4096, len = 0;
	char *doc = malloc(cap);
	FILE *f;

	if (doc == NULL || mkdtemp(dir) == NULL)
		return 1;
	len += (size_t)snprintf(doc + len, cap - len,
	                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
	                        "<key>PayloadType</key><string>Configuration</string>\n"
	                        "<key>PayloadContent</key><array><dict>\n"
	                        "<key>PayloadType</key><string>com.warden.agent</string>\n"
	                        "<key>ClientMode</key><integer>2</integer>\n<key>StaticRules</key><array>\n");
	for (unsigned i = 0; i < WARD_MAX_STATIC_RULES; i++)
		len += (size_t)snprintf(doc + len, cap - len,
		                        "<dict><key>rule_type</key><string>BINARY</string>"
		                        "<key>identifier</key><string>%064x</string>"
		                        "<key>policy</key><string>%s</string>"
		                        "<key>custom_msg</key><string>rule %u</string></dict>\n",
		                        i + 1, i % 3 ? "ALLOWLIST" : "BLOCKLIST", i);
	len += (size_t)snprintf(doc + len, cap - len, "</array></dict></array>\n</dict>\n</plist>\n");
	snprintf(path, sizeof(path), "%s/50-big.mobileconfig", dir);
	if ((f = fopen(path, "wb")) == NULL || fwrite(doc, 1, len, f) != len)
		return 1;
	fclose(f);
	chmod(dir, 0755);

	for (int r = 0; r < RUNS; r++) {
		ward_error_t err = { 0 };
		ward_confset_t *cs = NULL;
		size_t n;
		double t0 = now_ms();
		xmlDocPtr x = xmlReadMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET);
		t_xml[r] = now_ms() - t0;
		if (x == NULL)
			return 1;
		xmlFreeDoc(x);

		t0 = now_ms();
		if (ward_config_load_sources(NULL, dir, WARD_LOAD_STRICT_PERMS, &cs, NULL, &err) != WARD_OK) {
			fprintf(stderr, "bench_profiles: %s\n", err.msg);
			return 1;
		}
		t_load[r] = now_ms() - t0;
		ward_confset_rules(cs, &n);
		if (n != WARD_MAX_STATIC_RULES)
			return 1;
		ward_confset_free(cs);
	}
	printf("profile with %u StaticRules, %.1f MiB\n", WARD_MAX_STATIC_RULES, len / 1048576.0);
	printf("  baseline xmlReadMemory (DOM only)          : %8.1f ms (median of %d)\n", median(t_xml, RUNS), RUNS);
	printf("  ward_config_load_sources (read+parse+check): %8.1f ms (median of %d)\n", median(t_load, RUNS), RUNS);
	printf("  ratio load / baseline                      : %8.2fx\n", median(t_load, RUNS) / median(t_xml, RUNS));
	unlink(path);
	rmdir(dir);
	free(doc);
	return 0;
}
