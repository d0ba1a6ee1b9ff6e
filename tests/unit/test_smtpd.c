/*
 * test_smtpd.c - unit tests for smtpd/smtpd_cmd.c and smtpd/smtpd_io.c,
 * the SMTP command parser of smtpd(8) and its line I/O.
 *
 * Covers: a table of sessions (commands in, reply code and enhanced code
 * out for each) run through smtpd_command over a socketpair: EHLO/HELO,
 * MAIL with its path and SIZE/BODY parameters, RCPT against mydestination
 * (relay refused, postmaster, the recipient limit, unsafe mailbox names),
 * DSN parameters (RET, ENVID, NOTIFY, ORCPT and their xtext), SMTPUTF8
 * and 8-bit addresses, bytes commands may not hold, the order of
 * commands (503), RSET, NOOP, HELP, VRFY, EXPN, VERB, QUIT, unknown
 * verbs and smtpd_error_limit; every reply must be one well-formed reply.
 * The body filter (smtpd_body.c): dot removal, the one end of data,
 * smuggling variants, bare LF and CR, BDAT mode, fed whole and byte by
 * byte.
 * The EHLO text, the stored sender and recipients.  io_read_line: lines
 * split across writes, pipelined lines, lines longer than the caller's
 * buffer or the input buffer (LINE_PART pieces), EOF, one timeout, and
 * replies flushed before a read would block.
 * Not DATA with recipients: it connects to cleanup(8), which the
 * integration tests cover.
 * Trusts: only the socketpairs and children it makes.
 * Never: leaves cfg changed for the suites after it; waits more than the
 * one-second timeout case.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../smtpd/smtpd.h"
#include "config.h"
#include "suites.h"

#define HOST "mx.example.com"
#define SIZE_LIMIT "10485760"

static struct smtpd_session s; /* 24 KB of buffers: not on the stack */
static int peer = -1;	       /* the client's end of the socketpair */

/* set - one config key for this suite; aborts on a bad value (test bug). */
static void
set(const char *key, const char *value)
{
	char err[256];

	if (config_set(key, value, err, sizeof(err)) != 0) {
		fprintf(stderr, "unit: %s\n", err);
		abort();
	}
}

static int
init(void)
{
	config_defaults();
	set("myhostname", HOST);
	set("mydestination", "localhost, example.com");
	set("message_size_limit", SIZE_LIMIT);
	set("smtpd_recipient_limit", "3");
	return 0;
}

static int
cleanup(void)
{
	config_defaults();
	return 0;
}

/* session_open - a fresh session on one end of a new socketpair. */
static int
session_open(int timeout_s)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	memset(&s, 0, sizeof(s));
	io_init(&s.io, sv[0], timeout_s);
	smtpd_reset(&s);
	snprintf(s.client_addr, sizeof(s.client_addr), "192.0.2.10");
	snprintf(s.client_name, sizeof(s.client_name), "client.example.net");
	peer = sv[1];
	return 0;
}

static void
session_close(void)
{
	smtpd_reset(&s);
	close(s.io.fd);
	close(peer);
	peer = -1;
}

/* command - run one command line; its whole reply, NUL-terminated. */
static const char *
command(const char *line)
{
	static char reply[SMTPD_OUT_BUF + 1];
	char buf[LIM_SMTP_LINE_EXT + 2];
	size_t n = 0;
	ssize_t r;

	snprintf(buf, sizeof(buf), "%s", line);
	smtpd_command(&s, buf);
	CU_ASSERT_EQUAL(io_flush(&s.io), 0);
	/* io_flush wrote it all into the socket: read without waiting */
	while (n < sizeof(reply) - 1 &&
	       (r = recv(peer, reply + n, sizeof(reply) - 1 - n,
			 MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	reply[n] = 0;
	return reply;
}

/*
 * one_reply - whether text is exactly one SMTP reply (RFC 5321 4.2):
 * lines of "ddd-" ending in a line of "ddd " with the same code, each
 * ending in CRLF.
 */
static int
one_reply(const char *text)
{
	const char *p = text;

	if (*p == 0)
		return 0;
	while (*p) {
		const char *crlf = strstr(p, "\r\n");
		if (crlf == NULL || crlf - p < 4 || strncmp(p, text, 3) != 0)
			return 0;
		for (int i = 0; i < 3; i++)
			if (p[i] < '0' || p[i] > '9')
				return 0;
		int last = crlf[2] == 0;
		if (p[3] != (last ? ' ' : '-'))
			return 0;
		p = crlf + 2;
	}
	return 1;
}

/* clang-format off */
#define E "EHLO client.example"
#define M "MAIL FROM:<a@b.example>"
#define R "RCPT TO:<alice@localhost>"
#define MAX_STEPS 8

/* A command and what its reply must start with. */
struct step {
	const char *cmd, *want;
};

/*
 * One session: its commands, then whether it must end (quit) and how
 * many recipients it must hold; error_limit 0 keeps the default.
 */
struct session_case {
	const char *what;
	struct step steps[MAX_STEPS];
	int quit, nrcpt;
	long error_limit;
};

static const struct session_case sessions[] = {
	/* greeting */
	{"HELO", {{"HELO client.example", "250 " HOST "\r\n"}}, 0, 0, 0},
	{"EHLO", {{E, "250-" HOST "\r\n"}}, 0, 0, 0},
	{"EHLO without a name", {{"EHLO", "501 5.5.4 "},
	  {"EHLO   ", "501 5.5.4 "}, {"HELO", "501 5.5.4 "}}, 0, 0, 0},
	/* MAIL */
	{"MAIL before HELO", {{M, "503 5.5.1 "}}, 0, 0, 0},
	{"nested MAIL", {{E, "250"}, {M, "250 2.1.0 "}, {M, "503 5.5.1 "}},
	 0, 0, 0},
	{"MAIL FROM:<>", {{E, "250"}, {"MAIL FROM:<>", "250 2.1.0 "}},
	 0, 0, 0},
	{"MAIL FROM: <path>", {{E, "250"},
	  {"MAIL FROM: <a@b.example>", "250 2.1.0 "}}, 0, 0, 0},
	{"lower-case MAIL", {{"helo x", "250"},
	  {"mail from:<a@b.example>", "250 2.1.0 "}}, 0, 0, 0},
	{"MAIL syntax", {{E, "250"}, {"MAIL TO:<a@b.example>", "501 5.5.4 "},
	  {"MAIL", "501 5.5.4 "}, {"MAIL FROM", "501 5.5.4 "},
	  {"MAIL FROM<a@b.example>", "501 5.5.4 "}}, 0, 0, 0},
	{"bad sender", {{E, "250"}, {"MAIL FROM:<a@@b.example>", "501 5.1.7 "},
	  {"MAIL FROM:a@b.example", "501 5.1.7 "},
	  {"MAIL FROM:<a b@b.example>", "501 5.1.7 "},
	  {"MAIL FROM:<a@b.example", "501 5.1.7 "},
	  {"MAIL FROM:<postmaster>", "501 5.1.7 "},
	  {"MAIL FROM:", "501 5.1.7 "}}, 0, 0, 0},
	{"unknown parameter", {{E, "250"},
	  {M " FOO=BAR", "555 5.5.4 "}, {M " SMTPUTF8=yes", "555 5.5.4 "},
	  {M, "250 2.1.0 "}}, 0, 0, 0},
	{"parameters need EHLO", {{"HELO client.example", "250"},
	  {M " SIZE=100", "555 5.5.4 "}, {M " BODY=8BITMIME", "555 5.5.4 "},
	  {M, "250 2.1.0 "}}, 0, 0, 0},
	{"SIZE", {{E, "250"}, {M " SIZE=10485761", "552 5.3.4 "},
	  {M " SIZE=99999999999999999999", "552 5.3.4 "},
	  {M " SIZE=99999999999999999999999", "501 5.5.4 "},
	  {M " size=" SIZE_LIMIT, "250 2.1.0 "}}, 0, 0, 0},
	{"SIZE with zero", {{E, "250"}, {M " SIZE=0", "250 2.1.0 "}}, 0, 0, 0},
	{"bad SIZE", {{E, "250"}, {M " SIZE=abc", "501 5.5.4 "},
	  {M " SIZE=", "501 5.5.4 "}, {M " SIZE=12k", "501 5.5.4 "},
	  {M " SIZE= 100", "501 5.5.4 "}}, 0, 0, 0},
	{"BODY", {{E, "250"}, {M " BODY=8BITMIME", "250 2.1.0 "},
	  {"RSET", "250 2.0.0 "}, {M " body=7bit", "250 2.1.0 "},
	  {"RSET", "250 2.0.0 "}, {M " BODY=FOO", "501 5.5.4 "},
	  {M " BODY=", "501 5.5.4 "},
	  {M " SIZE=100 BODY=8BITMIME", "250 2.1.0 "}}, 0, 0, 0},
	/* RCPT */
	{"RCPT before MAIL", {{E, "250"}, {R, "503 5.5.1 "}}, 0, 0, 0},
	{"RCPT before HELO", {{R, "503 5.5.1 "}}, 0, 0, 0},
	{"local recipients", {{E, "250"}, {M, "250"}, {R, "250 2.1.5 "},
	  {"RCPT TO:<Bob@EXAMPLE.com>", "250 2.1.5 "},
	  {"rcpt to: <carol+tag@example.com>", "250 2.1.5 "}}, 0, 3, 0},
	{"postmaster", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<postmaster>", "250 2.1.5 "}}, 0, 1, 0},
	{"relay denied", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<x@other.example>",
	   "554 5.7.1 <x@other.example>: Relay access denied\r\n"},
	  {"RCPT TO:<x@localhost.other.example>", "554 5.7.1 "},
	  {"RCPT TO:<x@sub.example.com>", "554 5.7.1 "},
	  {"RCPT TO:<x@[192.0.2.1]>", "554 5.7.1 "},
	  {"RCPT TO:<@localhost:x@other.example>", "554 5.7.1 "}}, 0, 0, 0},
	{"recipient limit", {{E, "250"}, {M, "250"}, {R, "250 2.1.5 "},
	  {"RCPT TO:<bob@localhost>", "250 2.1.5 "},
	  {"RCPT TO:<carol@example.com>", "250 2.1.5 "},
	  {"RCPT TO:<dave@localhost>", "452 4.5.3 "},
	  {"RCPT TO:<erin@localhost>", "452 4.5.3 "}}, 0, 3, 0},
	{"bad recipient syntax", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<a b@localhost>", "501 5.1.3 "},
	  {"RCPT TO:alice@localhost", "501 5.1.3 "},
	  {"RCPT TO:<>", "501 5.1.3 "},
	  {"RCPT TO:<.alice@localhost>", "501 5.1.3 "},
	  {"RCPT TO:<abuse>", "501 5.1.3 "},
	  {"RCPT TO:<alice@localhost", "501 5.1.3 "}}, 0, 0, 0},
	{"RCPT syntax", {{E, "250"}, {M, "250"},
	  {"RCPT FROM:<alice@localhost>", "501 5.5.4 "},
	  {"RCPT", "501 5.5.4 "},
	  {R " FOO=1", "555 5.5.4 "}}, 0, 0, 0},
	/* DSN (RFC 3461) */
	{"DSN parameters", {{E, "250"},
	  {M " RET=HDRS ENVID=QQ+2B1", "250 2.1.0 "},
	  {R " NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b", "250 2.1.5 "},
	  {R " NOTIFY=NEVER", "250 2.1.5 "},
	  {R " NOTIFY=NEVER,DELAY", "501 5.5.4 "},
	  {R " NOTIFY=SOMETIMES", "501 5.5.4 "},
	  {R " ORCPT=rfc822;a+4", "501 5.5.4 "},
	  {R " ORCPT=a@b", "501 5.5.4 "}}, 0, 2, 0},
	{"bad DSN MAIL parameters", {{E, "250"},
	  {M " RET=ALL", "501 5.5.4 "}, {M " RET=FULL RET=HDRS", "501 5.5.4 "},
	  {M " ENVID=a+zz", "501 5.5.4 "}, {M " ENVID=", "501 5.5.4 "},
	  {M " RET=full", "250 2.1.0 "}}, 0, 0, 0},
	/* SMTPUTF8 (RFC 6531) */
	{"UTF-8 needs SMTPUTF8", {{E, "250"},
	  {"MAIL FROM:<j\xc3\xb6rg@b.example>", "553 5.6.7 "},
	  {"MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", "250 2.1.0 "},
	  {"RCPT TO:<m\xc3\xa4x@localhost>", "250 2.1.5 "}}, 0, 1, 0},
	{"UTF-8 without SMTPUTF8 at RCPT", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<m\xc3\xa4x@localhost>", "553 5.6.7 "}}, 0, 0, 0},
	{"not UTF-8", {{E, "250"},
	  {"MAIL FROM:<j\xc3rg@b.example> SMTPUTF8", "501 5.1.7 "},
	  {"MAIL FROM:<j\xc0\xafrg@b.example> SMTPUTF8", "501 5.1.7 "}},
	 0, 0, 0},
	/* bytes commands may not hold; line lengths */
	{"8-bit and control bytes", {{"NOOP \xff", "500 5.5.2 "},
	  {"HELO a\x01z", "500 5.5.2 "}, {"NOOP", "250 2.0.0 "}}, 0, 0, 0},
	{"EXPN and VERB", {{"EXPN staff", "502 5.5.1 "},
	  {"VERB", "502 5.5.1 "}, {"VRFY", "501 5.5.4 "}}, 0, 0, 0},
	{"unsafe mailbox name", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<\"../x\"@localhost>", "550 5.1.3 "},
	  {"RCPT TO:<\"a/b\"@localhost>", "550 5.1.3 "},
	  {"RCPT TO:<\"\"@localhost>", "550 5.1.3 "}}, 0, 0, 0},
	/* DATA, only where it is refused before cleanup is reached */
	{"DATA without MAIL", {{E, "250"}, {"DATA", "503 5.5.1 "}}, 0, 0, 0},
	{"DATA without RCPT", {{E, "250"}, {M, "250"}, {"DATA", "503 5.5.1 "}},
	 0, 0, 0},
	{"DATA with an argument", {{E, "250"}, {M, "250"}, {R, "250"},
	  {"DATA x", "501 5.5.4 "}}, 0, 1, 0},
	/* resets */
	{"RSET clears", {{E, "250"}, {M, "250"}, {R, "250 2.1.5 "},
	  {"RSET", "250 2.0.0 "}, {R, "503 5.5.1 "}, {M, "250 2.1.0 "}},
	 0, 0, 0},
	{"EHLO resets", {{E, "250"}, {M, "250"}, {R, "250"}, {E, "250"},
	  {R, "503 5.5.1 "}}, 0, 0, 0},
	/* the rest */
	{"NOOP", {{"NOOP", "250 2.0.0 "}, {"noop x", "250 2.0.0 "}}, 0, 0, 0},
	{"HELP", {{"HELP", "214 2.0.0 "}}, 0, 0, 0},
	{"VRFY", {{"VRFY alice", "252 2.5.2 "}}, 0, 0, 0},
	{"unknown verb", {{"XYZZY", "500 5.5.2 "}, {"", "500 5.5.2 "},
	  {"MAILFROM:<a@b.example>", "500 5.5.2 "},
	  {"EHLO\tx", "500 5.5.2 "}}, 0, 0, 0},
	{"QUIT", {{"QUIT", "221 2.0.0 "}}, 1, 0, 0},
	{"QUIT in a transaction", {{E, "250"}, {M, "250"}, {R, "250"},
	  {"QUIT", "221 2.0.0 "}}, 1, 1, 0},
	/* smtpd_error_limit */
	{"error limit", {{"XYZZY", "500 5.5.2 "}, {"XYZZY", "500 5.5.2 "},
	  {"XYZZY", "421 4.7.0 " HOST " "}}, 1, 0, 3},
	{"errors of any kind count", {{E, "250"},
	  {"MAIL FROM:<a", "501 5.1.7 "}, {"RCPT TO:<x@y.example>",
	  "503 5.5.1 "}, {"NOOP", "250 2.0.0 "}, {"BOGUS", "421 4.7.0 "}},
	 1, 0, 3},
	{"relay denials count", {{E, "250"}, {M, "250"},
	  {"RCPT TO:<x@other.example>", "554 5.7.1 "},
	  {"RCPT TO:<x@other.example>", "421 4.7.0 "}}, 1, 0, 2},
};

/* RFC 1870: size-value ::= 1*20DIGIT, so no sign and no white space */
static const struct session_case size_syntax[] = {
	{"SIZE=-1", {{E, "250"}, {M " SIZE=-1", "501 5.5.4 "}}, 0, 0, 0},
	{"SIZE=+100", {{E, "250"}, {M " SIZE=+100", "501 5.5.4 "}}, 0, 0, 0},
};

/* one command, one reply: at the error limit the 421 replaces the error */
static const struct session_case limit_reply[] = {
	{"DATA without MAIL at the limit", {{E, "250"},
	  {"XYZZY", "500 5.5.2 "}, {"DATA", "421 4.7.0 "}}, 1, 0, 2},
	{"DATA without RCPT at the limit", {{E, "250"}, {M, "250"},
	  {"XYZZY", "500 5.5.2 "}, {"DATA", "421 4.7.0 "}}, 1, 0, 2},
};
/* clang-format on */

/* run_sessions - every session of a table, each on a new socketpair. */
static void
run_sessions(const struct session_case *table, size_t ncases)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct session_case *c = &table[i];
		CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
		cfg.smtpd_error_limit = c->error_limit ? c->error_limit : 20;
		for (int k = 0; k < MAX_STEPS && c->steps[k].cmd; k++) {
			const struct step *st = &c->steps[k];
			const char *reply = command(st->cmd);
			int good =
			    strncmp(reply, st->want, strlen(st->want)) == 0 &&
			    one_reply(reply);
			CU_ASSERT(good);
			if (!good)
				fprintf(stderr,
					"\nsmtpd case %zu \"%s\" step %d "
					"\"%s\": got \"%s\" want \"%s...\"\n",
					i, c->what, k, st->cmd, reply,
					st->want);
		}
		CU_ASSERT_EQUAL(s.quit, c->quit);
		CU_ASSERT_EQUAL(s.nrcpt, c->nrcpt);
		if (s.quit != c->quit || s.nrcpt != c->nrcpt)
			fprintf(stderr,
				"\nsmtpd case %zu \"%s\": quit %d "
				"nrcpt %d\n",
				i, c->what, s.quit, s.nrcpt);
		session_close();
	}
	cfg.smtpd_error_limit = 20;
}

static void
test_sessions(void)
{
	run_sessions(sessions, sizeof(sessions) / sizeof(sessions[0]));
}

static void
test_size_syntax(void)
{
	run_sessions(size_syntax, sizeof(size_syntax) / sizeof(size_syntax[0]));
}

static void
test_limit_reply(void)
{
	run_sessions(limit_reply, sizeof(limit_reply) / sizeof(limit_reply[0]));
}

static void
test_ehlo_text(void)
{
	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	CU_ASSERT_STRING_EQUAL(command("EHLO client.example extra words"),
			       "250-" HOST "\r\n"
			       "250-PIPELINING\r\n"
			       "250-SIZE " SIZE_LIMIT "\r\n"
			       "250-8BITMIME\r\n"
			       "250-SMTPUTF8\r\n"
			       "250-CHUNKING\r\n"
			       "250-DSN\r\n"
			       "250 ENHANCEDSTATUSCODES\r\n");
	CU_ASSERT_STRING_EQUAL(s.helo, "client.example");
	CU_ASSERT_EQUAL(s.esmtp, 1);
	/* the name goes into headers and logs: no control characters */
	CU_ASSERT_STRING_EQUAL(command("HELO a\x01z\x7f"),
			       "500 5.5.2 Error: bad character in command\r\n");
	CU_ASSERT_STRING_EQUAL(s.helo, "client.example");
	session_close();
}

/* body filter: bytes in, what cleanup gets, where DATA ends */
struct body_case {
	const char *in;
	enum body_mode mode;
	const char *out; /* what the sink received */
	int done;        /* the end of data was found */
	size_t used;     /* bytes consumed; 0: all */
	long bare_lf, bare_cr;
};

static const struct body_case body_cases[] = {
	{"a\r\nb\r\n.\r\n", BODY_DATA, "a\nb\n", 1, 0, 0, 0},
	{".\r\n", BODY_DATA, "", 1, 0, 0, 0},
	{"..x\r\n.\r\nMAIL", BODY_DATA, ".x\n", 1, 8, 0, 0},
	/* smuggling: none of these ends the data */
	{"a\n.\nMAIL FROM:<x@y>\r\n", BODY_DATA, "a\n\nMAIL FROM:<x@y>\n",
	 0, 0, 2, 0},
	{"a\r.\rMAIL FROM:<x@y>\r\n", BODY_DATA, "a . MAIL FROM:<x@y>\n", 0,
	 0, 0, 2},
	{"a\n.\r\nMAIL\r\n", BODY_DATA, "a\n\nMAIL\n", 0, 0, 1, 0},
	{"a\r\n.\rMAIL\r\n", BODY_DATA, "a\n MAIL\n", 0, 0, 0, 1},
	{"a\r\n.\r\r\n", BODY_DATA, "a\n \n", 0, 0, 0, 1},
	{"x\r\r\n", BODY_DATA, "x \n", 0, 0, 0, 1},
	/* BDAT: no dots, no end */
	{"a\r\n.\r\nb\rc\n", BODY_BDAT, "a\n.\nb c\n", 0, 0, 1, 1},
};

static void
body_collect(void *ctx, const char *p, size_t n)
{
	strncat(ctx, p, n);
}

static void
test_body_filter(void)
{
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]);
	     i++) {
		const struct body_case *c = &body_cases[i];
		static char got[256];
		struct body_filter f;
		size_t used = 0, n = strlen(c->in);

		got[0] = 0;
		body_init(&f, c->mode, body_collect, got);
		/* one byte at a time: every state survives a split */
		for (size_t k = 0; k < n && !f.done; k++)
			used += body_feed(&f, c->in + k, 1);
		if (c->mode == BODY_BDAT)
			body_finish(&f);
		if (strcmp(got, c->out) != 0 || f.done != c->done ||
		    used != (c->used ? c->used : n) ||
		    f.bare_lf != c->bare_lf || f.bare_cr != c->bare_cr)
			fprintf(stderr, "body case %zu: got \"%s\" done %d "
				"used %zu lf %ld cr %ld\n", i, got, f.done, used,
				f.bare_lf, f.bare_cr);
		CU_ASSERT_STRING_EQUAL(got, c->out);
		CU_ASSERT_EQUAL(f.done, c->done);
		CU_ASSERT_EQUAL(used, c->used ? c->used : n);
		CU_ASSERT_EQUAL(f.bare_lf, c->bare_lf);
		CU_ASSERT_EQUAL(f.bare_cr, c->bare_cr);
		/* and all at once */
		got[0] = 0;
		body_init(&f, c->mode, body_collect, got);
		CU_ASSERT_EQUAL(body_feed(&f, c->in, n), c->used ? c->used : n);
		if (c->mode == BODY_BDAT)
			body_finish(&f);
		CU_ASSERT_STRING_EQUAL(got, c->out);
	}
}

/* what MAIL and RCPT store for the transaction */
static void
test_stored(void)
{
	static const char *const want[] = {
	    "alice@localhost",
	    "Bob@example.com",
	    "postmaster@localhost",
	};

	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	command(E);
	command("MAIL FROM:<@relay.example:Sender@B.Example> BODY=8BITMIME");
	CU_ASSERT_EQUAL(s.have_mail, 1);
	CU_ASSERT_STRING_EQUAL(s.sender, "Sender@b.example");
	CU_ASSERT_STRING_EQUAL(s.body_type, "8BITMIME");
	command(R);
	command("RCPT TO:<Bob@EXAMPLE.COM>");
	command("RCPT TO:<postmaster>");
	CU_ASSERT_EQUAL_FATAL(s.nrcpt, 3);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_STRING_EQUAL(s.rcpts[i], want[i]);
	command("RSET");
	CU_ASSERT_EQUAL(s.have_mail, 0);
	CU_ASSERT_EQUAL(s.nrcpt, 0);
	CU_ASSERT_STRING_EQUAL(s.sender, "");
	CU_ASSERT_STRING_EQUAL(s.body_type, "7BIT");
	command("MAIL FROM:<>");
	CU_ASSERT_EQUAL(s.have_mail, 1);
	CU_ASSERT_STRING_EQUAL(s.sender, "");
	CU_ASSERT_STRING_EQUAL(s.body_type, "7BIT");
	command("RCPT TO:<PostMaster>");
	CU_ASSERT_EQUAL_FATAL(s.nrcpt, 1);
	CU_ASSERT_STRING_EQUAL(s.rcpts[0], "PostMaster@localhost");
	session_close();
}

/* writer - a child that sends pieces with pauses, then closes. */
static pid_t
writer(int fd, const char *const *pieces, const char *wait_for)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* first read what the server owes us, if anything */
	if (wait_for != NULL) {
		char buf[256];
		size_t n = 0, want = strlen(wait_for);
		while (n < want) {
			ssize_t r = read(fd, buf + n, want - n);
			if (r <= 0)
				_exit(2);
			n += (size_t)r;
		}
		if (memcmp(buf, wait_for, want) != 0)
			_exit(3);
	}
	for (; *pieces; pieces++) {
		usleep(20000);
		if (write(fd, *pieces, strlen(*pieces)) !=
		    (ssize_t)strlen(*pieces))
			_exit(1);
	}
	_exit(0);
}

static int
child_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* expect_line - the next io_read_line result and text. */
static void
expect_line(size_t cap, enum io_line rc, const char *text)
{
	char buf[32768];
	size_t len = 0;
	enum io_line got = io_read_line(&s.io, buf, cap, &len);

	CU_ASSERT_EQUAL(got, rc);
	if (text != NULL) {
		CU_ASSERT_EQUAL(len, strlen(text));
		CU_ASSERT(len == strlen(text) && memcmp(buf, text, len) == 0);
		CU_ASSERT_EQUAL(buf[len < cap ? len : cap - 1], 0);
		if (got != rc || len != strlen(text) ||
		    memcmp(buf, text, len) != 0)
			fprintf(stderr,
				"\nio_read_line: rc %d \"%.*s\" "
				"want rc %d \"%s\"\n",
				got, (int)len, buf, rc, text);
	}
}

static void
test_read_split(void)
{
	static const char *const pieces[] = {
	    "HE",
	    "LO x",
	    "\r",
	    "\nMAIL FROM:<a@b.example>\r\nRC",
	    "PT TO:<c@d.example>\r\n",
	    "QUIT\r\n",
	    NULL,
	};

	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	pid_t pid = writer(peer, pieces, NULL);
	CU_ASSERT_FATAL(pid > 0);
	close(peer); /* the child's copy stays: EOF when it exits */
	peer = -1;
	expect_line(1024, LINE_OK, "HELO x\r\n");
	expect_line(1024, LINE_OK, "MAIL FROM:<a@b.example>\r\n");
	expect_line(1024, LINE_OK, "RCPT TO:<c@d.example>\r\n");
	expect_line(1024, LINE_OK, "QUIT\r\n");
	expect_line(1024, LINE_EOF, NULL);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	session_close();
}

static void
test_read_pipelined(void)
{
	static const char in[] = "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\n";

	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	CU_ASSERT_EQUAL_FATAL(write(peer, in, sizeof(in) - 1),
			      (ssize_t)sizeof(in) - 1);
	shutdown(peer, SHUT_WR);
	CU_ASSERT_EQUAL(io_input_pending(&s.io), 0);
	expect_line(1024, LINE_OK, "MAIL FROM:<>\r\n");
	CU_ASSERT_EQUAL(io_input_pending(&s.io), 1);
	expect_line(1024, LINE_OK, "RCPT TO:<a@b>\r\n");
	expect_line(1024, LINE_OK, "DATA\r\n");
	CU_ASSERT_EQUAL(io_input_pending(&s.io), 0);
	expect_line(1024, LINE_EOF, NULL);
	/* and EOF stays EOF */
	expect_line(1024, LINE_EOF, NULL);
	session_close();
}

/* lines longer than the caller's buffer come back in pieces */
static void
test_read_long(void)
{
	static const char in[] = "0123456789abcdefghijklmnopqrstuvwxyz\r\n"
				 "abcdefghijklmn\n"  /* 15: fits cap 16 */
				 "abcdefghijklmno\n" /* 16: one too many */
				 "short\n"
				 "no end";

	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	CU_ASSERT_EQUAL_FATAL(write(peer, in, sizeof(in) - 1),
			      (ssize_t)sizeof(in) - 1);
	shutdown(peer, SHUT_WR);
	expect_line(16, LINE_PART, "0123456789abcde");
	expect_line(16, LINE_PART, "fghijklmnopqrst");
	expect_line(16, LINE_OK, "uvwxyz\r\n");
	expect_line(16, LINE_OK, "abcdefghijklmn\n");
	expect_line(16, LINE_PART, "abcdefghijklmno");
	expect_line(16, LINE_OK, "\n");
	expect_line(16, LINE_OK, "short\n");
	/* an unterminated last line is not a line */
	expect_line(16, LINE_EOF, NULL);
	session_close();
}

/* a line longer than the whole input buffer: one full buffer, the rest */
static void
test_read_over_buffer(void)
{
	static char in[SMTPD_IN_BUF + 4001], want[SMTPD_IN_BUF + 1];
	const size_t len = sizeof(in) - 1; /* 4000 past the buffer, LF last */

	memset(in, 'x', len - 1);
	in[len - 1] = '\n';
	in[len] = 0;
	memcpy(want, in, SMTPD_IN_BUF);
	want[SMTPD_IN_BUF] = 0;
	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	CU_ASSERT_EQUAL_FATAL(write(peer, in, len), (ssize_t)len);
	CU_ASSERT_EQUAL_FATAL(write(peer, "next\n", 5), 5);
	shutdown(peer, SHUT_WR);
	expect_line(sizeof(in) + 100, LINE_PART, want);
	expect_line(sizeof(in) + 100, LINE_OK, in + SMTPD_IN_BUF);
	expect_line(sizeof(in) + 100, LINE_OK, "next\n");
	expect_line(sizeof(in) + 100, LINE_EOF, NULL);
	session_close();
}

/* replies wait in the buffer, but go out before a read would block */
static void
test_read_flushes(void)
{
	static const char *const pieces[] = {"EHLO x\r\n", NULL};

	CU_ASSERT_EQUAL_FATAL(session_open(5), 0);
	io_printf(&s.io, "220 %s ready\r\n", HOST);
	pid_t pid = writer(peer, pieces, "220 " HOST " ready\r\n");
	CU_ASSERT_FATAL(pid > 0);
	expect_line(1024, LINE_OK, "EHLO x\r\n");
	CU_ASSERT_EQUAL(s.io.olen, 0);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	session_close();
}

/* the one slow case: a silent client times out after timeout_s */
static void
test_read_timeout(void)
{
	CU_ASSERT_EQUAL_FATAL(session_open(1), 0);
	CU_ASSERT_EQUAL_FATAL(write(peer, "HEL", 3), 3);
	expect_line(1024, LINE_TIMEOUT, NULL);
	session_close();
}

CU_ErrorCode
suite_smtpd(void)
{
	CU_pSuite su = CU_add_suite("smtpd", init, cleanup);

	if (su == NULL || !CU_add_test(su, "command table", test_sessions) ||
	    !CU_add_test(su, "SIZE value syntax", test_size_syntax) ||
	    !CU_add_test(su, "one reply at the error limit",
			 test_limit_reply) ||
	    !CU_add_test(su, "EHLO and HELO", test_ehlo_text) ||
	    !CU_add_test(su, "body filter", test_body_filter) ||
	    !CU_add_test(su, "sender and recipients kept", test_stored) ||
	    !CU_add_test(su, "io_read_line: split writes", test_read_split) ||
	    !CU_add_test(su, "io_read_line: pipelining", test_read_pipelined) ||
	    !CU_add_test(su, "io_read_line: long lines", test_read_long) ||
	    !CU_add_test(su, "io_read_line: over the input buffer",
			 test_read_over_buffer) ||
	    !CU_add_test(su, "io_read_line: flush before blocking",
			 test_read_flushes) ||
	    !CU_add_test(su, "io_read_line: timeout", test_read_timeout))
		return CU_get_error();
	return CUE_SUCCESS;
}
