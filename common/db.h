/*
 * db.h - LMDB helpers: open an environment with named tables, grow the
 * map when it is full, follow a map grown by another process.
 */
#ifndef MTA_DB_H
#define MTA_DB_H

#include <lmdb.h>
#include <stddef.h>

#define DB_MAX_TABLES 8

struct db {
	MDB_env *env;
	MDB_dbi dbi[DB_MAX_TABLES];
	int ntables;
	size_t mapsize;
	int readonly;
};

/* db_open flags (the "readonly" argument) */
#define DB_RDONLY 1
/* DB_LAZY_META - one flush per commit instead of two (MDB_NOMETASYNC): a
 * power cut may undo the last commit, never corrupt the file; db_sync
 * makes everything committed so far durable. */
#define DB_LAZY_META 2

/*
 * db_open - open (creating when writable) the environment in dir with the
 * given table names.  Returns 0, or an LMDB/errno code; err gets text.
 */
int db_open(struct db *d, const char *dir, const char *const *tables,
	    int ntables, size_t mapsize, int readonly, char *err,
	    size_t errlen);
void db_close(struct db *d);
/* db_sync - flush what lazy commits left; 0 or an LMDB/errno code. */
int db_sync(struct db *d);
/* db_begin - start a transaction, adopting a map another process grew. */
int db_begin(struct db *d, int readonly, MDB_txn **txn);
/* db_grow - double the map after MDB_MAP_FULL (no transaction open). */
int db_grow(struct db *d);

/* big-endian integers for keys that sort by number */
void db_put_be64(unsigned char *p, unsigned long long v);
unsigned long long db_get_be64(const unsigned char *p);

#endif
