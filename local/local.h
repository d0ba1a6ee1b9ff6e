/*
 * local.h - shared by the files of local(8).
 */
#ifndef LOCAL_H
#define LOCAL_H

#include <pwd.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "queue_file.h"

/* the outcome of one recipient's delivery */
struct result {
	int code;       /* 2, 4 or 5 */
	char dsn[16];   /* e.g. "2.0.0" */
	char text[LIM_ERRTEXT];
};

/* one destination of a recipient: a Maildir (code 0) or a result */
struct dest {
	int code;
	int mbox;    /* path is an mbox file, not a Maildir */
	int as_user; /* a system user's: deliver as uid/gid */
	int forward; /* addr is remote: resubmit through cleanup */
	int pipe;    /* path is a command for /bin/sh -c */
	int file;    /* a /file or /dir/ target of an alias or .forward */
	int spool;   /* an mbox in mail_spool_directory (root's directory) */
	uid_t uid;
	gid_t gid;
	struct result r;
	char addr[LIM_PATH + 8];
	char path[4096];
};
struct dests {
	struct dest *d;
	int n;
};

/* resolve.c - aliases and maps; -1 with r when the whole recipient
 * fails (loop, limits, map error); out->d is the caller's to free */
int local_resolve(const char *rcpt, struct dests *out, struct result *r);

/* loop.c - 1 when the header has "Delivered-To: rcpt", -1 on error */
int local_seen_before(int qfd, const struct qf_envelope *e, const char *rcpt);

/* deliver_as.c - a Maildir or mbox, as the right user */
void deliver_as(const struct dest *d, int qfd, const struct qf_envelope *e,
		const char *sender, const char *rcpt, struct result *r);

/* forward.c - one new message through cleanup for the dests marked
 * forward (sender rewritten with SRS); sets each one's result */
void forward_submit(const char *id, const char *sender, const char *rcpt,
		    struct dests *ds, int qfd, const struct qf_envelope *e);
/* forward_srs_domain - srs_domain, or myhostname when empty */
const char *forward_srs_domain(void);
/* forward_srs_reverse - the original address of an SRS0 local part */
int forward_srs_reverse(const char *local, char *out, size_t len);
/* forward_load_key - read the SRS key as root (service_before_drop) */
void forward_load_key(void);

/* pipe.c - run a command with the message on its input; in_home: in
 * the home directory of the user it runs as (a .forward's command) */
void pipe_deliver(const char *cmd, int in_home, int qfd,
		  const struct qf_envelope *e, const char *sender,
		  const char *rcpt, struct result *r);

/* mbox.c - file: a /file target (no directories made, "delivered to
 * file" in the text) rather than a mailbox */
void mbox_deliver(const char *path, int file, int qfd,
		  const struct qf_envelope *e, const char *sender,
		  const char *rcpt, struct result *r);

/* targets_strip_comments - blank out the lines that start with '#' */
void targets_strip_comments(char *text);

/* dotforward.c - dotforward_read: pw's ~/.forward (with ext:
 * ~/.forward+ext, recipient_delimiter between) read as pw: 1 its text in
 * buf, 0 none or one not to follow (why says which, for the log), -1
 * cannot tell now (why) */
int dotforward_read(const struct passwd *pw, const char *ext, char *buf,
		    size_t len, char *why, size_t wlen);
/* dotforward_extension - the extension of local part local after delim,
 * lower-cased, in out: 1 when there is one fit for a file name (letters,
 * digits, - _ . =, not starting with '.', no "..", at most
 * LIM_FORWARD_EXT), else 0 */
int dotforward_extension(const char *local, char delim, char *out,
			 size_t len);
/* dotforward_unsafe - why a .forward with status st must not be
 * followed for user, or NULL when it may */
const char *dotforward_unsafe(const struct stat *st, uid_t user);

/* identity.c - local_become: take uid/gid for good, no groups; -1 with r
 * set when that fails or root could be regained */
int local_become(uid_t uid, gid_t gid, struct result *r);

/* mailbox_path.c */
int mailbox_path(const char *rcpt, char *out, size_t len, struct result *r);

/* maildir.c */
void maildir_deliver(const char *dir, int qfd, const struct qf_envelope *e,
		     const char *sender, const char *rcpt, struct result *r);
/* maildir_batch_begin - later deliveries only write their files and
 * leave r at 4.3.0 until maildir_commit() or maildir_advance() makes
 * them durable and sets each r (r must stay in place until then) */
void maildir_batch_begin(void);
/* maildir_owner - the tag of the deliveries written from now on */
void maildir_owner(const void *owner);
/* maildir_tag - the delivery tag of the files written from now on:
 * message id's recipient number idx (no tag when either is invalid);
 * look: qmgr marked it maybe_delivered, so a file with that tag in
 * new/ or cur/ is taken as this delivery (maildir.c) */
void maildir_tag(const char *id, const char *idx, int look);
/* maildir_commit - every pending delivery made durable, r set */
void maildir_commit(void);
/* maildir_advance - each pending delivery moved on as far as it costs
 * no journal commit of local's own, given that changes made before
 * `before` are durable already (maildir.c, pipelining); results set
 * for those done */
void maildir_advance(long long before);
/* maildir_abandon - qmgr went away before the answers: each pending
 * delivery not yet in new/ is dropped (its file in tmp/ removed, r a
 * 4.3.0 deferral), as qmgr delivers it again anyway and finishing it
 * would only make a duplicate; those already in new/ are made durable */
void maildir_abandon(void);
/* maildir_wait_ms - how long until a pending delivery must be moved on
 * whatever it costs (maildir_commit), or -1 when none is pending */
int maildir_wait_ms(void);
/* maildir_set_bounds - the pipeline's bounds in us (unit tests) */
void maildir_set_bounds(long long hold, long long sync_delay);
/* maildir_waits_for - whether a delivery of owner is still pending */
int maildir_waits_for(const void *owner);
/* maildir_child - in a forked delivery process: deliver at once, and
 * leave the parent's batch to the parent */
void maildir_child(void);

/* maildir_tag.c - "X<queue ID>_<recipient number>": make one (-1 when
 * id or idx is invalid), or find the one in a Maildir file name (-1
 * when it has none) */
int maildir_tag_make(char *out, size_t len, const char *id, const char *idx);
int maildir_tag_find(const char *name, char *out, size_t len);

/* maildir_quota.c - Maildir++ quota (the "maildirsize" file) */
struct maildir_quota {
	long long limit_bytes, limit_count; /* its first line; 0: none */
	long long bytes, count;             /* the sums of the other lines */
	int lines;                          /* how many lines were summed */
};
/* maildir_quota_on - mailbox_quota or mailbox_quota_count is set */
int maildir_quota_on(void);
/* maildir_quota_parse - a maildirsize's len bytes into q; -1 when it
 * is broken (no definition, a bad line, negative sums) */
int maildir_quota_parse(const char *buf, size_t len, struct maildir_quota *q);
/* maildir_quota_definition - the first line for these limits, as
 * Dovecot writes it ("1000S", "1000S,10C", "10C"); -1 if it won't fit */
int maildir_quota_definition(char *out, size_t len, long bytes, long count);
/* maildir_quota_root - the Maildir whose maildirsize counts dir: dir,
 * or its parent when dir is a Maildir++ folder; -1 when too long */
int maildir_quota_root(const char *dir, char *out, size_t len);
/* maildir_quota_recalc - q from one walk of root's new/ and cur/ and
 * its folders', maildirsize rewritten; -1 (errno) when the walk failed */
int maildir_quota_recalc(const char *root, struct maildir_quota *q);
/* maildir_quota_check - whether a message of size bytes fits beside
 * what maildirsize says and what this process holds unrenamed (pend):
 * 0 it fits, 1 it does not (r: 4.2.2 or 5.2.2), -1 error (r set) */
int maildir_quota_check(const char *dir, long long size, long long pend_bytes,
			long long pend_count, struct result *r);
/* maildir_quota_add - one delivery of size bytes into dir recorded in
 * its maildirsize (appended; nothing when there is none) */
void maildir_quota_add(const char *dir, long long size);

void result_set(struct result *r, int code, const char *dsn,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
