/*
 * map.h - lookup tables (mta-maps(5)): text compiled into a read-only
 * LMDB file that daemons look keys up in.  Used for virtual mailboxes,
 * aliases, and later transport and access maps.
 *
 * Keys are folded to lower case when compiled and when looked up.  An
 * address lookup tries "user+ext@domain", "user@domain", then the
 * catch-all "@domain".
 */
#ifndef MTA_MAP_H
#define MTA_MAP_H

#include <lmdb.h>
#include <stddef.h>
#include <sys/types.h>

/* text syntaxes */
enum map_syntax {
	MAP_SYNTAX_PLAIN,   /* "key value" (makemap) */
	MAP_SYNTAX_ALIASES, /* "name: target, target" with continuations */
};

struct map {
	MDB_env *env;
	MDB_dbi dbi;
	char path[4096]; /* the .lmdb file */
	dev_t dev;
	ino_t ino;
	int stale; /* replaced or missing on disk, and not reopened */
};

/* map_db_path - the compiled file for a text file: "FILE.lmdb". */
int map_db_path(const char *src, char *out, size_t len);
/*
 * map_compile - read src (text) and atomically replace dst with its LMDB
 * form: a temporary file beside dst, fsynced, renamed, directory fsynced.
 * On error, err holds "file:line: message" and dst is untouched.
 * Returns the number of entries, or -1.
 */
long map_compile(const char *src, const char *dst, enum map_syntax syn,
		 char *err, size_t errlen);
/* map_open - open a compiled map read-only; -1 with err on failure. */
int map_open(struct map *m, const char *path, char *err, size_t errlen);
void map_close(struct map *m);
/*
 * map_get - look key up (folded to lower case).  Returns 1 and the value
 * in val, 0 when absent, -1 on error (val holds the reason).  A map
 * replaced on disk since it was opened is reopened first when its path
 * is still reachable (not from inside a chroot).
 */
int map_get(struct map *m, const char *key, char *val, size_t vlen);
/*
 * map_get_addr - address lookup: "local@domain", then without the
 * extension after delim (when delim is not 0), then "@domain".  matched
 * (may be NULL) gets the key that matched.
 */
/* map_stale - the open file was replaced on disk and this process cannot
 * reach the new one (inside a chroot): it should be restarted. */
int map_stale(const struct map *m);
int map_get_addr(struct map *m, const char *local, const char *domain,
		 char delim, char *val, size_t vlen, char *matched,
		 size_t mlen);

#endif
