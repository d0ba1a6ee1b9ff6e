/*
 * qmgr_scan.c - bring files into the index: new messages from incoming/,
 * and the reconciliation of incoming/, msg/ and the index at start-up.
 *
 * A file is renamed from incoming/ to msg/ only after its index entry is
 * committed, so after a crash every state is recognisable: a file without
 * an entry is indexed again, an entry without a file is dropped, an entry
 * whose file is still in incoming/ is moved on.
 * What was in delivery when qmgr stopped (an entry marked active, or a
 * file without an entry: a power cut can undo the commit of an entry
 * whose message was then handed out) may have been delivered without
 * qmgr recording it: it is marked MF_UNSURE, so its next request to local says so and local
 * does not write a second copy into a Maildir (qmgr(8), local(8)).
 * Trusts: nothing in a queue file (qf_read_envelope checks it all).
 * Never: delivers an incomplete file (it goes to corrupt/).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "qmgr.h"

#define TMP_MAX_AGE 86400 /* seconds before an orphan .tmp is removed */
#define INCOMPLETE_GRACE 60 /* seconds an unlocked short file may be young */

static int starting; /* in scan_startup(): a file found may have been
		      * handed out before (MF_UNSURE) */

void
msg_path(char *out, size_t len, const char *id)
{
	snprintf(out, len, "msg/%c/%s", queue_id_hash(id), id);
}

static void
to_corrupt(const char *path, const char *id, const char *why)
{
	char dst[64];

	snprintf(dst, sizeof(dst), "corrupt/%s", id);
	log_warn("%s: queue file %s is unusable (%s); moved to corrupt/", id,
		 path, why);
	if (rename(path, dst) != 0)
		log_warn("rename %s %s: %m", path, dst);
}

/*
 * incomplete - a file that ends early.  cleanup holds a lock on a file
 * until it is complete, so a short file nobody locks was left by a
 * writer that died before it answered 250: nobody was promised its
 * delivery.  It is removed once it is INCOMPLETE_GRACE old (a writer
 * may not have taken its lock yet when the file is brand new).
 */
static int
incomplete(const char *path, const char *id, const char *why)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	int writing = flock(fd, LOCK_SH | LOCK_NB) != 0;
	int young = fstat(fd, &st) != 0 ||
		    st.st_mtime > time(NULL) - INCOMPLETE_GRACE;
	if (close(fd) != 0)
		log_warn("close %s: %m", path);
	if (writing || young || strncmp(path, "incoming/", 9) != 0)
		return -1;
	log_info("%s: removing abandoned incomplete %s (%s)", id, path, why);
	if (unlink(path) != 0)
		log_warn("unlink %s: %m", path);
	return -1;
}

/* index_file - read a queue file's envelope and queue index entries. */
static int
index_file(const char *path, const char *id)
{
	struct qf_envelope e;
	char err[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_warn("%s: open %s: %m", id, path);
		return -1;
	}
	int rc = qf_read_envelope(fd, &e, err, sizeof(err));
	if (rc != 0 || strcmp(e.id, id) != 0) {
		if (close(fd) != 0)
			log_warn("close %s: %m", path);
		qf_envelope_free(&e);
		if (rc == QF_INCOMPLETE)
			return incomplete(path, id, err);
		to_corrupt(path, id, rc != 0 ? err : "ID does not match name");
		return -1;
	}
	/* straight into delivery when there is room (indexed as active,
	 * next_try 0); else due now in the schedule */
	index_add_message(&e, 0);
	if (active_adopt(id, fd, &e, starting) == 0)
		return 0;
	index_set_next_try(id, &e, (long long)time(NULL), 0,
			   starting ? MF_UNSURE : 0);
	if (close(fd) != 0)
		log_warn("close %s: %m", path);
	qf_envelope_free(&e);
	return 0;
}

static int
is_indexed(const char *id)
{
	MDB_txn *txn;
	struct msg_rec r;
	int rc;

	if (db_begin(&qdb, 1, &txn) != 0)
		log_fatal("queue index: cannot begin a read transaction");
	rc = index_get_msg(txn, id, &r);
	mdb_txn_abort(txn);
	return rc == 0;
}

/* move_in - incoming/ID to msg/H/ID once its entry is committed. */
static char (*moves)[QUEUE_ID_LEN + 1];
static size_t nmoves, capmoves;

static void
move_later(const char *id)
{
	if (nmoves == capmoves) {
		capmoves = capmoves ? capmoves * 2 : 64;
		moves = realloc(moves, capmoves * sizeof(*moves));
		if (moves == NULL)
			log_fatal("out of memory");
	}
	memcpy(moves[nmoves++], id, QUEUE_ID_LEN + 1);
}

/* scan_moves - after a commit: rename what it made safe to move. */
void
scan_moves(void)
{
	char src[64], dst[64];

	for (size_t i = 0; i < nmoves; i++) {
		snprintf(src, sizeof(src), "incoming/%s", moves[i]);
		msg_path(dst, sizeof(dst), moves[i]);
		/* the same file may be queued twice at start-up */
		if (rename(src, dst) != 0 &&
		    !(errno == ENOENT && access(dst, F_OK) == 0))
			log_warn("%s: rename %s %s: %m", moves[i], src, dst);
	}
	nmoves = 0;
}

int
queue_new_file(const char *id)
{
	char path[64];

	snprintf(path, sizeof(path), "incoming/%s", id);
	/* indexed in this batch already (the scan and the notification
	 * both saw it): once is enough */
	for (size_t i = 0; i < nmoves; i++)
		if (strcmp(moves[i], id) == 0)
			return 0;
	if (!is_indexed(id) && index_file(path, id) != 0)
		return -1;
	move_later(id);
	return 0;
}

static int
tmp_is_old(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_mtime < time(NULL) - TMP_MAX_AGE;
}

/* being_written - cleanup still holds the file's lock. */
static int
being_written(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), busy;

	if (fd < 0)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) != 0;
	if (close(fd) != 0)
		log_warn("close %s: %m", path);
	return busy;
}

void
scan_incoming(void)
{
	DIR *d = opendir("incoming");
	struct dirent *de;
	char path[300];

	if (d == NULL) {
		log_warn("opendir incoming: %m");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "incoming/%s", de->d_name);
		if (queue_id_valid(de->d_name)) {
			/* still locked: cleanup has not answered for it yet
			 * (its notification will come) */
			if (!being_written(path))
				queue_new_file(de->d_name);
		} else if (strstr(de->d_name, ".tmp") && tmp_is_old(path)) {
			log_info("removing abandoned %s", path);
			if (unlink(path) != 0)
				log_warn("unlink %s: %m", path);
		}
	}
	closedir(d);
}

/* check_entries - every entry must have a file; active ones become due. */
static void
check_entries(long long now)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	char path[64], in[64], id[QUEUE_ID_LEN + 1];
	int rc;

	if (db_begin(&qdb, 1, &txn) != 0 ||
	    mdb_cursor_open(txn, qdb.dbi[T_MSG], &cur) != 0)
		log_fatal("queue index: cannot read");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct msg_rec r;
		if (k.mv_size != QUEUE_ID_LEN || v.mv_size < sizeof(r))
			continue;
		memcpy(id, k.mv_data, QUEUE_ID_LEN);
		id[QUEUE_ID_LEN] = 0;
		memcpy(&r, v.mv_data, sizeof(r));
		msg_path(path, sizeof(path), id);
		snprintf(in, sizeof(in), "incoming/%s", id);
		if (access(path, F_OK) != 0 && access(in, F_OK) == 0)
			move_later(id);
		else if (access(path, F_OK) != 0) {
			unsigned char dk[QMGR_DUE_KEY_LEN];
			log_info("%s: removed (queue file is gone)", id);
			index_drop_message(id, r.nrcpt);
			due_key(dk, r.next_try, id);
			index_del(T_DUE, dk, sizeof(dk));
			continue;
		}
		if (r.next_try == 0 && (!(r.flags & MF_HOLD) ||
					!(r.flags & MF_UNSURE))) {
			/* active when we stopped: due again now, and its
			 * outcomes not all known (a held one may have
			 * been active too: marked, and waits) */
			struct msg_rec n = r;
			int held = (r.flags & MF_HOLD) != 0;
			n.flags |= MF_UNSURE;
			n.next_try = held ? 0 : now;
			size_t vl = v.mv_size;
			unsigned char *nv = malloc(vl);
			if (nv == NULL)
				log_fatal("out of memory");
			memcpy(nv, v.mv_data, vl);
			memcpy(nv, &n, sizeof(n));
			index_put(T_MSG, id, QUEUE_ID_LEN, nv, vl);
			free(nv);
			if (held)
				continue;
			unsigned char dk[QMGR_DUE_KEY_LEN];
			due_key(dk, now, id);
			index_put(T_DUE, dk, sizeof(dk), "", 0);
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

/* check_files - every file in msg/ must have an entry. */
static void
check_files(void)
{
	static const char letters[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char dir[16], path[300];

	for (const char *l = letters; *l; l++) {
		snprintf(dir, sizeof(dir), "msg/%c", *l);
		DIR *d = opendir(dir);
		struct dirent *de;
		if (d == NULL) {
			log_warn("opendir %s: %m", dir);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (!queue_id_valid(de->d_name) || is_indexed(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			log_info("%s: queue file without index entry; indexing",
				 de->d_name);
			index_file(path, de->d_name);
		}
		closedir(d);
	}
}

void
scan_startup(void)
{
	long long now = (long long)time(NULL), t0 = now_us();
	MDB_txn *txn;
	MDB_stat st;

	starting = 1;
	check_entries(now);
	check_files();
	scan_incoming();
	starting = 0;
	if (index_commit() != 0)
		log_fatal("queue index: start-up commit failed");
	scan_moves();
	if (db_begin(&qdb, 1, &txn) != 0 ||
	    mdb_stat(txn, qdb.dbi[T_MSG], &st) != 0)
		log_fatal("queue index: cannot read");
	mdb_txn_abort(txn);
	log_info("queue reconciled in %.2fs: %zu messages", (double)(now_us() -
		 t0) / 1e6, st.ms_entries);
}
