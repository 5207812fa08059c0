#include "rules/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (1u << 20)

struct ward_arena_chunk {
	struct ward_arena_chunk *next;
	char data[];
};

char *ward_arena_strndup(ward_arena_t *a, const char *s, size_t n)
{
	char *p;

	if (n >= SIZE_MAX - sizeof(struct ward_arena_chunk) - CHUNK_BYTES)
		return NULL;
	if (a->left < n + 1) {
		size_t size = n + 1 > CHUNK_BYTES ? n + 1 : CHUNK_BYTES;
		struct ward_arena_chunk *c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->next = a->head;
		a->head = c;
		a->cur = c->data;
		a->left = size;
		a->bytes += sizeof(*c) + size;
	}
	p = a->cur;
	memcpy(p, s, n);
	p[n] = '\0';
	a->cur += n + 1;
	a->left -= n + 1;
	return p;
}

void ward_arena_free(ward_arena_t *a)
{
	struct ward_arena_chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	memset(a, 0, sizeof(*a));
}
