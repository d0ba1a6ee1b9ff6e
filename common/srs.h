/*
 * srs.h - Sender Rewriting Scheme for forwarded mail: the envelope sender
 * of a forwarded message becomes an address of ours, so SPF at the next
 * hop passes, and a bounce to it can be traced back and checked.
 *
 *   SRS0=HHHH=TT=domain=local@srs_domain
 *
 * TT: the day (base32, 2 characters, modulo 1024); HHHH: the first 4
 * base32 characters of HMAC-SHA-512/256 (libsodium crypto_auth) over
 * "TT=domain=local" (lower case) with a secret key from srs_secret_file.
 */
#ifndef MTA_SRS_H
#define MTA_SRS_H

#include <stddef.h>

#define SRS_KEY_BYTES 32

/*
 * srs_load_key - read the key file, creating it (random, mode 0600) when
 * it does not exist.  -1 with err on failure.
 */
int srs_load_key(const char *path, unsigned char key[SRS_KEY_BYTES], char *err,
		 size_t errlen);
/* srs_forward - the SRS0 form of sender at day (time / 86400). */
int srs_forward(const unsigned char *key, const char *sender,
		const char *srs_domain, long day, char *out, size_t len);
/*
 * srs_reverse - the original sender of an SRS0 local part, checking the
 * hash and that it is at most max_days old.  -1 when not valid.
 */
int srs_reverse(const unsigned char *key, const char *local, long day,
		long max_days, char *out, size_t len);

#endif
