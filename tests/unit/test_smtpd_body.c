/*
 * test_smtpd_body.c - smtpd's body filter (smtpd_body.c) against a
 * reference: the byte-at-a-time state machine it replaced, kept here.
 *
 * The filter copies the bytes of a line that need nothing done as one
 * span; only line ends, CRs and a leading dot go through its states.
 * Whatever the input and however it is split into reads, its output,
 * the bytes it takes, whether it saw the end of data and its bare LF
 * and CR counts must be those of the reference.  Inputs: random ones
 * over an alphabet of the bytes that matter, a message whose end
 * "\r\n.\r\n" is split at every position, and lines that straddle the
 * filter's output buffer and smtpd's input buffer.  And smtpd's DATA
 * reads (io_read_into, io_unread): the end of data split between reads,
 * with more pipelined after it than the command buffer holds.
 * Trusts: nothing.  Never: writes outside the test's own buffers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../../smtpd/smtpd.h"
#include "suites.h"

/* ---- the reference: the filter as it was, one byte at a time ---- */

enum { R_BOL_CRLF, R_BOL, R_MID, R_CR, R_DOT, R_DOT_CR };

struct ref {
	enum body_mode mode;
	int state, done;
	long bare_lf, bare_cr;
	char *out;
	size_t olen;
};

static void
ref_mid(struct ref *r, char c)
{
	if (c == '\r') {
		r->state = R_CR;
	} else if (c == '\n') {
		r->out[r->olen++] = '\n';
		r->bare_lf++;
		r->state = r->mode == BODY_DATA ? R_BOL : R_MID;
	} else {
		r->out[r->olen++] = c;
		r->state = R_MID;
	}
}

static void
ref_step(struct ref *r, char c)
{
	switch (r->state) {
	case R_BOL_CRLF:
		if (c == '.')
			r->state = R_DOT;
		else
			ref_mid(r, c);
		break;
	case R_BOL:
		if (c == '.')
			r->state = R_MID;
		else
			ref_mid(r, c);
		break;
	case R_CR:
		if (c == '\n') {
			r->out[r->olen++] = '\n';
			r->state = r->mode == BODY_DATA ? R_BOL_CRLF : R_MID;
			break;
		}
		r->out[r->olen++] = ' ';
		r->bare_cr++;
		ref_mid(r, c);
		break;
	case R_DOT:
		if (c == '\r')
			r->state = R_DOT_CR;
		else
			ref_mid(r, c);
		break;
	case R_DOT_CR:
		if (c == '\n') {
			r->done = 1;
			break;
		}
		r->out[r->olen++] = ' ';
		r->bare_cr++;
		ref_mid(r, c);
		break;
	default:
		ref_mid(r, c);
	}
}

/* ref_run - the reference over all of in; returns the bytes taken. */
static size_t
ref_run(struct ref *r, enum body_mode mode, const char *in, size_t n,
	char *out)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->state = mode == BODY_DATA ? R_BOL_CRLF : R_MID;
	r->out = out;
	while (i < n && !r->done)
		ref_step(r, in[i++]);
	if (mode == BODY_BDAT && (r->state == R_CR || r->state == R_DOT_CR)) {
		r->out[r->olen++] = ' ';
		r->bare_cr++;
	}
	return i;
}

/* ---- the filter under test, fed in pieces ---- */

struct sink {
	char *p;
	size_t len, cap;
	int has_cr;
};

static void
collect(void *ctx, const char *p, size_t n)
{
	struct sink *k = ctx;

	CU_ASSERT_FATAL(k->len + n <= k->cap);
	if (memchr(p, '\r', n) != NULL)
		k->has_cr = 1;
	memcpy(k->p + k->len, p, n);
	k->len += n;
}

static struct body_filter filter; /* 64 KB of output buffer */

/*
 * run_split - feed in as reads end at cuts[] (ascending, < n) and
 * compare with the reference; 0 when they agree.
 */
static int
run_split(enum body_mode mode, const char *in, size_t n, const size_t *cuts,
	  int ncuts, char *want, char *got)
{
	struct ref r;
	struct sink k = {.p = got, .cap = n + 2};
	size_t used = 0, from = 0, wused = ref_run(&r, mode, in, n, want);

	body_init(&filter, mode, collect, &k);
	for (int c = 0; c <= ncuts && !filter.done; c++) {
		size_t to = c < ncuts ? cuts[c] : n;
		size_t took = body_feed(&filter, in + from, to - from);
		used += took;
		if (took != to - from && !filter.done)
			return -1; /* stopped early without the end */
		from = to;
	}
	if (mode == BODY_BDAT)
		body_finish(&filter);
	if (used != wused || filter.done != r.done || k.len != r.olen ||
	    memcmp(got, want, r.olen) != 0 || k.has_cr ||
	    filter.bare_lf != r.bare_lf || filter.bare_cr != r.bare_cr)
		return -1;
	return 0;
}

static void
report(const char *what, const char *in, size_t n)
{
	fprintf(stderr, "%s: input of %zu bytes:", what, n);
	for (size_t i = 0; i < n && i < 80; i++)
		fprintf(stderr, in[i] == '\r' ? "\\r" : in[i] == '\n' ? "\\n"
						     : "%c", in[i]);
	fprintf(stderr, "\n");
}

/* random inputs over the bytes that matter, split at random places */
static void
test_body_random(void)
{
	static const char alpha[] = "..\r\r\n\nab ";
	char in[300], want[310], got[310];
	size_t cuts[6];
	unsigned seed = 12345;

	for (int t = 0; t < 20000; t++) {
		size_t n = (size_t)(rand_r(&seed) % 120);
		for (size_t i = 0; i < n; i++)
			in[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		int ncuts = n ? rand_r(&seed) % 6 : 0;
		for (int c = 0; c < ncuts; c++)
			cuts[c] = (size_t)rand_r(&seed) % n;
		/* ascending; equal cuts are empty reads, which must do */
		for (int a = 0; a < ncuts; a++)
			for (int b = a + 1; b < ncuts; b++)
				if (cuts[b] < cuts[a]) {
					size_t x = cuts[a];
					cuts[a] = cuts[b], cuts[b] = x;
				}
		for (int mode = BODY_DATA; mode <= BODY_BDAT; mode++)
			if (run_split((enum body_mode)mode, in, n, cuts, ncuts,
				      want, got) != 0) {
				report("random", in, n);
				CU_FAIL("filter and reference differ");
				return;
			}
	}
}

/* the end of data and a stuffed dot, split at every position, in two
 * reads and in three (every pair of positions) */
static void
test_body_end_split(void)
{
	static const char msg[] = "Subject: x\r\n\r\nline\r\n..dot\r\n"
				  "a\nb\rc\r\n.\r\nQUIT\r\n";
	size_t n = sizeof(msg) - 1, cuts[2];
	char want[sizeof(msg)], got[sizeof(msg) + 2];

	for (size_t a = 0; a <= n; a++) {
		cuts[0] = a;
		for (size_t b = a; b <= n; b++) {
			cuts[1] = b;
			CU_ASSERT_EQUAL(run_split(BODY_DATA, msg, n, cuts, 2, want,
						  got), 0);
		}
	}
	/* and what the reference says, spelled out once */
	struct ref r;
	size_t used = ref_run(&r, BODY_DATA, msg, n, want);
	CU_ASSERT_EQUAL(used, n - strlen("QUIT\r\n"));
	CU_ASSERT(r.done);
	CU_ASSERT_EQUAL(r.olen, strlen("Subject: x\n\nline\n.dot\na\nb c\n"));
	CU_ASSERT_EQUAL(memcmp(want, "Subject: x\n\nline\n.dot\na\nb c\n",
			       r.olen), 0);
}

/* long lines: across the output buffer (one sink call each) and across
 * smtpd's input buffer, with CRLF, a bare LF or a CR at the seams */
static void
test_body_long_lines(void)
{
	static const size_t lens[] = {BODY_OUT_BUF - 1, BODY_OUT_BUF,
				      BODY_OUT_BUF + 1, SMTPD_IN_BUF - 2,
				      SMTPD_IN_BUF, 998, 1000};
	static const char *const ends[] = {"\r\n", "\n", "\r", "\r\r\n"};
	size_t cap = 3 * BODY_OUT_BUF + 64;
	char *in = malloc(cap), *want = malloc(cap), *got = malloc(cap + 2);

	CU_ASSERT_FATAL(in && want && got);
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
			size_t n = 0;
			/* two such lines, then the end of data */
			for (int k = 0; k < 2; k++) {
				memset(in + n, k ? '.' : 'x', lens[l]);
				n += lens[l];
				memcpy(in + n, ends[e], strlen(ends[e]));
				n += strlen(ends[e]);
			}
			memcpy(in + n, "\r\n.\r\n", 5);
			n += 5;
			size_t cuts[3] = {SMTPD_IN_BUF, 2 * SMTPD_IN_BUF,
					  lens[l] + 1};
			if (cuts[2] < cuts[1]) { /* keep them ascending */
				size_t x = cuts[2];
				cuts[2] = cuts[1], cuts[1] = x;
				if (cuts[1] < cuts[0])
					x = cuts[1], cuts[1] = cuts[0],
					cuts[0] = x;
			}
			int nc = 0;
			while (nc < 3 && cuts[nc] < n)
				nc++;
			for (int mode = BODY_DATA; mode <= BODY_BDAT; mode++)
				CU_ASSERT_EQUAL(run_split((enum body_mode)mode,
							  in, n, cuts, nc,
							  want, got), 0);
		}
	free(in);
	free(want);
	free(got);
}

/* ---- DATA reads: io_read_into and io_unread (smtpd_io.c) ---- */

/* read_data - what smtpd_data.c's read_body does; 0 at the end */
static int
read_data(struct smtpd_io *io, struct body_filter *f, char *raw, size_t cap,
	  int once)
{
	while (!f->done) {
		size_t got, used;
		if (io_read_into(io, raw, cap, &got) != LINE_OK)
			return -1;
		used = body_feed(f, raw, got);
		if (used < got && io_unread(io, raw + used, got - used) != 0)
			return -1;
		if (once)
			break;
	}
	return 0;
}

/*
 * The end of data split between two reads at each position of and
 * around "\r\n.\r\n", followed by 48 KB of pipelined commands (more
 * than the 16 KB command buffer: the rest is kept aside and read after
 * it): the message comes out whole and every command after it, in order.
 */
static void
test_data_reads(void)
{
	static const char head[] = "Subject: x\r\n\r\nbody\r\n..dot\r\n.\r\n";
	enum { NCMD = 8000 };
	size_t hl = sizeof(head) - 1, n = hl + NCMD * 6;
	char *msg = malloc(n), *raw = malloc(SMTPD_DATA_READ);
	static struct smtpd_io io;
	char line[64], want[64], got[64];

	CU_ASSERT_FATAL(msg && raw);
	memcpy(msg, head, hl);
	for (int i = 0; i < NCMD; i++)
		memcpy(msg + hl + 6 * i, "NOOP\r\n", 6);
	for (size_t k = hl - 9; k <= hl + 2; k++) {
		int sv[2];
		CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
		io_init(&io, sv[0], 5);
		struct sink out = {.p = got, .cap = sizeof(got) - 2};
		body_init(&filter, BODY_DATA, collect, &out);
		/* the first piece, one read of it, then the rest */
		CU_ASSERT_FATAL(write(sv[1], msg, k) == (ssize_t)k);
		CU_ASSERT_EQUAL(read_data(&io, &filter, raw, SMTPD_DATA_READ,
					  1), 0);
		CU_ASSERT_FATAL(write(sv[1], msg + k, n - k) ==
				(ssize_t)(n - k));
		CU_ASSERT_EQUAL(read_data(&io, &filter, raw, SMTPD_DATA_READ,
					  0), 0);
		struct ref r;
		ref_run(&r, BODY_DATA, msg, n, want);
		CU_ASSERT_EQUAL(out.len, r.olen);
		CU_ASSERT_EQUAL(memcmp(got, want, r.olen), 0);
		int cmds = 0, bad = 0;
		close(sv[1]);
		for (;;) {
			size_t len;
			if (io_read_line(&io, line, sizeof(line), &len) != LINE_OK)
				break;
			if (len == 6 && memcmp(line, "NOOP\r\n", 6) == 0)
				cmds++;
			else
				bad++;
		}
		CU_ASSERT_EQUAL(cmds, NCMD);
		CU_ASSERT_EQUAL(bad, 0);
		io_spill_free(&io);
		close(sv[0]);
	}
	free(msg);
	free(raw);
}

CU_ErrorCode
suite_smtpd_body(void)
{
	CU_pSuite su = CU_add_suite("smtpd body filter", NULL, NULL);

	if (su == NULL ||
	    !CU_add_test(su, "same as the reference, random input",
			 test_body_random) ||
	    !CU_add_test(su, "end of data split at every position",
			 test_body_end_split) ||
	    !CU_add_test(su, "long lines across the buffers",
			 test_body_long_lines) ||
	    !CU_add_test(su, "DATA reads, the rest pipelined",
			 test_data_reads))
		return CU_get_error();
	return CUE_SUCCESS;
}
