/*
 * mime_downgrade.h - an 8-bit message made 7-bit MIME for a peer without
 * 8BITMIME (RFC 6152 3): leaf parts quoted-printable (RFC 2045 6.7),
 * multipart and message/rfc822 walked.  See mime_downgrade.c.
 */
#ifndef MTA_MIME_DOWNGRADE_H
#define MTA_MIME_DOWNGRADE_H

#include <stddef.h>

#include "mta_limits.h"

/*
 * What the first pass found, for the second: two bits per part, parts
 * numbered in the order their headers come (the message's own header
 * is part 0): "encode this leaf quoted-printable" and "relabel this
 * multipart or message 7bit" (it was labelled 8bit or binary).
 */
struct mime_dg_plan {
	unsigned char bits[LIM_MIME_PARTS / 4];
	long nconv; /* leaves to encode */
};

/* out - the converted octets (LF line ends, not yet dot-stuffed): 0,
 * or -1 to stop (mime_dg_feed then fails with MIME_DG_EOUT) */
typedef int (*mime_dg_out)(void *ctx, const char *p, size_t n);

enum { MIME_DG_OK, MIME_DG_REFUSE, MIME_DG_EOUT };

#define MIME_DG_PEEK                                                           \
	(LIM_MIME_BOUNDARY + 64) /* a line start held to see                   \
				    whether it is a boundary */
#define MIME_DG_OUTBUF 8192

struct mime_dg_part {
	int kind; /* MIME_LEAF, MIME_MULTI, MIME_MESSAGE */
	int cte;  /* CTE_NONE ... CTE_OTHER */
	char cte_name[32];
	int has_ct, has_cte, has_mv, top, digest, bad_boundary;
	int depth; /* 0: the message's own header */
	long ord;  /* its number in the plan */
	char boundary[LIM_MIME_BOUNDARY + 1];
	size_t blen;
	int has8; /* its body holds 8-bit octets (first pass) */
};

struct mime_dg_bound {
	char b[LIM_MIME_BOUNDARY + 1];
	size_t len;
	int depth;  /* the multipart's; its parts are depth + 1 */
	int digest; /* its parts default to message/rfc822 */
};

struct mime_dg {
	struct mime_dg_plan *plan;
	int emit; /* 0: first pass (the plan); 1: write the converted copy */
	mime_dg_out out;
	void *ctx;
	int err;	 /* MIME_DG_OK, or why it stopped */
	char why[160];	 /* MIME_DG_REFUSE: what cannot be converted */
	int state, body; /* reading a header / a body, and how */
	int reason;	 /* first pass: why 8-bit octets in this body cannot
			    be converted (R_NONE: they can) */
	int bol;
	char peek[MIME_DG_PEEK];
	size_t npeek;
	struct mime_dg_part part; /* whose header or body is being read */
	long nparts;
	/* the logical header being read */
	char hbuf[LIM_MIME_HEADER];
	size_t hlen;
	int hany, hstream, h8, ncte;
	/* quoted-printable: output column, a held space or tab and CR */
	int col;
	char pend[2];
	int npend;
	int nstack;
	struct mime_dg_bound stack[LIM_MIME_NESTING];
	char obuf[MIME_DG_OUTBUF];
	size_t olen;
};

/* mime_dg_init - start a pass: emit 0 fills plan (cleared here), emit 1
 * writes the converted copy through out as plan says. */
void mime_dg_init(struct mime_dg *m, struct mime_dg_plan *plan, int emit,
		  mime_dg_out out, void *ctx);
/* mime_dg_feed - the next n octets of the message (LF line ends, as the
 * queue file keeps it): 0, or -1 with m->err set (and m->why). */
int mime_dg_feed(struct mime_dg *m, const char *in, size_t n);
/* mime_dg_end - the message is over: 0, or -1 as above. */
int mime_dg_end(struct mime_dg *m);

#endif
