/*
 * queue_id.c - make and check queue IDs (see queue_id.h).
 *
 * Trusts: libsodium for randomness (sodium_init() done by the caller or here).
 * Never: returns an ID with a character outside the alphabet.
 */
#include "queue_id.h"

#include <sodium.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
queue_id_new(char out[QUEUE_ID_LEN + 1])
{
	struct timeval tv;
	unsigned long long sec;
	unsigned frac;
	unsigned char rnd[4];
	unsigned long r;
	static int ready;

	if (!ready) {
		if (sodium_init() < 0)
			log_fatal("sodium_init failed");
		ready = 1;
	}
	gettimeofday(&tv, NULL);
	sec = (unsigned long long)tv.tv_sec;
	frac = (unsigned)((unsigned long long)tv.tv_usec * 1024 / 1000000);
	for (int i = 6; i >= 0; i--, sec >>= 5)
		out[i] = alphabet[sec & 31];
	out[7] = alphabet[(frac >> 5) & 31];
	out[8] = alphabet[frac & 31];
	static unsigned long long last_tick;
	static unsigned long last_r;
	unsigned long long tick = (unsigned long long)tv.tv_sec * 1024 + frac;
	randombytes_buf(rnd, sizeof(rnd));
	r = ((unsigned long)rnd[0] << 24 | (unsigned long)rnd[1] << 16 |
	     (unsigned long)rnd[2] << 8 | rnd[3]) & 0x3fffffffUL;
	/* same 1/1024 s as the last ID: step forward by a random 1..4096,
	 * so IDs from this process never repeat and stay hard to guess */
	if (ready == 2 && tick == last_tick)
		r = (last_r + 1 + (r & 0xfff)) & 0x3fffffffUL;
	last_tick = tick;
	last_r = r;
	ready = 2;
	for (int i = 14; i >= 9; i--, r >>= 5)
		out[i] = alphabet[r & 31];
	out[QUEUE_ID_LEN] = 0;
}

int
queue_id_valid(const char *s)
{
	/* a table, not strchr per character: local checks an ID for
	 * each delivery (its Maildir tag) */
	static unsigned char in_alphabet[256];
	static int built;

	if (!built) {
		for (const char *p = alphabet; *p; p++)
			in_alphabet[(unsigned char)*p] = 1;
		built = 1;
	}
	if (s == NULL || strlen(s) != QUEUE_ID_LEN)
		return 0;
	for (int i = 0; i < QUEUE_ID_LEN; i++)
		if (!in_alphabet[(unsigned char)s[i]])
			return 0;
	return 1;
}

char
queue_id_hash(const char *id)
{
	return id[QUEUE_ID_LEN - 1];
}
