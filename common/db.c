/*
 * db.c - LMDB helpers (see db.h).
 *
 * Trusts: the LMDB files in the queue's db/ directory, written only by us.
 * Never: lets a full map fail a write for good: the caller aborts, calls
 * db_grow() and replays its batch.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

int
db_open(struct db *d, const char *dir, const char *const *tables,
	int ntables, size_t mapsize, int readonly, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc;

	unsigned lazy = (readonly & DB_LAZY_META) ? MDB_NOMETASYNC : 0;

	readonly &= DB_RDONLY;
	memset(d, 0, sizeof(*d));
	d->readonly = readonly;
	d->mapsize = mapsize;
	d->ntables = ntables;
	if ((rc = mdb_env_create(&d->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(d->env, DB_MAX_TABLES)) != 0 ||
	    (rc = mdb_env_set_mapsize(d->env, mapsize)) != 0)
		goto fail;
	/* NOTLS: a batch may commit while a read cursor is open */
	rc = mdb_env_open(d->env, dir, MDB_NOTLS | lazy |
			  (readonly ? MDB_RDONLY : 0), 0660);
	if (rc != 0)
		goto fail;
	/* the file may have been grown by a writer before us */
	MDB_envinfo info;
	if (mdb_env_info(d->env, &info) == 0 && info.me_mapsize > d->mapsize)
		d->mapsize = info.me_mapsize;
	if ((rc = mdb_txn_begin(d->env, NULL, readonly ? MDB_RDONLY : 0,
				&txn)) != 0)
		goto fail;
	for (int i = 0; i < ntables; i++) {
		rc = mdb_dbi_open(txn, tables[i], readonly ? 0 : MDB_CREATE,
				  &d->dbi[i]);
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
	if (d->env)
		mdb_env_close(d->env);
	d->env = NULL;
	return rc;
}

int
db_sync(struct db *d)
{
	return mdb_env_sync(d->env, 1);
}

void
db_close(struct db *d)
{
	if (d->env)
		mdb_env_close(d->env);
	d->env = NULL;
}

int
db_begin(struct db *d, int readonly, MDB_txn **txn)
{
	int rc = mdb_txn_begin(d->env, NULL, readonly ? MDB_RDONLY : 0, txn);

	if (rc == MDB_MAP_RESIZED) {
		/* another process grew the map: adopt its size */
		if ((rc = mdb_env_set_mapsize(d->env, 0)) != 0)
			return rc;
		MDB_envinfo info;
		if (mdb_env_info(d->env, &info) == 0)
			d->mapsize = info.me_mapsize;
		rc = mdb_txn_begin(d->env, NULL, readonly ? MDB_RDONLY : 0,
				   txn);
	}
	return rc;
}

int
db_grow(struct db *d)
{
	size_t next = d->mapsize * 2;
	int rc = mdb_env_set_mapsize(d->env, next);

	if (rc == 0) {
		log_info("queue index map grown from %zu to %zu bytes",
			 d->mapsize, next);
		d->mapsize = next;
	}
	return rc;
}

void
db_put_be64(unsigned char *p, unsigned long long v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

unsigned long long
db_get_be64(const unsigned char *p)
{
	unsigned long long v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
