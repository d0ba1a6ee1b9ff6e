/*
 * strbuf.c - growable byte buffer with a hard cap (see strbuf.h).
 *
 * Never: grows past its max; the buffer always ends in a NUL after len.
 */
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void
strbuf_init(struct strbuf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
strbuf_free(struct strbuf *b)
{
	free(b->p);
	strbuf_init(b, b->max);
}

void
strbuf_reset(struct strbuf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = 0;
}

int
strbuf_add(struct strbuf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (q == NULL)
			log_fatal("out of memory (%zu bytes)", cap);
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}
