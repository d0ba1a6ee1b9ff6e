/*
 * tlsa.c - parse DANE TLSA record text and decide which records SMTP may
 * use (tlsa.h, RFC 7672 3.1.3).
 *
 * Trusts: nothing in the text; every field is range-checked and the data
 * is bounded by TLSA_DATA_MAX.
 * Never: calls a record usable that a client must ignore (PKIX-TA/EE,
 * unknown selectors or matching types, digests of the wrong length).
 */
#include "tlsa.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* field - an integer 0..255 at *p followed by white space */
static int
field(const char **p, int *out)
{
	char *end;
	long v;

	while (isspace((unsigned char)**p))
		(*p)++;
	if (!isdigit((unsigned char)**p))
		return -1;
	v = strtol(*p, &end, 10);
	if (v < 0 || v > 255 || !isspace((unsigned char)*end))
		return -1;
	*out = (int)v;
	*p = end;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
tlsa_parse(const char *text, struct tlsa_rec *r, char *err, size_t errlen)
{
	const char *p = text;
	int hi = -1;

	memset(r, 0, sizeof(*r));
	if (field(&p, &r->usage) || field(&p, &r->selector) ||
	    field(&p, &r->mtype)) {
		snprintf(err, errlen,
			 "TLSA record \"%.40s\": expected "
			 "USAGE SELECTOR MTYPE DATA",
			 text);
		return -1;
	}
	for (; *p; p++) {
		if (isspace((unsigned char)*p))
			continue;
		int v = hexval((unsigned char)*p);
		if (v < 0) {
			snprintf(err, errlen,
				 "TLSA record: data is not "
				 "hexadecimal");
			return -1;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (r->len >= sizeof(r->data)) {
			snprintf(err, errlen,
				 "TLSA record: data longer than "
				 "%d bytes",
				 TLSA_DATA_MAX);
			return -1;
		}
		r->data[r->len++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0 || r->len == 0) {
		snprintf(err, errlen, "TLSA record: %s",
			 r->len == 0 && hi < 0 ? "no data"
					       : "odd number of hex digits");
		return -1;
	}
	return 0;
}

int
tlsa_usable(const struct tlsa_rec *r, char *err, size_t errlen)
{
	char tmp[8];
	const char *why = NULL;

	if (err == NULL)
		err = tmp, errlen = sizeof(tmp);
	if (r->usage != TLSA_DANE_TA && r->usage != TLSA_DANE_EE)
		why = "usage is not DANE-TA(2) or DANE-EE(3)";
	else if (r->selector != TLSA_SEL_CERT && r->selector != TLSA_SEL_SPKI)
		why = "unknown selector";
	else if (r->mtype > TLSA_MT_SHA512)
		why = "unknown matching type";
	else if (r->mtype == TLSA_MT_SHA256 && r->len != 32)
		why = "SHA2-256 digest is not 32 bytes";
	else if (r->mtype == TLSA_MT_SHA512 && r->len != 64)
		why = "SHA2-512 digest is not 64 bytes";
	snprintf(err, errlen, "%s", why ? why : "");
	return why == NULL;
}

int
tlsa_count_usable(char *const *texts, int n)
{
	struct tlsa_rec *r = malloc(sizeof(*r));
	char err[128];
	int k = 0;

	if (r == NULL)
		return 0;
	for (int i = 0; i < n; i++)
		if (tlsa_parse(texts[i], r, err, sizeof(err)) == 0 &&
		    tlsa_usable(r, NULL, 0))
			k++;
	free(r);
	return k;
}
