/*
 * es_message_t -> ward_es_event_t. See es_map.h for the contract; the message-version
 * gates are Apple's ("field available only if message version >= N", ESMessage.h docs).
 */
#include "agent/backends/es/es_map.h"

#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "rules/rules.h"

/* Code-signing flags (Apple's cs_blobs.h, public in xnu). */
#define WARD_CS_VALID  0x00000001u
#define WARD_CS_ADHOC  0x00000002u
#define WARD_CS_SIGNED 0x20000000u

bool ward_es_token_copy(const es_string_token_t *tok, char *buf, size_t len)
{
	if (len == 0)
		return false;
	buf[0] = '\0';
	if (tok == NULL || tok->length >= len || (tok->length > 0 && tok->data == NULL))
		return false;
	if (tok->length > 0 && memchr(tok->data, '\0', tok->length) != NULL)
		return false;
	if (tok->length > 0)
		memcpy(buf, tok->data, tok->length);
	buf[tok->length] = '\0';
	return true;
}

uint64_t ward_es_mach_to_ns(const ward_es_clock_t *clk, uint64_t ticks)
{
	uint32_t n = clk->numer ? clk->numer : 1, d = clk->denom ? clk->denom : 1;
	/* ticks * n / d, split so the product cannot overflow: (q*d + r) * n / d. */
	uint64_t q = ticks / d, r = ticks % d;
	if (q > UINT64_MAX / n)
		return UINT64_MAX;
	uint64_t hi = q * n, lo = r * n / d; /* r < d <= 2^32, n < 2^32: r*n fits */
	return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

uint64_t ward_es_budget_ns(uint64_t left_ns)
{
	uint64_t headroom = left_ns / WARD_ES_HEADROOM_DIV;

	if (headroom < WARD_ES_HEADROOM_MIN_NS)
		headroom = WARD_ES_HEADROOM_MIN_NS;
	if (headroom > WARD_ES_HEADROOM_MAX_NS)
		headroom = WARD_ES_HEADROOM_MAX_NS;
	if (headroom > left_ns / 2)
		headroom = left_ns - left_ns / 2; /* short deadline: keep half back */
	return left_ns - headroom;
}

uint32_t ward_es_fflag_access(uint32_t fflag)
{
	uint32_t acc = 0;

	if (fflag & WARD_DARWIN_FREAD)
		acc |= WARD_ES_ACC_READ;
	if (fflag & WARD_DARWIN_FWRITE)
		acc |= WARD_ES_ACC_WRITE;
	return acc;
}

uint32_t ward_es_flags_result(uint32_t fflag, uint32_t allowed)
{
	uint32_t asked = ward_es_fflag_access(fflag);

	if ((asked & ~allowed) == 0)
		return UINT32_MAX; /* the whole request: ES keeps every flag the caller asked for */
	if (allowed & WARD_ES_ACC_READ)
		return fflag & ~(uint32_t)WARD_DARWIN_FWRITE;
	return 0;
}

static void map_file(const es_file_t *f, ward_es_file_t *out)
{
	memset(out, 0, offsetof(ward_es_file_t, path) + 1);
	if (f == NULL)
		return;
	out->present = true;
	/* es_file_t.stat is filled by the kernel for every file ES reports. Darwin's dev_t
	 * is 32-bit signed: widen it as ward_filekey_from_stat does with an fstat of the same
	 * file, so the engine's keys and ES's agree. */
	out->key.dev = (uint64_t)(int64_t)f->stat.st_dev;
	out->key.ino = f->stat.st_ino;
	out->key.ctime_sec = f->stat.st_ctimespec.tv_sec;
	out->key.ctime_nsec = f->stat.st_ctimespec.tv_nsec;
	out->key.size = f->stat.st_size < 0 ? 0 : (uint64_t)f->stat.st_size;
	out->key_ok = f->stat.st_ino != 0;
	out->st_uid = f->stat.st_uid;
	out->st_mode = f->stat.st_mode;
	/* A truncated path is a prefix of the real one: no path-based shortcut may use it. */
	out->path_ok = !f->path_truncated && ward_es_token_copy(&f->path, out->path,
	                                                        sizeof(out->path));
	if (!out->path_ok)
		out->path[0] = '\0';
}

static void map_hints(const es_process_t *p, ward_es_hints_t *h)
{
	memset(h, 0, sizeof(*h));
	h->cs_flags = p->codesigning_flags;
	h->platform = p->is_platform_binary;
	h->adhoc = (p->codesigning_flags & WARD_CS_ADHOC) != 0;
	h->valid = (p->codesigning_flags & (WARD_CS_VALID | WARD_CS_SIGNED)) ==
	           (WARD_CS_VALID | WARD_CS_SIGNED);
	if (!h->valid) {
		h->platform = false; /* only a valid signature makes a platform binary */
		return;
	}
	memcpy(h->cdhash, p->cdhash, sizeof(h->cdhash));
	if (!ward_es_token_copy(&p->signing_id, h->signing_id, sizeof(h->signing_id)))
		h->signing_id[0] = '\0';
	if (h->adhoc || !ward_es_token_copy(&p->team_id, h->team_id, sizeof(h->team_id)))
		h->team_id[0] = '\0';
}

static void map_proc(const es_process_t *p, ward_es_proc_t *out)
{
	out->pid = (pid_t)p->audit_token.val[WARD_AT_PID];
	out->pidversion = p->audit_token.val[WARD_AT_PIDVERSION];
	out->euid = p->audit_token.val[WARD_AT_EUID];
	out->egid = p->audit_token.val[WARD_AT_EGID];
	out->ruid = p->audit_token.val[WARD_AT_RUID];
	out->ppid = p->ppid;
	map_file(p->executable, &out->exe);
	map_hints(p, &out->hints);
}

static ward_es_kind_t kind_of(es_event_type_t t)
{
	switch (t) {
	case ES_EVENT_TYPE_AUTH_EXEC:
	case ES_EVENT_TYPE_NOTIFY_EXEC:
		return WARD_ES_K_EXEC;
	case ES_EVENT_TYPE_AUTH_OPEN:
		return WARD_ES_K_OPEN;
	case ES_EVENT_TYPE_NOTIFY_CLOSE:
		return WARD_ES_K_CLOSE;
	case ES_EVENT_TYPE_NOTIFY_RENAME:
		return WARD_ES_K_RENAME;
	case ES_EVENT_TYPE_NOTIFY_UNLINK:
		return WARD_ES_K_UNLINK;
	case ES_EVENT_TYPE_NOTIFY_EXIT:
		return WARD_ES_K_EXIT;
	case ES_EVENT_TYPE_NOTIFY_UNMOUNT:
		return WARD_ES_K_UNMOUNT;
	default:
		return 0;
	}
}

ward_err_t ward_es_map(const es_message_t *msg, const ward_es_clock_t *clk,
                       ward_es_event_t *out, ward_error_t *err)
{
	out->kind = kind_of(msg->event_type);
	out->type = msg->event_type;
	out->version = msg->version;
	out->auth = msg->action_type == ES_ACTION_TYPE_AUTH;
	out->seq = msg->version >= 2 ? msg->seq_num : 0;
	out->t_recv_ns = clk->now_ns;
	out->left_ns = 0;
	out->deadline_ns = 0;
	out->fflag = 0;
	out->access = 0;
	out->exit_status = 0;
	out->unmount_dev = 0;
	out->unmount_on[0] = '\0';
	out->file.present = out->dest.present = out->script.present = false;
	out->target.exe.present = false;
	out->proc.exe.present = false;

	if (out->auth) {
		/* ES kills a client that answers after msg->deadline (mach time). */
		uint64_t left = msg->deadline > clk->now_mach ? msg->deadline - clk->now_mach : 0;
		out->left_ns = ward_es_mach_to_ns(clk, left);
		out->deadline_ns = clk->now_ns + ward_es_budget_ns(out->left_ns);
	}
	if (out->kind == 0)
		return ward_error_set(err, WARD_E_UNSUPPORTED, "es: event type %u not handled",
		                      (unsigned)msg->event_type);
	if (msg->process == NULL)
		return ward_error_set(err, WARD_E_MALFORMED, "es: message without a process");
	map_proc(msg->process, &out->proc);

	switch (out->kind) {
	case WARD_ES_K_EXEC: {
		const es_event_exec_t *ex = &msg->event.exec;
		if (ex->target == NULL)
			return ward_error_set(err, WARD_E_MALFORMED, "es: exec without a target");
		map_proc(ex->target, &out->target);
		/* script: message version 2 and later */
		map_file(msg->version >= 2 ? ex->script : NULL, &out->script);
		if (!out->target.exe.present)
			return ward_error_set(err, WARD_E_MALFORMED, "es: exec target without image");
		out->file = out->target.exe;
		break;
	}
	case WARD_ES_K_OPEN:
		out->fflag = (uint32_t)msg->event.open.fflag;
		out->access = ward_es_fflag_access(out->fflag);
		map_file(msg->event.open.file, &out->file);
		if (!out->file.present)
			return ward_error_set(err, WARD_E_MALFORMED, "es: open without a file");
		break;
	case WARD_ES_K_CLOSE:
		map_file(msg->event.close.target, &out->file);
		if (msg->event.close.modified)
			out->kind = WARD_ES_K_MODIFIED;
		break;
	case WARD_ES_K_RENAME: {
		const es_event_rename_t *rn = &msg->event.rename;
		map_file(rn->source, &out->file);
		if (rn->destination_type == ES_DESTINATION_TYPE_EXISTING_FILE) {
			map_file(rn->destination.existing_file, &out->dest);
		} else {
			/* new path: dir + "/" + filename; the key is the directory's (not used) */
			map_file(rn->destination.new_path.dir, &out->dest);
			out->dest.key_ok = false;
			char name[WARD_ES_MAX_PATH];
			size_t dl = strlen(out->dest.path);
			if (out->dest.path_ok &&
			    ward_es_token_copy(&rn->destination.new_path.filename, name, sizeof(name)) &&
			    dl + 1 + strlen(name) < sizeof(out->dest.path)) {
				out->dest.path[dl] = '/';
				memcpy(out->dest.path + dl + 1, name, strlen(name) + 1);
			} else {
				out->dest.path_ok = false;
				out->dest.path[0] = '\0';
			}
		}
		break;
	}
	case WARD_ES_K_UNLINK:
		map_file(msg->event.unlink.target, &out->file);
		break;
	case WARD_ES_K_EXIT:
		out->exit_status = msg->event.exit.stat;
		break;
	case WARD_ES_K_UNMOUNT: {
		const ward_darwin_statfs_t *sf = msg->event.unmount.statfs;
		if (sf != NULL) {
			out->unmount_dev = (uint32_t)sf->f_fsid[0];
			size_t n = strnlen(sf->f_mntonname, sizeof(sf->f_mntonname));
			if (n < sizeof(out->unmount_on)) {
				memcpy(out->unmount_on, sf->f_mntonname, n);
				out->unmount_on[n] = '\0';
			}
		}
		break;
	}
	case WARD_ES_K_MODIFIED:
		break;
	}
	return WARD_OK;
}

void ward_es_match_key(const ward_es_hints_t *h, ward_match_key_t *key)
{
	memset(key, 0, sizeof(*key));
	if (!h->valid)
		return;
	ward_hex_encode(h->cdhash, sizeof(h->cdhash), key->cdhash);
	if (h->adhoc)
		return; /* an ad-hoc signature names no team and proves no signing ID */
	snprintf(key->team_id, sizeof(key->team_id), "%s", h->team_id);
	if (h->signing_id[0] == '\0')
		return;
	/* Never truncate: a cut signing ID could equal another program's allowlisted one. */
	const char *prefix = h->platform ? "platform" : h->team_id;
	size_t pl = strlen(prefix), sl = strlen(h->signing_id);
	if (pl == 0 || pl + 1 + sl >= sizeof(key->signing_id))
		return;
	memcpy(key->signing_id, prefix, pl);
	key->signing_id[pl] = ':';
	memcpy(key->signing_id + pl + 1, h->signing_id, sl + 1);
}
