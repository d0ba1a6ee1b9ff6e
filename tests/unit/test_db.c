/*
 * test_db.c - unit tests for common/db.c (LMDB helpers).
 *
 * Covers: a fresh environment with two tables and a 1 MB map is written
 * until MDB_MAP_FULL, the batch aborted, the map grown with db_grow and
 * the batch replayed; the data then reads back, also from a read-only
 * reopen; a map grown by another process is adopted by db_begin; the
 * big-endian key helpers round-trip and sort like the numbers.
 * Trusts: LMDB itself; only the temporary directory it makes.
 * Never: opens one environment twice in the same process at once (LMDB
 * forbids it); shares an environment across fork().
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "suites.h"

#define MB (1024 * 1024)
#define VAL 1000 /* bytes per value: well under LMDB's overflow size */

static char tmpdir[256];
static const char *const tables[] = {"a", "b"};

static int
init(void)
{
	return unit_tmpdir(tmpdir, sizeof(tmpdir), "db");
}

static int
cleanup(void)
{
	return unit_rm_rf(tmpdir) == 0 ? 0 : -1;
}

/* envdir - a fresh directory for one environment. */
static const char *
envdir(char *out, size_t len, const char *name)
{
	unit_path(out, len, tmpdir, name);
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		return NULL;
	return out;
}

static void
value_for(unsigned long long i, unsigned char *v)
{
	for (size_t k = 0; k < VAL; k++)
		v[k] = (unsigned char)(i * 31 + k);
}

/* put_batch - records [from, to) into table a, one per key in b. */
static int
put_batch(struct db *d, MDB_txn *txn, unsigned long long from,
	  unsigned long long to)
{
	unsigned char k[8], v[VAL];
	int rc;

	for (unsigned long long i = from; i < to; i++) {
		MDB_val key = {8, k}, val = {VAL, v};
		db_put_be64(k, i);
		value_for(i, v);
		if ((rc = mdb_put(txn, d->dbi[0], &key, &val, 0)) != 0)
			return rc;
		MDB_val small = {1, "b"};
		if ((rc = mdb_put(txn, d->dbi[1], &key, &small, 0)) != 0)
			return rc;
	}
	return 0;
}

/*
 * write_batch - the way callers use db.c: on MDB_MAP_FULL abort, grow,
 * replay the whole batch.  *grew counts the grows.
 */
static int
write_batch(struct db *d, unsigned long long from, unsigned long long to,
	    int *grew)
{
	for (int attempt = 0; attempt < 12; attempt++) {
		MDB_txn *txn;
		int rc = db_begin(d, 0, &txn);
		if (rc != 0)
			return rc;
		rc = put_batch(d, txn, from, to);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc != MDB_MAP_FULL)
			return rc;
		if ((rc = db_grow(d)) != 0)
			return rc;
		(*grew)++;
	}
	return MDB_MAP_FULL;
}

/* check_data - every record of [0, n) is there and right; 0 if so. */
static int
check_data(struct db *d, unsigned long long n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	unsigned char want[VAL];
	unsigned long long i = 0;
	int bad = 0, rc;

	if (db_begin(d, 1, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, d->dbi[0], &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), i++) {
		value_for(i, want);
		if (key.mv_size != 8 || db_get_be64(key.mv_data) != i ||
		    val.mv_size != VAL || memcmp(val.mv_data, want, VAL) != 0)
			bad++;
	}
	mdb_cursor_close(cur);
	MDB_stat st;
	if (mdb_stat(txn, d->dbi[1], &st) != 0 || st.ms_entries != n)
		bad++;
	mdb_txn_abort(txn);
	return bad == 0 && i == n && rc == MDB_NOTFOUND ? 0 : -1;
}

static void
test_grow_and_replay(void)
{
	char dir[512], err[256];
	struct db d;
	int grew = 0;
	const unsigned long long n = 1500; /* 1.5 MB of values */

	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "grow"));
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(d.ntables, 2);
	CU_ASSERT_EQUAL(d.mapsize, MB);
	CU_ASSERT_EQUAL(d.readonly, 0);

	/* the bare fact first: a 1 MB map does fill up */
	MDB_txn *txn;
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 0, &txn), 0);
	CU_ASSERT_EQUAL(put_batch(&d, txn, 0, n), MDB_MAP_FULL);
	mdb_txn_abort(txn);
	/* nothing of the aborted batch is there */
	CU_ASSERT_EQUAL(check_data(&d, 0), 0);

	/* abort, grow, replay */
	CU_ASSERT_EQUAL_FATAL(write_batch(&d, 0, n, &grew), 0);
	CU_ASSERT(grew >= 1);
	CU_ASSERT(d.mapsize >= 2 * MB);
	CU_ASSERT_EQUAL(check_data(&d, n), 0);
	MDB_envinfo info;
	CU_ASSERT_EQUAL(mdb_env_info(d.env, &info), 0);
	CU_ASSERT_EQUAL(info.me_mapsize, d.mapsize);

	/* a second batch on top, growing again as needed */
	CU_ASSERT_EQUAL(write_batch(&d, n, 2 * n, &grew), 0);
	CU_ASSERT_EQUAL(check_data(&d, 2 * n), 0);
	size_t grown = d.mapsize;
	db_close(&d);
	CU_ASSERT_PTR_NULL(d.env);
	db_close(&d); /* twice is harmless */

	/* read-only reopen, asking for the original small map */
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(d.readonly, 1);
	/* LMDB maps at least what the file holds; db.mapsize says so too */
	MDB_stat st;
	CU_ASSERT_EQUAL(mdb_env_info(d.env, &info), 0);
	CU_ASSERT_EQUAL(mdb_env_stat(d.env, &st), 0);
	CU_ASSERT(info.me_mapsize >= (info.me_last_pgno + 1) * st.ms_psize);
	CU_ASSERT_EQUAL(d.mapsize, info.me_mapsize);
	CU_ASSERT(d.mapsize <= grown);
	CU_ASSERT_EQUAL(check_data(&d, 2 * n), 0);
	/* and it refuses to write */
	CU_ASSERT_NOT_EQUAL(db_begin(&d, 0, &txn), 0);
	db_close(&d);

	/* a writable reopen sees it all as well */
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(check_data(&d, 2 * n), 0);
	db_close(&d);
}

/*
 * Another process grows the map and fills it past our size: db_begin
 * adopts the new size, and db.mapsize follows it, so that a later
 * db_grow doubles the real map rather than an old figure.
 */
static void
test_map_grown_elsewhere(void)
{
	char dir[512], err[256];
	struct db d;
	MDB_txn *txn;
	pid_t pid;
	int st, grew = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "shared"));
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(write_batch(&d, 0, 10, &grew), 0);
	CU_ASSERT_EQUAL(grew, 0);

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* the child's own environment: never the parent's handle */
		struct db c;
		char e2[256];
		int g = 0;
		if (db_open(&c, dir, tables, 2, MB, 0, e2, sizeof(e2)) != 0)
			_exit(2);
		int rc = write_batch(&c, 10, 3000, &g);
		_exit(rc == 0 && g > 0 ? 0 : 1);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	CU_ASSERT_FATAL(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* our 1 MB map is now too small for the file: adopt */
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 1, &txn), 0);
	mdb_txn_abort(txn);
	CU_ASSERT_EQUAL(check_data(&d, 3000), 0);
	MDB_envinfo info;
	CU_ASSERT_EQUAL(mdb_env_info(d.env, &info), 0);
	CU_ASSERT(info.me_mapsize > MB);
	CU_ASSERT_EQUAL(d.mapsize, info.me_mapsize);
	if (d.mapsize != info.me_mapsize)
		fprintf(stderr,
			"\nafter db_begin adopted the map: LMDB maps "
			"%zu bytes, db.mapsize says %zu\n",
			info.me_mapsize, d.mapsize);

	/* growing from here makes the map bigger, never smaller */
	size_t before = info.me_mapsize;
	CU_ASSERT_EQUAL(db_grow(&d), 0);
	CU_ASSERT_EQUAL(mdb_env_info(d.env, &info), 0);
	CU_ASSERT(info.me_mapsize > before);
	if (info.me_mapsize <= before)
		fprintf(stderr, "db_grow took the map from %zu to %zu bytes\n",
			before, info.me_mapsize);
	/* and writing more still works */
	CU_ASSERT_EQUAL(write_batch(&d, 3000, 3100, &grew), 0);
	CU_ASSERT_EQUAL(check_data(&d, 3100), 0);
	db_close(&d);
}

/* DB_LAZY_META: commits still land; db_sync flushes; read back. */
static void
test_lazy_meta_and_sync(void)
{
	char dir[512], err[256];
	struct db d;
	MDB_txn *txn;
	MDB_val k = {3, "key"}, v = {5, "value"}, got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "lazy"));
	CU_ASSERT_EQUAL_FATAL(db_open(&d, dir, tables, 2, MB, DB_LAZY_META,
				      err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 0, &txn), 0);
	CU_ASSERT_EQUAL(mdb_put(txn, d.dbi[0], &k, &v, 0), 0);
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	CU_ASSERT_EQUAL(db_sync(&d), 0);
	db_close(&d);
	CU_ASSERT_EQUAL_FATAL(db_open(&d, dir, tables, 2, MB, DB_RDONLY, err,
				      sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 1, &txn), 0);
	CU_ASSERT_EQUAL(mdb_get(txn, d.dbi[0], &k, &got), 0);
	CU_ASSERT(got.mv_size == 5 && memcmp(got.mv_data, "value", 5) == 0);
	mdb_txn_abort(txn);
	db_close(&d);
}

static void
test_open_errors(void)
{
	char dir[512], err[256];
	struct db d;
	static const char *const other[] = {"a", "nosuch"};
	static const char *const nine[] = {"t1", "t2", "t3", "t4", "t5",
					   "t6", "t7", "t8", "t9"};

	/* a directory that does not exist */
	unit_path(dir, sizeof(dir), tmpdir, "missing/env");
	err[0] = 0;
	CU_ASSERT_NOT_EQUAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(d.env);
	CU_ASSERT_EQUAL(strncmp(err, dir, strlen(dir)), 0);

	/* read-only: a table that was never made */
	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "ro"));
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	db_close(&d);
	CU_ASSERT_EQUAL(db_open(&d, dir, other, 2, MB, 1, err, sizeof(err)),
			MDB_NOTFOUND);
	CU_ASSERT_PTR_NULL(d.env);

	/* more tables than DB_MAX_TABLES: refused, nothing overrun */
	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "nine"));
	CU_ASSERT_NOT_EQUAL(
	    db_open(&d, dir, nine, DB_MAX_TABLES + 1, MB, 0, err, sizeof(err)),
	    0);
	CU_ASSERT_PTR_NULL(d.env);
	CU_ASSERT_EQUAL(
	    db_open(&d, dir, nine, DB_MAX_TABLES, MB, 0, err, sizeof(err)), 0);
	db_close(&d);
}

static void
test_be64(void)
{
	static const struct {
		unsigned long long v;
		unsigned char b[8];
	} cases[] = {
	    {0, {0, 0, 0, 0, 0, 0, 0, 0}},
	    {1, {0, 0, 0, 0, 0, 0, 0, 1}},
	    {255, {0, 0, 0, 0, 0, 0, 0, 255}},
	    {256, {0, 0, 0, 0, 0, 0, 1, 0}},
	    {0x0102030405060708ULL, {1, 2, 3, 4, 5, 6, 7, 8}},
	    {0x8000000000000000ULL, {0x80, 0, 0, 0, 0, 0, 0, 0}},
	    {ULLONG_MAX, {255, 255, 255, 255, 255, 255, 255, 255}},
	};
	unsigned char b[8], c[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		db_put_be64(b, cases[i].v);
		CU_ASSERT_EQUAL(memcmp(b, cases[i].b, 8), 0);
		CU_ASSERT_EQUAL(db_get_be64(b), cases[i].v);
	}
	/* byte order is number order, over many pairs */
	unsigned long long x = 88172645463325252ULL;
	int wrong = 0;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned long long p = x, q = x >> (i % 64);
		db_put_be64(b, p);
		db_put_be64(c, q);
		int m = memcmp(b, c, 8);
		if ((p < q && m >= 0) || (p > q && m <= 0) || (p == q && m) ||
		    db_get_be64(b) != p || db_get_be64(c) != q)
			wrong++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
}

/* keys written in a shuffled order come back from LMDB in number order */
static void
test_be64_in_lmdb(void)
{
	char dir[512], err[256];
	struct db d;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val key, val;
	unsigned long long vals[64];
	unsigned char k[8];
	int n = 0, sorted = 1;

	for (int i = 0; i < 64; i++)
		vals[i] = (unsigned long long)((i * 37) % 64) << (i % 48);
	CU_ASSERT_PTR_NOT_NULL_FATAL(envdir(dir, sizeof(dir), "order"));
	CU_ASSERT_EQUAL_FATAL(
	    db_open(&d, dir, tables, 2, MB, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 0, &txn), 0);
	for (int i = 0; i < 64; i++) {
		db_put_be64(k, vals[i]);
		key = (MDB_val){8, k};
		val = (MDB_val){0, ""};
		CU_ASSERT_EQUAL(mdb_put(txn, d.dbi[1], &key, &val, 0), 0);
	}
	CU_ASSERT_EQUAL_FATAL(mdb_txn_commit(txn), 0);
	CU_ASSERT_EQUAL_FATAL(db_begin(&d, 1, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_cursor_open(txn, d.dbi[1], &cur), 0);
	unsigned long long prev = 0;
	while (mdb_cursor_get(cur, &key, &val, n ? MDB_NEXT : MDB_FIRST) == 0) {
		unsigned long long v = db_get_be64(key.mv_data);
		if (n > 0 && v <= prev)
			sorted = 0;
		prev = v;
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	CU_ASSERT(n > 1);
	CU_ASSERT(sorted);
	db_close(&d);
}

CU_ErrorCode
suite_db(void)
{
	CU_pSuite s = CU_add_suite("db", init, cleanup);

	if (s == NULL ||
	    !CU_add_test(s, "map full, grow, replay, reopen read-only",
			 test_grow_and_replay) ||
	    !CU_add_test(s, "map grown by another process",
			 test_map_grown_elsewhere) ||
	    !CU_add_test(s, "open errors", test_open_errors) ||
	    !CU_add_test(s, "lazy meta flush and db_sync",
			 test_lazy_meta_and_sync) ||
	    !CU_add_test(s, "db_put_be64/db_get_be64", test_be64) ||
	    !CU_add_test(s, "big-endian keys sort in LMDB", test_be64_in_lmdb))
		return CU_get_error();
	return CUE_SUCCESS;
}
