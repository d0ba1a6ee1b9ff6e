/*
 * passwd.c - the SMTP AUTH password map (see passwd.h).
 *
 * Trusts: the map's directory and its owner (mtactl passwd, as root);
 * nothing in the user names or passwords a client sends.
 * Never: stores or logs a password; keeps one in memory longer than the
 * call (libsodium wipes its own scratch); tells an unknown user from a
 * wrong password.
 */
#include "passwd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"

static const char *const tables[] = {"passwd"};

int
passwd_user_valid(const char *user)
{
	size_t n = strnlen(user, LIM_SASL_FIELD + 1);

	if (n == 0 || n > LIM_SASL_FIELD)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)user[i];
		if (ch <= ' ' || ch == 0x7f)
			return 0;
	}
	return 1;
}

int
passwd_hash(const char *pw, char out[PASSWD_HASH_MAX])
{
	_Static_assert(PASSWD_HASH_MAX >= crypto_pwhash_STRBYTES,
		       "hash buffer too small");
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, pw, strlen(pw), PASSWD_OPSLIMIT,
				 PASSWD_MEMLIMIT) == 0 ? 0 : -1;
}

/* open_map - open the map; writers create its directory (mode 0700). */
static int
open_map(struct db *d, const char *map, int readonly, char *err,
	 size_t errlen)
{
	if (map == NULL || map[0] == 0) {
		snprintf(err, errlen, "smtpd_passwd_map is not set");
		return PASSWD_TEMP;
	}
	if (!readonly && mkdir(map, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", map, strerror(errno));
		return PASSWD_TEMP;
	}
	if (db_open(d, map, tables, 1, PASSWD_MAPSIZE, readonly, err, errlen))
		return PASSWD_TEMP;
	return PASSWD_OK;
}

/* txn_fail - text for an LMDB error; aborts txn when open. */
static int
txn_fail(MDB_txn *txn, const char *map, int rc, char *err, size_t errlen)
{
	if (txn != NULL)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "%s: %s", map, mdb_strerror(rc));
	return PASSWD_TEMP;
}

/* write_one - put (pw != NULL) or delete user in one transaction; grows
 * the map and retries once when it is full. */
static int
write_one(struct db *d, const char *map, const char *user, const char *hash,
	  char *err, size_t errlen)
{
	for (int tries = 0;; tries++) {
		MDB_txn *txn;
		MDB_val k = {strlen(user), (void *)user};
		MDB_val v = {hash ? strlen(hash) + 1 : 0, (void *)hash};
		int rc = db_begin(d, 0, &txn);

		if (rc != 0)
			return txn_fail(NULL, map, rc, err, errlen);
		rc = hash ? mdb_put(txn, d->dbi[0], &k, &v, 0)
			  : mdb_del(txn, d->dbi[0], &k, NULL);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return PASSWD_NOUSER;
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL && tries == 0 && db_grow(d) == 0)
			continue;
		return rc == 0 ? PASSWD_OK : txn_fail(NULL, map, rc, err, errlen);
	}
}

int
passwd_set(const char *map, const char *user, const char *pw, char *err,
	   size_t errlen)
{
	char hash[PASSWD_HASH_MAX];
	struct db d;
	int rc;

	if (!passwd_user_valid(user)) {
		snprintf(err, errlen, "bad user name (1-255 octets, no space "
			 "or control characters)");
		return PASSWD_BAD;
	}
	if (strlen(pw) == 0 || strlen(pw) > LIM_SASL_FIELD) {
		snprintf(err, errlen, "a password has 1-%d octets",
			 LIM_SASL_FIELD);
		return PASSWD_BAD;
	}
	if (passwd_hash(pw, hash) != 0) {
		snprintf(err, errlen, "crypto_pwhash_str failed (out of memory?)");
		return PASSWD_TEMP;
	}
	if ((rc = open_map(&d, map, 0, err, errlen)) != PASSWD_OK)
		return rc;
	rc = write_one(&d, map, user, hash, err, errlen);
	db_close(&d);
	return rc;
}

int
passwd_del(const char *map, const char *user, char *err, size_t errlen)
{
	struct db d;
	int rc;

	if (!passwd_user_valid(user))
		return PASSWD_NOUSER;
	if ((rc = open_map(&d, map, 0, err, errlen)) != PASSWD_OK)
		return rc;
	rc = write_one(&d, map, user, NULL, err, errlen);
	db_close(&d);
	return rc;
}

int
passwd_list(const char *map, void (*fn)(const char *user, void *arg),
	    void *arg, char *err, size_t errlen)
{
	struct db d;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = open_map(&d, map, 1, err, errlen)) != PASSWD_OK)
		return rc;
	if ((rc = db_begin(&d, 1, &txn)) != 0) {
		db_close(&d);
		return txn_fail(NULL, map, rc, err, errlen);
	}
	if ((rc = mdb_cursor_open(txn, d.dbi[0], &cur)) != 0) {
		rc = txn_fail(txn, map, rc, err, errlen);
		db_close(&d);
		return rc;
	}
	for (MDB_cursor_op op = MDB_FIRST;
	     mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		char user[LIM_SASL_FIELD + 1];
		size_t n = k.mv_size > LIM_SASL_FIELD ? LIM_SASL_FIELD : k.mv_size;
		memcpy(user, k.mv_data, n);
		user[n] = 0;
		fn(user, arg);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	db_close(&d);
	return PASSWD_OK;
}

/* dummy_hash - a fixed hash of the same cost, verified for unknown users
 * so that they take as long as a wrong password. */
static const char *
dummy_hash(void)
{
	static char h[PASSWD_HASH_MAX];

	if (h[0] == 0 && passwd_hash("not a password", h) != 0)
		h[0] = 0;
	return h;
}

int
passwd_verify(const char *map, const char *user, const char *pw, char *err,
	      size_t errlen)
{
	char hash[PASSWD_HASH_MAX] = "";
	struct db d;
	MDB_txn *txn;
	int rc, found = 0;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "sodium_init failed");
		return PASSWD_TEMP;
	}
	if ((rc = open_map(&d, map, 1, err, errlen)) != PASSWD_OK)
		return rc;
	if (passwd_user_valid(user)) {
		MDB_val k = {strlen(user), (void *)user}, v;
		if ((rc = db_begin(&d, 1, &txn)) != 0) {
			db_close(&d);
			return txn_fail(NULL, map, rc, err, errlen);
		}
		rc = mdb_get(txn, d.dbi[0], &k, &v);
		if (rc == 0 && v.mv_size > 1 && v.mv_size <= sizeof(hash) &&
		    ((char *)v.mv_data)[v.mv_size - 1] == 0) {
			memcpy(hash, v.mv_data, v.mv_size);
			found = 1;
		}
		mdb_txn_abort(txn);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			db_close(&d);
			return txn_fail(NULL, map, rc, err, errlen);
		}
	}
	db_close(&d);
	const char *h = found ? hash : dummy_hash();
	rc = crypto_pwhash_str_verify(h, pw, strlen(pw));
	return found && rc == 0 ? PASSWD_OK : PASSWD_BAD;
}
