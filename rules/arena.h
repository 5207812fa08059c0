/*
 * Internal to rules/: a string arena. Strings copied in stay put until the arena is
 * freed (chunks are never moved), so the index and an import can hand out pointers
 * into it. One allocation per 1 MiB instead of one per string.
 */
#ifndef WARD_RULES_ARENA_H
#define WARD_RULES_ARENA_H

#include <stddef.h>

struct ward_arena_chunk;

typedef struct ward_arena {
	struct ward_arena_chunk *head;
	char *cur;
	size_t left;
	size_t bytes; /* total allocated, for accounting */
} ward_arena_t;

/* Copy n bytes of s and a NUL; returns the copy, or NULL when out of memory. */
char *ward_arena_strndup(ward_arena_t *a, const char *s, size_t n);

/* Free every chunk; the arena is empty and reusable afterwards. */
void ward_arena_free(ward_arena_t *a);

#endif
