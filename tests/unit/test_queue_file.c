/*
 * test_queue_file.c - unit tests for common/queue_file.c (mta-queue(5)).
 *
 * Covers: a file written with qf_writer (every envelope record, DSN
 * fields, a 200 KB message over several data records) reads back field
 * for field and byte for byte; its layout is the one queue_file.h
 * describes; and every damaged file is refused by qf_read_envelope:
 * truncated at every length, bad magic, lengths past EOF, a wrong or
 * malformed END, bytes after END, a missing ID, sender or recipient, DSN
 * records before a recipient, NULs, unknown and misplaced records.
 * Trusts: only the temporary directory it makes.
 * Never: accepts a damaged file as good (the mailer would deliver it).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue_file.h"
#include "suites.h"

#define MSG_SIZE (200 * 1024)

static char tmpdir[256];
static char good_path[512];
static unsigned char *msg;  /* the message written into good_path */
static unsigned char *good; /* good_path's bytes */
static size_t good_len;
static struct qf_writer w; /* 130 KB: not on the stack */

static const struct {
	int type;
	const char *value;
} envelope[] = {
    {QF_ID, "4H7QWXK2M9NP3RT"},
    {QF_ARRIVAL, "1700000000"},
    {QF_SENDER, "sender@example.com"},
    {QF_CLIENT_ADDR, "192.0.2.10"},
    {QF_CLIENT_NAME, "client.example.net"},
    {QF_HELO, "[192.0.2.10]"},
    {QF_PROTOCOL, "ESMTP"},
    {QF_AUTH_USER, "alice"},
    {QF_BODY_TYPE, "8BITMIME"},
    {QF_ENVID, "env-123+2B"},
    {QF_RET, "HDRS"},
    {QF_RCPT, "a@example.com"},
    {QF_ORCPT, "rfc822;A@Example.COM"},
    {QF_NOTIFY, "SUCCESS,FAILURE"},
    {QF_RCPT, "b@example.com"},
    {QF_RCPT, "\"c d\"@example.org"},
    {QF_NOTIFY, "NEVER"},
};
#define NENV (sizeof(envelope) / sizeof(envelope[0]))

/* message pieces of awkward sizes, so chunks and calls do not line up */
static const size_t pieces[] = {1, 100, 65535, 70000, 3, 4096};

enum { NO_ID = 1, NO_SENDER = 2, NO_RCPT = 4, DSN_FIRST = 8 };

/* write_file - a queue file with the test envelope (less what omit says)
 * and len bytes of message; 0 on success. */
static int
write_file(const char *path, int omit, const unsigned char *m, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -1;
	qf_writer_init(&w, fd);
	if (omit & DSN_FIRST)
		rc |= qf_put_str(&w, QF_NOTIFY, "NEVER");
	for (size_t i = 0; i < NENV; i++) {
		int t = envelope[i].type;
		if (((omit & NO_ID) && t == QF_ID) ||
		    ((omit & NO_SENDER) && t == QF_SENDER) ||
		    ((omit & NO_RCPT) &&
		     (t == QF_RCPT || t == QF_ORCPT || t == QF_NOTIFY)))
			continue;
		rc |= qf_put_str(&w, t, envelope[i].value);
	}
	rc |= qf_begin_message(&w);
	size_t off = 0;
	for (size_t i = 0; off < len; i++) {
		size_t n = i < sizeof(pieces) / sizeof(pieces[0]) ? pieces[i]
								  : len - off;
		if (n > len - off)
			n = len - off;
		rc |= qf_put_data(&w, m + off, n);
		off += n;
	}
	rc |= qf_finish(&w);
	rc |= fsync(fd);
	rc |= close(fd);
	return rc;
}

static int
init(void)
{
	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "queue_file") != 0)
		return -1;
	unit_path(good_path, sizeof(good_path), tmpdir, "good");
	if ((msg = malloc(MSG_SIZE)) == NULL)
		return -1;
	/* text lines, with every byte value mixed in now and then */
	for (size_t i = 0; i < MSG_SIZE; i++)
		msg[i] = i % 73 == 72	? '\n'
			 : i % 997 == 0 ? (unsigned char)(i / 997)
					: (unsigned char)('a' + i % 26);
	if (write_file(good_path, 0, msg, MSG_SIZE) != 0)
		return -1;
	good = (unsigned char *)unit_read_file(good_path, &good_len);
	return good == NULL ? -1 : 0;
}

static int
cleanup(void)
{
	free(msg);
	free(good);
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* check_bytes - write bytes to a scratch file and run qf_read_envelope. */
static int
check_bytes(const void *p, size_t n, char *err, size_t errlen)
{
	char path[600];
	struct qf_envelope e;
	int fd, rc;

	unit_path(path, sizeof(path), tmpdir, "scratch");
	if (unit_write_file(path, p, n) != 0)
		return -99;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -98;
	err[0] = 0;
	rc = qf_read_envelope(fd, &e, err, errlen);
	qf_envelope_free(&e);
	close(fd);
	unlink(path);
	return rc;
}

/* --- raw record building --------------------------------------------- */

struct raw {
	unsigned char *p;
	size_t len;
};

static void
raw_add(struct raw *r, const void *p, size_t n)
{
	unsigned char *q = realloc(r->p, r->len + n + 1);
	if (q == NULL)
		abort();
	r->p = q;
	memcpy(r->p + r->len, p, n);
	r->len += n;
}

static void
raw_rec(struct raw *r, int type, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16), (unsigned char)(n >> 8),
			      (unsigned char)n};
	raw_add(r, h, 5);
	raw_add(r, p, n);
}

static void
raw_str(struct raw *r, int type, const char *s)
{
	raw_rec(r, type, s, strlen(s));
}

/* raw_envelope - magic and a minimal good envelope, up to QF_MESSAGE. */
static void
raw_envelope(struct raw *r)
{
	raw_add(r, QF_MAGIC, 4);
	raw_str(r, QF_VERSION_REC, QF_VERSION);
	raw_str(r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_str(r, QF_SENDER, "s@example.com");
	raw_str(r, QF_RCPT, "r@example.com");
	raw_rec(r, QF_MESSAGE, "", 0);
}

/* the offset of the END record in the good file */
static size_t
good_end_offset(void)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%d", MSG_SIZE);
	return good_len - 5 - (size_t)n;
}

/* --- tests ------------------------------------------------------------ */

static void
test_write_read(void)
{
	struct qf_envelope e;
	struct qf_reader r;
	char err[256];
	unsigned char *back = malloc(MSG_SIZE + 1);
	int fd = open(good_path, O_RDONLY | O_CLOEXEC);

	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(qf_read_envelope(fd, &e, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(e.id, "4H7QWXK2M9NP3RT");
	CU_ASSERT_EQUAL(e.arrival, 1700000000LL);
	CU_ASSERT_STRING_EQUAL(e.sender, "sender@example.com");
	CU_ASSERT_STRING_EQUAL(e.client_addr, "192.0.2.10");
	CU_ASSERT_STRING_EQUAL(e.client_name, "client.example.net");
	CU_ASSERT_STRING_EQUAL(e.helo, "[192.0.2.10]");
	CU_ASSERT_STRING_EQUAL(e.protocol, "ESMTP");
	CU_ASSERT_STRING_EQUAL(e.auth_user, "alice");
	CU_ASSERT_STRING_EQUAL(e.body_type, "8BITMIME");
	CU_ASSERT_STRING_EQUAL(e.envid, "env-123+2B");
	CU_ASSERT_STRING_EQUAL(e.ret, "HDRS");
	CU_ASSERT_EQUAL_FATAL(e.nrcpt, 3);
	CU_ASSERT_STRING_EQUAL(e.rcpt[0].addr, "a@example.com");
	CU_ASSERT_STRING_EQUAL(e.rcpt[0].orcpt, "rfc822;A@Example.COM");
	CU_ASSERT_STRING_EQUAL(e.rcpt[0].notify, "SUCCESS,FAILURE");
	CU_ASSERT_STRING_EQUAL(e.rcpt[1].addr, "b@example.com");
	CU_ASSERT_PTR_NULL(e.rcpt[1].orcpt);
	CU_ASSERT_PTR_NULL(e.rcpt[1].notify);
	CU_ASSERT_STRING_EQUAL(e.rcpt[2].addr, "\"c d\"@example.org");
	CU_ASSERT_PTR_NULL(e.rcpt[2].orcpt);
	CU_ASSERT_STRING_EQUAL(e.rcpt[2].notify, "NEVER");
	CU_ASSERT_EQUAL(e.msg_size, MSG_SIZE);
	CU_ASSERT(e.msg_offset > 4 && e.msg_offset < (off_t)good_len);

	/* the message, in reads of an odd size */
	size_t got = 0;
	ssize_t n;
	qf_reader_init(&r, fd, &e);
	while ((n = qf_reader_read(
		    &r, (char *)back + got,
		    got + 4093 <= MSG_SIZE + 1 ? 4093 : MSG_SIZE + 1 - got)) >
	       0)
		got += (size_t)n;
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(got, MSG_SIZE);
	CU_ASSERT_EQUAL(memcmp(back, msg, MSG_SIZE), 0);
	CU_ASSERT_EQUAL(qf_reader_read(&r, (char *)back, 10), 0); /* stays 0 */

	/* again from the start, one byte at a time for a while */
	qf_reader_init(&r, fd, &e);
	int same = 1;
	for (size_t i = 0; i < 3000; i++) {
		char c;
		if (qf_reader_read(&r, &c, 1) != 1 ||
		    (unsigned char)c != msg[i])
			same = 0;
	}
	CU_ASSERT(same);
	qf_envelope_free(&e);
	CU_ASSERT_PTR_NULL(e.id);
	CU_ASSERT_EQUAL(e.nrcpt, 0);
	close(fd);
	free(back);
}

/* the bytes on disk are the layout queue_file.h describes */
static void
test_layout(void)
{
	size_t pos = 4, ndata = 0, data = 0, nenv = 0;
	int seen_m = 0, seen_x = 0, order_ok = 1, big_ok = 1;

	CU_ASSERT_FATAL(good_len > 4);
	CU_ASSERT_EQUAL(memcmp(good, QF_MAGIC, 4), 0);
	CU_ASSERT_EQUAL(good[4], QF_VERSION_REC);
	while (pos + 5 <= good_len) {
		unsigned char t = good[pos];
		size_t len = (size_t)good[pos + 1] << 24 |
			     (size_t)good[pos + 2] << 16 |
			     (size_t)good[pos + 3] << 8 | good[pos + 4];
		CU_ASSERT_FATAL(pos + 5 + len <= good_len);
		if (t == QF_MESSAGE) {
			seen_m = 1;
			CU_ASSERT_EQUAL(len, 0);
		} else if (t == QF_DATA) {
			order_ok &= seen_m && !seen_x;
			big_ok &= len > 0 && len <= LIM_QF_DATA_CHUNK;
			ndata++;
			data += len;
		} else if (t == QF_END) {
			seen_x = 1;
			CU_ASSERT_EQUAL(len, 6);
			CU_ASSERT_EQUAL(memcmp(good + pos + 5, "204800", 6), 0);
		} else {
			order_ok &= !seen_m;
			nenv++;
		}
		pos += 5 + len;
	}
	CU_ASSERT_EQUAL(pos, good_len);
	CU_ASSERT(seen_x);
	CU_ASSERT(order_ok);
	CU_ASSERT(big_ok);
	CU_ASSERT_EQUAL(nenv, NENV + 1); /* and the version record */
	CU_ASSERT_EQUAL(data, MSG_SIZE);
	/* small pieces are gathered, large ones written as they came */
	CU_ASSERT(ndata >=
		  (MSG_SIZE + LIM_QF_DATA_CHUNK - 1) / LIM_QF_DATA_CHUNK);
	CU_ASSERT(ndata >= 4);
}

/* every proper prefix of a good file is incomplete */
static void
test_truncated(void)
{
	char path[600], err[256];
	struct qf_envelope e;
	int fd, accepted = 0, not_short = 0;

	unit_path(path, sizeof(path), tmpdir, "truncated");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(path, good, good_len), 0);
	fd = open(path, O_RDWR | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(qf_read_envelope(fd, &e, err, sizeof(err)), 0);
	qf_envelope_free(&e);
	for (off_t len = (off_t)good_len - 1; len >= 0; len--) {
		CU_ASSERT_EQUAL_FATAL(ftruncate(fd, len), 0);
		int rc = qf_read_envelope(fd, &e, err, sizeof(err));
		/* what a writer that died leaves: known as such */
		not_short += rc != QF_INCOMPLETE;
		if (rc == 0) {
			if (accepted++ == 0)
				fprintf(stderr,
					"\ntruncated at %lld: "
					"accepted\n",
					(long long)len);
		}
		qf_envelope_free(&e);
	}
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_EQUAL(not_short, 0);
	close(fd);
	unlink(path);
}

/* A damaged file and the start of the reason it must give. */
static void
expect_refused(const struct raw *r, const char *why)
{
	char err[256];
	int rc = check_bytes(r->p, r->len, err, sizeof(err));

	/* damaged (-1), or short: a writer that died (QF_INCOMPLETE) */
	CU_ASSERT(rc == -1 || rc == QF_INCOMPLETE);
	if (why != NULL) {
		CU_ASSERT_EQUAL(strncmp(err, why, strlen(why)), 0);
		if (strncmp(err, why, strlen(why)) != 0)
			fprintf(stderr, "\nwanted \"%s\", got \"%s\"\n", why,
				err);
	}
}

static struct raw
copy_good(void)
{
	struct raw r = {0};
	raw_add(&r, good, good_len);
	return r;
}

static void
test_bad_magic(void)
{
	struct raw r = copy_good();

	r.p[3] = 'X';
	expect_refused(&r, "not a queue file");
	r.len = 3;
	expect_refused(&r, "no magic (incomplete)");
	char err[256];
	CU_ASSERT_EQUAL(check_bytes(r.p, r.len, err, sizeof(err)),
			QF_INCOMPLETE);
	free(r.p);
}

static void
test_length_past_eof(void)
{
	struct raw r = copy_good();

	/* the version record (offset 4) claims 2 GB */
	r.p[5] = 0x7f;
	expect_refused(&r, "record past end of file");
	/* a length over LIM_QF_RECORD, even with the bytes there */
	free(r.p);
	r = (struct raw){0};
	raw_add(&r, QF_MAGIC, 4);
	char *huge = calloc(1, LIM_QF_RECORD + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	memset(huge, 'h', LIM_QF_RECORD + 1);
	raw_rec(&r, QF_HELO, huge, LIM_QF_RECORD + 1);
	free(huge);
	expect_refused(&r, "record past end of file");
	free(r.p);

	/* the last data record claims one byte more than there is */
	r = copy_good();
	size_t end = good_end_offset();
	r.len = end; /* drop END: the last record is now a data record */
	size_t last = (size_t)-1, pos = 4;
	while (pos + 5 <= r.len) {
		size_t len = (size_t)r.p[pos + 1] << 24 |
			     (size_t)r.p[pos + 2] << 16 |
			     (size_t)r.p[pos + 3] << 8 | r.p[pos + 4];
		if (r.p[pos] == QF_DATA)
			last = pos;
		pos += 5 + len;
	}
	CU_ASSERT_FATAL(last != (size_t)-1);
	r.p[last + 4]++;
	expect_refused(&r, "record past end of file");
	free(r.p);
}

static void
test_end_record(void)
{
	static const struct {
		const char *end; /* END payload */
		int rc;
	} cases[] = {
	    {"204800", 0},
	    {"204799", -1},
	    {"204801", -1},
	    {"0", -1},
	    {"-204800", -1},
	    {"", -1},
	    {"abc", -1},
	    /* the size must be exactly a decimal number */
	    {"204800x", -1},
	    {"204800 ", -1},
	    {" 204800", -1},
	    {"0000000000000000000000000000000204800", -1}, /* 37 bytes */
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw r = copy_good();
		r.len = good_end_offset();
		raw_str(&r, QF_END, cases[i].end);
		int rc = check_bytes(r.p, r.len, err, sizeof(err));
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc != cases[i].rc)
			fprintf(stderr, "\nEND \"%s\": rc %d (%s)\n",
				cases[i].end, rc, err);
		free(r.p);
	}
}

/* an empty message: END "0" is right, an empty or junk END is not */
static void
test_empty_message(void)
{
	struct raw r = {0};
	char err[256], path[600], buf[8];
	struct qf_envelope e;
	struct qf_reader rd;

	raw_envelope(&r);
	raw_str(&r, QF_END, "0");
	CU_ASSERT_EQUAL(check_bytes(r.p, r.len, err, sizeof(err)), 0);

	unit_path(path, sizeof(path), tmpdir, "empty");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(path, r.p, r.len), 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(qf_read_envelope(fd, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.msg_size, 0);
	qf_reader_init(&rd, fd, &e);
	CU_ASSERT_EQUAL(qf_reader_read(&rd, buf, sizeof(buf)), 0);
	qf_envelope_free(&e);
	close(fd);
	unlink(path);
	free(r.p);

	static const char *const bad_end[] = {"", "x", "0x"};
	for (size_t i = 0; i < sizeof(bad_end) / sizeof(bad_end[0]); i++) {
		r = (struct raw){0};
		raw_envelope(&r);
		raw_str(&r, QF_END, bad_end[i]);
		CU_ASSERT_EQUAL(check_bytes(r.p, r.len, err, sizeof(err)), -1);
		free(r.p);
	}
}

static void
test_data_after_end(void)
{
	struct raw r = copy_good();

	raw_add(&r, "\n", 1);
	expect_refused(&r, "data after END");
	free(r.p);
	r = copy_good();
	raw_rec(&r, QF_DATA, "more", 4);
	expect_refused(&r, "data after END");
	free(r.p);
	r = copy_good();
	raw_str(&r, QF_END, "204800");
	expect_refused(&r, "data after END");
	free(r.p);
}

static void
test_envelope_incomplete(void)
{
	static const struct {
		int omit;
		const char *why;
	} cases[] = {
	    {NO_RCPT, "envelope lacks ID, sender or recipients"},
	    {NO_SENDER, "envelope lacks ID, sender or recipients"},
	    {NO_ID, "envelope lacks ID, sender or recipients"},
	    {DSN_FIRST, "DSN record before a recipient"},
	};
	char path[600], err[256];
	struct qf_envelope e;

	unit_path(path, sizeof(path), tmpdir, "incomplete");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(
		    write_file(path, cases[i].omit, msg, 1000), 0);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(qf_read_envelope(fd, &e, err, sizeof(err)), -1);
		CU_ASSERT_EQUAL(
		    strncmp(err, cases[i].why, strlen(cases[i].why)), 0);
		qf_envelope_free(&e);
		close(fd);
	}
	unlink(path);
}

static void
test_bad_records(void)
{
	struct raw r = {0};

	/* a NUL inside an envelope value */
	raw_add(&r, QF_MAGIC, 4);
	raw_str(&r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_rec(&r, QF_SENDER, "s@x\0y", 5);
	raw_str(&r, QF_RCPT, "r@example.com");
	raw_rec(&r, QF_MESSAGE, "", 0);
	raw_str(&r, QF_END, "0");
	expect_refused(&r, "NUL in envelope record");
	free(r.p);

	/* an unknown record type in the envelope */
	r = (struct raw){0};
	raw_add(&r, QF_MAGIC, 4);
	raw_str(&r, 'Z', "zzz");
	raw_str(&r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_str(&r, QF_SENDER, "s@example.com");
	raw_str(&r, QF_RCPT, "r@example.com");
	raw_rec(&r, QF_MESSAGE, "", 0);
	raw_str(&r, QF_END, "0");
	expect_refused(&r, "unknown envelope record");
	free(r.p);

	/* data or END before the message starts */
	r = (struct raw){0};
	raw_add(&r, QF_MAGIC, 4);
	raw_str(&r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_str(&r, QF_SENDER, "s@example.com");
	raw_str(&r, QF_RCPT, "r@example.com");
	raw_str(&r, QF_END, "0");
	expect_refused(&r, "unknown envelope record");
	free(r.p);

	/* an envelope record among the data records */
	r = (struct raw){0};
	raw_envelope(&r);
	raw_str(&r, QF_DATA, "abc");
	raw_str(&r, QF_RCPT, "late@example.com");
	raw_str(&r, QF_DATA, "def");
	raw_str(&r, QF_END, "6");
	expect_refused(&r, "unexpected record in message");
	free(r.p);

	/* the same file without it is good */
	r = (struct raw){0};
	raw_envelope(&r);
	raw_str(&r, QF_DATA, "abc");
	raw_str(&r, QF_DATA, "def");
	raw_str(&r, QF_END, "6");
	char err[256];
	CU_ASSERT_EQUAL(check_bytes(r.p, r.len, err, sizeof(err)), 0);
	free(r.p);

	/* only a magic, or nothing */
	r = (struct raw){0};
	raw_add(&r, QF_MAGIC, 4);
	expect_refused(&r, "no END record");
	free(r.p);
	CU_ASSERT_EQUAL(check_bytes("", 0, err, sizeof(err)), QF_INCOMPLETE);
}

/* trace_of - e.trace of raw bytes read back, or -1 when refused */
static int
trace_of(const struct raw *r)
{
	char path[600], err[256];
	struct qf_envelope e;
	int fd, rc;

	unit_path(path, sizeof(path), tmpdir, "scratch");
	if (unit_write_file(path, r->p, r->len) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = qf_read_envelope(fd, &e, err, sizeof(err)) == 0 ? e.trace : -1;
	qf_envelope_free(&e);
	close(fd);
	unlink(path);
	return rc;
}

/* the W record (VERB): read as a flag; a file without it has none */
static void
test_trace_record(void)
{
	struct raw r = {0};

	raw_add(&r, QF_MAGIC, 4);
	raw_str(&r, QF_VERSION_REC, QF_VERSION);
	raw_str(&r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_str(&r, QF_SENDER, "s@example.com");
	raw_str(&r, QF_RCPT, "r@example.com");
	raw_str(&r, QF_TRACE, "VERB");
	raw_rec(&r, QF_MESSAGE, "", 0);
	raw_str(&r, QF_DATA, "x\n");
	raw_str(&r, QF_END, "2");
	CU_ASSERT_EQUAL(trace_of(&r), 1);
	free(r.p);
	r = copy_good();
	CU_ASSERT_EQUAL(trace_of(&r), 0);
	free(r.p);
}

/*
 * QF_MESSAGE has no payload.  A file whose MESSAGE record claims one must
 * not have that payload read as the records that follow: here the payload
 * is itself a well-formed END, and no real END follows.
 */
static void
test_message_record_payload(void)
{
	struct raw r = {0};
	char err[256];

	raw_add(&r, QF_MAGIC, 4);
	raw_str(&r, QF_VERSION_REC, QF_VERSION);
	raw_str(&r, QF_ID, "4H7QWXK2M9NP3RT");
	raw_str(&r, QF_SENDER, "s@example.com");
	raw_str(&r, QF_RCPT, "r@example.com");
	raw_rec(&r, QF_MESSAGE,
		"X\0\0\0\x01"
		"0",
		6);
	CU_ASSERT_EQUAL(check_bytes(r.p, r.len, err, sizeof(err)), -1);
	free(r.p);
}

static void
test_writer_limits(void)
{
	char path[600], err[256];
	struct qf_envelope e;
	char *big = malloc(LIM_QF_RECORD + 1);
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	unit_path(path, sizeof(path), tmpdir, "limits");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	qf_writer_init(&w, fd);
	/* over the record limit: refused, and the writer stays failed */
	errno = 0;
	CU_ASSERT_EQUAL(qf_put(&w, QF_HELO, big, LIM_QF_RECORD + 1), -1);
	CU_ASSERT_EQUAL(errno, EFBIG);
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_ID, "4H7QWXK2M9NP3RT"), -1);
	CU_ASSERT_EQUAL(qf_finish(&w), -1);
	CU_ASSERT_EQUAL(ftruncate(fd, 0), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
	qf_writer_init(&w, fd);
	/* a record larger than the writer's buffer goes out whole */
	memset(big, 'h', 100000);
	big[100000] = 0;
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_ID, "4H7QWXK2M9NP3RT"), 0);
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_HELO, big), 0);
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_SENDER, ""), 0); /* null sender */
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_RCPT, "r@example.com"), 0);
	CU_ASSERT_EQUAL(qf_begin_message(&w), 0);
	/* exactly one chunk, then one byte */
	CU_ASSERT_EQUAL(qf_put_data(&w, big, LIM_QF_DATA_CHUNK), 0);
	CU_ASSERT_EQUAL(qf_put_data(&w, "x", 1), 0);
	CU_ASSERT_EQUAL(qf_put_data(&w, "", 0), 0);
	CU_ASSERT_EQUAL(qf_finish(&w), 0);
	CU_ASSERT_EQUAL_FATAL(qf_read_envelope(fd, &e, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(strlen(e.helo), 100000);
	CU_ASSERT_STRING_EQUAL(e.sender, "");
	CU_ASSERT_EQUAL(e.msg_size, LIM_QF_DATA_CHUNK + 1);
	qf_envelope_free(&e);
	close(fd);
	unlink(path);
	free(big);
}

/* a write error anywhere fails qf_finish, even when later writes work */
static void
test_writer_errors(void)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	char *chunk = calloc(1, LIM_QF_DATA_CHUNK);

	CU_ASSERT_PTR_NOT_NULL_FATAL(chunk);
	if (fd < 0) {
		/* no /dev/full here: nothing to test */
		free(chunk);
		return;
	}
	qf_writer_init(&w, fd);
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_ID, "4H7QWXK2M9NP3RT"), 0);
	CU_ASSERT_EQUAL(qf_begin_message(&w), 0);
	/* small pieces are only buffered; a full chunk is written at once
	 * (with what was buffered), which fails (ENOSPC) */
	CU_ASSERT_EQUAL(qf_put_data(&w, "x", 1), 0);
	CU_ASSERT_EQUAL(qf_put_data(&w, chunk, LIM_QF_DATA_CHUNK), -1);
	CU_ASSERT_EQUAL(qf_put_data(&w, "x", 1), 0); /* only buffered */
	CU_ASSERT_EQUAL(qf_finish(&w), -1);
	close(fd);

	/* a reader gone from a pipe */
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	close(p[0]);
	qf_writer_init(&w, p[1]);
	CU_ASSERT_EQUAL(qf_put_str(&w, QF_ID, "4H7QWXK2M9NP3RT"), 0);
	CU_ASSERT_EQUAL(qf_finish(&w), -1);
	close(p[1]);
	free(chunk);
}

CU_ErrorCode
suite_queue_file(void)
{
	CU_pSuite s = CU_add_suite("queue_file", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "write and read back", test_write_read) ||
	    !CU_add_test(s, "layout on disk", test_layout) ||
	    !CU_add_test(s, "truncated at every length", test_truncated) ||
	    !CU_add_test(s, "bad magic", test_bad_magic) ||
	    !CU_add_test(s, "record length past EOF", test_length_past_eof) ||
	    !CU_add_test(s, "END record size", test_end_record) ||
	    !CU_add_test(s, "empty message", test_empty_message) ||
	    !CU_add_test(s, "data after END", test_data_after_end) ||
	    !CU_add_test(s, "envelope incomplete", test_envelope_incomplete) ||
	    !CU_add_test(s, "bad records", test_bad_records) ||
	    !CU_add_test(s, "MESSAGE record with a payload",
			 test_message_record_payload) ||
	    !CU_add_test(s, "writer limits", test_writer_limits) ||
	    !CU_add_test(s, "trace record (VERB)", test_trace_record) ||
	    !CU_add_test(s, "writer errors", test_writer_errors))
		return CU_get_error();
	return CUE_SUCCESS;
}
