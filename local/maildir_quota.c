/*
 * maildir_quota.c - Maildir++ quota: the "maildirsize" file that
 * Dovecot, Courier, maildrop and Exim read and write, so that a
 * delivery costs a read of a small file instead of a walk of the
 * mailbox.
 *
 * maildirsize, at the root of the Maildir (a folder, with its
 * "maildirfolder" file, counts towards its parent's), holds the quota
 * definition on its first line ("1000000S", "1000000S,1000C", "1000C")
 * and then lines "BYTES COUNT" whose sums are what the Maildir holds.
 * A delivery reads the file, refuses a message that would pass either
 * limit, and after the rename into new/ appends "SIZE 1" with one
 * O_APPEND write (atomic between writers).  A reader that removes a
 * message appends "-SIZE -1".  The file is made again from one walk of
 * new/ and cur/ of the Maildir and of each ".Folder" (Trash too, as
 * Dovecot counts it) when it is missing, unreadable, 5120 bytes or
 * more, not written for 15 minutes, broken, of another definition than
 * mailbox_quota and mailbox_quota_count, or when it says "over quota"
 * and holds more than one line of sums: written in tmp/, renamed over
 * the old one; when a new/ or cur/ changed during the walk the file is
 * removed instead (the next delivery walks again), as the Maildir++
 * specification asks.  Races between writers (a line appended to the
 * file being replaced) are tolerated as Maildir++ does: the next
 * recalculation corrects them.
 * Trusts: nothing in maildirsize (any mail program may write it);
 * sizes in ",S=" of file names (as every Maildir++ reader does).
 * Never: touches maildirsize when no quota is set; fails a delivery
 * because maildirsize could not be written (the walk's figures serve);
 * follows a maildirsize that is a symbolic link (O_NOFOLLOW: it is
 * counted again and replaced by a file).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"

/* the Maildir++ specification's bounds: a file this big is made again,
 * and one this old is not trusted */
#define MDQ_FILE_MAX 5120
#define MDQ_STALE_SECS (15 * 60)
/* a number in maildirsize: sums of MDQ_FILE_MAX / 4 lines stay far
 * below LLONG_MAX */
#define MDQ_NUM_MAX 1000000000000000LL
#define MDQ_PATH 4200 /* as maildir.c's buffers */
/* a walk's sum stops here (names may claim any ",S="), so that the
 * file it writes reads back */
#define MDQ_SUM_MAX MDQ_NUM_MAX

/* maildir_quota_on - whether a quota is set (else maildirsize is never
 * read nor written) */
int
maildir_quota_on(void)
{
	return cfg.mailbox_quota > 0 || cfg.mailbox_quota_count > 0;
}

/* parse_num - a decimal number at *p (with a '-' when neg_ok), p moved
 * past it; -1 when there is none or it is over max */
static int
parse_num(const char **p, int neg_ok, long long max, long long *out)
{
	const char *s = *p;
	int neg = 0;
	long long v = 0;

	if (neg_ok && *s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	*p = s;
	return 0;
}

/* parse_definition - "NS", "NC", "NS,NC" (either order) into q's
 * limits, up to the end of the line; -1 when it is anything else */
static int
parse_definition(const char *s, const char *end, struct maildir_quota *q)
{
	q->limit_bytes = q->limit_count = 0;
	if (s == end)
		return -1;
	for (;;) {
		long long v;
		/* as far as mailbox_quota goes (LONG_MAX / 2) */
		if (parse_num(&s, 0, LLONG_MAX / 2, &v) != 0 || s == end)
			return -1;
		if (*s == 'S')
			q->limit_bytes = v;
		else if (*s == 'C')
			q->limit_count = v;
		else
			return -1;
		if (++s == end)
			return 0;
		if (*s++ != ',')
			return -1;
	}
}

/* parse_line - one "BYTES COUNT" line added to q; -1 when malformed */
static int
parse_line(const char *s, const char *end, struct maildir_quota *q)
{
	long long b, c;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++; /* Courier pads lines */
	if (parse_num(&s, 1, MDQ_NUM_MAX, &b) != 0 || (*s != ' ' && *s != '\t'))
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (parse_num(&s, 1, MDQ_NUM_MAX, &c) != 0)
		return -1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s != end)
		return -1;
	/* bounded: at most MDQ_FILE_MAX / 4 lines of MDQ_NUM_MAX each */
	q->bytes += b;
	q->count += c;
	q->lines++;
	return 0;
}

int
maildir_quota_parse(const char *buf, size_t len, struct maildir_quota *q)
{
	const char *p = buf, *end = buf + len, *nl;

	memset(q, 0, sizeof(*q));
	if (memchr(buf, 0, len) != NULL ||
	    (nl = memchr(p, '\n', len)) == NULL ||
	    parse_definition(p, nl, q) != 0)
		return -1;
	for (p = nl + 1; p < end; p = nl + 1) {
		/* a last line without its newline is still being written */
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (nl > p && parse_line(p, nl, q) != 0)
			return -1;
	}
	if (q->bytes < 0 || q->count < 0)
		return -1; /* corrupt: more removed than there was */
	return 0;
}

int
maildir_quota_definition(char *out, size_t len, long bytes, long count)
{
	int n;

	if (count > 0 && bytes > 0)
		n = snprintf(out, len, "%ldS,%ldC", bytes, count);
	else if (count > 0)
		n = snprintf(out, len, "%ldC", count);
	else
		n = snprintf(out, len, "%ldS", bytes);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
maildir_quota_root(const char *dir, char *out, size_t len)
{
	size_t n = strlen(dir);
	const char *base;
	char p[MDQ_PATH];
	int k;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= len)
		return -1;
	memcpy(out, dir, n);
	out[n] = 0;
	base = strrchr(out, '/');
	base = base ? base + 1 : out;
	/* only a Maildir++ folder (".Name") has a parent that counts */
	if (base[0] != '.' || base == out)
		return 0;
	k = snprintf(p, sizeof(p), "%s/maildirfolder", out);
	if (k < 0 || (size_t)k >= sizeof(p) || access(p, F_OK) != 0)
		return 0;
	out[base - out - 1] = 0;
	if (out[0] == 0)
		snprintf(out, len, "/");
	return 0;
}

/* add_file - one message of v bytes to the walk's sums */
static void
add_file(struct maildir_quota *q, long long v)
{
	q->bytes = v > MDQ_SUM_MAX - q->bytes ? MDQ_SUM_MAX : q->bytes + v;
	q->count++;
}

/* sum_dir - the messages in one new/ or cur/: ",S=" sizes, else the
 * file's size; a missing directory holds none.  -1 on error. */
static int
sum_dir(const char *path, struct maildir_quota *q, struct timespec *latest)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (stat(path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (st.st_mtim.tv_sec > latest->tv_sec ||
	    (st.st_mtim.tv_sec == latest->tv_sec &&
	     st.st_mtim.tv_nsec > latest->tv_nsec))
		*latest = st.st_mtim;
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *sz = strstr(de->d_name, ",S=");
		long long v;
		if (de->d_name[0] == '.')
			continue;
		if (sz != NULL &&
		    (sz += 3, parse_num(&sz, 0, MDQ_NUM_MAX, &v) == 0) &&
		    (*sz == 0 || *sz == ':' || *sz == ',')) {
			add_file(q, v);
		} else if (fstatat(dirfd(d), de->d_name, &st, 0) == 0) {
			add_file(q, st.st_size);
		} /* else a reader removed it meanwhile */
		errno = 0;
	}
	int e = errno;
	closedir(d);
	errno = e;
	return e == 0 ? 0 : -1;
}

/* changed_since - whether path's mtime is after t */
static int
changed_since(const char *path, const struct timespec *t)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno != ENOENT && errno != ENOTDIR;
	return st.st_mtim.tv_sec > t->tv_sec ||
	       (st.st_mtim.tv_sec == t->tv_sec &&
		st.st_mtim.tv_nsec > t->tv_nsec);
}

/* each_dir - fn on new/ and cur/ of root and of each ".Folder" under
 * it; stops at the first fn that does not return 0 */
static int
each_dir(const char *root, int (*fn)(const char *, void *), void *arg)
{
	static const char *subs[] = {"new", "cur"};
	char p[MDQ_PATH + 600];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	for (int i = 0; i < 2 && rc == 0; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, subs[i]);
		rc = fn(p, arg);
	}
	if (rc != 0 || (d = opendir(root)) == NULL)
		return rc != 0 ? rc : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] != '.' || n[1] == 0 || (n[1] == '.' && n[2] == 0))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue; /* DT_UNKNOWN: sum_dir finds ENOTDIR */
		for (int i = 0; i < 2 && rc == 0; i++) {
			snprintf(p, sizeof(p), "%s/%s/%s", root, n, subs[i]);
			rc = fn(p, arg);
		}
	}
	closedir(d);
	return rc;
}

struct walk {
	struct maildir_quota *q;
	struct timespec latest;
};

static int
walk_sum(const char *path, void *arg)
{
	struct walk *w = arg;

	return sum_dir(path, w->q, &w->latest);
}

static int
walk_changed(const char *path, void *arg)
{
	struct walk *w = arg;

	return changed_since(path, &w->latest);
}

/* write_file - maildirsize made from q: written in tmp/, renamed over
 * the old one; -1 (errno set) when that failed */
static int
write_file(const char *root, const char *file, const struct maildir_quota *q)
{
	char def[64], text[200], tmp[MDQ_PATH + 96];
	struct timeval tv;
	int fd, n, e;

	if (maildir_quota_definition(def, sizeof(def), cfg.mailbox_quota,
				     cfg.mailbox_quota_count) != 0)
		return -1;
	n = snprintf(text, sizeof(text), "%s\n%lld %lld\n", def, q->bytes,
		     q->count);
	gettimeofday(&tv, NULL);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.M%ldP%d.maildirsize", root,
		 (long)tv.tv_sec, (long)tv.tv_usec, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, text, (size_t)n) != 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, file) != 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int
maildir_quota_recalc(const char *root, struct maildir_quota *q)
{
	struct walk w = {q, {0, 0}};
	char file[MDQ_PATH];

	memset(q, 0, sizeof(*q));
	q->limit_bytes = cfg.mailbox_quota;
	q->limit_count = cfg.mailbox_quota_count;
	if (each_dir(root, walk_sum, &w) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s/maildirsize", root);
	if (write_file(root, file, q) != 0) {
		log_warn("maildir quota: cannot write %s: %m (the next "
			 "delivery counts again)",
			 file);
		return 0;
	}
	q->lines = 1;
	/* a message moved in or out during the walk may be missing from
	 * the sums or counted twice: let the next delivery count again */
	if (each_dir(root, walk_changed, &w) != 0 && unlink(file) != 0 &&
	    errno != ENOENT)
		log_warn("maildir quota: unlink %s: %m", file);
	return 0;
}

/* read_file - maildirsize's sums when they can be used: 1 usable, 0 to
 * be made again */
static int
read_file(const char *file, struct maildir_quota *q)
{
	char buf[MDQ_FILE_MAX];
	struct stat st;
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warn("maildir quota: open %s: %m", file);
		return 0;
	}
	while (len < sizeof(buf) &&
	       (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (len < sizeof(buf) && n < 0)
		log_warn("maildir quota: read %s: %m", file);
	int ok = len < sizeof(buf) && n == 0 && fstat(fd, &st) == 0 &&
		 st.st_mtime >= time(NULL) - MDQ_STALE_SECS &&
		 maildir_quota_parse(buf, len, q) == 0 &&
		 q->limit_bytes == cfg.mailbox_quota &&
		 q->limit_count == cfg.mailbox_quota_count;
	if (close(fd) != 0)
		log_warn("maildir quota: close %s: %m", file);
	return ok;
}

/* over - whether size more bytes and one more message pass q */
static int
over(const struct maildir_quota *q, long long size, long long pend_bytes,
     long long pend_count)
{
	return (q->limit_bytes > 0 &&
		q->bytes + pend_bytes + size > q->limit_bytes) ||
	       (q->limit_count > 0 &&
		q->count + pend_count + 1 > q->limit_count);
}

int
maildir_quota_check(const char *dir, long long size, long long pend_bytes,
		    long long pend_count, struct result *r)
{
	char root[MDQ_PATH], file[MDQ_PATH + 32];
	struct maildir_quota q;
	int fresh = 0;

	if (maildir_quota_root(dir, root, sizeof(root)) != 0) {
		result_set(r, 5, "5.3.5", "mailbox path too long");
		return -1;
	}
	snprintf(file, sizeof(file), "%s/maildirsize", root);
	if (!read_file(file, &q)) {
		if (maildir_quota_recalc(root, &q) != 0)
			goto walk_failed;
		fresh = 1;
	}
	/* sums from many appends may have drifted: count before refusing */
	if (over(&q, size, pend_bytes, pend_count) && !fresh && q.lines > 1 &&
	    maildir_quota_recalc(root, &q) != 0)
		goto walk_failed;
	if (!over(&q, size, pend_bytes, pend_count))
		return 0;
	int bounce = cfg.mailbox_quota_bounce != 0;
	if (q.limit_bytes > 0 && q.bytes + pend_bytes + size > q.limit_bytes)
		result_set(r, bounce ? 5 : 4, bounce ? "5.2.2" : "4.2.2",
			   "mailbox full: %lld bytes used, quota %lld",
			   q.bytes + pend_bytes, q.limit_bytes);
	else
		result_set(r, bounce ? 5 : 4, bounce ? "5.2.2" : "4.2.2",
			   "mailbox full: %lld messages, quota %lld messages",
			   q.count + pend_count, q.limit_count);
	return 1;
walk_failed:
	result_set(r, 4, "4.2.0", "maildir delivery failed: read %s: %s", root,
		   strerror(errno));
	return -1;
}

void
maildir_quota_add(const char *dir, long long size)
{
	char root[MDQ_PATH], file[MDQ_PATH + 32], line[48];
	int fd, n;

	if (maildir_quota_root(dir, root, sizeof(root)) != 0)
		return;
	snprintf(file, sizeof(file), "%s/maildirsize", root);
	/* never created here: a missing file is made by the next check */
	if ((fd = open(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) <
	    0) {
		if (errno != ENOENT)
			log_warn("maildir quota: open %s: %m", file);
		return;
	}
	n = snprintf(line, sizeof(line), "%lld 1\n", size);
	/* one write: O_APPEND keeps concurrent lines whole */
	if (write(fd, line, (size_t)n) != n)
		log_warn("maildir quota: append to %s: %m", file);
	if (close(fd) != 0)
		log_warn("maildir quota: close %s: %m", file);
}
