/*
 * test_mailbox_path.c - unit tests for local/mailbox_path.c and
 * local/maildir.c, where local(8) puts a message.
 *
 * Covers: mailbox_path over a table of recipients and templates (input,
 * expected path, or the status it is refused with): %d, %u, %%, the
 * recipient_delimiter extension, quoted local parts, every name that
 * could leave mailbox_base (dots, '/', empty parts, control characters:
 * 5.1.3) and results that do not fit (5.3.5, at and past the edge).
 * maildir_deliver into a temporary directory from a real queue file: the
 * file lands in new/ under a Maildir name whose S= is its size, tmp/ is
 * left empty, the bytes are the two added fields and the message; a
 * mailbox that cannot be made and a queue file that cannot be read give
 * a 4.x.x status and leave no file behind.  The group commit: between
 * maildir_batch_begin and maildir_commit files wait in tmp/ with a
 * 4.3.0 result, then all are in new/ with 2.0.0, and a waiting file
 * counts against mailbox_quota.  The pipeline (maildir_advance): a
 * file moves to new/ only once a commit made after it is known (a later
 * round's `before`, or local's own new/ fsync), a result turns 2.0.0
 * only after its new/ was fsynced, and a delivery that waited past the
 * hold is made durable at once.  The delivery tag (maildir_tag.c): made
 * only of a queue ID and a recipient number, found in names as local
 * writes them and as readers rename them (":2,S", ",W="), not in names
 * other programs write or near misses; a delivery marked to look finds
 * its tag in new/ or cur/ (2.0.0 "already there", no second file), not
 * in tmp/, and not another recipient's.
 * Trusts: only the temporary directory it makes.
 * Never: leaves cfg changed for the suites after it.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../local/local.h"
#include "config.h"
#include "fsutil.h"
#include "queue_file.h"
#include "suites.h"

#define SENDER "sender@example.org"
#define RCPT "alice@localhost"
#define BIG_SIZE (100 * 1024) /* over maildir.c's 64 KB copy buffer */

static char tmpdir[256], qpath[512], big_qpath[512];
static char *big;	   /* the large message */
static struct qf_writer w; /* 130 KB: not on the stack */

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

/* write_queue_file - a queue file holding msg; 0 on success. */
static int
write_queue_file(const char *path, const char *msg, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -1;
	qf_writer_init(&w, fd);
	rc |= qf_put_str(&w, QF_ID, "1NGP10F0EJZJK77");
	rc |= qf_put_str(&w, QF_SENDER, SENDER);
	rc |= qf_put_str(&w, QF_RCPT, RCPT);
	rc |= qf_begin_message(&w);
	rc |= qf_put_data(&w, msg, len);
	rc |= qf_finish(&w);
	return close(fd) | rc;
}

static int
init(void)
{
	config_defaults();
	set("mailbox_base", "/base");
	set("mailbox_template", "%d/%u/Maildir");
	set("recipient_delimiter", "+");
	if (unit_tmpdir(tmpdir, sizeof(tmpdir), "mailbox_path") != 0)
		return -1;
	unit_path(qpath, sizeof(qpath), tmpdir, "queue_file");
	unit_path(big_qpath, sizeof(big_qpath), tmpdir, "big_queue_file");
	if ((big = malloc(BIG_SIZE)) == NULL)
		return -1;
	for (size_t i = 0; i < BIG_SIZE; i++)
		big[i] = i % 72 == 71 ? '\n' : (char)('a' + i % 26);
	return write_queue_file(big_qpath, big, BIG_SIZE);
}

static int
cleanup(void)
{
	free(big);
	config_defaults();
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* clang-format off */
/*
 * One recipient: the template (NULL: "%d/%u/Maildir") and either the path
 * that comes out or the status and DSN code it is refused with.
 */
struct path_case {
	const char *rcpt, *tmpl, *want;
	int code;
	const char *dsn;
};

#define OK(rcpt, tmpl, want) {rcpt, tmpl, want, 0, NULL}
#define BAD(rcpt, tmpl) {rcpt, tmpl, NULL, 5, "5.1.3"}

static const struct path_case path_cases[] = {
	OK("alice@localhost", NULL, "/base/localhost/alice/Maildir"),
	OK("Alice+tag@Localhost", NULL, "/base/localhost/alice/Maildir"),
	OK("ALICE@localhost", NULL, "/base/localhost/alice/Maildir"),
	OK("alice+@localhost", NULL, "/base/localhost/alice/Maildir"),
	OK("alice+a+b@localhost", NULL, "/base/localhost/alice/Maildir"),
	/* a delimiter in first place leaves nothing before it: kept */
	OK("+tag@localhost", NULL, "/base/localhost/+tag/Maildir"),
	OK("first.last@sub.example.com", NULL,
	   "/base/sub.example.com/first.last/Maildir"),
	OK("a..b@localhost", NULL, "/base/localhost/a..b/Maildir"),
	OK("u@[192.0.2.1]", NULL, "/base/[192.0.2.1]/u/Maildir"),
	/* quoted local parts name the mailbox unquoted */
	OK("\"john.doe\"@x.example", NULL, "/base/x.example/john.doe/Maildir"),
	OK("\"John Doe\"@x.example", NULL, "/base/x.example/john doe/Maildir"),
	OK("\"a\\\"b\"@x.example", NULL, "/base/x.example/a\"b/Maildir"),
	OK("\"a@b\"@x.example", NULL, "/base/x.example/a@b/Maildir"),
	OK("\"Bob+ext\"@x.example", NULL, "/base/x.example/bob/Maildir"),
	/* names that could leave mailbox_base */
	BAD("../x@localhost", NULL),
	BAD(".alice@localhost", NULL),
	BAD("..@localhost", NULL),
	BAD(".@localhost", NULL),
	BAD("..+x@localhost", NULL),
	BAD("a/b@localhost", NULL),
	BAD("/etc@localhost", NULL),
	BAD("\"a/b\"@localhost", NULL),
	BAD("\"a\\/b\"@localhost", NULL),
	BAD("\"../../etc\"@localhost", NULL),
	BAD("\"..\"@localhost", NULL),
	BAD("@localhost", NULL),
	BAD("\"\"@localhost", NULL),
	BAD("alice@.localhost", NULL),
	BAD("alice@..", NULL),
	BAD("alice@.", NULL),
	BAD("alice@a/b", NULL),
	BAD("alice@../../etc", NULL),
	BAD("alice@", NULL),
	BAD("alice", NULL),
	BAD("", NULL),
	BAD("al\x01ice@localhost", NULL),
	BAD("al\nice@localhost", NULL),
	BAD("alice\x7f@localhost", NULL),
	BAD("\"al\tice\"@localhost", NULL),
	BAD("alice@local\x1fhost", NULL),
	BAD("alice@local\x7fhost", NULL),
	/* the template */
	OK("alice@localhost", "%%/%d/%u", "/base/%/localhost/alice"),
	OK("alice@localhost", "%u/%u", "/base/alice/alice"),
	OK("Alice+x@Example.COM", "%d/%u/%d", "/base/example.com/alice/example.com"),
	OK("alice@localhost", "%d", "/base/localhost"),
	OK("alice@localhost", "mail/%u%%%%", "/base/mail/alice%%"),
	OK("alice@localhost", "", "/base/"),
	/* what is not an escape is copied */
	OK("alice@localhost", "%x%u", "/base/%xalice"),
	OK("alice@localhost", "%u%", "/base/alice%"),
};
/* clang-format on */

static void
test_path_table(void)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		struct result r;
		char out[4096];
		int rc, good;

		set("mailbox_template", c->tmpl ? c->tmpl : "%d/%u/Maildir");
		memset(&r, 0, sizeof(r));
		snprintf(out, sizeof(out), "untouched");
		rc = mailbox_path(c->rcpt, out, sizeof(out), &r);
		if (c->want != NULL) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_STRING_EQUAL(out, c->want);
			good = rc == 0 && strcmp(out, c->want) == 0;
		} else {
			CU_ASSERT_EQUAL(rc, -1);
			CU_ASSERT_EQUAL(r.code, c->code);
			CU_ASSERT_STRING_EQUAL(r.dsn, c->dsn);
			CU_ASSERT(r.text[0] != 0);
			good = rc == -1 && r.code == c->code &&
			       strcmp(r.dsn, c->dsn) == 0;
		}
		if (!good)
			fprintf(stderr,
				"\nmailbox_path case %zu \"%s\" template "
				"\"%s\": rc %d out \"%s\" code %d dsn \"%s\"\n",
				i, c->rcpt, c->tmpl ? c->tmpl : "(default)", rc,
				rc == 0 ? out : "", r.code, r.dsn);
	}
	set("mailbox_template", "%d/%u/Maildir");
}

/* without a recipient_delimiter the extension is part of the name */
static void
test_no_delimiter(void)
{
	struct result r;
	char out[256];

	set("recipient_delimiter", "");
	CU_ASSERT_EQUAL(
	    mailbox_path("Alice+Tag@localhost", out, sizeof(out), &r), 0);
	CU_ASSERT_STRING_EQUAL(out, "/base/localhost/alice+tag/Maildir");
	set("recipient_delimiter", "-");
	CU_ASSERT_EQUAL(
	    mailbox_path("alice-tag+x@localhost", out, sizeof(out), &r), 0);
	CU_ASSERT_STRING_EQUAL(out, "/base/localhost/alice/Maildir");
	set("recipient_delimiter", "+");
}

/* a path that does not fit: 5.3.5, never a cut path */
static void
test_too_long(void)
{
	/* "/base/localhost/alice/Maildir" is 29 bytes */
	static const struct {
		size_t len;
		int rc;
	} cases[] = {
	    {30, 0}, {29, -1}, {28, -1}, {22, -1}, {6, -1}, {5, -1}, {1, -1},
	};
	struct result r;
	char out[64], big_tmpl[300], user[70], rcpt[100];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		memset(out, 'z', sizeof(out));
		int rc = mailbox_path(RCPT, out, cases[i].len, &r);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		/* nothing written past len */
		CU_ASSERT_EQUAL(out[cases[i].len], 'z');
		if (cases[i].rc == 0) {
			CU_ASSERT_STRING_EQUAL(out,
					       "/base/localhost/alice/Maildir");
		} else {
			CU_ASSERT_EQUAL(r.code, 5);
			CU_ASSERT_STRING_EQUAL(r.dsn, "5.3.5");
		}
	}
	/* a template that repeats a 64-octet user past 4096 bytes */
	memset(user, 'u', 64);
	user[64] = 0;
	snprintf(rcpt, sizeof(rcpt), "%s@localhost", user);
	for (size_t i = 0; i + 2 < sizeof(big_tmpl); i += 2)
		memcpy(big_tmpl + i, "%u", 2);
	big_tmpl[sizeof(big_tmpl) - 1 - (sizeof(big_tmpl) - 1) % 2] = 0;
	set("mailbox_template", big_tmpl);
	char path[4096];
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(mailbox_path(rcpt, path, sizeof(path), &r), -1);
	CU_ASSERT_EQUAL(r.code, 5);
	CU_ASSERT_STRING_EQUAL(r.dsn, "5.3.5");
	set("mailbox_template", "%d/%u/Maildir");
}

/* list_dir - the names in path (without . and ..); how many, -1 on error */
static int
list_dir(const char *path, char names[][600], int max)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n < max)
			snprintf(names[n], 600, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/*
 * deliver - maildir_deliver of the queue file at qf into dir; 0 when the
 * queue file could be opened and checked.
 */
static int
deliver(const char *dir, const char *qf, const char *sender, struct result *r)
{
	struct qf_envelope env;
	char err[256];
	int fd = open(qf, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (qf_read_envelope(fd, &env, err, sizeof(err)) != 0) {
		fprintf(stderr, "\nqueue file refused: %s\n", err);
		close(fd);
		return -1;
	}
	memset(r, 0, sizeof(*r));
	maildir_deliver(dir, fd, &env, sender, RCPT, r);
	qf_envelope_free(&env);
	return close(fd);
}

/*
 * check_delivered - dir/new holds nfiles files, each named the Maildir
 * way, as large as its ",S=" says and holding the two added fields and
 * msg; dir/tmp and dir/cur are empty.
 */
static void
check_delivered(const char *dir, int nfiles, const char *msg, size_t len,
		const char *sender, int size_in_name)
{
	static char names[8][600];
	char sub[600], path[1300], top[600];
	regex_t re;
	regmatch_t mt[2];
	int found = 0;

	CU_ASSERT_EQUAL_FATAL(
	    regcomp(&re,
		    size_in_name
			? "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\..*,S=([0-9]+)$"
			: "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^,]*$",
		    REG_EXTENDED),
	    0);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	CU_ASSERT_EQUAL(list_dir(sub, names, 8), 0);
	snprintf(sub, sizeof(sub), "%s/cur", dir);
	CU_ASSERT_EQUAL(list_dir(sub, names, 8), 0);
	snprintf(sub, sizeof(sub), "%s/new", dir);
	int n = list_dir(sub, names, 8);
	CU_ASSERT_EQUAL(n, nfiles);
	int toplen =
	    snprintf(top, sizeof(top), "Return-Path: <%s>\nDelivered-To: %s\n",
		     sender, RCPT);
	for (int i = 0; i < n && i < 8; i++) {
		size_t flen = 0;
		unit_path(path, sizeof(path), sub, names[i]);
		char *got = unit_read_file(path, &flen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		int m = regexec(&re, names[i], 2, mt, 0);
		CU_ASSERT_EQUAL(m, 0);
		if (m != 0)
			fprintf(stderr, "\nmaildir name \"%s\"\n", names[i]);
		if (m == 0 && size_in_name)
			CU_ASSERT_EQUAL(
			    strtoull(names[i] + mt[1].rm_so, NULL, 10),
			    (unsigned long long)flen);
		/* every delivery here is of msg */
		if (flen == (size_t)toplen + len &&
		    memcmp(got, top, (size_t)toplen) == 0 &&
		    memcmp(got + toplen, msg, len) == 0)
			found++;
		free(got);
	}
	CU_ASSERT_EQUAL(found, nfiles);
	regfree(&re);
}

static void
test_maildir_deliver(void)
{
	static const char msg[] = "Subject: hi\nTo: alice@localhost\n\n"
				  "body line\n\xc3\xa4\n";
	char dir[600];
	struct result r;

	cfg.maildir_size_in_name = 1;
	CU_ASSERT_EQUAL_FATAL(write_queue_file(qpath, msg, sizeof(msg) - 1), 0);
	/* the mailbox and its parents are made as needed */
	unit_path(dir, sizeof(dir), tmpdir, "small/localhost/alice/Maildir");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_STRING_EQUAL(r.dsn, "2.0.0");
	check_delivered(dir, 1, msg, sizeof(msg) - 1, SENDER, 1);
	/* a second delivery gets a name of its own */
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	check_delivered(dir, 2, msg, sizeof(msg) - 1, SENDER, 1);
	/* the null sender */
	unit_path(dir, sizeof(dir), tmpdir, "null/Maildir");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, "", &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	check_delivered(dir, 1, msg, sizeof(msg) - 1, "", 1);
	/* a message over several queue file records and copy buffers */
	unit_path(dir, sizeof(dir), tmpdir, "big/Maildir");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, big_qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_STRING_EQUAL(r.dsn, "2.0.0");
	check_delivered(dir, 1, big, BIG_SIZE, SENDER, 1);
	/* without ",S=" when maildir_size_in_name is off */
	cfg.maildir_size_in_name = 0;
	unit_path(dir, sizeof(dir), tmpdir, "nosize/Maildir");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	check_delivered(dir, 1, msg, sizeof(msg) - 1, SENDER, 0);
	cfg.maildir_size_in_name = 1;
}

/* count - files in dir/sub */
static int
count(const char *dir, const char *sub)
{
	static char names[8][600];
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	return list_dir(path, names, 8);
}

static void
test_maildir_batch(void)
{
	static const char msg[] = "Subject: b\n\nbatch\n";
	char d1[600], d2[600], d3[600];
	struct result r[5];
	long quota = cfg.mailbox_quota;
	long long one = (long long)strlen("Return-Path: <" SENDER ">\n"
					  "Delivered-To: " RCPT "\n") +
			(long long)sizeof(msg) - 1;

	cfg.maildir_size_in_name = 1;
	CU_ASSERT_EQUAL_FATAL(write_queue_file(qpath, msg, sizeof(msg) - 1), 0);
	unit_path(d1, sizeof(d1), tmpdir, "batch/one/Maildir");
	unit_path(d2, sizeof(d2), tmpdir, "batch/two/Maildir");
	maildir_batch_begin();
	CU_ASSERT_EQUAL_FATAL(deliver(d1, qpath, SENDER, &r[0]), 0);
	CU_ASSERT_EQUAL_FATAL(deliver(d1, qpath, SENDER, &r[1]), 0);
	CU_ASSERT_EQUAL_FATAL(deliver(d2, qpath, SENDER, &r[2]), 0);
	/* written, not yet in new/, and nobody may hear "delivered" */
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(r[i].code, 4);
	CU_ASSERT_EQUAL(count(d1, "tmp"), 2);
	CU_ASSERT_EQUAL(count(d1, "new"), 0);
	CU_ASSERT_EQUAL(count(d2, "new"), 0);
	maildir_commit();
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(r[i].code, 2);
		CU_ASSERT_STRING_EQUAL(r[i].dsn, "2.0.0");
	}
	check_delivered(d1, 2, msg, sizeof(msg) - 1, SENDER, 1);
	check_delivered(d2, 1, msg, sizeof(msg) - 1, SENDER, 1);
	/* room for one and a half: the second of a round is refused, as
	 * it would be if the first were in new/ already */
	cfg.mailbox_quota = (long)(one + one / 2);
	unit_path(d3, sizeof(d3), tmpdir, "batch/quota/Maildir");
	maildir_batch_begin();
	CU_ASSERT_EQUAL_FATAL(deliver(d3, qpath, SENDER, &r[3]), 0);
	CU_ASSERT_EQUAL_FATAL(deliver(d3, qpath, SENDER, &r[4]), 0);
	maildir_commit();
	CU_ASSERT_EQUAL(r[3].code, 2);
	CU_ASSERT_EQUAL(r[4].code, 4);
	CU_ASSERT_STRING_EQUAL(r[4].dsn, "4.2.2");
	check_delivered(d3, 1, msg, sizeof(msg) - 1, SENDER, 1);
	cfg.mailbox_quota = quota;
}

/* wait_due - until maildir_wait_ms() says something is due (the
 * pipeline's bounds are set below; at most about 5 s) */
static void
wait_due(void)
{
	for (int i = 0; i < 5000 && maildir_wait_ms() != 0; i++)
		usleep(1000);
	CU_ASSERT_EQUAL(maildir_wait_ms(), 0);
}

static void
test_maildir_pipeline(void)
{
	static const char msg[] = "Subject: p\n\npipelined\n";
	static const char a = 'a', b = 'b', c = 'c'; /* owners */
	char d1[600], d2[600];
	struct result r[4];

	CU_ASSERT_EQUAL_FATAL(write_queue_file(qpath, msg, sizeof(msg) - 1), 0);
	unit_path(d1, sizeof(d1), tmpdir, "pipe/one/Maildir");
	unit_path(d2, sizeof(d2), tmpdir, "pipe/two/Maildir");
	CU_ASSERT_EQUAL(maildir_wait_ms(), -1);
	/* bounds far above a busy machine's stalls: only the rounds move
	 * the files until the new/ fsync is due */
	maildir_set_bounds(3000000, 100000);
	/* round 1: written; no commit after them is known yet */
	maildir_batch_begin();
	maildir_owner(&a);
	CU_ASSERT_EQUAL_FATAL(deliver(d1, qpath, SENDER, &r[0]), 0);
	CU_ASSERT_EQUAL_FATAL(deliver(d1, qpath, SENDER, &r[1]), 0);
	maildir_advance(0);
	CU_ASSERT_EQUAL(count(d1, "tmp"), 2);
	CU_ASSERT_EQUAL(count(d1, "new"), 0);
	CU_ASSERT_EQUAL(r[0].code, 4);
	CU_ASSERT(maildir_waits_for(&a));
	CU_ASSERT(maildir_wait_ms() > 0 && maildir_wait_ms() <= 3000);
	/* round 2 arrives after a commit that began after round 1: round
	 * 1's files go to new/, still unanswered; round 2's stay */
	long long before = now_us();
	maildir_batch_begin();
	maildir_owner(&b);
	CU_ASSERT_EQUAL_FATAL(deliver(d2, qpath, SENDER, &r[2]), 0);
	maildir_advance(before);
	CU_ASSERT_EQUAL(count(d1, "tmp"), 0);
	CU_ASSERT_EQUAL(count(d1, "new"), 2);
	CU_ASSERT_EQUAL(count(d2, "tmp"), 1);
	CU_ASSERT_EQUAL(r[0].code, 4);
	CU_ASSERT_EQUAL(r[1].code, 4);
	CU_ASSERT(maildir_waits_for(&a));
	CU_ASSERT(maildir_waits_for(&b));
	/* no more rounds: new/ is fsynced when its oldest rename is due,
	 * and that fsync's commit covers round 2's file too */
	wait_due();
	maildir_advance(0);
	CU_ASSERT_EQUAL(r[0].code, 2);
	CU_ASSERT_STRING_EQUAL(r[1].dsn, "2.0.0");
	CU_ASSERT(!maildir_waits_for(&a));
	CU_ASSERT_EQUAL(count(d2, "new"), 1);
	CU_ASSERT_EQUAL(r[2].code, 4);
	CU_ASSERT(maildir_waits_for(&b));
	maildir_commit();
	CU_ASSERT_EQUAL(r[2].code, 2);
	CU_ASSERT(!maildir_waits_for(&b));
	CU_ASSERT_EQUAL(maildir_wait_ms(), -1);
	check_delivered(d1, 2, msg, sizeof(msg) - 1, SENDER, 1);
	check_delivered(d2, 1, msg, sizeof(msg) - 1, SENDER, 1);
	/* a file no commit covered within the hold: made durable at once */
	maildir_set_bounds(30000, 100000);
	maildir_batch_begin();
	maildir_owner(&c);
	CU_ASSERT_EQUAL_FATAL(deliver(d2, qpath, SENDER, &r[3]), 0);
	maildir_advance(0);
	CU_ASSERT_EQUAL(r[3].code, 4);
	wait_due();
	maildir_advance(0);
	CU_ASSERT_EQUAL(r[3].code, 2);
	CU_ASSERT(!maildir_waits_for(&c));
	check_delivered(d2, 2, msg, sizeof(msg) - 1, SENDER, 1);
	maildir_set_bounds(5000, 3000); /* maildir.c's own */
}

/* failures are temporary and leave no file behind */
static void
test_maildir_fail(void)
{
	static const char msg[] = "Subject: x\n\nbody\n";
	char file[600], dir[600], sub[700], names[4][600];
	struct result r;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(write_queue_file(qpath, msg, sizeof(msg) - 1), 0);
	/* a regular file where a directory of the mailbox should be */
	unit_path(file, sizeof(file), tmpdir, "plain");
	CU_ASSERT_EQUAL_FATAL(unit_write_file(file, "x", 1), 0);
	unit_path(dir, sizeof(dir), tmpdir, "plain/Maildir");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 4);
	CU_ASSERT_NSTRING_EQUAL(r.dsn, "4.", 2);
	CU_ASSERT(r.text[0] != 0);
	CU_ASSERT(stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		  st.st_size == 1);
	/* the mailbox itself is a regular file */
	unit_path(dir, sizeof(dir), tmpdir, "plain");
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 4);
	CU_ASSERT(stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		  st.st_size == 1);
	/* new/ is a file: the tmp/ made on the way stays empty */
	unit_path(dir, sizeof(dir), tmpdir, "newfile");
	snprintf(sub, sizeof(sub), "%s/new", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(unit_write_file(sub, "", 0), 0);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 4);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	CU_ASSERT(list_dir(sub, names, 4) <= 0);
	/* the queue file cannot be read: tmp/ is cleaned up */
	struct qf_envelope env;
	char err[256];
	int fd = open(qpath, O_RDONLY | O_CLOEXEC);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0 && nul >= 0);
	CU_ASSERT_EQUAL_FATAL(qf_read_envelope(fd, &env, err, sizeof(err)), 0);
	unit_path(dir, sizeof(dir), tmpdir, "unreadable/Maildir");
	memset(&r, 0, sizeof(r));
	maildir_deliver(dir, nul, &env, SENDER, RCPT, &r);
	CU_ASSERT_EQUAL(r.code, 4);
	CU_ASSERT_NSTRING_EQUAL(r.dsn, "4.", 2);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	CU_ASSERT_EQUAL(list_dir(sub, names, 4), 0);
	snprintf(sub, sizeof(sub), "%s/new", dir);
	CU_ASSERT_EQUAL(list_dir(sub, names, 4), 0);
	qf_envelope_free(&env);
	close(nul);
	close(fd);
}

/* clang-format off */
/* a Maildir file name and the tag found in it (NULL: none) */
struct tag_case {
	const char *name, *tag;
};

static const struct tag_case tag_cases[] = {
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_0.host,S=10",
	 "X1NGP10F0EJZJK77_0"},
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_65535.host",
	 "X1NGP10F0EJZJK77_65535"},
	/* as a reader renames it in cur/ */
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_7.host,S=10,W=12:2,S",
	 "X1NGP10F0EJZJK77_7"},
	/* an ID holding X itself: the first X is the tag's */
	{"1700000000.M1P2Q3XXXXXXXXXXXXXXXX_1.h", "XXXXXXXXXXXXXXXX_1"},
	/* names of other programs, and near misses */
	{"1700000000.M1P2Q3.host,S=10", NULL},
	{"1700000000.M1P2V803I1234.host:2,", NULL},
	{"1700000000.M1P2Q3X1NGP10F0EJZJK7_0.host", NULL},   /* short ID */
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77X_0.host", NULL}, /* long ID */
	{"1700000000.M1P2Q3X1NGP10F0EJZJKI7_0.host", NULL},  /* I */
	{"1700000000.M1P2Q3X1ngp10f0ejzjk77_0.host", NULL},  /* lower case */
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_.host", NULL},
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_123456.host", NULL},
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77_1a.host", NULL},
	{"1700000000.M1P2Q3X1NGP10F0EJZJK77-1.host", NULL},
	{"1700000000.M1P2Q3.X1NGP10F0EJZJK77_1", NULL},      /* in the host */
	{"X1NGP10F0EJZJK77_1", NULL},
	{"", NULL},
};
/* clang-format on */

static void
test_maildir_tag(void)
{
	char tag[64];

	for (size_t i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct tag_case *c = &tag_cases[i];
		int rc = maildir_tag_find(c->name, tag, sizeof(tag));
		CU_ASSERT_EQUAL(rc, c->tag ? 0 : -1);
		if (c->tag && rc == 0)
			CU_ASSERT_STRING_EQUAL(tag, c->tag);
		if ((rc == 0) != (c->tag != NULL))
			fprintf(stderr, "\ntag case \"%s\"\n", c->name);
	}
	/* too small a buffer: none rather than a cut tag */
	CU_ASSERT_EQUAL(maildir_tag_find(tag_cases[0].name, tag, 18), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZJK77",
					 "12"), 0);
	CU_ASSERT_STRING_EQUAL(tag, "X1NGP10F0EJZJK77_12");
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZJK7",
					 "1"), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZ/K77",
					 "1"), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZJK77",
					 ""), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZJK77",
					 "1/"), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, sizeof(tag), "1NGP10F0EJZJK77",
					 "123456"), -1);
	CU_ASSERT_EQUAL(maildir_tag_make(tag, 19, "1NGP10F0EJZJK77", "12"),
			-1);
}

/* files - how many files dir/sub holds; the first one's name in first */
static int
files(const char *dir, const char *sub, char *first, size_t len)
{
	static char names[8][600];
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	int n = list_dir(path, names, 8);
	if (n > 0 && first)
		snprintf(first, len, "%s", names[0]);
	return n;
}

static void
test_maildir_dedupe(void)
{
	static const char msg[] = "Subject: d\n\ndedupe\n";
	char dir[600], name[600], from[1400], to[1400], want[800];
	struct result r;

	CU_ASSERT_EQUAL_FATAL(write_queue_file(qpath, msg, sizeof(msg) - 1), 0);
	unit_path(dir, sizeof(dir), tmpdir, "dedupe/Maildir");
	/* a marked delivery into an empty (or not yet made) Maildir */
	maildir_tag("1NGP10F0EJZJK77", "0", 1);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_PTR_NULL(strstr(r.text, "already"));
	CU_ASSERT_EQUAL(files(dir, "new", name, sizeof(name)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(name, "X1NGP10F0EJZJK77_0."));
	/* the same recipient again, marked: the copy in new/ is it */
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_STRING_EQUAL(r.dsn, "2.0.0");
	snprintf(want, sizeof(want), "already there as new/%s", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.text, want));
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 1);
	/* read meanwhile: found in cur/ under its new name */
	snprintf(from, sizeof(from), "%s/new/%s", dir, name);
	snprintf(to, sizeof(to), "%s/cur/%s:2,S", dir, name);
	CU_ASSERT_EQUAL_FATAL(rename(from, to), 0);
	maildir_batch_begin(); /* found at once, nothing waits */
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	snprintf(want, sizeof(want), "already there as cur/%s:2,S", name);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.text, want));
	maildir_commit();
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 0);
	/* another recipient of the same message is another delivery */
	maildir_tag("1NGP10F0EJZJK77", "1", 1);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_PTR_NULL(strstr(r.text, "already"));
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 1);
	/* unmarked: no look, a second copy (the case qmgr never marks) */
	maildir_tag("1NGP10F0EJZJK77", "1", 0);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 2);
	/* a file with the tag in tmp/ (a killed local's) does not count */
	snprintf(from, sizeof(from), "%s/tmp/1.M1P1Q1X1NGP10F0EJZJK77_2.h",
		 dir);
	CU_ASSERT_EQUAL_FATAL(unit_write_file(from, "x", 1), 0);
	maildir_tag("1NGP10F0EJZJK77", "2", 1);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_PTR_NULL(strstr(r.text, "already"));
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 3);
	/* no valid tag: plain names, never a look */
	maildir_tag("not-an-id", "0", 1);
	CU_ASSERT_EQUAL_FATAL(deliver(dir, qpath, SENDER, &r), 0);
	CU_ASSERT_EQUAL(r.code, 2);
	CU_ASSERT_EQUAL(files(dir, "new", NULL, 0), 4);
	maildir_tag(NULL, NULL, 0);
}

CU_ErrorCode
suite_mailbox_path(void)
{
	CU_pSuite s = CU_add_suite("mailbox_path", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "mailbox_path table", test_path_table) ||
	    !CU_add_test(s, "recipient_delimiter", test_no_delimiter) ||
	    !CU_add_test(s, "path too long", test_too_long) ||
	    !CU_add_test(s, "maildir_deliver", test_maildir_deliver) ||
	    !CU_add_test(s, "maildir group commit", test_maildir_batch) ||
	    !CU_add_test(s, "maildir pipeline", test_maildir_pipeline) ||
	    !CU_add_test(s, "maildir_deliver failures", test_maildir_fail) ||
	    !CU_add_test(s, "maildir delivery tag", test_maildir_tag) ||
	    !CU_add_test(s, "maildir dedupe", test_maildir_dedupe))
		return CU_get_error();
	return CUE_SUCCESS;
}
