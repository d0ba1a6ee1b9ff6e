/*
 * queue_index.h - the layout of the LMDB queue index (mta-queue(5)),
 * written by qmgr(8) and read by mtactl(8).
 *
 * Tables: msg (queue ID -> struct msg_rec + sender), rcpt (ID '/' be16
 * index -> struct rcpt_rec + address + last status text), due (be64 time +
 * ID -> empty), in host byte order (the index never leaves the machine).
 */
#ifndef MTA_QUEUE_INDEX_H
#define MTA_QUEUE_INDEX_H

#include <stdint.h>

#include "queue_id.h"

#define QINDEX_TABLES {"msg", "rcpt", "due"}
enum { T_MSG, T_RCPT, T_DUE, T_COUNT };

enum rcpt_status { RS_PENDING = 0, RS_SENT = 1, RS_FAILED = 2,
		   RS_DEFERRED = 3 };

/* msg_rec.flags */
#define MF_HOLD 0x1   /* on hold: no due entry until released */
#define MF_WARNED 0x2 /* the delay warning was sent */
#define MF_TRACED 0x4 /* the VERB delivery trace was sent */
#define MF_UNSURE 0x8 /* an attempt's outcome may be unknown: the next
		       * request to local says maybe_delivered (qmgr(8)) */

struct msg_rec {
	int64_t arrival;  /* seconds */
	int64_t next_try; /* seconds; 0 while active or on hold */
	int64_t size;
	uint32_t nrcpt;
	uint32_t attempts;
	uint32_t flags;   /* MF_* */
	uint32_t sender_len;
};

/* rcpt_rec.flags */
#define RF_NOTIFIED 0x1 /* the sender was told of the final status */

struct rcpt_rec {
	uint32_t status; /* enum rcpt_status */
	uint32_t attempts;
	uint32_t flags;  /* RF_* */
	uint32_t addr_len;
	uint32_t text_len;
};

#define QINDEX_RCPT_KEY_LEN (QUEUE_ID_LEN + 3)
#define QINDEX_DUE_KEY_LEN (8 + QUEUE_ID_LEN)

#endif
