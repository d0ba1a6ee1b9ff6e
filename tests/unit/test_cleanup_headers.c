/*
 * test_cleanup_headers.c - unit tests for cleanup/cleanup_headers.c, the
 * header section of cleanup(8).
 *
 * Covers: a table of messages (input, expected queued message), each fed
 * to headers_feed whole, in 7-byte pieces and byte by byte, written into
 * a real queue file and read back with qf_read_envelope/qf_reader_read:
 * our Received: first (with "for <rcpt>" only for a single recipient),
 * Bcc: and Return-Path: removed with their continuation lines, whatever
 * the case of their names, Message-Id: and Date: added only when missing,
 * names and folding kept byte for byte, "Name :" as a field, where the
 * header section ends (empty line, a line that is no field, the end of
 * the message) and the body left alone.  Then the refusals:
 * hop_count_limit (554 5.4.6) and header_size_limit (552 5.3.4), and a
 * small header followed by a large body is not refused whatever the
 * chunking.
 * Trusts: only the temporary directory it makes; a POSIX TZ string, so
 * the dates are exact without a time zone database.
 * Never: leaves TZ or cfg changed for the suites after it.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../cleanup/cleanup.h"
#include "config.h"
#include "queue_file.h"
#include "suites.h"

#define QID "1NGP10F0EJZJK77"
#define ARRIVAL 1700000000L /* Tue, 14 Nov 2023 22:13:20 UTC */
#define HOST "mx.example.com"
#define DATE "Tue, 14 Nov 2023 22:13:20 +0000"
#define MSGID "<20231114221320." QID "@" HOST ">"
#define SENDER "sender@client.example"
#define RCPT "rcpt@example.com"

static char tmpdir[256], qpath[512];
static char saved_tz[256];
static int had_tz;
static struct cleanup_msg m; /* holds a qf_writer: not on the stack */

/* the piece sizes every message is fed in; 0 is the whole message */
static const size_t steps[] = {0, 7, 1};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static int
init(void)
{
	char err[256];
	const char *tz = getenv("TZ");

	if ((had_tz = tz != NULL))
		snprintf(saved_tz, sizeof(saved_tz), "%s", tz);
	setenv("TZ", "UTC0", 1);
	tzset();
	config_defaults();
	if (config_set("myhostname", HOST, err, sizeof(err)) != 0)
		return -1;
	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "cleanup_headers") != 0)
		return -1;
	unit_path(qpath, sizeof(qpath), tmpdir, "queue_file");
	return 0;
}

static int
cleanup(void)
{
	if (had_tz)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	config_defaults();
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* msg_init - a message as cleanup.c sets one up, for one recipient. */
static void
msg_init(const char *single_rcpt)
{
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", QID);
	m.arrival = ARRIVAL;
	m.arrival_us = (long long)ARRIVAL * 1000000;
	snprintf(m.helo, sizeof(m.helo), "client.example");
	snprintf(m.client_name, sizeof(m.client_name), "client.example.net");
	snprintf(m.client_addr, sizeof(m.client_addr), "192.0.2.10");
	snprintf(m.protocol, sizeof(m.protocol), "ESMTP");
	snprintf(m.single_rcpt, sizeof(m.single_rcpt), "%s", single_rcpt);
}

/*
 * run - write a queue file of in (fed in pieces of step bytes, 0: whole)
 * the way cleanup.c does, read it back and return the queued message in
 * malloc'd memory (NUL-terminated), or NULL after a failed assertion.
 */
static char *
run(const char *in, size_t len, size_t step, size_t *outlen)
{
	struct qf_envelope env;
	struct qf_reader rd;
	char err[256], *out = NULL;
	size_t cap = len + 4096, n = 0;
	ssize_t r;
	int fd, rc = 0;

	fd = open(qpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	qf_writer_init(&m.w, fd);
	headers_begin(&m);
	rc |= qf_put_str(&m.w, QF_ID, m.id);
	rc |= qf_put_str(&m.w, QF_SENDER, SENDER);
	rc |= qf_put_str(&m.w, QF_RCPT, RCPT);
	rc |= qf_begin_message(&m.w);
	for (size_t off = 0; off < len;) {
		size_t k = step == 0 || step > len - off ? len - off : step;
		rc |= headers_feed(&m, in + off, k);
		off += k;
	}
	rc |= headers_end(&m);
	rc |= qf_finish(&m.w);
	strbuf_free(&m.hdr);
	CU_ASSERT_EQUAL(rc, 0);
	if (qf_read_envelope(fd, &env, err, sizeof(err)) != 0) {
		fprintf(stderr, "\nqueue file refused: %s\n", err);
		CU_FAIL("qf_read_envelope");
		close(fd);
		return NULL;
	}
	CU_ASSERT_STRING_EQUAL(env.id, QID);
	CU_ASSERT_STRING_EQUAL(env.sender, SENDER);
	CU_ASSERT_EQUAL(env.nrcpt, 1);
	if ((out = malloc(cap)) != NULL) {
		qf_reader_init(&rd, fd, &env);
		while ((r = qf_reader_read(&rd, out + n, cap - n - 1)) > 0)
			n += (size_t)r;
		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT_EQUAL((long long)n, env.msg_size);
		out[n] = 0;
	}
	qf_envelope_free(&env);
	close(fd);
	*outlen = n;
	return out;
}

/* received - the Received: field cleanup writes for single_rcpt. */
static void
received(char *out, size_t len, const char *single_rcpt)
{
	if (single_rcpt[0])
		snprintf(out, len,
			 "Received: from client.example (client.example.net "
			 "[192.0.2.10])\n\tby " HOST " (mta) with ESMTP id " QID
			 "\n\tfor <%s>;\n\t" DATE "\n",
			 single_rcpt);
	else
		snprintf(out, len,
			 "Received: from client.example (client.example.net "
			 "[192.0.2.10])\n\tby " HOST " (mta) with ESMTP id " QID
			 ";\n\t" DATE "\n");
}

/*
 * expand - the expected message: "{R}" is our Received: field, "{I}" the
 * added Message-Id: line and "{D}" the added Date: line.
 */
static void
expand(char *out, size_t len, const char *tmpl, const char *single_rcpt)
{
	char recv[1024];
	size_t n = 0;

	received(recv, sizeof(recv), single_rcpt);
	for (const char *t = tmpl; *t;) {
		const char *ins = NULL;
		if (strncmp(t, "{R}", 3) == 0)
			ins = recv;
		else if (strncmp(t, "{I}", 3) == 0)
			ins = "Message-Id: " MSGID "\n";
		else if (strncmp(t, "{D}", 3) == 0)
			ins = "Date: " DATE "\n";
		if (ins != NULL) {
			size_t k = strlen(ins);
			if (n + k >= len)
				abort(); /* a test bug */
			memcpy(out + n, ins, k);
			n += k;
			t += 3;
		} else {
			if (n + 1 >= len)
				abort();
			out[n++] = *t++;
		}
	}
	out[n] = 0;
}

/* clang-format off */
/*
 * One message: the recipient for "for <>" ("" for several), what goes in,
 * what must come out (see expand), and the Message-ID cleanup must note
 * (NULL: the one it made).
 */
struct hdr_case {
	const char *what, *rcpt, *in, *want, *msgid;
};

static const struct hdr_case cases[] = {
	/* Received: always first, "for" only with a single recipient */
	{"single recipient", RCPT,
	 "Subject: hi\nMessage-Id: <a@b>\nDate: x\n\nbody\n",
	 "{R}Subject: hi\nMessage-Id: <a@b>\nDate: x\n\nbody\n", "<a@b>"},
	{"several recipients", "",
	 "Subject: hi\nMessage-Id: <a@b>\nDate: x\n\nbody\n",
	 "{R}Subject: hi\nMessage-Id: <a@b>\nDate: x\n\nbody\n", "<a@b>"},
	/* Bcc: and Return-Path: go, with their continuation lines */
	{"Bcc removed", RCPT,
	 "From: a@b\nBcc: x@y,\n z@w,\n\tv@u\nTo: c@d\n\nbody\n",
	 "{R}From: a@b\nTo: c@d\n{I}{D}\nbody\n", NULL},
	{"bcc in any case, \"Name :\" too", RCPT,
	 "BCC: x\nbcc:\n\ty\nbCc : z\nTo: c@d\n\nb\n",
	 "{R}To: c@d\n{I}{D}\nb\n", NULL},
	{"Return-Path removed", RCPT,
	 "Return-Path: <x@y>\nSubject: s\nreturn-path:\n <z@w>\n"
	 "RETURN-PATH: <>\n\nb\n",
	 "{R}Subject: s\n{I}{D}\nb\n", NULL},
	{"Bcc last before the empty line", RCPT,
	 "To: a\nBcc: b\n\tc\n\nbody\n",
	 "{R}To: a\n{I}{D}\nbody\n", NULL},
	{"fields that only start like Bcc stay", RCPT,
	 "Bccx: 1\nX-Bcc: 2\nReturn-Path-X: 3\n\nb\n",
	 "{R}Bccx: 1\nX-Bcc: 2\nReturn-Path-X: 3\n{I}{D}\nb\n", NULL},
	/* Message-Id: and Date: added only when missing */
	{"Message-ID kept, Date added", RCPT,
	 "Message-ID: <id1@ex>\n\nb\n",
	 "{R}Message-ID: <id1@ex>\n{D}\nb\n", "<id1@ex>"},
	{"folded Message-ID", RCPT,
	 "message-id:\n <id2@ex> \nDate: d\n\nb\n",
	 "{R}message-id:\n <id2@ex> \nDate: d\n\nb\n", "<id2@ex>"},
	{"Date kept, Message-Id added", RCPT,
	 "DATE: Mon, 1 Jan 2024 00:00:00 +0000\n\nb\n",
	 "{R}DATE: Mon, 1 Jan 2024 00:00:00 +0000\n{I}\nb\n", NULL},
	{"\"Date :\" is a Date", RCPT,
	 "Date : d\nMessage-Id : <id3@ex>\n\nb\n",
	 "{R}Date : d\nMessage-Id : <id3@ex>\n\nb\n", "<id3@ex>"},
	/* names and folding byte for byte */
	{"names and folding kept", RCPT,
	 "X-Weird_Name!: v\nsUbJeCt:  two  spaces \n\tcont1\n  cont2\n"
	 "To:x\nReceived: from a\n\tby b\n\nb\n",
	 "{R}X-Weird_Name!: v\nsUbJeCt:  two  spaces \n\tcont1\n  cont2\n"
	 "To:x\nReceived: from a\n\tby b\n{I}{D}\nb\n", NULL},
	{"obsolete \"Name :\" is a field", RCPT,
	 "Subject : hi\nX-Tab\t: t\n\nb\n",
	 "{R}Subject : hi\nX-Tab\t: t\n{I}{D}\nb\n", NULL},
	{"empty field value", RCPT,
	 "Subject:\nTo: a\n\nb\n",
	 "{R}Subject:\nTo: a\n{I}{D}\nb\n", NULL},
	/* where the header section ends */
	{"no header section", RCPT,
	 "hello world\nsecond: line\n",
	 "{R}{I}{D}\nhello world\nsecond: line\n", NULL},
	{"mbox From_ line is body", RCPT,
	 "From someone Tue Nov 14 22:13:20 2023\nSubject: s\n",
	 "{R}{I}{D}\nFrom someone Tue Nov 14 22:13:20 2023\nSubject: s\n",
	 NULL},
	{"a line that is no field ends the headers", RCPT,
	 "A: 1\nnot a header\nB: 2\n\n",
	 "{R}A: 1\n{I}{D}\nnot a header\nB: 2\n\n", NULL},
	{"\": x\" is no field", RCPT,
	 "A: 1\n: x\n",
	 "{R}A: 1\n{I}{D}\n: x\n", NULL},
	{"leading white space on the first line", RCPT,
	 " leading space\nSubject: s\n",
	 "{R}{I}{D}\n leading space\nSubject: s\n", NULL},
	{"only headers, no empty line", RCPT,
	 "Subject: s\nTo: t\n",
	 "{R}Subject: s\nTo: t\n{I}{D}", NULL},
	{"last header without LF", RCPT,
	 "Subject: s\nTo: t",
	 "{R}Subject: s\nTo: t\n{I}{D}", NULL},
	{"empty message", RCPT,
	 "",
	 "{R}{I}{D}", NULL},
	{"empty line first", RCPT,
	 "\nbody\n",
	 "{R}{I}{D}\nbody\n", NULL},
	/* the body is never touched */
	{"header-like body lines left alone", RCPT,
	 "Subject: s\n\nBcc: x\nReturn-Path: <y>\nDate: z\n\n\nMessage-Id: <q>\n",
	 "{R}Subject: s\n{I}{D}\nBcc: x\nReturn-Path: <y>\nDate: z\n\n\n"
	 "Message-Id: <q>\n", NULL},
	{"8-bit and long body lines", RCPT,
	 "Subject: s\n\n\xc3\xa4\xff\x01 "
	 "0123456789012345678901234567890123456789012345678901234567890123456789"
	 "0123456789012345678901234567890123456789012345678901234567890123456789"
	 "\n",
	 "{R}Subject: s\n{I}{D}\n\xc3\xa4\xff\x01 "
	 "0123456789012345678901234567890123456789012345678901234567890123456789"
	 "0123456789012345678901234567890123456789012345678901234567890123456789"
	 "\n", NULL},
};

/*
 * The end of the message ends the header section too: a last line without
 * LF that is no field starts the body, as any other such line does.
 */
static const struct hdr_case unterminated_cases[] = {
	{"last line no field and without LF", RCPT,
	 "Subject: s\nhello",
	 "{R}Subject: s\n{I}{D}\nhello", NULL},
	{"only line no field and without LF", RCPT,
	 "hello world",
	 "{R}{I}{D}\nhello world", NULL},
};
/* clang-format on */

/* check_cases - run every case of a table in every piece size. */
static void
check_cases(const struct hdr_case *table, size_t ncases)
{
	char want[4096];

	for (size_t i = 0; i < ncases; i++) {
		const struct hdr_case *c = &table[i];
		expand(want, sizeof(want), c->want, c->rcpt);
		for (size_t s = 0; s < NSTEPS; s++) {
			size_t outlen = 0;
			msg_init(c->rcpt);
			char *out =
			    run(c->in, strlen(c->in), steps[s], &outlen);
			if (out == NULL)
				continue;
			int good = outlen == strlen(want) &&
				   memcmp(out, want, outlen) == 0;
			CU_ASSERT(good);
			CU_ASSERT_EQUAL(m.bad, 0);
			const char *id = c->msgid ? c->msgid : MSGID;
			CU_ASSERT_STRING_EQUAL(m.message_id, id);
			good &= strcmp(m.message_id, id) == 0 && m.bad == 0;
			if (!good)
				fprintf(stderr,
					"\ncleanup headers case %zu \"%s\", "
					"pieces of %zu: bad %d message_id "
					"\"%s\"\n--- got\n%s--- want\n%s---\n",
					i, c->what, steps[s], m.bad,
					m.message_id, out, want);
			free(out);
		}
	}
}

static void
test_table(void)
{
	check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_unterminated(void)
{
	check_cases(unterminated_cases,
		    sizeof(unterminated_cases) / sizeof(unterminated_cases[0]));
}

/* hops - a message with n Received: fields in its header section. */
static size_t
hops(char *out, size_t len, int n)
{
	size_t k = 0;

	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, len - k,
				      i % 2 ? "received : from h%d\n\tby x\n"
					    : "Received: from h%d\n\tby x\n",
				      i);
	k += (size_t)snprintf(out + k, len - k,
			      "Subject: loop\n\nReceived: in the body\n"
			      "Received: in the body\n");
	return k;
}

static void
test_hop_count(void)
{
	/* clang-format off */
	static const struct {
		long limit;
		int n;
		int bad;
	} hop_cases[] = {
	    {5, 0, 0}, {5, 4, 0}, {5, 5, 554}, {5, 9, 554},
	    {1, 1, 554}, {50, 49, 0}, {50, 50, 554},
	};
	/* clang-format on */
	char in[8192];

	for (size_t i = 0; i < sizeof(hop_cases) / sizeof(hop_cases[0]); i++) {
		size_t len = hops(in, sizeof(in), hop_cases[i].n), outlen;
		cfg.hop_count_limit = hop_cases[i].limit;
		for (size_t s = 0; s < NSTEPS; s++) {
			msg_init(RCPT);
			free(run(in, len, steps[s], &outlen));
			CU_ASSERT_EQUAL(m.bad, hop_cases[i].bad);
			CU_ASSERT_EQUAL(m.received_count, hop_cases[i].n);
			if (hop_cases[i].bad)
				CU_ASSERT_NSTRING_EQUAL(m.bad_text, "5.4.6 ",
							6);
			if (m.bad != hop_cases[i].bad)
				fprintf(stderr, "\nhop case %zu: bad %d\n", i,
					m.bad);
		}
	}
	cfg.hop_count_limit = 50;
}

/* filler - 64-byte text lines (LF included) up to n bytes; their length. */
static size_t
filler(char *out, const char *prefix, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; k + 64 <= n; i++) {
		snprintf(out + k, 65, "%s%0*zu\n", prefix,
			 63 - (int)strlen(prefix), i);
		k += 64;
	}
	return k;
}

/* a header section over header_size_limit is refused with 552 5.3.4 */
static void
test_header_size_over(void)
{
	static char in[16384];
	size_t len, outlen;

	cfg.header_size_limit = 2048;
	len = filler(in, "X-F: ", 3000);
	len += (size_t)snprintf(in + len, sizeof(in) - len, "\nbody\n");
	for (size_t s = 0; s < NSTEPS; s++) {
		msg_init(RCPT);
		free(run(in, len, steps[s], &outlen));
		CU_ASSERT_EQUAL(m.bad, 552);
		CU_ASSERT_NSTRING_EQUAL(m.bad_text, "5.3.4 ", 6);
	}
	/* no end to the header section at all */
	len = filler(in, "X-F: ", 8192);
	for (size_t s = 0; s < NSTEPS; s++) {
		msg_init(RCPT);
		free(run(in, len, steps[s], &outlen));
		CU_ASSERT_EQUAL(m.bad, 552);
		CU_ASSERT_NSTRING_EQUAL(m.bad_text, "5.3.4 ", 6);
	}
	cfg.header_size_limit = 102400;
}

/*
 * Only the header section counts toward header_size_limit: a small header
 * section followed by a body larger than the limit in the same piece (as
 * smtpd sends 16 KB records) is not refused.
 */
static void
test_header_size_body(void)
{
	static char in[16384], tmpl[20000], want[20000];
	size_t len, outlen;

	cfg.header_size_limit = 2048;
	len = filler(in, "X-F: ", 1500);
	len += (size_t)snprintf(in + len, sizeof(in) - len, "\n");
	len += filler(in + len, "body ", 8000);
	/* 23 fields of 64 bytes, then the empty line */
	snprintf(tmpl, sizeof(tmpl), "{R}%.*s{I}{D}%s", 1472, in, in + 1472);
	expand(want, sizeof(want), tmpl, RCPT);
	for (size_t s = 0; s < NSTEPS; s++) {
		msg_init(RCPT);
		char *out = run(in, len, steps[s], &outlen);
		CU_ASSERT_EQUAL(m.bad, 0);
		if (m.bad != 0)
			fprintf(stderr, "\nheader size, pieces of %zu: %d %s\n",
				steps[s], m.bad, m.bad_text);
		else
			CU_ASSERT(out != NULL && outlen == strlen(want) &&
				  memcmp(out, want, outlen) == 0);
		free(out);
	}
	cfg.header_size_limit = 102400;
}

CU_ErrorCode
suite_cleanup_headers(void)
{
	CU_pSuite s = CU_add_suite("cleanup_headers", init, cleanup);

	if (s == NULL || !CU_add_test(s, "header section table", test_table) ||
	    !CU_add_test(s, "unterminated last line", test_unterminated) ||
	    !CU_add_test(s, "hop_count_limit", test_hop_count) ||
	    !CU_add_test(s, "header_size_limit exceeded",
			 test_header_size_over) ||
	    !CU_add_test(s, "header_size_limit counts headers only",
			 test_header_size_body))
		return CU_get_error();
	return CUE_SUCCESS;
}
