/*
 * auth_limit.c - growing delays after failed AUTH attempts (see
 * auth_limit.h).
 *
 * Trusts: nothing in the names (they come from clients); they are cut to
 * AUTH_LIMIT_KEY.  Never: grows past its capacity; overflows a delay.
 */
#include "auth_limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
auth_limit_init(struct auth_limit *l, size_t cap, long base, long max,
		long forget)
{
	memset(l, 0, sizeof(*l));
	if (cap == 0 || (l->e = calloc(cap, sizeof(*l->e))) == NULL)
		return -1;
	l->cap = cap;
	l->base = base;
	l->max = max;
	l->forget = forget;
	return 0;
}

void
auth_limit_free(struct auth_limit *l)
{
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static void
make_key(char *key, const char *kind, const char *name)
{
	snprintf(key, AUTH_LIMIT_KEY, "%s:%s", kind, name);
}

/* find - the entry of key, forgetting it when its last failure is old */
static struct auth_limit_entry *
find(struct auth_limit *l, const char *key, time_t now)
{
	for (size_t i = 0; i < l->n; i++) {
		struct auth_limit_entry *e = &l->e[i];
		if (strcmp(e->key, key) != 0)
			continue;
		if (now - e->last >= l->forget) {
			l->e[i] = l->e[--l->n];
			return NULL;
		}
		return e;
	}
	return NULL;
}

long
auth_limit_backoff(long base, long max, unsigned failures)
{
	long d = base;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && d < max; i++)
		d *= 2;
	return d > max ? max : d;
}

static long
delay_of(const struct auth_limit *l, const struct auth_limit_entry *e)
{
	return e == NULL ? 0 : auth_limit_backoff(l->base, l->max, e->failures);
}

long
auth_limit_delay(struct auth_limit *l, const char *client,
		 const char *account, time_t now)
{
	char key[AUTH_LIMIT_KEY];
	long d = 0, a;

	if (client) {
		make_key(key, "c", client);
		d = delay_of(l, find(l, key, now));
	}
	if (account) {
		make_key(key, "a", account);
		a = delay_of(l, find(l, key, now));
		d = a > d ? a : d;
	}
	return d;
}

unsigned
auth_limit_failures(struct auth_limit *l, const char *client, time_t now)
{
	char key[AUTH_LIMIT_KEY];
	const struct auth_limit_entry *e;

	make_key(key, "c", client);
	e = find(l, key, now);
	return e ? e->failures : 0;
}

/* slot - the entry for key, made (evicting the one whose last failure
 * came first: by order, not by the clock, which a step back or a run of
 * failures within one second would make ambiguous) when missing */
static struct auth_limit_entry *
slot(struct auth_limit *l, const char *key, time_t now)
{
	struct auth_limit_entry *e = find(l, key, now);

	if (e != NULL)
		return e;
	if (l->n < l->cap)
		e = &l->e[l->n++];
	else {
		e = &l->e[0];
		for (size_t i = 1; i < l->n; i++)
			if (l->e[i].seq < e->seq)
				e = &l->e[i];
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	return e;
}

void
auth_limit_fail(struct auth_limit *l, const char *client,
		const char *account, time_t now)
{
	char key[AUTH_LIMIT_KEY];
	struct auth_limit_entry *e;

	if (client) {
		make_key(key, "c", client);
		e = slot(l, key, now);
		if (e->failures < AUTH_LIMIT_FAILURES_MAX)
			e->failures++;
		e->last = now;
		e->seq = ++l->seq;
	}
	if (account) {
		make_key(key, "a", account);
		e = slot(l, key, now);
		if (e->failures < AUTH_LIMIT_FAILURES_MAX)
			e->failures++;
		e->last = now;
		e->seq = ++l->seq;
	}
}

void
auth_limit_success(struct auth_limit *l, const char *account)
{
	char key[AUTH_LIMIT_KEY];

	make_key(key, "a", account);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].key, key) == 0) {
			l->e[i] = l->e[--l->n];
			return;
		}
}
