/*
 * smtpd_body.c - the message byte filter of smtpd(8) (see smtpd.h).
 *
 * This is where SMTP smuggling (CVE-2023-51764 class) is stopped: the end
 * of data is recognised in exactly one form, CR LF "." CR LF, counted from
 * the CR LF that ended the previous line, so "\n.\n", "\r.\r", "\n.\r\n"
 * and "\r\n.\r" are body text.  Output never holds a CR: CRLF and a bare
 * LF both end a line (LF), a stray CR becomes a space.
 * Trusts: nothing in the bytes.  Never: holds more than its fixed
 * output buffer; reads past the end-of-data marker.
 */
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "smtpd.h"

enum {
	S_BOL_CRLF, /* line start after CRLF (or data start): "." may end */
	S_BOL,	    /* line start after a bare LF: a dot is only stuffing */
	S_MID,	    /* inside a line */
	S_CR,	    /* a CR held until we see what follows it */
	S_DOT,	    /* S_BOL_CRLF then "." */
	S_DOT_CR,   /* S_BOL_CRLF then ".\r" */
};

void
body_init(struct body_filter *f, enum body_mode mode, body_sink sink, void *ctx)
{
	/* not the output buffer: olen bounds it, and zeroing 64 KB per
	 * message was a tenth of smtpd's instructions for a 2 KB one */
	memset(f, 0, offsetof(struct body_filter, out));
	f->mode = mode;
	f->state = mode == BODY_DATA ? S_BOL_CRLF : S_MID;
	f->sink = sink;
	f->ctx = ctx;
}

static void
out_flush(struct body_filter *f)
{
	if (f->olen > 0 && f->sink != NULL)
		f->sink(f->ctx, f->out, f->olen);
	f->olen = 0;
}

static void
out_byte(struct body_filter *f, char c)
{
	if (f->olen == sizeof(f->out))
		out_flush(f);
	f->out[f->olen++] = c;
}

/* out_span - bytes that need no translation, copied in one go. */
static void
out_span(struct body_filter *f, const char *p, size_t n)
{
	while (n > 0) {
		if (f->olen == sizeof(f->out))
			out_flush(f);
		size_t k = sizeof(f->out) - f->olen;
		if (k > n)
			k = n;
		memcpy(f->out + f->olen, p, k);
		f->olen += k, p += k, n -= k;
	}
}

/* mid - one byte inside a line. */
static void
mid(struct body_filter *f, char c)
{
	if (c == '\r') {
		f->state = S_CR;
	} else if (c == '\n') {
		out_byte(f, '\n');
		f->bare_lf++;
		f->state = f->mode == BODY_DATA ? S_BOL : S_MID;
	} else {
		out_byte(f, c);
		f->state = S_MID;
	}
}

/* step - one byte in any state. */
static void
step(struct body_filter *f, char c)
{
	switch (f->state) {
	case S_BOL_CRLF:
		if (c == '.')
			f->state = S_DOT;
		else
			mid(f, c);
		break;
	case S_BOL:
		if (c == '.')
			f->state = S_MID; /* dot-stuffing removed */
		else
			mid(f, c);
		break;
	case S_CR:
		if (c == '\n') {
			out_byte(f, '\n');
			f->state = f->mode == BODY_DATA ? S_BOL_CRLF : S_MID;
			break;
		}
		out_byte(f, ' ');
		f->bare_cr++;
		mid(f, c);
		break;
	case S_DOT:
		if (c == '\r')
			f->state = S_DOT_CR;
		else
			mid(f, c); /* the dot was stuffing */
		break;
	case S_DOT_CR:
		if (c == '\n') {
			f->done = 1;
			break;
		}
		out_byte(f, ' '); /* ".\r" then not LF: a stray CR */
		f->bare_cr++;
		mid(f, c);
		break;
	default:
		mid(f, c);
		break;
	}
}

#ifdef __SSE2__
/*
 * line_end - offset of the first CR or LF at or after i in p[0..n), or
 * n: sixteen bytes compared at a time, one pass for both (two memchr
 * calls per line cost as much as the rest of the filter).
 */
static size_t
line_end(const char *p, size_t i, size_t n)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
						       _mm_cmpeq_epi8(v, lf)));
		if (m != 0)
			return i + (size_t)__builtin_ctz((unsigned)m);
	}
	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}
#else
/* line_end - offset of the first CR or LF at or after i, or n (a byte
 * at a time: memchr for each would search far ahead again and again
 * in a run of CRs without an LF) */
static size_t
line_end(const char *p, size_t i, size_t n)
{
	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}
#endif

/*
 * body_feed - the bytes of a line that need nothing done go out as one
 * span (line_end finds its end); only line ends, CRs and a dot at the
 * start of a line go through the byte-at-a-time states.
 */
size_t
body_feed(struct body_filter *f, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !f->done) {
		/* a line that starts with an ordinary byte is a span too */
		if ((f->state == S_BOL_CRLF || f->state == S_BOL) &&
		    p[i] != '.' && p[i] != '\r' && p[i] != '\n')
			f->state = S_MID;
		if (f->state != S_MID) {
			step(f, p[i++]);
			continue;
		}
		size_t c = line_end(p, i, n);
		out_span(f, p + i, c - i);
		i = c;
		if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n') {
			/* the usual CRLF line end, without the states */
			out_byte(f, '\n');
			f->state = f->mode == BODY_DATA ? S_BOL_CRLF : S_MID;
			i += 2;
		} else if (i < n) {
			step(f, p[i++]);
		}
	}
	out_flush(f);
	return i;
}

void
body_finish(struct body_filter *f)
{
	if (f->state == S_CR || f->state == S_DOT_CR) {
		out_byte(f, ' ');
		f->bare_cr++;
	}
	f->state = S_MID;
	out_flush(f);
}
