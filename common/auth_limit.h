/*
 * auth_limit.h - failed SMTP AUTH attempts, per client address and per
 * account, with a delay that doubles with each failure.
 *
 * A bounded table in the memory of one process: when it is full, the
 * entry with the oldest failure makes room.  smtpd runs one process per
 * session, so the table that counts across sessions lives in anvil(8),
 * which smtpd asks (requests auth_check and auth_fail).
 */
#ifndef MTA_AUTH_LIMIT_H
#define MTA_AUTH_LIMIT_H

#include <stddef.h>
#include <time.h>

#define AUTH_LIMIT_KEY 300 /* "a:" or "c:" and an account or address */

struct auth_limit_entry {
	char key[AUTH_LIMIT_KEY];
	unsigned failures;
	time_t last;
	unsigned long long seq; /* order of the last failures, for eviction */
};

struct auth_limit {
	struct auth_limit_entry *e;
	size_t n, cap;
	unsigned long long seq;
	long base, max, forget; /* seconds: first delay, ceiling, memory */
};

#define AUTH_LIMIT_DELAY_MAX 16 /* seconds: the delay doubles up to this */

/* auth_limit_backoff - the delay after the given number of failures:
 * 0 for none, then base * 2^(failures - 1), at most max (anvil's table
 * and smtpd, counting alone when anvil cannot answer, use the one rule) */
long auth_limit_backoff(long base, long max, unsigned failures);

/* auth_limit_init - table of cap entries; 0, or -1 without memory. */
int auth_limit_init(struct auth_limit *l, size_t cap, long base, long max,
		    long forget);
void auth_limit_free(struct auth_limit *l);

/*
 * auth_limit_delay - seconds to wait before answering the next attempt of
 * client (an address) for account (may be NULL before it is known): the
 * larger of the two delays, base * 2^(failures - 1) up to max, 0 when
 * neither failed within the last forget seconds.
 */
long auth_limit_delay(struct auth_limit *l, const char *client,
		      const char *account, time_t now);
/* auth_limit_failures - the client's failures within the last forget
 * seconds (at most AUTH_LIMIT_FAILURES_MAX) */
#define AUTH_LIMIT_FAILURES_MAX 64
unsigned auth_limit_failures(struct auth_limit *l, const char *client,
			     time_t now);
/* auth_limit_fail - count a failed attempt for both. */
void auth_limit_fail(struct auth_limit *l, const char *client,
		     const char *account, time_t now);
/* auth_limit_success - forget the account's failures (not the client's:
 * one good password must not reset a client that guesses others). */
void auth_limit_success(struct auth_limit *l, const char *account);

#endif
