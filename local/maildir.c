/*
 * maildir.c - deliver into a Maildir as its authors specified it and
 * Dovecot reads it: write tmp/NAME, fsync, rename to new/NAME, fsync new/.
 *
 * Group commit: between maildir_batch_begin() and maildir_commit() the
 * files of several deliveries are written and their write-out started;
 * maildir_commit() then fsyncs every file, renames each into new/, and
 * fsyncs each distinct new/ once, and only then fills in the results.
 * On a journaling file system the first fsync of a round commits the
 * journal transaction that holds every file of the batch (their blocks
 * were allocated when their write-out started), so the others return
 * without a commit of their own: about two journal commits per batch
 * instead of two per delivery, with each file still fsynced before it
 * appears in new/ and new/ fsynced before anyone hears "delivered".
 * (syncfs() would also do it in one call, but it flushes every dirty
 * page of the whole file system, other mailboxes' and the queue's too,
 * and reports errors for the file system, not the file.)
 *
 * Pipelining: maildir_advance(before) instead of maildir_commit()
 * moves each delivery on only as far as it costs no journal commit of
 * local's own, so that local's durable writes ride on commits made
 * anyway.  `before` is a time by which another process began an fsync
 * that has returned: the arrival of the newest message of the round,
 * which cleanup stamped before it fsynced that message's queue file
 * (qmgr only sends what cleanup made durable).  A change made before
 * then is in a journal transaction already committed when the queue
 * and the Maildir share a file system, so each file written (its
 * write-out completed, land()) before `before` is fsynced then, finding
 * nothing left to commit, and renamed into new/ at once.  The new/
 * directories are fsynced only when the oldest rename waiting for that
 * is MAILDIR_SYNC_DELAY_US old or half the batch waits: on ext4 a
 * directory's fsync always commits the running transaction (directories
 * are journalled-data inodes there: ext4_force_commit), whatever it
 * holds, so it is the one commit of local's own, shared by every rename
 * before it (and it confirms every file written before it as well).
 * Every step is still an explicit fsync, in the same order (file,
 * rename, new/, result), and correctness never depends on the hint: a
 * wrong one only makes a file's fsync commit by itself.  A file that no
 * commit covered within MAILDIR_HOLD_US is made durable at once
 * (maildir_commit(): two commits for all that wait), as when the queue
 * is on another file system.
 *
 * NAME is "SECONDS.MmicrosPpidQcountTAG.HOST,S=SIZE" (the ",S=" part
 * when maildir_size_in_name is set; SIZE is the file's size in bytes).
 * TAG, "X<queue ID>_<recipient number>" (maildir_tag.c), says which
 * recipient of which message the file is for.  A delivery qmgr marked
 * maybe_delivered (its earlier attempt's outcome is unknown: qmgr or
 * local was killed before the answer was recorded) first looks for its
 * TAG in new/, then cur/ (the order a reader moves files in): when a
 * copy is there, it is the earlier attempt's, made durable before its
 * rename (tmp/ never counts: a file there may be half written, and a
 * killed local's leftovers never reached new/), and the delivery
 * succeeds without a second copy.  Unmarked deliveries never look.
 * With mailbox_quota or mailbox_quota_count set, a message that would
 * take the Maildir past either is refused: 4.2.2 (retried, bounced by
 * qmgr's give-up rule) or 5.2.2 (mailbox_quota_bounce = yes); what the
 * Maildir holds comes from its Maildir++ "maildirsize" file, and each
 * file renamed into new/ is appended to it (maildir_quota.c).
 * Trusts: the queue file descriptor from qmgr (already checked).
 * Never: leaves a partial file in new/ (tmp/ is cleaned on failure) or
 * replaces an existing file (RENAME_NOREPLACE).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "local.h"
#include "log.h"

#define MAILDIR_BUF 65536
#define MAILDIR_BATCH_MAX 64 /* files written, not yet committed */
/* pipelining (maildir_advance): a file waits at most this long for a
 * commit that someone else made, a rename for its new/ fsync */
#define MAILDIR_HOLD_US 5000
#define MAILDIR_SYNC_DELAY_US 3000

enum { ST_WRITTEN, ST_SYNCED, ST_RENAMED, ST_DONE };

#define ALL LLONG_MAX /* settle()'s and sync_new()'s "every one" */

/* a delivery written to tmp/, waiting for maildir_commit() */
struct pending {
	int fd;
	int failed;
	int stage;        /* ST_WRITTEN, ST_SYNCED: in tmp/; then new/ */
	int landed;       /* its write-out has completed (land()) */
	long long t_mod;  /* us: its last change: written, landed, renamed */
	const void *owner; /* maildir_owner()'s: who waits for it */
	long long size;   /* counts against the quota before new/ has it */
	struct result *r;
	char dir[4200], newdir[4200]; /* as maildir_deliver made them */
	char tmp[4800], dst[4800];
};

static struct pending *pend[MAILDIR_BATCH_MAX];
static int npend, batching;
static const void *cur_owner; /* the owner of what is written now */
static char cur_tag[64];      /* maildir_tag()'s, "" for none */
static int cur_look;          /* look for cur_tag before writing */
static long long hold_us = MAILDIR_HOLD_US;
static long long sync_delay_us = MAILDIR_SYNC_DELAY_US;

/* pending_use - the bytes and files written for dir, not yet in new/
 * (so not yet in its maildirsize) */
static void
pending_use(const char *dir, long long *bytes, long long *count)
{
	for (int i = 0; i < npend; i++)
		if (pend[i]->stage < ST_RENAMED &&
		    strcmp(pend[i]->dir, dir) == 0) {
			*bytes += pend[i]->size;
			(*count)++;
		}
}

void
result_set(struct result *r, int code, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* io_error - map a write error to a status: full disk is 4.3.1. */
static void
io_error(struct result *r, const char *what, const char *path)
{
	int e = errno;
	const char *dsn = (e == ENOSPC || e == EDQUOT) ? "4.3.1" : "4.2.0";
	result_set(r, 4, dsn, "maildir delivery failed: %s %s: %s", what,
		   path, strerror(e));
}

/* Maildirs this process made sure of (tmp/, new/, cur/), so that a
 * delivery costs no directory lookups of its own; a Maildir removed
 * since then shows as ENOENT at the open or the rename, which makes
 * them again (make_dirs_again) */
#define MAILDIR_KNOWN 32
static char known[MAILDIR_KNOWN][4200];
static unsigned known_next;

static int
is_known(const char *dir)
{
	for (int i = 0; i < MAILDIR_KNOWN; i++)
		if (known[i][0] && strcmp(known[i], dir) == 0)
			return 1;
	return 0;
}

static int
make_dirs(const char *dir, struct result *r)
{
	const char *subs[] = {"tmp", "new", "cur"};
	char p[4200];

	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (mkdir_p(p, 0700) != 0) {
			io_error(r, "create", p);
			return -1;
		}
	}
	if (strlen(dir) < sizeof(known[0]))
		snprintf(known[known_next++ % MAILDIR_KNOWN], sizeof(known[0]),
			 "%s", dir);
	return 0;
}

/* make_dirs_again - after ENOENT on a Maildir taken as known: forget
 * it and make it; 0 when the caller should try once more */
static int
make_dirs_again(const char *dir, struct result *r)
{
	if (errno != ENOENT)
		return -1;
	for (int i = 0; i < MAILDIR_KNOWN; i++)
		if (strcmp(known[i], dir) == 0)
			known[i][0] = 0;
	return make_dirs(dir, r);
}

/* move_new - the rename of a fsynced file into new/, never over an
 * existing one; a new/ removed meanwhile is made again */
static int
move_new(const char *dir, const char *tmp, const char *dst)
{
	struct result ignored;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (make_dirs_again(dir, &ignored) != 0)
		return -1;
	return renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE);
}

/* over_quota - whether size more bytes (and one more message) pass the
 * Maildir++ quota (maildir_quota.c), counting this process's files not
 * yet in new/ as well (sets r) */
static int
over_quota(const char *dir, long long size, struct result *r)
{
	long long bytes = 0, count = 0;

	if (!maildir_quota_on())
		return 0;
	pending_use(dir, &bytes, &count);
	return maildir_quota_check(dir, size, bytes, count, r) != 0;
}

/* host_part - the host name as a Maildir name may hold it: '/' and
 * ':' cannot appear there (the Maildir convention) */
static void
host_part(char *clean, size_t len)
{
	char host[256];
	size_t n = 0;

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = 0;
	for (const char *h = host; *h && n + 5 < len; h++) {
		if (*h == '/')
			n += (size_t)snprintf(clean + n, 5, "\\057");
		else if (*h == ':')
			n += (size_t)snprintf(clean + n, 5, "\\072");
		else
			clean[n++] = *h;
	}
	clean[n] = 0;
}

static void
unique_name(char *out, size_t len, long long size)
{
	static unsigned count;
	static char clean[512]; /* the host name, read once */
	struct timeval tv;

	gettimeofday(&tv, NULL);
	if (clean[0] == 0)
		host_part(clean, sizeof(clean));
	if (cfg.maildir_size_in_name)
		snprintf(out, len, "%ld.M%ldP%dQ%u%s.%s,S=%lld",
			 (long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(),
			 ++count, cur_tag, clean, size);
	else
		snprintf(out, len, "%ld.M%ldP%dQ%u%s.%s", (long)tv.tv_sec,
			 (long)tv.tv_usec, (int)getpid(), ++count, cur_tag,
			 clean);
}

/* tag_in - the name in dir/sub that carries cur_tag, copied to found:
 * 1 found, 0 none, -1 error (errno set) */
static int
tag_in(const char *dir, const char *sub, char *found, size_t len)
{
	char p[4200], tag[sizeof(cur_tag)];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    maildir_tag_find(de->d_name, tag, sizeof(tag)) == 0 &&
		    strcmp(tag, cur_tag) == 0) {
			snprintf(found, len, "%s/%s", sub, de->d_name);
			rc = 1;
		}
	if (rc == 0 && errno != 0)
		rc = -1;
	int e = errno;
	closedir(d);
	errno = e;
	return rc;
}

/* already_there - for a delivery marked maybe_delivered: whether dir
 * holds the earlier attempt's copy (new/ first, then cur/: a reader
 * moving it between the two is still seen); 1 with r set to success
 * once the directory that holds it is fsynced (the local that renamed
 * it may have been killed before its own new/ fsync), 0 when not
 * there, -1 with r set on an error (the delivery waits: writing now
 * could make the duplicate this is for) */
static int
already_there(const char *dir, struct result *r)
{
	static const char *subs[] = {"new", "cur"};
	char found[600], p[4200];

	for (int i = 0; i < 2; i++) {
		int rc = tag_in(dir, subs[i], found, sizeof(found));
		snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
		if (rc < 0) {
			io_error(r, "read", p);
			return -1;
		}
		if (rc == 0)
			continue;
		if (fsync_dir(p) != 0) {
			io_error(r, "fsync", p);
			return -1;
		}
		result_set(r, 2, "2.0.0", "delivered to maildir %s, already "
			   "there as %s", dir, found);
		return 1;
	}
	return 0;
}

/* copy_message - the prepended headers and the queued message. */
static int
copy_message(int out, int qfd, const struct qf_envelope *e, const char *top,
	     size_t toplen)
{
	static char buf[MAILDIR_BUF];
	struct qf_reader rd;
	ssize_t n;

	if (write_all(out, top, toplen) != 0)
		return -1;
	qf_reader_init(&rd, qfd, e);
	while ((n = qf_reader_read(&rd, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, (size_t)n) != 0)
			return -1;
	if (n < 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* defer - keep a written file for maildir_commit(); its write-out
 * starts now, so the commit's first fsync carries it.  -1 when the
 * batch is full (the caller commits this one alone). */
static int
defer(int fd, const char *dir, const char *tmp, const char *dst,
      const char *newdir, long long size, struct result *r)
{
	struct pending *p;

	if (npend >= MAILDIR_BATCH_MAX || (p = malloc(sizeof(*p))) == NULL)
		return -1;
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0) {
		free(p); /* no write-out started: fsync it on its own */
		return -1;
	}
	p->fd = fd;
	p->failed = 0;
	p->stage = ST_WRITTEN;
	p->landed = 0;
	p->t_mod = now_us(); /* after its blocks were allocated */
	p->owner = cur_owner;
	p->size = size;
	p->r = r;
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->newdir, sizeof(p->newdir), "%s", newdir);
	snprintf(p->tmp, sizeof(p->tmp), "%s", tmp);
	snprintf(p->dst, sizeof(p->dst), "%s", dst);
	pend[npend++] = p;
	result_set(r, 4, "4.3.0", "maildir delivery not committed");
	return 0;
}

void
maildir_deliver(const char *dir, int qfd, const struct qf_envelope *e,
		const char *sender, const char *rcpt, struct result *r)
{
	char top[2 * LIM_PATH + 64], name[600], tmp[4800], dst[4800],
		newdir[4200];
	int toplen, fd;

	if (!is_known(dir) && make_dirs(dir, r) != 0)
		return;
	if (cur_look && cur_tag[0] && already_there(dir, r) != 0)
		return;
	toplen = snprintf(top, sizeof(top), "Return-Path: <%s>\nDelivered-To: "
			  "%s\n", sender, rcpt);
	if (over_quota(dir, e->msg_size + toplen, r))
		return;
	unique_name(name, sizeof(name), e->msg_size + toplen);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/new/%s", dir, name);
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && make_dirs_again(dir, r) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		io_error(r, "create", tmp);
		return;
	}
	if (copy_message(fd, qfd, e, top, (size_t)toplen) != 0) {
		io_error(r, "write", tmp);
		close(fd);
		unlink(tmp);
		return;
	}
	if (batching && defer(fd, dir, tmp, dst, newdir,
			      e->msg_size + toplen, r) == 0)
		return;
	if (fsync(fd) != 0) {
		io_error(r, "write", tmp);
		close(fd);
		unlink(tmp);
		return;
	}
	if (close(fd) != 0) {
		io_error(r, "close", tmp);
		unlink(tmp);
		return;
	}
	if (move_new(dir, tmp, dst) != 0) {
		io_error(r, "rename to", dst);
		unlink(tmp);
		return;
	}
	if (maildir_quota_on())
		maildir_quota_add(dir, e->msg_size + toplen);
	if (fsync_dir(newdir) != 0) {
		/* the file is in new/ but may not survive a crash: retry
		 * (a duplicate beats a loss) */
		io_error(r, "fsync", newdir);
		return;
	}
	result_set(r, 2, "2.0.0", "delivered to maildir %s", dir);
}

void
maildir_batch_begin(void)
{
	batching = 1;
}

void
maildir_owner(const void *owner)
{
	cur_owner = owner;
}

void
maildir_tag(const char *id, const char *idx, int look)
{
	if (id == NULL || idx == NULL ||
	    maildir_tag_make(cur_tag, sizeof(cur_tag), id, idx) != 0)
		cur_tag[0] = 0;
	cur_look = look;
}

/* settle - fsync and close each file written before `before` (the
 * first fsync commits the journal for all of them, see the top of this
 * file), then rename the fsynced ones into new/ */
static void
settle(long long before)
{
	long long now;

	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (p->failed || p->stage != ST_WRITTEN || p->t_mod >= before)
			continue;
		if (fsync(p->fd) != 0) {
			io_error(p->r, "write", p->tmp);
			p->failed = 1;
		}
		if (close(p->fd) != 0 && !p->failed) {
			io_error(p->r, "close", p->tmp);
			p->failed = 1;
		}
		p->fd = -1;
		if (p->failed)
			unlink(p->tmp);
		else
			p->stage = ST_SYNCED;
	}
	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (p->failed || p->stage != ST_SYNCED)
			continue;
		/* only a file fsynced above appears in new/ */
		if (move_new(p->dir, p->tmp, p->dst) != 0) {
			io_error(p->r, "rename to", p->dst);
			p->failed = 1;
			unlink(p->tmp);
			continue;
		}
		if (maildir_quota_on())
			maildir_quota_add(p->dir, p->size);
		p->stage = ST_RENAMED;
		p->t_mod = 0; /* below: after the last rename */
	}
	now = now_us();
	for (int i = 0; i < npend; i++)
		if (pend[i]->stage == ST_RENAMED && pend[i]->t_mod == 0)
			pend[i]->t_mod = now;
}

/* sync_new - each distinct new/ with renamed files fsynced once; a
 * failure defers every delivery into it (it may not survive a crash: a
 * duplicate beats a loss) */
static void
sync_new(void)
{
	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (p->failed || p->stage != ST_RENAMED)
			continue;
		int ok = fsync_dir(p->newdir) == 0, e = errno;
		for (int j = i; j < npend; j++) {
			struct pending *q = pend[j];
			if (q->failed || q->stage != ST_RENAMED ||
			    strcmp(q->dir, p->dir) != 0)
				continue;
			q->stage = ST_DONE;
			if (ok)
				continue;
			errno = e;
			io_error(q->r, "fsync", p->newdir);
			q->failed = 1;
		}
	}
}

/* prune - the deliveries done (delivered or failed) leave the batch,
 * their results final */
static void
prune(void)
{
	int k = 0;

	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (!p->failed && p->stage != ST_DONE) {
			pend[k++] = p; /* still to come */
			continue;
		}
		if (!p->failed)
			result_set(p->r, 2, "2.0.0", "delivered to maildir %s",
				   p->dir);
		free(p);
	}
	npend = k;
}

void
maildir_child(void)
{
	npend = 0; /* the parent's: it commits them itself */
	batching = 0;
}

void
maildir_commit(void)
{
	settle(ALL);
	sync_new();
	prune();
	batching = 0;
}

void
maildir_abandon(void)
{
	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (p->failed || p->stage >= ST_RENAMED)
			continue;
		if (p->fd >= 0 && close(p->fd) != 0)
			log_warn("close %s: %m", p->tmp);
		p->fd = -1;
		if (unlink(p->tmp) != 0)
			log_warn("unlink %s: %m", p->tmp);
		p->failed = 1;
		result_set(p->r, 4, "4.3.0",
			   "delivery abandoned: qmgr went away before the "
			   "answer (it delivers again)");
	}
	sync_new();
	prune();
	batching = 0;
}

/* land - wait until the write-out of each file written in this round
 * has completed: ext4 (dioread_nolock, the default) records the
 * file's extents as written only when its I/O completes, in a later
 * journal transaction than the one its allocation went into, so the
 * file's last change is known only after that */
static void
land(void)
{
	struct pending *now_landed[MAILDIR_BATCH_MAX];
	int n = 0;

	for (int i = 0; i < npend; i++) {
		struct pending *p = pend[i];
		if (p->failed || p->stage != ST_WRITTEN || p->landed)
			continue;
		p->landed = 1;
		/* on failure the file keeps its time; its fsync reports */
		if (sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				    SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER) == 0)
			now_landed[n++] = p;
	}
	long long now = now_us();
	for (int i = 0; i < n; i++)
		now_landed[i]->t_mod = now;
}

/* oldest - the earliest t_mod of a pending delivery at stage, or ALL */
static long long
oldest(int stage)
{
	long long t = ALL;

	for (int i = 0; i < npend; i++)
		if (!pend[i]->failed && pend[i]->stage == stage &&
		    pend[i]->t_mod < t)
			t = pend[i]->t_mod;
	return t;
}

void
maildir_advance(long long before)
{
	land();
	if (oldest(ST_WRITTEN) < now_us() - hold_us) {
		maildir_commit(); /* waited long enough for a free commit */
		return;
	}
	/* a new/ fsync on ext4 commits the whole journal: every change
	 * made before it is durable after it */
	if (oldest(ST_RENAMED) < now_us() - sync_delay_us ||
	    npend >= MAILDIR_BATCH_MAX / 2) {
		long long t = now_us();
		sync_new();
		if (t > before)
			before = t;
	}
	settle(before);
	prune();
	batching = 0;
}

int
maildir_wait_ms(void)
{
	long long w = oldest(ST_WRITTEN), r = oldest(ST_RENAMED), now, due;

	if (w == ALL && r == ALL)
		return -1;
	now = now_us();
	due = w != ALL ? w + hold_us : ALL;
	if (r != ALL && r + sync_delay_us < due)
		due = r + sync_delay_us;
	return due <= now ? 0 : (int)((due - now + 999) / 1000);
}

void
maildir_set_bounds(long long hold, long long sync_delay)
{
	hold_us = hold;
	sync_delay_us = sync_delay;
}

int
maildir_waits_for(const void *owner)
{
	for (int i = 0; i < npend; i++)
		if (pend[i]->owner == owner)
			return 1;
	return 0;
}
