/*
 * mkqueue.c - fill a stopped instance's queue with N deferred messages,
 * for the queue-scale benchmark (tests/bench/queue_scale.py).
 *
 * Usage: mkqueue QUEUE_DIRECTORY N [RCPT_DOMAIN]
 * Writes N small queue files into msg/H/ID (no fsync: a benchmark fixture,
 * not mail) and their index entries as qmgr(8) keeps them for mail that
 * was tried once and deferred: due in a day, one attempt, a last reply.
 * Trusts: its arguments.  Never: runs against a live system (qmgr owns
 * the index while it runs; the caller stops the instance first).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_index.h"

#define BATCH 20000 /* messages per index transaction */

static struct qf_writer w;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
write_file(const char *path, const char *id, const char *rcpt, long now)
{
	static const char body[] = "Subject: queue scale\nFrom: <bench@"
				   "localhost>\n\nA deferred message.\n";
	char t[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		die(path);
	qf_writer_init(&w, fd);
	snprintf(t, sizeof(t), "%ld.000000", now);
	qf_put_str(&w, QF_VERSION_REC, QF_VERSION);
	qf_put_str(&w, QF_ID, id);
	qf_put_str(&w, QF_ARRIVAL, t);
	qf_put_str(&w, QF_SENDER, "bench@localhost");
	qf_put_str(&w, QF_RCPT, rcpt);
	qf_put_str(&w, QF_BODY_TYPE, "7BIT");
	if (qf_begin_message(&w) != 0 || qf_put_data(&w, body, sizeof(body) - 1)
	    != 0 || qf_finish(&w) != 0 || close(fd) != 0)
		die("write queue file");
}

static void
index_put(MDB_txn *txn, struct db *d, const char *id, const char *rcpt,
	  long now)
{
	static const char text[] = "4.4.1 connect to mx.bench.test[192.0.2.1]"
				   ":25: Connection refused";
	struct msg_rec m = {.arrival = now, .next_try = now + 86400,
			    .size = 60, .nrcpt = 1, .attempts = 1,
			    .sender_len = 15};
	struct rcpt_rec r = {.status = RS_DEFERRED, .attempts = 1,
			     .addr_len = (uint32_t)strlen(rcpt),
			     .text_len = sizeof(text) - 1};
	unsigned char v[1024], k[QINDEX_DUE_KEY_LEN];
	MDB_val key, val;

	memcpy(v, &m, sizeof(m));
	memcpy(v + sizeof(m), "bench@localhost", 15);
	key = (MDB_val){QUEUE_ID_LEN, (void *)id};
	val = (MDB_val){sizeof(m) + 15, v};
	if (mdb_put(txn, d->dbi[T_MSG], &key, &val, 0) != 0)
		die("index msg");
	memcpy(v, &r, sizeof(r));
	memcpy(v + sizeof(r), rcpt, r.addr_len);
	memcpy(v + sizeof(r) + r.addr_len, text, r.text_len);
	memcpy(k, id, QUEUE_ID_LEN);
	k[QUEUE_ID_LEN] = '/', k[QUEUE_ID_LEN + 1] = 0, k[QUEUE_ID_LEN + 2] = 0;
	key = (MDB_val){QINDEX_RCPT_KEY_LEN, k};
	val = (MDB_val){sizeof(r) + r.addr_len + r.text_len, v};
	if (mdb_put(txn, d->dbi[T_RCPT], &key, &val, 0) != 0)
		die("index rcpt");
	db_put_be64(k, (unsigned long long)m.next_try);
	memcpy(k + 8, id, QUEUE_ID_LEN);
	key = (MDB_val){QINDEX_DUE_KEY_LEN, k};
	val = (MDB_val){0, ""};
	if (mdb_put(txn, d->dbi[T_DUE], &key, &val, 0) != 0)
		die("index due");
}

int
main(int argc, char **argv)
{
	static const char *const tables[] = QINDEX_TABLES;
	char err[512], path[4200], id[QUEUE_ID_LEN + 1], rcpt[300];
	long n, now = (long)time(NULL);
	struct db d;
	MDB_txn *txn = NULL;

	if (argc < 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: mkqueue QUEUE_DIRECTORY N [DOMAIN]\n");
		return 64;
	}
	if (chdir(argv[1]) != 0)
		die(argv[1]);
	if (db_open(&d, "db", tables, T_COUNT, (size_t)n * 2048 + (64 << 20),
		    0, err, sizeof(err)) != 0) {
		fprintf(stderr, "mkqueue: %s\n", err);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		if (txn == NULL && db_begin(&d, 0, &txn) != 0)
			die("begin");
		queue_id_new(id);
		snprintf(path, sizeof(path), "msg/%c/%s", queue_id_hash(id), id);
		snprintf(rcpt, sizeof(rcpt), "user%ld@%s", i % 1000,
			 argc > 3 ? argv[3] : "bench.test");
		write_file(path, id, rcpt, now);
		index_put(txn, &d, id, rcpt, now);
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (mdb_txn_commit(txn) != 0)
				die("commit");
			txn = NULL;
		}
	}
	db_close(&d);
	return 0;
}
