/*
 * test_mime_downgrade.c - unit tests for remote/mime_downgrade.c, the
 * 8-bit to 7-bit MIME converter: a table of messages, each with the
 * copy it must give or the reason it must be refused, fed whole and one
 * octet at a time (the state machine must not care where reads end).
 *
 * Trusts: nothing; every case is a table row.
 * Never: touches a file or a socket.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../remote/mime_downgrade.h"
#include "suites.h"

struct sink {
	char *buf;
	size_t len, cap;
};

static int
sink_out(void *ctx, const char *p, size_t n)
{
	struct sink *s = ctx;

	if (s->len + n > s->cap)
		return -1;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static struct mime_dg m;
static struct mime_dg_plan plan;

/* pass - one pass over in, chunk octets at a time: 0 or -1 */
static int
pass(const char *in, size_t n, size_t chunk, int emit, struct sink *s)
{
	mime_dg_init(&m, &plan, emit, sink_out, s);
	for (size_t i = 0; i < n; i += chunk)
		if (mime_dg_feed(&m, in + i, n - i < chunk ? n - i : chunk) !=
		    0)
			return -1;
	return mime_dg_end(&m);
}

/* convert - both passes as remote runs them: the copy in s, or -1 with
 * the reason in m.why */
static int
convert(const char *in, size_t n, size_t chunk, struct sink *s)
{
	s->len = 0;
	if (pass(in, n, chunk, 0, s) != 0)
		return -1;
	CU_ASSERT_EQUAL(s->len, 0); /* the first pass writes nothing */
	return pass(in, n, chunk, 1, s);
}

#define L76                                                                    \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaa"
#define QPHDR                                                                  \
	"MIME-Version: 1.0\n"                                                  \
	"Content-Type: text/plain; charset=unknown-8bit\n"                     \
	"Content-Transfer-Encoding: quoted-printable\n"

static const struct {
	const char *name, *in, *out, *why;
} cases[] = {
    {"7-bit message unchanged", "Subject: s\n\nplain\n",
     "Subject: s\n\nplain\n", NULL},
    {"plain text body",
     "Subject: s\n\ncr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
     "e\n",
     "Subject: s\n" QPHDR "\ncr=C3=A8me br=C3=BBl=C3=A9e\n", NULL},
    {"'=' and control octets encoded", "Subject: s\n\na=b\x01\x7f\xe9\n",
     "Subject: s\n" QPHDR "\na=3Db=01=7F=E9\n", NULL},
    {"trailing spaces and tabs", "Subject: s\n\nx\xe9  \ny\t\nz \t \nlast \n",
     "Subject: s\n" QPHDR "\nx=E9 =20\ny=09\nz \t=20\nlast=20\n", NULL},
    {"trailing space at the end without LF", "Subject: s\n\n\xe9 ",
     "Subject: s\n" QPHDR "\n=E9=20", NULL},
    {"a lone '.' line kept (dot-stuffing is SMTP's)",
     "Subject: s\n\n\xe9\n.\n..\n", "Subject: s\n" QPHDR "\n=E9\n.\n..\n",
     NULL},
    {"CRLF a hard break, a bare CR encoded",
     "Subject: s\n\n\xe9 \r\na\rb\r\n\r",
     "Subject: s\n" QPHDR "\n=E9=20\na=0Db\n=0D", NULL},
    {"long line: soft breaks at 76", "Subject: s\n\n\xe9" L76 "bbbb\n",
     "Subject: s\n" QPHDR "\n=E9"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\naaabbbb\n",
     NULL},
    {"an encoded octet never split by a soft break",
     "Subject: s\n\n"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "a"
     "\xe9\xe9\n",
     "Subject: s\n" QPHDR "\n"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "a"
     "=\n=E9=E9\n",
     NULL},
    {"existing CTE 7bit (mislabelled) replaced, MIME-Version kept",
     "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: 7bit\n\n\xc3\xa9\n",
     "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n",
     NULL},
    {"folded CTE 8bit replaced, a second one dropped",
     "Content-Transfer-Encoding:\n 8bit\nX: y\n"
     "Content-Transfer-Encoding: 8bit\n\n\xe9\n",
     "Content-Transfer-Encoding: quoted-printable\nX: y\n"
     "MIME-Version: 1.0\nContent-Type: text/plain; charset=unknown-8bit\n"
     "\n=E9\n",
     NULL},
    {"multipart: the 8-bit part encoded, the 7-bit one kept",
     "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
     "pre\n--b\nContent-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n"
     "--b\nContent-Type: text/plain\n\nascii = ok  \n--b--\npost\n",
     "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
     "pre\n--b\nContent-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9t=C3=A9\n"
     "--b\nContent-Type: text/plain\n\nascii = ok  \n--b--\npost\n",
     NULL},
    {"nested multipart, boundary folded and with white space after it",
     "Content-Type: multipart/mixed;\n\tboundary=out\n\n--out \n"
     "Content-Type: multipart/alternative; boundary=\"in\"\n\n"
     "--in\n\n\xe9\n--in--\n--out--\n",
     "Content-Type: multipart/mixed;\n\tboundary=out\nMIME-Version: 1.0\n"
     "\n--out \nContent-Type: multipart/alternative; boundary=\"in\"\n\n"
     "--in\nContent-Type: text/plain; charset=unknown-8bit\n"
     "Content-Transfer-Encoding: quoted-printable\n\n=E9\n--in--\n"
     "--out--\n",
     NULL},
    {"an outer boundary ends an inner part",
     "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
     "Content-Type: multipart/mixed; boundary=i\n\n--i\n\n\xe9\n"
     "--o\n\nplain\n--o--\n",
     "Content-Type: multipart/mixed; boundary=o\nMIME-Version: 1.0\n\n--o\n"
     "Content-Type: multipart/mixed; boundary=i\n\n--i\n"
     "Content-Type: text/plain; charset=unknown-8bit\n"
     "Content-Transfer-Encoding: quoted-printable\n\n=E9\n"
     "--o\n\nplain\n--o--\n",
     NULL},
    {"message/rfc822 walked into, relabelled 7bit",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
     "Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n"
     "Subject: in\n\nna\xc3\xafve\n--b--\n",
     "Content-Type: multipart/mixed; boundary=b\nMIME-Version: 1.0\n\n--b\n"
     "Content-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n\n"
     "Subject: in\n" QPHDR "\nna=C3=AFve\n--b--\n",
     NULL},
    {"multipart/digest parts are messages",
     "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
     "Subject: one\n\n\xe9\n--d--\n",
     "Content-Type: multipart/digest; boundary=d\nMIME-Version: 1.0\n\n"
     "--d\n\nSubject: one\n" QPHDR "\n=E9\n--d--\n",
     NULL},
    {"base64 part left alone",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
     "Content-Transfer-Encoding: base64\n\naGk=\n--b\n\n\xe9\n--b--\n",
     "Content-Type: multipart/mixed; boundary=b\nMIME-Version: 1.0\n\n--b\n"
     "Content-Transfer-Encoding: base64\n\naGk=\n--b\n"
     "Content-Type: text/plain; charset=unknown-8bit\n"
     "Content-Transfer-Encoding: quoted-printable\n\n=E9\n--b--\n",
     NULL},
    {"8-bit octets in a base64 part refused",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
     "Content-Transfer-Encoding: base64\n\naGk\xe9\n--b--\n",
     NULL, "8-bit octets in a MIME part labelled base64"},
    {"binary refused", "Content-Transfer-Encoding: binary\n\n\xe9\n", NULL,
     "a MIME part is labelled binary"},
    {"8-bit header refused", "Subject: caf\xc3\xa9\n\nbody\xe9\n", NULL,
     "8-bit octets in a header"},
    {"8-bit part header refused",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
     "Content-Type: text/plain; name=\"\xe9\"\n\nx\n--b--\n",
     NULL, "8-bit octets in a header"},
    {"8-bit preamble refused",
     "Content-Type: multipart/mixed; boundary=b\n\n\xe9\n--b\n\nx\n--b--\n",
     NULL, "8-bit octets in a multipart preamble"},
    {"8-bit epilogue refused",
     "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n\xe9\n",
     NULL, "8-bit octets in a multipart epilogue"},
    {"message/partial refused", "Content-Type: message/partial; id=x\n\n\xe9\n",
     NULL, "message/partial"},
};

static void
test_table(void)
{
	static char buf[1 << 16];
	struct sink s = {.buf = buf, .cap = sizeof(buf)};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t chunk = 1; chunk <= 4096; chunk *= 4096) {
			int rc = convert(cases[i].in, strlen(cases[i].in),
					 chunk, &s);
			int ok =
			    cases[i].out
				? rc == 0 && s.len == strlen(cases[i].out) &&
				      memcmp(s.buf, cases[i].out, s.len) == 0
				: rc == -1 && m.err == MIME_DG_REFUSE &&
				      strstr(m.why, cases[i].why) != NULL;
			if (!ok)
				fprintf(stderr,
					"\n%s (chunk %zu): rc %d why "
					"\"%s\" got [%.*s]\n",
					cases[i].name, chunk, rc, m.why,
					(int)s.len, s.buf);
			CU_ASSERT(ok);
		}
	}
}

/* a multipart nested one level deeper than LIM_MIME_NESTING: its 8-bit
 * leaf is not reached, so refused; at the limit it is encoded */
static void
test_nesting_limit(void)
{
	size_t cap = 200 * (LIM_MIME_NESTING + 2);
	char *in = malloc(cap), *out = malloc(4 * cap);
	struct sink s = {.buf = out, .cap = 4 * cap};

	CU_ASSERT_FATAL(in != NULL && out != NULL);
	for (int deep = LIM_MIME_NESTING; deep <= LIM_MIME_NESTING + 1;
	     deep++) {
		size_t n = 0;
		for (int d = 0; d < deep; d++)
			n += (size_t)snprintf(in + n, cap - n,
					      "Content-Type: multipart/mixed; "
					      "boundary=b%d\n\n--b%d\n",
					      d, d);
		n += (size_t)snprintf(in + n, cap - n, "\n\xe9\n");
		int rc = convert(in, n, 4096, &s);
		if (deep == LIM_MIME_NESTING) {
			CU_ASSERT(rc == 0 && s.len > n);
		} else {
			CU_ASSERT(rc == -1 &&
				  strstr(m.why, "nested deeper") != NULL);
		}
	}
	free(in);
	free(out);
}

/* a failing writer stops the second pass with MIME_DG_EOUT */
static void
test_output_error(void)
{
	static const char in[] = "Subject: s\n\n\xe9\n";
	char buf[8];
	struct sink s = {.buf = buf, .cap = sizeof(buf)};

	CU_ASSERT_EQUAL(pass(in, sizeof(in) - 1, 4096, 0, &s), 0);
	CU_ASSERT_EQUAL(pass(in, sizeof(in) - 1, 4096, 1, &s), -1);
	CU_ASSERT_EQUAL(m.err, MIME_DG_EOUT);
}

CU_ErrorCode
suite_mime_downgrade(void)
{
	CU_pSuite s = CU_add_suite("mime_downgrade", NULL, NULL);

	if (s == NULL ||
	    !CU_add_test(s, "messages in, 7-bit copies or refusals out",
			 test_table) ||
	    !CU_add_test(s, "nesting limit", test_nesting_limit) ||
	    !CU_add_test(s, "a failing writer stops it", test_output_error))
		return CU_get_error();
	return CUE_SUCCESS;
}
