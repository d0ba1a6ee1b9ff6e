/*
 * fuzz_cleanup_headers.c - libFuzzer target for cleanup/cleanup_headers.c,
 * which rewrites the header section of every message cleanup(8) queues.
 *
 * Input: one control byte, then the message as smtpd hands it to cleanup
 * (LF line ends, any bytes).  The control byte's low seven bits seed the
 * sizes of the pieces the message is fed in (0: all at once), as records
 * from smtpd split it anywhere; its top bit sets header_size_limit to its
 * minimum, 1024, so the refusal path is reached.  The message goes
 * through a qf_writer into a memfd the way serve_message does it; the
 * file must then read back with qf_read_envelope, hold exactly the bytes
 * the writer counted, and, unless header_size_limit refused it, start
 * with our Received: field and keep no Bcc: or Return-Path: in its
 * header section.
 * Trusts: nothing in the input.  Never: leaves memory or descriptors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "queue_file.h"

#define QID "1NGP10F0EJZJK77"
#define ARRIVAL 1700000000L
#define SENDER "sender@client.example"
#define RCPT "rcpt@example.com"
#define OUT_MAX (2 << 20) /* more than 64 KB of input can grow to */

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static struct cleanup_msg m; /* holds a qf_writer: not on the stack */
static char out[OUT_MAX];
static long default_header_limit;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	log_open("fuzz_cleanup", LOG_DEST_FILE, "/dev/null");
	config_defaults();
	if (config_set("myhostname", "mx.example.com", err, sizeof(err)) != 0)
		abort();
	default_header_limit = cfg.header_size_limit;
	return 0;
}

/* msg_init - the message state serve_message sets up, for one rcpt. */
static void
msg_init(int fd)
{
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", QID);
	m.arrival = ARRIVAL;
	m.arrival_us = (long long)ARRIVAL * 1000000;
	snprintf(m.helo, sizeof(m.helo), "client.example");
	snprintf(m.client_name, sizeof(m.client_name), "client.example.net");
	snprintf(m.client_addr, sizeof(m.client_addr), "192.0.2.10");
	snprintf(m.protocol, sizeof(m.protocol), "ESMTP");
	snprintf(m.single_rcpt, sizeof(m.single_rcpt), "%s", RCPT);
	qf_writer_init(&m.w, fd);
	headers_begin(&m);
}

/* piece - the next piece size: 1..4*seed bytes from a fixed sequence. */
static size_t
piece(unsigned *state, unsigned seed, size_t left)
{
	size_t n;

	if (seed == 0)
		return left;
	*state = *state * 1103515245u + 12345u;
	n = 1 + (*state >> 16) % (4 * seed);
	return n < left ? n : left;
}

/* is_named - whether a header line is the field name (RFC 5322 names). */
static int
is_named(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name), j = k;

	if (n < k || strncasecmp(p, name, k) != 0)
		return 0;
	while (j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	return j < n && p[j] == ':';
}

/* check_headers - our Received: first; no Bcc: or Return-Path: kept. */
static void
check_headers(const char *p, size_t len)
{
	const char *end = p + len;

	check(len > 10 && memcmp(p, "Received: ", 10) == 0);
	while (p < end && *p != '\n') {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);
		check(!is_named(p, n, "Bcc") && !is_named(p, n, "Return-Path"));
		p += n + (lf != NULL);
	}
}

/* read_back - the file as qmgr and local read it. */
static void
read_back(int fd, long long written)
{
	struct qf_envelope env;
	struct qf_reader r;
	char err[256];
	size_t n = 0;
	ssize_t k;

	if (qf_read_envelope(fd, &env, err, sizeof(err)) != 0) {
		fprintf(stderr, "queue file refused: %s\n", err);
		abort();
	}
	check(strcmp(env.id, QID) == 0 && strcmp(env.sender, SENDER) == 0);
	check(env.nrcpt == 1 && strcmp(env.rcpt[0].addr, RCPT) == 0);
	check(env.msg_size == written);
	qf_reader_init(&r, fd, &env);
	while (n < sizeof(out) &&
	       (k = qf_reader_read(&r, out + n, sizeof(out) - n)) > 0)
		n += (size_t)k;
	check((long long)n == written);
	if (m.bad != 552) /* header_size_limit: no header section written */
		check_headers(out, n);
	qf_envelope_free(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned seed, state = 1;
	int fd, rc = 0;

	if (size < 1)
		return -1;
	seed = data[0] & 0x7f;
	cfg.header_size_limit = data[0] & 0x80 ? 1024 : default_header_limit;
	data++, size--;
	fd = memfd_create("fuzz_cleanup_headers", MFD_CLOEXEC);
	check(fd >= 0);
	msg_init(fd);
	rc |= qf_put_str(&m.w, QF_ID, m.id);
	rc |= qf_put_str(&m.w, QF_SENDER, SENDER);
	rc |= qf_put_str(&m.w, QF_RCPT, RCPT);
	rc |= qf_begin_message(&m.w);
	for (size_t off = 0; off < size;) {
		size_t n = piece(&state, seed, size - off);
		rc |= headers_feed(&m, (const char *)data + off, n);
		off += n;
	}
	/* as serve_message: a refused message is not finished */
	if (!m.bad)
		rc |= headers_end(&m);
	rc |= qf_finish(&m.w);
	check(rc == 0);
	read_back(fd, m.w.msg_size);
	strbuf_free(&m.hdr);
	close(fd);
	return 0;
}
