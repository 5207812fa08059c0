/* Recent denials per user (see denials.h): fixed tables under one mutex. */
#include "agent/denials.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "rules/rules.h"

struct denial {
	char *path;              /* NULL: slot unused */
	char sha256[2 * WARD_SHA256_LEN + 1];
	int64_t first, last;
	uint32_t count;
	ward_reason_t reason;
};

struct user {
	bool used;
	uid_t uid;
	int64_t last;            /* newest denial: the user forgotten first has the oldest */
	struct denial d[WARD_DENIALS_PER_UID];
};

struct ward_denials {
	pthread_mutex_t mu;
	struct user users[WARD_DENIAL_UIDS];
};

ward_err_t ward_denials_create(ward_denials_t **out, ward_error_t *err)
{
	ward_denials_t *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "denials: out of memory");
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return WARD_OK;
}

static void user_clear(struct user *u)
{
	for (size_t i = 0; i < WARD_DENIALS_PER_UID; i++)
		free(u->d[i].path);
	memset(u, 0, sizeof(*u));
}

void ward_denials_destroy(ward_denials_t *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < WARD_DENIAL_UIDS; i++)
		user_clear(&d->users[i]);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* The user's table, taking the least recently denied user's if uid has none. */
static struct user *user_get(ward_denials_t *d, uid_t uid, bool create)
{
	struct user *victim = NULL;

	for (size_t i = 0; i < WARD_DENIAL_UIDS; i++)
		if (d->users[i].used && d->users[i].uid == uid)
			return &d->users[i];
	if (!create)
		return NULL;
	for (size_t i = 0; i < WARD_DENIAL_UIDS; i++) {
		struct user *u = &d->users[i];
		if (!u->used) {
			victim = u;
			break;
		}
		if (victim == NULL || u->last < victim->last)
			victim = u;
	}
	user_clear(victim);
	victim->used = true;
	victim->uid = uid;
	return victim;
}

void ward_denials_note(ward_denials_t *d, uid_t uid, int64_t when, const char *path,
                       const char *sha256, ward_reason_t reason)
{
	struct denial *slot = NULL;
	struct user *u;

	if (d == NULL || path == NULL || path[0] == '\0' || strnlen(path, PATH_MAX) >= PATH_MAX)
		return;
	if (sha256 == NULL || strlen(sha256) != 2 * WARD_SHA256_LEN)
		sha256 = "";
	pthread_mutex_lock(&d->mu);
	if ((u = user_get(d, uid, true)) == NULL)
		goto out;
	u->last = when;
	for (size_t i = 0; i < WARD_DENIALS_PER_UID; i++) {
		struct denial *e = &u->d[i];
		if (e->path != NULL && strcmp(e->path, path) == 0 && strcmp(e->sha256, sha256) == 0) {
			e->last = when;
			e->count++;
			e->reason = reason;
			goto out;
		}
	}
	/* A new file: an empty entry, else the one denied longest ago. */
	for (size_t i = 0; i < WARD_DENIALS_PER_UID; i++) {
		struct denial *e = &u->d[i];
		if (e->path == NULL) {
			slot = e;
			break;
		}
		if (slot == NULL || e->last < slot->last)
			slot = e;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		goto out;
	free(slot->path);
	memset(slot, 0, sizeof(*slot));
	slot->path = copy;
	memcpy(slot->sha256, sha256, strlen(sha256) + 1);
	slot->first = slot->last = when;
	slot->count = 1;
	slot->reason = reason;
out:
	pthread_mutex_unlock(&d->mu);
}

bool ward_denial_requestable(ward_reason_t r)
{
	/* a BINARY rule an approver grants beats a blocked path, as any rule does */
	return r == WARD_RSN_MODE || r == WARD_RSN_SCAN || r == WARD_RSN_PATH_BLOCKED;
}

bool ward_request_hint(const char *path, char *buf, size_t cap)
{
	static const char head[] = "wardenctl request '";
	static const char tail[] = "' --reason 'why you need it'";
	size_t n = 0;

	if (cap == 0)
		return false;
	buf[0] = '\0';
	if (path == NULL || path[0] == '\0' || cap < sizeof(head))
		return false;
	memcpy(buf, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	for (const char *p = path; *p; p++) {
		/* Control characters would make the hint lie on a terminal. */
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			buf[0] = '\0';
			return false;
		}
		if (*p == '\'') {
			if (n + 4 >= cap)
				goto toolong;
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			if (n + 1 >= cap)
				goto toolong;
			buf[n++] = *p;
		}
	}
	if (n + sizeof(tail) > cap)
		goto toolong;
	memcpy(buf + n, tail, sizeof(tail));
	return true;
toolong:
	buf[0] = '\0';
	return false;
}

static int by_last_desc(const void *a, const void *b)
{
	const struct denial *x = *(const struct denial *const *)a, *y = *(const struct denial *const *)b;

	return x->last < y->last ? 1 : x->last > y->last ? -1 : 0;
}

json_t *ward_denials_json(ward_denials_t *d, uid_t uid)
{
	const struct denial *list[WARD_DENIALS_PER_UID];
	json_t *arr = json_array();
	struct user *u;
	size_t n = 0;

	if (arr == NULL || d == NULL)
		return arr;
	pthread_mutex_lock(&d->mu);
	if ((u = user_get(d, uid, false)) != NULL)
		for (size_t i = 0; i < WARD_DENIALS_PER_UID; i++)
			if (u->d[i].path != NULL)
				list[n++] = &u->d[i];
	qsort(list, n, sizeof(list[0]), by_last_desc);
	for (size_t i = 0; i < n; i++) {
		const struct denial *e = list[i];
		char when[32], hint[PATH_MAX * 4 + 64];
		json_t *o = json_object(), *p = json_string(e->path);
		ward_rule_time_format(e->last, when);
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "path", p ? p : json_null());
		json_object_set_new(o, "sha256", e->sha256[0] ? json_string(e->sha256) : json_null());
		json_object_set_new(o, "reason", json_string(ward_reason_name(e->reason)));
		json_object_set_new(o, "count", json_integer(e->count));
		if (ward_denial_requestable(e->reason) && p != NULL &&
		    ward_request_hint(e->path, hint, sizeof(hint)))
			json_object_set_new(o, "request_hint", json_string(hint));
		else
			json_object_set_new(o, "request_hint", json_null());
		json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&d->mu);
	return arr;
}
