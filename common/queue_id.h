/*
 * queue_id.h - queue IDs: short, unique, roughly time-ordered, unguessable.
 *
 * 15 characters from a 32-letter alphabet (digits and upper-case letters
 * without I, L, O, U): 7 for the second, 2 for the 1/1024 second, 6 random
 * (30 bits from libsodium).  Sorting IDs as strings sorts them by arrival.
 */
#ifndef MTA_QUEUE_ID_H
#define MTA_QUEUE_ID_H

#include <stddef.h>

#define QUEUE_ID_LEN 15

/* queue_id_new - write a new ID (QUEUE_ID_LEN chars + NUL) into out. */
void queue_id_new(char out[QUEUE_ID_LEN + 1]);
/* queue_id_valid - whether s is exactly an ID (safe as a file name). */
int queue_id_valid(const char *s);
/* queue_id_hash - the msg/ subdirectory letter for an ID. */
char queue_id_hash(const char *id);

#endif
