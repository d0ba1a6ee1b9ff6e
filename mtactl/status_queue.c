/*
 * status_queue.c - the queue counts by state for "mtactl status": active
 * and deferred messages from the LMDB index (read-only), and the files
 * waiting in incoming/, maildrop/ and corrupt/.
 * Trusts: the index for record sizes only.  Never: writes anything.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "db.h"
#include "mtactl.h"
#include "queue_index.h"

/* count_files - entries of a queue subdirectory (not dot files); -1 when
 * it cannot be read (e.g. not the queue owner). */
static long
count_files(const char *sub)
{
	char path[4300];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "%s/%s", cfg.queue_directory, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* count_index - active (being delivered) and deferred messages. */
static int
count_index(long *active, long *deferred)
{
	static const char *const tables[] = QINDEX_TABLES;
	char dir[4200], file[4300], err[512];
	struct db d;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct stat st;

	*active = *deferred = 0;
	snprintf(dir, sizeof(dir), "%s/db", cfg.queue_directory);
	snprintf(file, sizeof(file), "%s/data.mdb", dir);
	if (stat(file, &st) != 0)
		return 0; /* no index yet: empty */
	if (db_open(&d, dir, tables, T_COUNT, (size_t)cfg.lmdb_map_size, 1, err,
		    sizeof(err)) != 0)
		return -1;
	if (db_begin(&d, 1, &txn) != 0 ||
	    mdb_cursor_open(txn, d.dbi[T_MSG], &cur) != 0) {
		db_close(&d);
		return -1;
	}
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct msg_rec r;
		if (v.mv_size < sizeof(r))
			continue;
		memcpy(&r, v.mv_data, sizeof(r));
		if (r.next_try == 0)
			(*active)++;
		else
			(*deferred)++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	db_close(&d);
	return 0;
}

/* the counts by state; -1 where unknown */
struct queue_counts {
	long active, deferred, incoming, maildrop, corrupt;
};

static void
queue_counts(struct queue_counts *q)
{
	if (count_index(&q->active, &q->deferred) != 0)
		q->active = q->deferred = -1;
	q->incoming = count_files("incoming");
	q->maildrop = count_files("maildrop");
	q->corrupt = count_files("corrupt");
}

static void
print_count(const char *name, long n)
{
	if (n < 0)
		printf(" %s=?", name);
	else
		printf(" %s=%ld", name, n);
}

void
status_queue(void)
{
	struct queue_counts q;

	queue_counts(&q);
	printf("queue:");
	print_count("active", q.active);
	print_count("deferred", q.deferred);
	print_count("incoming", q.incoming);
	print_count("maildrop", q.maildrop);
	print_count("corrupt", q.corrupt);
	printf("\n");
}

/* json_count - "name":n, or null when unknown */
static void
json_count(const char *name, long n, const char *sep)
{
	if (n < 0)
		printf("\"%s\":null%s", name, sep);
	else
		printf("\"%s\":%ld%s", name, n, sep);
}

void
status_queue_json(void)
{
	struct queue_counts q;

	queue_counts(&q);
	printf("{");
	json_count("active", q.active, ",");
	json_count("deferred", q.deferred, ",");
	json_count("incoming", q.incoming, ",");
	json_count("maildrop", q.maildrop, ",");
	json_count("corrupt", q.corrupt, "}");
}
