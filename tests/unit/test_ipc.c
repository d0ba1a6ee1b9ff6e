/*
 * test_ipc.c - unit tests for common/ipc.c (attribute records, fd passing).
 *
 * Covers: round trips over a socketpair (binary values, NULs, empty and
 * largest values, longest names), attrs_get_long, many records in one
 * write, a record fed one byte at a time, descriptor passing, and the
 * malformed input a peer could send raw: long or unprintable names,
 * over-long values, too many attributes, over-large records, EOF inside a
 * record; clean EOF and the read timeout.
 * Trusts: the kernel's socketpair(2); bytes are built here by hand from
 * the wire format in ipc.h, not by the code under test.
 * Never: sends more than a socket buffer from the test process itself
 * (larger writes come from a forked writer).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "ipc.h"
#include "suites.h"

#define WAIT_MS 5000 /* for reads that must succeed: generous, never hit */

static char tmpdir[256];

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "ipc");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* --- a hand-made encoder for the wire format ----------------------- */

struct enc {
	unsigned char *p;
	size_t len, cap;
};

static void
enc_bytes(struct enc *e, const void *p, size_t n)
{
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n)
			cap *= 2;
		unsigned char *q = realloc(e->p, cap);
		if (q == NULL)
			abort();
		e->p = q;
		e->cap = cap;
	}
	memcpy(e->p + e->len, p, n);
	e->len += n;
}

/* enc_head - name length, name and a value length (any values at all). */
static void
enc_head(struct enc *e, const char *name, size_t nl, unsigned long vl)
{
	unsigned char b[4] = {(unsigned char)(vl >> 24),
			      (unsigned char)(vl >> 16),
			      (unsigned char)(vl >> 8), (unsigned char)vl};
	unsigned char l = (unsigned char)nl;

	enc_bytes(e, &l, 1);
	enc_bytes(e, name, nl);
	enc_bytes(e, b, 4);
}

static void
enc_attr(struct enc *e, const char *name, const void *v, size_t vl)
{
	enc_head(e, name, strlen(name), vl);
	enc_bytes(e, v, vl);
}

static void
enc_end(struct enc *e)
{
	unsigned char z = 0;
	enc_bytes(e, &z, 1);
}

/* --- connections ------------------------------------------------------ */

/* pair - two connected ipc ends. */
static int
pair(struct ipc **a, struct ipc **b, int timeout_ms)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	*a = ipc_new(sv[0], timeout_ms);
	*b = ipc_new(sv[1], timeout_ms);
	return 0;
}

/* raw_pair - a plain socket to write bytes into, an ipc end to read. */
static int
raw_pair(int *w, struct ipc **b, int timeout_ms)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	*w = sv[0];
	*b = ipc_new(sv[1], timeout_ms);
	return 0;
}

/* raw_read - write bytes raw (eof: then close), read one record. */
static int
raw_read(const void *p, size_t n, int eof, struct attrs *out)
{
	struct ipc *b = NULL;
	int w, rc;

	if (raw_pair(&w, &b, WAIT_MS) != 0)
		return 99;
	if (n > 0 && write_all(w, p, n) != 0)
		rc = 98;
	else {
		if (eof) {
			close(w);
			w = -1;
		}
		rc = ipc_read(b, out);
	}
	if (w >= 0)
		close(w);
	ipc_free(b);
	return rc;
}

/*
 * forked_writer - a child process writes bytes raw on one end (and exits
 * when done or when the reader goes away); returns the other end.
 */
static struct ipc *
forked_writer(const void *p, size_t n, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return NULL;
	if ((*pid = fork()) < 0)
		return NULL;
	if (*pid == 0) {
		close(sv[1]);
		_exit(write_all(sv[0], p, n) == 0 ? 0 : 1);
	}
	close(sv[0]);
	return ipc_new(sv[1], WAIT_MS);
}

static int
child_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --- tests ------------------------------------------------------------ */

#define NAME31 "abcdefghijklmnopqrstuvwxyz01234"

static void
test_round_trip(void)
{
	static const char bin[] = {'a', 0, 'b', 0, 0};
	unsigned char *big = malloc(LIM_IPC_VALUE);
	struct attrs at;
	struct ipc *b = NULL;
	pid_t pid;
	int ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (size_t i = 0; i < LIM_IPC_VALUE; i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	/* the sender is ipc_put itself; a child runs it so any size fits */
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		struct ipc *a = ipc_new(sv[0], WAIT_MS);
		ipc_put_str(a, "id", "4H7QWXK2M9NP3RT");
		ipc_put(a, "bin", bin, sizeof(bin));
		ipc_put(a, "empty", "", 0);
		ipc_put_long(a, "num", -42);
		ipc_put(a, "big", big, LIM_IPC_VALUE);
		ipc_put_str(a, NAME31, "31");
		int rc = ipc_end(a);
		ipc_put_str(a, "op", "done");
		rc |= ipc_end(a);
		rc |= ipc_end(a); /* an empty record */
		ipc_free(a);
		_exit(rc == IPC_OK ? 0 : 1);
	}
	close(sv[0]);
	b = ipc_new(sv[1], WAIT_MS);
	attrs_init(&at);

	CU_ASSERT_EQUAL_FATAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_EQUAL_FATAL(at.n, 6);
	CU_ASSERT_STRING_EQUAL(at.a[0].name, "id");
	CU_ASSERT_STRING_EQUAL(at.a[0].value, "4H7QWXK2M9NP3RT");
	CU_ASSERT_EQUAL(at.a[0].len, 15);
	CU_ASSERT_STRING_EQUAL(at.a[1].name, "bin");
	CU_ASSERT_EQUAL(at.a[1].len, sizeof(bin));
	CU_ASSERT_EQUAL(memcmp(at.a[1].value, bin, sizeof(bin)), 0);
	CU_ASSERT_EQUAL(at.a[1].value[sizeof(bin)], 0);
	CU_ASSERT_STRING_EQUAL(at.a[2].name, "empty");
	CU_ASSERT_EQUAL(at.a[2].len, 0);
	CU_ASSERT_PTR_NOT_NULL(at.a[2].value);
	CU_ASSERT_STRING_EQUAL(at.a[2].value, "");
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "num"), "-42");
	CU_ASSERT_EQUAL(attrs_get_long(&at, "num", &ok), -42);
	CU_ASSERT_EQUAL(ok, 1);
	const struct attr *t = attrs_find(&at, "big");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->len, LIM_IPC_VALUE);
	CU_ASSERT_EQUAL(memcmp(t->value, big, LIM_IPC_VALUE), 0);
	CU_ASSERT_EQUAL(t->value[LIM_IPC_VALUE], 0);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, NAME31), "31");
	CU_ASSERT_PTR_NULL(attrs_get(&at, "missing"));
	CU_ASSERT_PTR_NULL(attrs_find(&at, "ID")); /* names are exact */

	/* the same attrs, reused, hold only the next record */
	CU_ASSERT_EQUAL_FATAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_EQUAL(at.n, 1);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "op"), "done");
	CU_ASSERT_PTR_NULL(attrs_get(&at, "id"));
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_EQUAL(at.n, 0);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_EOF);
	CU_ASSERT_EQUAL(child_status(pid), 0);
	attrs_free(&at);
	ipc_free(b);
	free(big);
}

/* what ipc_put writes is exactly the format ipc.h describes */
static void
test_wire_format(void)
{
	struct ipc *a = NULL;
	struct enc e = {0};
	unsigned char got[64];
	int w = -1;

	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &a, WAIT_MS), 0);
	ipc_put(a, "ab", "x\0y", 3);
	CU_ASSERT(ipc_pending(a) > 0);
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	CU_ASSERT_EQUAL(ipc_pending(a), 0);
	enc_attr(&e, "ab", "x\0y", 3);
	enc_end(&e);
	ssize_t n = read(w, got, sizeof(got));
	CU_ASSERT_EQUAL(n, (ssize_t)e.len);
	CU_ASSERT_EQUAL(memcmp(got, e.p, e.len), 0);
	close(w);
	ipc_free(a);
	free(e.p);
}

/* ipc_send_value: the same bytes as ipc_put and ipc_end, what was put
 * before it included, and a value as large as a data record */
static void
test_send_value(void)
{
	struct ipc *a = NULL;
	struct enc e = {0};
	static unsigned char got[LIM_IPC_VALUE + 64];
	static char big[LIM_IPC_VALUE];
	int w = -1;

	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &a, WAIT_MS), 0);
	ipc_put(a, "req", "x", 1);
	CU_ASSERT_EQUAL(ipc_send_value(a, "data", "a\0b", 3), IPC_OK);
	CU_ASSERT_EQUAL(ipc_pending(a), 0);
	enc_attr(&e, "req", "x", 1);
	enc_attr(&e, "data", "a\0b", 3);
	enc_end(&e);
	ssize_t n = read(w, got, sizeof(got));
	CU_ASSERT_EQUAL(n, (ssize_t)e.len);
	CU_ASSERT_EQUAL(memcmp(got, e.p, e.len), 0);
	/* 64 KB: more than one send when the socket buffer is small */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	e.len = 0;
	enc_attr(&e, "data", big, sizeof(big));
	enc_end(&e);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		_exit(ipc_send_value(a, "data", big, sizeof(big)) == IPC_OK
			      ? 0 : 1);
	}
	size_t have = 0;
	while (have < e.len && (n = read(w, got + have, sizeof(got) - have)) > 0)
		have += (size_t)n;
	int status;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(have, e.len);
	CU_ASSERT_EQUAL(memcmp(got, e.p, e.len), 0);
	close(w);
	ipc_free(a);
	free(e.p);
}

/* view: a record of one attribute is read in place, NUL-terminated;
 * a record of several is copied as ever; a bad name is still refused */
static void
test_view(void)
{
	struct ipc *a = NULL;
	struct enc e = {0};
	struct attrs r;
	int w = -1;

	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &a, WAIT_MS), 0);
	a->view = 1;
	enc_attr(&e, "data", "a\0b", 3);
	enc_end(&e);
	enc_attr(&e, "x", "1", 1);
	enc_attr(&e, "y", "22", 2);
	enc_end(&e);
	enc_attr(&e, "end", "", 0);
	enc_end(&e);
	enc_attr(&e, "b d", "v", 1);
	enc_end(&e);
	CU_ASSERT_EQUAL_FATAL(write(w, e.p, e.len), (ssize_t)e.len);
	attrs_init(&r);
	CU_ASSERT_EQUAL_FATAL(ipc_read(a, &r), IPC_OK);
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT_STRING_EQUAL(r.a[0].name, "data");
	CU_ASSERT_EQUAL(r.a[0].len, 3);
	CU_ASSERT_EQUAL(memcmp(r.a[0].value, "a\0b\0", 4), 0);
	CU_ASSERT(r.a[0].value >= a->rbuf && r.a[0].value < a->rbuf + a->rlen);
	CU_ASSERT_EQUAL_FATAL(ipc_read(a, &r), IPC_OK);
	CU_ASSERT_EQUAL(r.n, 2);
	CU_ASSERT_STRING_EQUAL(attrs_get(&r, "y"), "22");
	CU_ASSERT_EQUAL_FATAL(ipc_read(a, &r), IPC_OK);
	CU_ASSERT_EQUAL(r.n, 1);
	CU_ASSERT_STRING_EQUAL(attrs_get(&r, "end"), "");
	CU_ASSERT_EQUAL(ipc_read(a, &r), IPC_BAD);
	attrs_free(&r);
	close(w);
	ipc_free(a);
	free(e.p);
}

static void
test_get_long(void)
{
	static const struct {
		const char *name, *value; /* value NULL: not sent */
		int ok;
		long v;
	} cases[] = {
	    {"a", "42", 1, 42},
	    {"b", "-7", 1, -7},
	    {"c", "0", 1, 0},
	    {"d", "9223372036854775807", 1, 9223372036854775807L},
	    {"e", "", 0, -1},
	    {"f", "12x", 0, -1},
	    {"g", "99999999999999999999", 0, -1},
	    {"h", "0x10", 0, -1},
	    {"i", "x", 0, -1},
	    {"j", "1 ", 0, -1},
	    {"zz", NULL, 0, -1},
	};
	struct enc e = {0};
	struct attrs at;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].value != NULL)
			enc_attr(&e, cases[i].name, cases[i].value,
				 strlen(cases[i].value));
	enc_end(&e);
	attrs_init(&at);
	CU_ASSERT_EQUAL_FATAL(raw_read(e.p, e.len, 0, &at), IPC_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ok = -1;
		long v = attrs_get_long(&at, cases[i].name, &ok);
		CU_ASSERT_EQUAL(ok, cases[i].ok);
		CU_ASSERT_EQUAL(v, cases[i].v);
	}
	attrs_free(&at);
	free(e.p);
}

/* many records in one write, parsed one by one */
static void
test_pipelined(void)
{
	enum { RECORDS = 300 };
	struct enc e = {0};
	struct attrs at;
	struct ipc *b = NULL;
	char num[16], pad[128];
	int w = -1, bad = 0;

	memset(pad, 'p', sizeof(pad));
	for (int i = 0; i < RECORDS; i++) {
		snprintf(num, sizeof(num), "%d", i);
		enc_attr(&e, "seq", num, strlen(num));
		enc_attr(&e, "pad", pad, (size_t)(i % 100));
		enc_end(&e);
	}
	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &b, WAIT_MS), 0);
	CU_ASSERT_EQUAL_FATAL(write(w, e.p, e.len), (ssize_t)e.len);
	close(w);
	attrs_init(&at);
	for (int i = 0; i < RECORDS; i++) {
		int ok;
		if (ipc_read(b, &at) != IPC_OK ||
		    attrs_get_long(&at, "seq", &ok) != i || !ok || at.n != 2 ||
		    attrs_find(&at, "pad")->len != (size_t)(i % 100)) {
			bad++;
			break;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_EOF);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_EOF);
	attrs_free(&at);
	ipc_free(b);
	free(e.p);
}

/* a record that arrives one byte at a time is whole only at its end */
static void
test_byte_at_a_time(void)
{
	struct enc e = {0};
	struct attrs at;
	struct ipc *b = NULL;
	int w = -1, early = 0;

	enc_attr(&e, "first", "1", 1);
	enc_attr(&e, "second", "two\0", 4);
	enc_attr(&e, "third", "", 0);
	enc_end(&e);
	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &b, WAIT_MS), 0);
	attrs_init(&at);
	CU_ASSERT_EQUAL(ipc_parse(b, &at), IPC_AGAIN);
	CU_ASSERT_EQUAL(ipc_fill(b), IPC_AGAIN); /* nothing sent yet */
	for (size_t i = 0; i < e.len; i++) {
		CU_ASSERT_EQUAL_FATAL(write(w, e.p + i, 1), 1);
		CU_ASSERT_EQUAL(ipc_fill(b), 1);
		int rc = ipc_parse(b, &at);
		if (i + 1 < e.len && rc != IPC_AGAIN)
			early++;
		if (i + 1 == e.len)
			CU_ASSERT_EQUAL(rc, IPC_OK);
	}
	CU_ASSERT_EQUAL(early, 0);
	CU_ASSERT_EQUAL(at.n, 3);
	CU_ASSERT_EQUAL(attrs_find(&at, "second")->len, 4);
	CU_ASSERT_EQUAL(ipc_parse(b, &at), IPC_AGAIN);
	close(w);
	attrs_free(&at);
	ipc_free(b);
	free(e.p);
}

static void
test_fd_passing(void)
{
	struct ipc *a = NULL, *b = NULL;
	struct attrs at;
	int p[2], q[2], fd;
	char buf[16];

	CU_ASSERT_EQUAL_FATAL(pair(&a, &b, WAIT_MS), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(q), 0);
	attrs_init(&at);

	/* two records, each with a pipe's write end */
	ipc_attach_fd(a, p[1]);
	ipc_put_str(a, "op", "first");
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	ipc_attach_fd(a, q[1]);
	ipc_put_str(a, "op", "second");
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	close(p[1]); /* the sender's copies */
	close(q[1]);

	CU_ASSERT_EQUAL_FATAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "op"), "first");
	fd = ipc_take_fd(b);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CU_ASSERT_EQUAL(write(fd, "hello", 5), 5);
	close(fd);
	CU_ASSERT_EQUAL(read(p[0], buf, sizeof(buf)), 5);
	CU_ASSERT_EQUAL(memcmp(buf, "hello", 5), 0);
	CU_ASSERT_EQUAL(read(p[0], buf, sizeof(buf)), 0); /* no copy left */

	CU_ASSERT_EQUAL_FATAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "op"), "second");
	/* the second descriptor is not claimed: ipc_free closes it */
	ipc_free(b);
	CU_ASSERT_EQUAL(read(q[0], buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(ipc_take_fd(a), -1);
	close(p[0]);
	close(q[0]);
	attrs_free(&at);
	ipc_free(a);
}

static void
test_take_fd_none(void)
{
	struct ipc *a = NULL, *b = NULL;
	struct attrs at;

	CU_ASSERT_EQUAL_FATAL(pair(&a, &b, WAIT_MS), 0);
	attrs_init(&at);
	ipc_put_str(a, "op", "nofd");
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_EQUAL(ipc_take_fd(b), -1);
	attrs_free(&at);
	ipc_free(a);
	ipc_free(b);
}

/* One malformed input: how to build it, and what ipc_read must say. */
struct bad_case {
	const char *what;
	void (*build)(struct enc *e);
	int expect;
};

static void
b_name32(struct enc *e)
{
	char name[32];
	memset(name, 'n', sizeof(name));
	enc_head(e, name, 32, 1);
	enc_bytes(e, "v", 1);
	enc_end(e);
}

static void
b_name255(struct enc *e)
{
	char name[255];
	memset(name, 'n', sizeof(name));
	enc_head(e, name, 255, 0);
	enc_end(e);
}

static void
b_name_space(struct enc *e)
{
	enc_attr(e, "a b", "v", 1);
	enc_end(e);
}

static void
b_name_ctl(struct enc *e)
{
	enc_attr(e, "a\x01", "v", 1);
	enc_end(e);
}

static void
b_name_newline(struct enc *e)
{
	enc_attr(e, "ok", "v", 1);
	enc_attr(e, "a\n", "v", 1);
	enc_end(e);
}

static void
b_name_del(struct enc *e)
{
	enc_attr(e, "a\x7f", "v", 1);
	enc_end(e);
}

static void
b_name_8bit(struct enc *e)
{
	enc_attr(e, "\xc3\xa9", "v", 1);
	enc_end(e);
}

static void
b_name_nul(struct enc *e)
{
	enc_head(e, "a\0b", 3, 1);
	enc_bytes(e, "v", 1);
	enc_end(e);
}

static void
b_value_long(struct enc *e)
{
	enc_head(e, "v", 1, LIM_IPC_VALUE + 1);
}

static void
b_value_huge(struct enc *e)
{
	enc_head(e, "v", 1, 0xffffffffUL);
}

static void
b_too_many(struct enc *e)
{
	for (int i = 0; i < LIM_IPC_ATTRS + 1; i++)
		enc_attr(e, "a", "", 0);
	enc_end(e);
}

static void
b_just_enough(struct enc *e)
{
	for (int i = 0; i < LIM_IPC_ATTRS; i++)
		enc_attr(e, "a", "", 0);
	enc_end(e);
}

static void
b_value_max(struct enc *e)
{
	static char v[LIM_IPC_VALUE];
	enc_attr(e, "v", v, sizeof(v));
	enc_end(e);
}

static const struct bad_case bad_cases[] = {
    {"name length 32", b_name32, IPC_BAD},
    {"name length 255", b_name255, IPC_BAD},
    {"space in a name", b_name_space, IPC_BAD},
    {"control char in a name", b_name_ctl, IPC_BAD},
    {"newline in a second name", b_name_newline, IPC_BAD},
    {"DEL in a name", b_name_del, IPC_BAD},
    {"8-bit name", b_name_8bit, IPC_BAD},
    {"NUL in a name", b_name_nul, IPC_BAD},
    {"value length LIM_IPC_VALUE + 1", b_value_long, IPC_BAD},
    {"value length 2^32 - 1", b_value_huge, IPC_BAD},
    {"LIM_IPC_ATTRS + 1 attributes", b_too_many, IPC_BAD},
    {"LIM_IPC_ATTRS attributes", b_just_enough, IPC_OK},
    {"value of LIM_IPC_VALUE", b_value_max, IPC_OK},
};

static void
test_malformed(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct enc e = {0};
		struct attrs at;
		struct ipc *b;
		pid_t pid;

		bad_cases[i].build(&e);
		attrs_init(&at);
		/* the writer stays open: the error needs no EOF to show */
		b = forked_writer(e.p, e.len, &pid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		int rc = ipc_read(b, &at);
		CU_ASSERT_EQUAL(rc, bad_cases[i].expect);
		if (rc != bad_cases[i].expect)
			fprintf(stderr, "\n%s: ipc_read gave %d\n",
				bad_cases[i].what, rc);
		/* after IPC_BAD the connection stays bad */
		if (rc == IPC_BAD)
			CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_BAD);
		ipc_free(b);
		child_status(pid);
		attrs_free(&at);
		free(e.p);
	}
}

/* a good record, then a bad one: the first still reads */
static void
test_good_then_bad(void)
{
	struct enc e = {0};
	struct attrs at;
	struct ipc *b = NULL;
	int w = -1;

	enc_attr(&e, "op", "ok", 2);
	enc_end(&e);
	enc_attr(&e, "o p", "bad", 3);
	enc_end(&e);
	CU_ASSERT_EQUAL_FATAL(raw_pair(&w, &b, WAIT_MS), 0);
	CU_ASSERT_EQUAL_FATAL(write_all(w, e.p, e.len), 0);
	attrs_init(&at);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "op"), "ok");
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_BAD);
	close(w);
	attrs_free(&at);
	ipc_free(b);
	free(e.p);
}

/* a record over LIM_IPC_RECORD, from 64 values of the largest size */
static void
test_record_too_large(void)
{
	struct enc e = {0};
	struct attrs at;
	struct ipc *b = NULL;
	char *v = calloc(1, LIM_IPC_VALUE);
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	for (int i = 0; i < 66; i++)
		enc_attr(&e, "v", v, LIM_IPC_VALUE);
	enc_end(&e);
	CU_ASSERT_FATAL(e.len > LIM_IPC_RECORD);
	b = forked_writer(e.p, e.len, &pid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	attrs_init(&at);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_BAD);
	ipc_free(b); /* the writer then stops on EPIPE */
	child_status(pid);
	attrs_free(&at);
	free(e.p);
	free(v);
}

/* EOF at every point inside a record is IPC_BAD; between records, EOF */
static void
test_eof_inside_record(void)
{
	struct enc e = {0};
	struct attrs at;
	int bad = 0;

	enc_attr(&e, "name", "value", 5);
	enc_attr(&e, "n2", "", 0);
	enc_end(&e);
	attrs_init(&at);
	CU_ASSERT_EQUAL(raw_read(e.p, 0, 1, &at), IPC_EOF);
	for (size_t cut = 1; cut < e.len; cut++) {
		int rc = raw_read(e.p, cut, 1, &at);
		if (rc != IPC_BAD) {
			fprintf(stderr, "\nEOF after %zu of %zu bytes: %d\n",
				cut, e.len, rc);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(raw_read(e.p, e.len, 1, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "name"), "value");
	attrs_free(&at);
	free(e.p);
}

static void
test_clean_eof(void)
{
	struct ipc *a = NULL, *b = NULL;
	struct attrs at;

	CU_ASSERT_EQUAL_FATAL(pair(&a, &b, WAIT_MS), 0);
	attrs_init(&at);
	ipc_put_str(a, "op", "last");
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	ipc_free(a);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_EOF);
	attrs_free(&at);
	ipc_free(b);
}

static void
test_timeout(void)
{
	struct ipc *a = NULL, *b = NULL;
	struct attrs at;

	CU_ASSERT_EQUAL_FATAL(pair(&a, &b, 50), 0);
	attrs_init(&at);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_TIMEOUT);
	/* half a record is still a timeout, not an error */
	CU_ASSERT_EQUAL_FATAL(write(a->fd, "\x02op\x00", 4), 4);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_TIMEOUT);
	/* and the rest completes it */
	CU_ASSERT_EQUAL_FATAL(write(a->fd, "\x00\x00\x02hi\x00", 6), 6);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "op"), "hi");
	attrs_free(&at);
	ipc_free(a);
	ipc_free(b);
}

static void
test_connect_unix(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char path[sizeof(sun.sun_path) + 64];
	struct attrs at;
	int l, fd, s;

	unit_path(path, sizeof(path), tmpdir, "sock");
	CU_ASSERT_FATAL(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(l >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(l, 1), 0);
	fd = ipc_connect_unix(path);
	CU_ASSERT_FATAL(fd >= 0);
	s = accept(l, NULL, NULL);
	CU_ASSERT_FATAL(s >= 0);
	struct ipc *a = ipc_new(fd, WAIT_MS), *b = ipc_new(s, WAIT_MS);
	attrs_init(&at);
	ipc_put_str(a, "hello", "world");
	CU_ASSERT_EQUAL(ipc_end(a), IPC_OK);
	CU_ASSERT_EQUAL(ipc_read(b, &at), IPC_OK);
	CU_ASSERT_STRING_EQUAL(attrs_get(&at, "hello"), "world");
	attrs_free(&at);
	ipc_free(a);
	ipc_free(b);
	close(l);
	unlink(path);

	errno = 0;
	CU_ASSERT_EQUAL(ipc_connect_unix(path), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	errno = 0;
	CU_ASSERT_EQUAL(ipc_connect_unix(path), -1);
	CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
}

CU_ErrorCode
suite_ipc(void)
{
	CU_pSuite s = CU_add_suite("ipc", init, cleanup);

	if (s == NULL || !CU_add_test(s, "round trip", test_round_trip) ||
	    !CU_add_test(s, "wire format", test_wire_format) ||
	    !CU_add_test(s, "attrs_get_long", test_get_long) ||
	    !CU_add_test(s, "ipc_send_value", test_send_value) ||
	    !CU_add_test(s, "view: one attribute read in place", test_view) ||
	    !CU_add_test(s, "pipelined records", test_pipelined) ||
	    !CU_add_test(s, "one byte at a time", test_byte_at_a_time) ||
	    !CU_add_test(s, "fd passing", test_fd_passing) ||
	    !CU_add_test(s, "no fd to take", test_take_fd_none) ||
	    !CU_add_test(s, "malformed records", test_malformed) ||
	    !CU_add_test(s, "good record then bad", test_good_then_bad) ||
	    !CU_add_test(s, "record over LIM_IPC_RECORD",
			 test_record_too_large) ||
	    !CU_add_test(s, "EOF inside a record", test_eof_inside_record) ||
	    !CU_add_test(s, "clean EOF", test_clean_eof) ||
	    !CU_add_test(s, "read timeout", test_timeout) ||
	    !CU_add_test(s, "ipc_connect_unix", test_connect_unix))
		return CU_get_error();
	return CUE_SUCCESS;
}
