/*
 * maildir_tag.c - the delivery tag in a Maildir file name: which queued
 * message and which of its recipients the file was delivered for.
 *
 * local(8) puts "X<queue ID>_<recipient number>" at the end of the
 * unique part of each Maildir name (maildir.c), e.g.
 * "1700000000.M123456P789Q4X4VQ2M0C5TJKAB1Z_0.host,S=512".  A request
 * that qmgr marks maybe_delivered (an earlier attempt's outcome is not
 * known) looks for its tag in new/ and cur/ before it writes: a second
 * copy of the same recipient's message is then never made.
 * The tag is unique: a queue ID names one message (15 characters of
 * 0-9 and A-Z without I, L, O, U: never '/', ':', '.' or '_'), and the
 * number is the recipient's fixed place in its queue file.  Its 'X' is
 * the first one in the unique part, as "M<usec>P<pid>Q<count>" before
 * it holds only digits after its letters.
 * Trusts: nothing in a file name (any program may have made it).
 * Never: makes a tag of an ID that is not a queue ID.
 */
#include <string.h>

#include "local.h"
#include "queue_id.h"

#define TAG_IDX_DIGITS 5 /* LIM_QF_RCPTS fits: recipient numbers < 65536 */

/* idx_valid - 1 to TAG_IDX_DIGITS digits, nothing else (n: its length) */
static int
idx_valid(const char *s, size_t n)
{
	return n >= 1 && n <= TAG_IDX_DIGITS &&
	       strspn(s, "0123456789") >= n;
}

/* maildir_tag_make - the tag of recipient number idx (decimal, as qmgr
 * sends it) of message id; -1 when either is not what it should be */
int
maildir_tag_make(char *out, size_t len, const char *id, const char *idx)
{
	size_t n = strlen(idx);

	/* per delivery: no printf (about 500 instructions) */
	if (!queue_id_valid(id) || !idx_valid(idx, n) ||
	    len < 1 + QUEUE_ID_LEN + 1 + n + 1)
		return -1;
	out[0] = 'X';
	memcpy(out + 1, id, QUEUE_ID_LEN);
	out[1 + QUEUE_ID_LEN] = '_';
	memcpy(out + 2 + QUEUE_ID_LEN, idx, n + 1);
	return 0;
}

/* maildir_tag_find - the tag in a Maildir file name (new/ or cur/, with
 * or without its ":2,..." info), or -1 when it has none */
int
maildir_tag_find(const char *name, char *out, size_t len)
{
	const char *u = strchr(name, '.'), *x;
	char id[QUEUE_ID_LEN + 1];
	size_t ulen, tlen;

	if (u == NULL)
		return -1;
	u++;
	ulen = strcspn(u, ".:"); /* the unique part ends at the host */
	if ((x = memchr(u, 'X', ulen)) == NULL)
		return -1;
	tlen = ulen - (size_t)(x - u);
	if (tlen < 1 + QUEUE_ID_LEN + 2 || tlen >= len ||
	    x[1 + QUEUE_ID_LEN] != '_' ||
	    !idx_valid(x + QUEUE_ID_LEN + 2, tlen - QUEUE_ID_LEN - 2))
		return -1;
	memcpy(id, x + 1, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = 0;
	if (!queue_id_valid(id))
		return -1;
	memcpy(out, x, tlen);
	out[tlen] = 0;
	return 0;
}
