/*
 * strbuf.h - a growable byte buffer with a hard cap.
 */
#ifndef MTA_STRBUF_H
#define MTA_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p;
	size_t len, cap, max;
};

void strbuf_init(struct strbuf *b, size_t max);
void strbuf_free(struct strbuf *b);
/* strbuf_add - append; -1 (nothing added) when max would be passed. */
int strbuf_add(struct strbuf *b, const void *p, size_t n);
void strbuf_reset(struct strbuf *b);

#endif
