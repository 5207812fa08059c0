/*
 * libFuzzer target for the control protocol: the bytes a client sends, split into lines
 * as the server does, each parsed and dispatched through wardend's real command table
 * (against an agent with no store, a no-op backend and a scan step without rules). The first byte picks the
 * caller: root or an unprivileged user. Every line must get one JSON reply; nothing may
 * crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/daemon.h"
#include "agent/yarascan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop_flush(ward_backend_t *b)
{
	(void)b;
}

static bool no_path(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	(void)ev;
	(void)buf;
	(void)len;
	return false;
}

static const struct ward_backend_ops fake_ops = { .name = "fuzz", .cache_flush = noop_flush,
                                                  .path = no_path };
static ward_backend_t fake_backend = { .ops = &fake_ops };
static ward_daemon_t d;

static void init(void)
{
	ward_snapshot_t *snap;
	ward_engine_opts_t o = { .backend = &fake_backend, .nworkers = 1 };
	ward_yarascan_hooks_t h = { 0 };

	ward_config_defaults(&d.cfg);
	d.backend = &fake_backend;
	if (ward_cache_create(64, 1000, &d.cache, NULL) != WARD_OK ||
	    ward_queue_create(8, &d.queue, NULL) != WARD_OK ||
	    ward_snapshot_build(&d.cfg, NULL, &snap, NULL) != WARD_OK)
		abort();
	o.cache = d.cache;
	o.queue = d.queue;
	if (ward_engine_create(&o, snap, &d.engine, NULL) != WARD_OK)
		abort();
	/* the scan step without rules: status, scan-result and reload reach it */
	if (ward_yarascan_create(&h, &d.yara, NULL) != WARD_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	ward_ctl_peer_t peer = { .uid = 1000, .gid = 1000, .pid = 1 };

	if (!ready) {
		init();
		ready = 1;
	}
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		peer.uid = 0;
		peer.admin = true;
	}
	data++;
	size--;
	while (size > 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) : size;
		char *reply = ward_ctl_handle_line(ward_daemon_commands, ward_daemon_ncommands, &d,
		                                   &peer, (const char *)data, len);
		if (reply == NULL || reply[0] != '{' || strchr(reply, '\n') != NULL)
			abort();
		free(reply);
		if (nl == NULL)
			break;
		size -= len + 1;
		data += len + 1;
	}
	return 0;
}
