/*
 * passwd.h - the SMTP AUTH password map: an LMDB environment (a directory,
 * config key smtpd_passwd_map) with one table "passwd" from user name to
 * an Argon2id hash string made by libsodium's crypto_pwhash_str().
 *
 * Cost of a hash (PASSWD_OPSLIMIT passes over PASSWD_MEMLIMIT bytes) is
 * kept in each hash string, so verification follows the cost a hash was
 * made with and the limits may be raised later without a flag day.
 */
#ifndef MTA_PASSWD_H
#define MTA_PASSWD_H

#include <stddef.h>

#include "mta_limits.h"

#define PASSWD_OPSLIMIT 3                  /* Argon2id passes */
#define PASSWD_MEMLIMIT (64UL * 1024 * 1024) /* bytes per hash */
#define PASSWD_HASH_MAX 128                /* crypto_pwhash_STRBYTES */
#define PASSWD_MAPSIZE (16UL << 20)         /* initial LMDB map */

enum passwd_rc {
	PASSWD_OK = 0,
	PASSWD_BAD = 1,   /* no such user or wrong password: 535 5.7.8 */
	PASSWD_TEMP = -1, /* map missing or unreadable, no memory: 454 4.7.0 */
	PASSWD_NOUSER = 2 /* passwd_del only: nothing to delete */
};

/* passwd_user_valid - 1..255 octets, no controls, space, NUL or DEL. */
int passwd_user_valid(const char *user);

/* passwd_hash - Argon2id hash string of pw into out; 0 or -1 (memory). */
int passwd_hash(const char *pw, char out[PASSWD_HASH_MAX]);

/* passwd_set - add or replace user's hash in the map (made if missing). */
int passwd_set(const char *map, const char *user, const char *pw, char *err,
	       size_t errlen);
/* passwd_del - PASSWD_OK, PASSWD_NOUSER or PASSWD_TEMP. */
int passwd_del(const char *map, const char *user, char *err, size_t errlen);
/* passwd_list - call fn for each user in byte order; PASSWD_OK or _TEMP */
int passwd_list(const char *map, void (*fn)(const char *user, void *arg),
		void *arg, char *err, size_t errlen);

/*
 * passwd_verify - PASSWD_OK when the map holds user and pw matches its
 * hash; PASSWD_BAD for a wrong password or an unknown user (which costs
 * the same work, so timing does not tell which); PASSWD_TEMP when the map
 * cannot be read (err says why).  Opens the map read-only.
 */
int passwd_verify(const char *map, const char *user, const char *pw,
		  char *err, size_t errlen);

#endif
