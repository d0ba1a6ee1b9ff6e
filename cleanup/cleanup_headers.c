/*
 * cleanup_headers.c - the header section: held until it ends, then written
 * with Received: first, Bcc: and Return-Path: removed, and Message-ID:
 * and Date: added when missing.  Names and folding are kept as they came.
 *
 * The header section ends at the first empty line, or at the first line
 * that is neither a header field nor a continuation (that line starts the
 * body, and an empty line is inserted before it).
 * Trusts: nothing in the message.  Never: holds more than
 * header_size_limit bytes; lets a loop through (hop_count_limit).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"

void
headers_begin(struct cleanup_msg *m)
{
	strbuf_init(&m->hdr, (size_t)cfg.header_size_limit);
	/* never NULL, even for an empty message */
	if (strbuf_add(&m->hdr, "", 0) != 0)
		log_fatal("header buffer: header_size_limit is 0");
	m->hdr_line = 0;
	m->in_headers = 1;
}

/* field_name_len - length of "Name" in "Name:", or 0 if not a field. */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	/* "Name :" is obsolete syntax (RFC 5322 4.5) but still a field */
	size_t j = i;
	while (j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	return (i > 0 && j < n && p[j] == ':') ? i : 0;
}

static int
is_field(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);
	return field_name_len(p, n) == k && strncasecmp(p, name, k) == 0;
}

static int
emit(struct cleanup_msg *m, const char *p, size_t n)
{
	return qf_put_data(&m->w, p, n);
}

static int
emit_received(struct cleanup_msg *m)
{
	/* every field is bounded: 4 host names, a path, an ID, a date */
	char date[64], buf[4 * LIM_HOSTNAME + LIM_PATH + 512];
	int n;

	rfc2822_date(m->arrival, date, sizeof(date));
	if (strcmp(m->protocol, "local") == 0) /* made here: no client */
		n = snprintf(buf, sizeof(buf), "Received: by %s (mta) id %s"
			     "%s%s%s;\n\t%s\n", cfg.myhostname, m->id,
			     m->single_rcpt[0] ? "\n\tfor <" : "",
			     m->single_rcpt, m->single_rcpt[0] ? ">" : "",
			     date);
	else
		n = snprintf(buf, sizeof(buf),
		     "Received: from %s (%s [%s%s])\n%s%s%s\tby %s (mta) with %s "
		     "id %s%s%s%s;\n\t%s\n",
		     m->helo, m->client_name,
		     /* RFC 5321 4.1.3: an IPv6 address literal is tagged */
		     strchr(m->client_addr, ':') ? "IPv6:" : "", m->client_addr,
		     m->tls[0] ? "\t(using " : "", m->tls, m->tls[0] ? ")\n" : "",
		     cfg.myhostname, m->protocol, m->id,
		     m->single_rcpt[0] ? "\n\tfor <" : "", m->single_rcpt,
		     m->single_rcpt[0] ? ">" : "", date);
	if (n < 0 || (size_t)n >= sizeof(buf))
		log_fatal("Received: header of %d bytes does not fit", n);
	return emit(m, buf, (size_t)n);
}

static int
emit_missing(struct cleanup_msg *m)
{
	char buf[512];
	int n;

	if (!m->have_message_id) {
		struct tm tm;
		time_t t = (time_t)m->arrival;
		gmtime_r(&t, &tm);
		snprintf(m->message_id, sizeof(m->message_id),
			 "<%04d%02d%02d%02d%02d%02d.%s@%s>", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, m->id, cfg.myhostname);
		n = snprintf(buf, sizeof(buf), "Message-Id: %s\n",
			     m->message_id);
		if (emit(m, buf, (size_t)n) != 0)
			return -1;
	}
	if (!m->have_date) {
		char date[64];
		rfc2822_date(m->arrival, date, sizeof(date));
		n = snprintf(buf, sizeof(buf), "Date: %s\n", date);
		if (emit(m, buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

/* note_field - remember what a kept field tells us. */
static void
note_field(struct cleanup_msg *m, const char *p, size_t n)
{
	if (is_field(p, n, "Received"))
		m->received_count++;
	else if (is_field(p, n, "Date"))
		m->have_date = 1;
	else if (is_field(p, n, "From"))
		m->have_from = 1;
	else if (is_field(p, n, "Message-ID")) {
		const char *v = memchr(p, ':', n) + 1;
		size_t vl = n - (size_t)(v - p);
		while (vl > 0 && isspace((unsigned char)*v))
			v++, vl--;
		while (vl > 0 && isspace((unsigned char)v[vl - 1]))
			vl--;
		m->have_message_id = 1;
		snprintf(m->message_id, sizeof(m->message_id), "%.*s",
			 (int)(vl < 290 ? vl : 290), v);
	}
}

/* write_headers - write the held header fields (len bytes of hdr). */
static int
write_headers(struct cleanup_msg *m, size_t len)
{
	const char *p = m->hdr.p, *end = m->hdr.p + len;

	if (emit_received(m) != 0)
		return -1;
	while (p < end) {
		const char *q = p;
		/* a field runs over its continuation lines */
		do {
			const char *lf = memchr(q, '\n', (size_t)(end - q));
			q = lf ? lf + 1 : end;
		} while (q < end && (*q == ' ' || *q == '\t'));
		size_t n = (size_t)(q - p);
		if (!is_field(p, n, "Bcc") && !is_field(p, n, "Return-Path")) {
			note_field(m, p, n);
			if (emit(m, p, n) != 0)
				return -1;
			if (p[n - 1] != '\n' && emit(m, "\n", 1) != 0)
				return -1;
		}
		p = q;
	}
	if (m->received_count >= cfg.hop_count_limit) {
		m->bad = 554;
		snprintf(m->bad_text, sizeof(m->bad_text), "5.4.6 Error: too "
			 "many hops (%d Received: headers; mail loop?)",
			 m->received_count);
	}
	return emit_missing(m);
}

/* line_ends_headers - does this complete line end the header section?
 * *sep says whether it is the empty separator line. */
static int
line_ends_headers(const struct cleanup_msg *m, const char *p, size_t n,
		  int *sep)
{
	if (n == 1) {
		*sep = 1;
		return 1;
	}
	*sep = 0;
	int cont = (*p == ' ' || *p == '\t') && m->hdr_line > 0;
	return !cont && field_name_len(p, n) == 0;
}

/* finish_headers - write held headers and start the body at 'at'. */
static int
finish_headers(struct cleanup_msg *m, size_t at, int sep)
{
	m->in_headers = 0;
	if (write_headers(m, at) != 0)
		return -1;
	if (!sep && at < m->hdr.len && emit(m, "\n", 1) != 0)
		return -1;
	int rc = emit(m, m->hdr.p + at, m->hdr.len - at);
	strbuf_free(&m->hdr);
	return rc;
}

static void
header_too_big(struct cleanup_msg *m)
{
	m->bad = 552;
	snprintf(m->bad_text, sizeof(m->bad_text), "5.3.4 Error: message "
		 "header size exceeds header_size_limit (%ld bytes)",
		 cfg.header_size_limit);
	m->in_headers = 0;
	strbuf_free(&m->hdr);
}

/*
 * headers_feed - held line by line, so that body bytes arriving in the
 * same chunk as the end of the header never count against its limit.
 */
int
headers_feed(struct cleanup_msg *m, const char *p, size_t n)
{
	while (n > 0 && m->in_headers) {
		const char *lf = memchr(p, '\n', n);
		size_t take = lf ? (size_t)(lf - p) + 1 : n;
		int sep;

		if (strbuf_add(&m->hdr, p, take) != 0) {
			header_too_big(m);
			return 0;
		}
		p += take, n -= take;
		if (lf == NULL)
			return 0; /* the line goes on in the next chunk */
		const char *line = m->hdr.p + m->hdr_line;
		if (line_ends_headers(m, line, m->hdr.len - m->hdr_line, &sep)) {
			if (finish_headers(m, m->hdr_line, sep) != 0)
				return -1;
			break;
		}
		m->hdr_line = m->hdr.len;
	}
	if (n == 0 || m->bad)
		return 0;
	return emit(m, p, n);
}

/* headers_end - the message ended; its last line may lack a newline. */
int
headers_end(struct cleanup_msg *m)
{
	if (!m->in_headers)
		return 0;
	size_t n = m->hdr.len - m->hdr_line;
	int sep = 1;
	if (n > 0) {
		const char *line = m->hdr.p + m->hdr_line;
		if (line_ends_headers(m, line, n, &sep))
			return finish_headers(m, m->hdr_line, sep);
	}
	return finish_headers(m, m->hdr.len, 1);
}
