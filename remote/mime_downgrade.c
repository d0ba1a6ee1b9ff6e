/*
 * mime_downgrade.c - an 8-bit message as 7-bit MIME, for a peer that does
 * not offer 8BITMIME (RFC 6152 3: convert or return).
 *
 * Two passes over the message, the same state machine each time.  The
 * first (emit 0) reads it and writes the plan: which leaf parts hold
 * 8-bit octets and may be encoded (labelled 8bit, 7bit or nothing: RFC
 * 2045 6.4 allows only those to become quoted-printable), or why the
 * message cannot be converted.  The second (emit 1) writes the copy:
 * those leaves quoted-printable (RFC 2045 6.7: lines of at most 76
 * characters with soft breaks, '=', 8-bit octets and a space or tab at
 * a line's end encoded, line ends kept as hard breaks), their
 * Content-Transfer-Encoding replaced or added, a non-MIME message given
 * MIME-Version: 1.0 (and Content-Type text/plain; charset=unknown-8bit,
 * RFC 1428, when it had none), a multipart or message labelled 8bit or
 * binary relabelled 7bit, everything else octet for octet.  Multipart
 * is walked by its boundaries (RFC 2046 5.1.1, an outer boundary ends
 * inner parts too), message/rfc822 and message/global into their own
 * header and body (RFC 2046 5.2.1 forbids encoding them), up to
 * LIM_MIME_NESTING levels.
 *
 * Refused (MIME_DG_REFUSE, m->why says which): 8-bit octets in a header
 * (RFC 2047 encoding of raw headers is not attempted), in a part
 * labelled binary, base64, quoted-printable or anything else, in a
 * preamble or epilogue, in a message/partial or message/external-body
 * part, or nested deeper than the limit; a part labelled binary; a header
 * of interest or a boundary longer than its limit; more parts than
 * LIM_MIME_PARTS.
 *
 * Trusts: nothing in the message; every buffer has its named limit.
 * Never: holds more than one header, one line start and one output
 * block; changes an octet of a part it does not encode; writes
 * anything in the first pass.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mime_downgrade.h"

enum { ST_HEADER, ST_BODY };
/* B_COPY: as is (first pass: 8-bit octets refused with m->reason);
 * B_SCAN: first pass over a leaf that may be encoded; B_QP: encoded */
enum { B_COPY, B_SCAN, B_QP };
enum { MIME_LEAF, MIME_MULTI, MIME_MESSAGE, MIME_FIXED };
enum {
	CTE_NONE,
	CTE_7BIT,
	CTE_8BIT,
	CTE_BINARY,
	CTE_QP,
	CTE_BASE64,
	CTE_OTHER
};
enum { BIT_CONV = 0, BIT_7BIT = 1 };
/* why 8-bit octets in a body kept as it is cannot go (first pass) */
enum {
	R_NONE,
	R_PREAMBLE,
	R_EPILOGUE,
	R_LABEL,
	R_NESTING,
	R_FIXED,
	R_MALFORMED
};

static void dispatch(struct mime_dg *m, unsigned char c);

/* refuse - the message cannot be converted: the first reason counts */
static void __attribute__((format(printf, 2, 3)))
refuse(struct mime_dg *m, const char *fmt, ...)
{
	va_list ap;

	if (m->err)
		return;
	m->err = MIME_DG_REFUSE;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

/* refuse_8bit - 8-bit octets where they cannot be encoded */
static void
refuse_8bit(struct mime_dg *m)
{
	switch (m->reason) {
	case R_PREAMBLE:
		refuse(m, "8-bit octets in a multipart preamble");
		break;
	case R_EPILOGUE:
		refuse(m, "8-bit octets in a multipart epilogue");
		break;
	case R_LABEL:
		refuse(m, "8-bit octets in a MIME part labelled %s",
		       m->part.cte_name);
		break;
	case R_NESTING:
		refuse(m,
		       "8-bit octets in MIME parts nested deeper than %d "
		       "levels",
		       LIM_MIME_NESTING);
		break;
	case R_FIXED:
		refuse(m, "8-bit octets in a message/partial or "
			  "message/external-body part");
		break;
	case R_MALFORMED:
		refuse(m, "8-bit octets after a malformed MIME header");
		break;
	}
}

static void
flush_out(struct mime_dg *m)
{
	if (m->olen > 0 && !m->err && m->out(m->ctx, m->obuf, m->olen) != 0)
		m->err = MIME_DG_EOUT;
	m->olen = 0;
}

/* put - octets of the copy (nothing in the first pass) */
static void
put(struct mime_dg *m, const char *p, size_t n)
{
	if (!m->emit)
		return;
	while (n > 0) {
		size_t k = sizeof(m->obuf) - m->olen;
		if (k > n)
			k = n;
		memcpy(m->obuf + m->olen, p, k);
		m->olen += k;
		p += k;
		n -= k;
		if (m->olen == sizeof(m->obuf))
			flush_out(m);
	}
}

static void
put_str(struct mime_dg *m, const char *s)
{
	put(m, s, strlen(s));
}

static int
plan_bit(const struct mime_dg *m, long ord, int which)
{
	long b = 2 * ord + which;

	if (ord < 0 || ord >= LIM_MIME_PARTS)
		return 0;
	return (m->plan->bits[b / 8] >> (b % 8)) & 1;
}

static void
plan_set(struct mime_dg *m, long ord, int which)
{
	long b = 2 * ord + which;

	if (ord < 0 || ord >= LIM_MIME_PARTS) {
		refuse(m, "more than %d MIME parts", LIM_MIME_PARTS);
		return;
	}
	m->plan->bits[b / 8] |= (unsigned char)(1u << (b % 8));
	if (which == BIT_CONV)
		m->plan->nconv++;
}

/* part_start - a header begins: the message's own, a part's after a
 * boundary, or an encapsulated message's */
static void
part_start(struct mime_dg *m, int depth, int digest_child, int top)
{
	memset(&m->part, 0, sizeof(m->part));
	m->part.kind = digest_child ? MIME_MESSAGE : MIME_LEAF;
	m->part.top = top;
	m->part.depth = depth;
	m->part.ord = m->nparts++;
	m->state = ST_HEADER;
	m->hlen = 0;
	m->hany = m->hstream = m->h8 = m->ncte = 0;
}

/* --- header values ------------------------------------------------- */

/* skip_cfws - white space (folds included) and comments (RFC 5322 3.2.2) */
static const char *
skip_cfws(const char *p, const char *e)
{
	int depth = 0;

	for (; p < e; p++) {
		if (*p == '\\' && depth > 0 && p + 1 < e)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *p != ' ' && *p != '\t' && *p != '\n' &&
			 *p != '\r')
			break;
	}
	return p;
}

/* token_end - RFC 2045 5.1 token: no space, control or tspecial */
static const char *
token_end(const char *p, const char *e)
{
	while (p < e && (unsigned char)*p > 32 && (unsigned char)*p < 127 &&
	       !strchr("()<>@,;:\\\"/[]?=", *p))
		p++;
	return p;
}

static int
token_is(const char *p, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - p) == n && strncasecmp(p, word, n) == 0;
}

static void
parse_cte(struct mime_dg_part *pt, const char *p, const char *e)
{
	const char *t = skip_cfws(p, e), *te = token_end(t, e);
	static const struct {
		const char *name;
		int cte;
	} known[] = {{"7bit", CTE_7BIT},
		     {"8bit", CTE_8BIT},
		     {"binary", CTE_BINARY},
		     {"quoted-printable", CTE_QP},
		     {"base64", CTE_BASE64}};

	pt->cte = te == t ? CTE_NONE : CTE_OTHER;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (token_is(t, te, known[i].name))
			pt->cte = known[i].cte;
	snprintf(pt->cte_name, sizeof(pt->cte_name), "%.*s",
		 (int)(te - t < 31 ? te - t : 31), t);
}

/* param_value - a token or quoted string into out (NUL-terminated);
 * the end of it.  *toolong when it did not fit. */
static const char *
param_value(const char *p, const char *e, char *out, size_t cap, size_t *len,
	    int *toolong)
{
	size_t n = 0;

	if (p < e && *p == '"') {
		for (p++; p < e && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			if (*p == '\n')
				continue; /* unfolded */
			if (n + 1 < cap)
				out[n++] = *p;
			else
				*toolong = 1;
		}
		p += p < e;
	} else {
		const char *te = token_end(p, e);
		for (; p < te; p++) {
			if (n + 1 < cap)
				out[n++] = *p;
			else
				*toolong = 1;
		}
	}
	out[n] = 0;
	*len = n;
	return p;
}

/* boundary_param - the first boundary= among the parameters at p */
static void
boundary_param(struct mime_dg_part *pt, const char *p, const char *e)
{
	while (p < e) {
		while (p < e && *p != ';') { /* to the next parameter */
			if (*p == '"')
				for (p++; p < e && *p != '"'; p++)
					p += *p == '\\' && p + 1 < e;
			p += p < e;
		}
		if (p >= e)
			return;
		const char *a = skip_cfws(p + 1, e), *ae = token_end(a, e);
		p = skip_cfws(ae, e);
		if (p >= e || *p != '=')
			continue;
		p = skip_cfws(p + 1, e);
		if (!token_is(a, ae, "boundary") || pt->blen > 0) {
			char skip[2];
			size_t n;
			int big;
			p = param_value(p, e, skip, sizeof(skip), &n, &big);
			continue;
		}
		p = param_value(p, e, pt->boundary, sizeof(pt->boundary),
				&pt->blen, &pt->bad_boundary);
	}
}

static void
parse_ctype(struct mime_dg_part *pt, const char *p, const char *e)
{
	const char *t = skip_cfws(p, e), *te = token_end(t, e);
	const char *s = te, *se;

	if (s < e && *s == '/')
		s++;
	se = token_end(s, e);
	if (token_is(t, te, "multipart")) {
		pt->kind = MIME_MULTI;
		pt->digest = token_is(s, se, "digest");
		boundary_param(pt, se, e);
	} else if (token_is(t, te, "message") &&
		   (token_is(s, se, "rfc822") || token_is(s, se, "global")))
		pt->kind = MIME_MESSAGE;
	else if (token_is(t, te, "message") &&
		 (token_is(s, se, "partial") ||
		  token_is(s, se, "external-body")))
		pt->kind = MIME_FIXED; /* RFC 2046 5.2.2, 5.2.3: 7bit only */
	else
		pt->kind = MIME_LEAF;
}

/* header_name - the length of "Name" when the header is "Name:" or
 * "Name :", else 0: not a header line */
static size_t
header_name(const char *h, size_t n)
{
	size_t i = 0, name;

	while (i < n && (unsigned char)h[i] > 32 && (unsigned char)h[i] < 127 &&
	       h[i] != ':')
		i++;
	name = i;
	while (i < n && (h[i] == ' ' || h[i] == '\t'))
		i++;
	return name > 0 && i < n && h[i] == ':' ? name : 0;
}

static int
name_is(const char *h, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(h, word, n) == 0;
}

/* --- the end of a header section ----------------------------------- */

static void
body_start(struct mime_dg *m, int mode, int reason)
{
	m->state = ST_BODY;
	m->body = mode;
	m->reason = reason;
	m->part.has8 = 0;
	m->col = 0;
	m->npend = 0;
}

static int
walkable(const struct mime_dg_part *pt)
{
	return pt->cte == CTE_NONE || pt->cte == CTE_7BIT ||
	       pt->cte == CTE_8BIT || pt->cte == CTE_BINARY;
}

/* header_additions - second pass: the headers an encoded leaf lacks,
 * and MIME-Version for a message that had none */
static void
header_additions(struct mime_dg *m)
{
	const struct mime_dg_part *pt = &m->part;
	int conv = plan_bit(m, pt->ord, BIT_CONV);

	/* the message's own header when anything was encoded; an
	 * encapsulated message's when its own body was */
	if (pt->top && !pt->has_mv &&
	    (pt->depth == 0 ? m->plan->nconv > 0 : conv))
		put_str(m, "MIME-Version: 1.0\n");
	if (conv && !pt->has_ct)
		put_str(m, "Content-Type: text/plain; charset=unknown-8bit\n");
	if (conv && !pt->has_cte)
		put_str(m, "Content-Transfer-Encoding: quoted-printable\n");
}

/* leaf_start - a leaf's body: encoded, scanned, or kept as it is */
static void
leaf_start(struct mime_dg *m)
{
	struct mime_dg_part *pt = &m->part;

	if (pt->kind == MIME_FIXED)
		body_start(m, B_COPY, R_FIXED);
	else if (pt->cte == CTE_BINARY) {
		/* RFC 3030: binary needs BINARYMIME, which is never
		 * converted here; refused even when 7-bit after all */
		if (!m->emit)
			refuse(m, "a MIME part is labelled binary");
		body_start(m, B_COPY, R_NONE);
	} else if (pt->cte == CTE_NONE || pt->cte == CTE_7BIT ||
		   pt->cte == CTE_8BIT) {
		int mode = B_SCAN; /* first pass: does it hold 8-bit octets */
		if (m->emit)
			mode = plan_bit(m, pt->ord, BIT_CONV) ? B_QP : B_COPY;
		body_start(m, mode, R_NONE);
	} else
		body_start(m, B_COPY, R_LABEL);
}

/* section_end - the header section is over: what its body is */
static void
section_end(struct mime_dg *m)
{
	struct mime_dg_part *pt = &m->part;
	int container =
	    (pt->kind == MIME_MULTI && pt->blen > 0 && !pt->bad_boundary) ||
	    pt->kind == MIME_MESSAGE;

	if (m->emit)
		header_additions(m);
	if (pt->kind == MIME_MULTI && pt->bad_boundary)
		refuse(m, "a MIME boundary longer than %d octets",
		       LIM_MIME_BOUNDARY);
	if (!container || !walkable(pt)) {
		leaf_start(m);
		return;
	}
	if (pt->depth + 1 > LIM_MIME_NESTING) {
		body_start(m, B_COPY, R_NESTING);
		return;
	}
	if (!m->emit && (pt->cte == CTE_8BIT || pt->cte == CTE_BINARY))
		plan_set(m, pt->ord, BIT_7BIT);
	if (pt->kind == MIME_MESSAGE) {
		part_start(m, pt->depth + 1, 0, 1);
		return;
	}
	struct mime_dg_bound *b = &m->stack[m->nstack++];
	memcpy(b->b, pt->boundary, pt->blen + 1);
	b->len = pt->blen;
	b->depth = pt->depth;
	b->digest = pt->digest;
	body_start(m, B_COPY, R_PREAMBLE);
}

/* --- headers ------------------------------------------------------- */

/* cte_header - second pass: a Content-Transfer-Encoding header as it
 * goes out (the first replaced when the plan says, later ones then
 * dropped) */
static void
cte_header(struct mime_dg *m)
{
	int conv = plan_bit(m, m->part.ord, BIT_CONV);
	int c7 = plan_bit(m, m->part.ord, BIT_7BIT);

	if (!conv && !c7)
		put(m, m->hbuf, m->hlen);
	else if (m->ncte == 1)
		put_str(m, conv
			       ? "Content-Transfer-Encoding: quoted-printable\n"
			       : "Content-Transfer-Encoding: 7bit\n");
}

/* header_done - the logical header in hbuf is complete */
static void
header_done(struct mime_dg *m)
{
	struct mime_dg_part *pt = &m->part;
	size_t name = header_name(m->hbuf, m->hlen);
	const char *v = m->hbuf + name, *e = m->hbuf + m->hlen;

	if (!m->hany || m->hstream) {
		m->hany = m->hstream = 0;
		return;
	}
	m->hany = 0;
	if (name == 0) {
		/* not a header: the body starts here (as parsers take it) */
		size_t n = m->hlen; /* part_start clears it */
		section_end(m);
		if (m->state == ST_HEADER) /* an encapsulated message */
			body_start(m, B_COPY, R_MALFORMED);
		for (size_t i = 0; i < n && !m->err; i++) {
			m->bol = i == 0 || m->hbuf[i - 1] == '\n';
			dispatch(m, (unsigned char)m->hbuf[i]);
		}
		return;
	}
	if (m->h8) {
		refuse(m, "8-bit octets in a header (not RFC 2047 encoded)");
		return;
	}
	v = (const char *)memchr(v, ':', (size_t)(e - v)) + 1;
	if (name_is(m->hbuf, name, "content-type") && !pt->has_ct) {
		pt->has_ct = 1;
		parse_ctype(pt, v, e);
	} else if (name_is(m->hbuf, name, "content-transfer-encoding")) {
		if (m->ncte++ == 0) {
			pt->has_cte = 1;
			parse_cte(pt, v, e);
		}
		cte_header(m);
		return;
	} else if (name_is(m->hbuf, name, "mime-version"))
		pt->has_mv = 1;
	put(m, m->hbuf, m->hlen);
}

/* header_overflow - hbuf is full: a header that matters is refused,
 * any other goes on streaming (its 8-bit octets still refused) */
static void
header_overflow(struct mime_dg *m)
{
	size_t name = header_name(m->hbuf, m->hlen);

	if (name_is(m->hbuf, name, "content-type") ||
	    name_is(m->hbuf, name, "content-transfer-encoding") || name == 0) {
		refuse(m, "a MIME header longer than %d octets",
		       LIM_MIME_HEADER);
		return;
	}
	if (m->h8) {
		refuse(m, "8-bit octets in a header (not RFC 2047 encoded)");
		return;
	}
	put(m, m->hbuf, m->hlen);
	m->hlen = 0;
	m->hstream = 1;
}

static void
header_byte(struct mime_dg *m, unsigned char c)
{
	if (m->bol && !((c == ' ' || c == '\t') && m->hany)) {
		header_done(m); /* the previous one, if any */
		m->bol = 1;	/* header_done may have replayed a line */
		if (m->err)
			return;
		if (m->state != ST_HEADER) {
			dispatch(m, c);
			return;
		}
		if (c == '\n') {
			section_end(m);
			put(m, "\n", 1);
			return;
		}
		m->hlen = 0;
		m->h8 = 0;
		m->hany = 1;
	}
	if (c > 127) {
		m->h8 = 1;
		if (m->hstream)
			refuse(m, "8-bit octets in a header (not RFC 2047 "
				  "encoded)");
	}
	if (m->hstream) {
		put(m, (const char *)&c, 1);
		return;
	}
	m->hbuf[m->hlen++] = (char)c;
	if (m->hlen == sizeof(m->hbuf))
		header_overflow(m);
}

/* --- quoted-printable ---------------------------------------------- */

static void
qp_token(struct mime_dg *m, const char *t, int n)
{
	if (m->col + n > 75) { /* room for the '=' of a soft break */
		put(m, "=\n", 2);
		m->col = 0;
	}
	put(m, t, (size_t)n);
	m->col += n;
}

static void
qp_literal_or_hex(struct mime_dg *m, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = {'=', hex[c >> 4], hex[c & 15]};

	if ((c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t')
		qp_token(m, (const char *)&c, 1);
	else
		qp_token(m, t, 3);
}

/* qp_flush - the held space or tab and CR: at a line's end both are
 * encoded but a CR before LF is the line end itself */
static void
qp_flush(struct mime_dg *m, int eol, int lf)
{
	for (int i = 0; i < m->npend; i++) {
		unsigned char c = (unsigned char)m->pend[i];
		if (c == '\r' && lf)
			continue; /* CRLF: a hard break */
		if (c == '\r' || eol) {
			char t[4];
			snprintf(t, sizeof(t), "=%02X", c);
			qp_token(m, t, 3);
		} else
			qp_token(m, (const char *)&c, 1);
	}
	m->npend = 0;
}

static void
qp_byte(struct mime_dg *m, unsigned char c)
{
	if (c == '\n') {
		qp_flush(m, 1, 1);
		put(m, "\n", 1);
		m->col = 0;
		return;
	}
	if (c == '\r' && m->npend == 1 && m->pend[0] != '\r') {
		m->pend[m->npend++] = '\r';
		return;
	}
	qp_flush(m, 0, 0);
	if (c == ' ' || c == '\t' || c == '\r')
		m->pend[m->npend++] = (char)c;
	else
		qp_literal_or_hex(m, c);
}

/* --- bodies and boundaries ----------------------------------------- */

static void
body_byte(struct mime_dg *m, unsigned char c)
{
	switch (m->body) {
	case B_QP:
		qp_byte(m, c);
		break;
	case B_SCAN:
		m->part.has8 |= c > 127;
		break;
	default:
		if (c > 127 && !m->emit && m->reason != R_NONE)
			refuse_8bit(m);
		put(m, (const char *)&c, 1);
	}
}

static void
dispatch(struct mime_dg *m, unsigned char c)
{
	if (m->state == ST_HEADER)
		header_byte(m, c);
	else
		body_byte(m, c);
}

/* part_end - a boundary or the end: the current part is complete */
static void
part_end(struct mime_dg *m)
{
	if (m->state == ST_HEADER) {
		header_done(m);
		if (m->state == ST_HEADER && !m->err)
			section_end(m); /* a header without a body */
	}
	if (m->state == ST_BODY && m->body == B_SCAN && m->part.has8)
		plan_set(m, m->part.ord, BIT_CONV);
	if (m->state == ST_BODY && m->body == B_QP)
		qp_flush(m, 1, 0);
}

/* boundary_match - the stack entry whose boundary the held line is
 * (innermost first), *close for "--b--"; -1 when none */
static int
boundary_match(const struct mime_dg *m, int *close)
{
	size_t n = m->npeek;
	const char *l = m->peek;

	if (n > 0 && l[n - 1] == '\n')
		n--;
	while (n > 0 &&
	       (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\r'))
		n--;
	if (n < 2 || l[0] != '-' || l[1] != '-')
		return -1;
	for (int k = m->nstack - 1; k >= 0; k--) {
		const struct mime_dg_bound *b = &m->stack[k];
		if (n < 2 + b->len || memcmp(l + 2, b->b, b->len) != 0)
			continue;
		size_t rest = n - 2 - b->len;
		if (rest == 0 ||
		    (rest == 2 && l[n - 2] == '-' && l[n - 1] == '-')) {
			*close = rest == 2;
			return k;
		}
	}
	return -1;
}

/* peek_resolve - the held line start: a boundary, or data to replay */
static void
peek_resolve(struct mime_dg *m)
{
	int close = 0, k = boundary_match(m, &close);
	size_t n = m->npeek;

	m->npeek = 0;
	if (k < 0) {
		for (size_t i = 0; i < n && !m->err; i++) {
			m->bol = i == 0 || m->peek[i - 1] == '\n';
			dispatch(m, (unsigned char)m->peek[i]);
		}
		return;
	}
	part_end(m);
	if (m->err)
		return;
	put(m, m->peek, n);
	m->nstack = k + 1;
	if (close) {
		m->nstack = k;
		body_start(m, B_COPY, R_EPILOGUE);
	} else
		part_start(m, m->stack[k].depth + 1, m->stack[k].digest, 0);
}

void
mime_dg_init(struct mime_dg *m, struct mime_dg_plan *plan, int emit,
	     mime_dg_out out, void *ctx)
{
	m->plan = plan;
	m->emit = emit;
	m->out = out;
	m->ctx = ctx;
	m->err = MIME_DG_OK;
	m->why[0] = 0;
	m->bol = 1;
	m->npeek = 0;
	m->nparts = 0;
	m->nstack = 0;
	m->olen = 0;
	m->col = m->npend = 0;
	if (!emit)
		memset(plan, 0, sizeof(*plan));
	part_start(m, 0, 0, 1);
}

/* qp_span - qp_byte for each octet, a literal one that fits the line
 * written at once (most of a text is such octets) */
static void
qp_span(struct mime_dg *m, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !m->err; i++) {
		unsigned char c = (unsigned char)p[i];
		if (m->npend == 0 && c >= 33 && c <= 126 && c != '=' &&
		    m->col < 75) {
			m->obuf[m->olen++] = (char)c;
			m->col++;
			if (m->olen == sizeof(m->obuf))
				flush_out(m);
		} else
			qp_byte(m, c);
	}
}

/* body_span - the rest of a line (its LF included) of a body: what
 * body_byte would do, a line at a time */
static void
body_span(struct mime_dg *m, const char *p, size_t n)
{
	unsigned char any = 0;

	if (m->body == B_QP) {
		qp_span(m, p, n);
		return;
	}
	if (m->body == B_SCAN || (!m->emit && m->reason != R_NONE)) {
		for (size_t i = 0; i < n; i++)
			any |= (unsigned char)p[i];
		if (m->body == B_SCAN)
			m->part.has8 |= any >> 7;
		else if (any > 127)
			refuse_8bit(m);
	}
	if (m->body == B_COPY)
		put(m, p, n);
}

/* fast - whether the octet c can start a line span: in a body, no
 * line start held, and no boundary possible here */
static int
fast(const struct mime_dg *m, char c)
{
	return m->state == ST_BODY && m->npeek == 0 &&
	       !(m->bol && m->nstack > 0 && c == '-');
}

int
mime_dg_feed(struct mime_dg *m, const char *in, size_t n)
{
	size_t i = 0;

	while (i < n && !m->err) {
		unsigned char c = (unsigned char)in[i];
		if (fast(m, (char)c)) {
			const char *nl = memchr(in + i, '\n', n - i);
			size_t k = nl ? (size_t)(nl - (in + i)) + 1 : n - i;
			body_span(m, in + i, k);
			m->bol = nl != NULL;
			i += k;
			continue;
		}
		if (m->npeek > 0 || (m->bol && m->nstack > 0 && c == '-')) {
			m->peek[m->npeek++] = (char)c;
			if (c == '\n' || m->npeek == sizeof(m->peek) ||
			    (m->npeek == 2 && c != '-'))
				peek_resolve(m);
		} else
			dispatch(m, c);
		m->bol = c == '\n';
		i++;
	}
	return m->err ? -1 : 0;
}

int
mime_dg_end(struct mime_dg *m)
{
	if (!m->err && m->npeek > 0)
		peek_resolve(m);
	if (!m->err)
		part_end(m);
	flush_out(m);
	return m->err ? -1 : 0;
}
