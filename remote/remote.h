/*
 * remote.h - the parts of remote(8), the SMTP client: reply and EHLO
 * parsing, the connection, routing to MX hosts, the SMTP dialogue.
 */
#ifndef MTA_REMOTE_H
#define MTA_REMOTE_H

#include <stddef.h>

#include "mta_limits.h"
#include "queue_file.h"
#include "tlsa.h"

#define SMTP_REPLY_TEXT 4096 /* bytes of one reply's text we keep */
#define SMTP_REPLY_LINES 100 /* lines in one multi-line reply */
#define SMTP_LINE_MAX 4096   /* longest reply line we accept */
#define REMOTE_MAX_HOSTS 32  /* MX hosts tried per delivery */
#define REMOTE_MAX_ADDRS 16  /* addresses tried per host */
#define REMOTE_CACHE_MAX 16  /* idle SMTP connections kept per process */
#define REMOTE_CACHE_QUIT_S 2 /* wait for 221 when closing a cached one */

struct result {
	int code;     /* 2, 4 or 5 */
	char dsn[16]; /* e.g. "2.0.0" */
	char text[LIM_ERRTEXT];
	char mta[LIM_HOSTNAME]; /* the peer that said it, or "" */
	char relay[LIM_HOSTNAME + 80]; /* host[addr]:port of the session
					  that gave it, or "" (none) */
	int conn_use; /* that connection's messages, this one included */
	/* a 2xx from a peer that offered DSN: NOTIFY went with the RCPT,
	 * so success notices are that peer's to send (RFC 3461 6.2.2.2) */
	int dsn_passed;
};
void remote_result(struct result *r, int code, const char *dsn, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* smtp_reply.c - RFC 5321 4.2 replies, one line at a time */
struct smtp_reply {
	int code; /* 200..599, 0 before the first line */
	int nlines;
	size_t len;
	char text[SMTP_REPLY_TEXT]; /* lines after "NNN-", '\n' between */
};
void smtp_reply_init(struct smtp_reply *r);
/* smtp_reply_line - feed one line without its CRLF: 1 when the reply is
 * complete, 0 when more lines follow, -1 when the line is malformed. */
int smtp_reply_line(struct smtp_reply *r, const char *line, size_t len);
/* smtp_reply_dsn - the enhanced status code the reply starts with
 * (RFC 3463, its class matching the reply's), else "C.0.0". */
void smtp_reply_dsn(const struct smtp_reply *r, char *dsn, size_t len);
/* smtp_reply_flat - "NNN text text" on one line, for logs and bounces. */
void smtp_reply_flat(const struct smtp_reply *r, char *out, size_t len);

/* smtp_auth.c - SMTP AUTH to a peer (RFC 4954): mechanisms, and the
 * credentials of smtp_sasl_password_map */
#define SMTP_AUTH_PLAIN 1u /* RFC 4616 */
#define SMTP_AUTH_LOGIN 2u /* draft-murchison-sasl-login */
#define SMTP_CRED_ID 32	   /* octets of a credentials hash */
#define SMTP_AUTH_B64(n) (4 * (((n) + 2) / 3) + 1) /* base64 of n, NUL */
struct smtp_cred {
	int set; /* found for this host: AUTH when the peer offers it */
	char user[LIM_SASL_FIELD + 1];
	char pass[LIM_SASL_FIELD + 1];
	char key[LIM_MAP_KEY]; /* the map key that matched, for the log */
	unsigned char id[SMTP_CRED_ID]; /* keyed hash of user and password */
};
/* smtp_auth_open - open smtp_sasl_password_map (before the chroot) */
void smtp_auth_open(void);
/* smtp_auth_check - after a request: a map replaced on disk that this
 * process cannot reopen ends it, so master starts one that can */
void smtp_auth_check(void);
/* smtp_cred_parse - a map value "username:password" (the first colon
 * splits; the password may hold more) into c; -1 when a part is empty
 * or longer than LIM_SASL_FIELD, or the whole over LIM_SASL_CRED */
int smtp_cred_parse(const char *value, struct smtp_cred *c);
/* smtp_cred_clear - wipe c (the password above all) */
void smtp_cred_clear(struct smtp_cred *c);
/* smtp_cred_lookup - the credentials for a host: the map's keys route
 * (as configured: relayhost, the transport entry), "[host]:port",
 * "host", then nexthop; the first hit wins.  0 (c->set when found), or
 * -1 with a deferral in r (the map cannot be read, or a bad value). */
int smtp_cred_lookup(const char *route, const char *host, int port,
		     const char *nexthop, struct smtp_cred *c,
		     struct result *r);
/* smtp_auth_pick - the first of the mechanisms named in prefs (as
 * smtp_sasl_mechanisms) that offered has; 0 when none */
unsigned smtp_auth_pick(const char *prefs, unsigned offered);
/* smtp_auth_b64 - n octets as base64 (RFC 4648 4) into out; -1 when out
 * is too small */
int smtp_auth_b64(const void *in, size_t n, char *out, size_t len);
/* smtp_auth_plain - the PLAIN response for c: base64 of NUL user NUL
 * password (RFC 4616 2, no authorization identity); -1 when out is too
 * small */
int smtp_auth_plain(const struct smtp_cred *c, char *out, size_t len);
/* smtp_auth - after EHLO: AUTH with c when set and the peer offers it
 * (x); 0 to go on (authenticated, or nothing to do), -1 this peer fails
 * with the deferral in fail (the session ended with QUIT when it was
 * still in step).  id names the request in the log. */
struct smtp_conn;
struct smtp_ext;
int smtp_auth(struct smtp_conn *c, const struct smtp_ext *x,
	      const struct smtp_cred *cred, const char *id,
	      struct result *fail);

/* smtp_ehlo.c - the extensions an EHLO reply offers */
struct smtp_ext {
	int pipelining, eightbitmime, smtputf8, dsn, starttls, size;
	long long size_limit; /* 0: none given */
	int auth;	      /* AUTH offered (RFC 4954), or the old AUTH= */
	unsigned auth_mechs;  /* SMTP_AUTH_* among its mechanisms */
};
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ext *x);

/* smtp_stuff - LF text to CRLF with dot-stuffing, lines longer than
 * limit octets (0: no limit) broken by inserting CRLF SPACE (RFC 5321
 * 4.5.3.1.6 allows 998 before the CRLF; a peer may refuse longer ones).
 * out holds SMTP_STUFF_OUT(n) bytes; the state carries the line position
 * between calls (start: {.bol = 1, .limit = ...}).  With out NULL it
 * writes nothing and returns the octets RFC 1870 4 counts for SIZE=: the
 * same, less the doubled dots. */
struct smtp_stuff {
	int bol;      /* at the start of a line */
	size_t col;   /* octets of the current line sent, not counting a
			 doubled dot */
	size_t limit; /* smtp_line_length_limit */
};
#define SMTP_STUFF_OUT(n) (5 * (n)) /* each octet: fold + dot or CR */
size_t smtp_stuff(struct smtp_stuff *st, const char *in, size_t n, char *out);

/* smtp_io.c - one connection with deadlines */
struct smtp_conn {
	int fd;
	char host[LIM_HOSTNAME], addr[64];
	int port;
	int tls; /* STARTTLS done: fd is tlsproxy's plaintext end */
	/* kept for reuse (remote_cache.c): what EHLO offered, the TLS
	 * level the connection was made for, messages sent over it */
	struct smtp_ext x;
	int esmtp, level, uses;
	long long expires; /* us: closed when idle this long */
	/* the credentials looked up for it (smtp_auth.c: their hash, all
	 * zero when none): it is reused only where the same ones apply,
	 * and a reused one is never authenticated again */
	unsigned char cred_id[SMTP_CRED_ID];
	char rbuf[8192];
	size_t rpos, rlen;
	char wbuf[65536];
	size_t wlen;
	char err[256]; /* why the last call failed */
};
int smtp_connect(struct smtp_conn *c, const char *host, const char *addr,
		 int port, long timeout_s);
void smtp_close(struct smtp_conn *c);
int smtp_read_reply(struct smtp_conn *c, long timeout_s, struct smtp_reply *r);
int smtp_printf(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtp_write(struct smtp_conn *c, const char *p, size_t n, long timeout_s);
int smtp_flush(struct smtp_conn *c, long timeout_s);

/* remote_route.c - where a nexthop's mail goes */
struct mx_host {
	char name[LIM_DOMAIN + 1];
	int pref;
};
struct route {
	int literal; /* [host]: no MX lookup */
	int port;
	int implicit; /* no MX: the domain itself */
	int secure;   /* the MX answer (or its absence) DNSSEC-validated */
	int n;
	struct mx_host hosts[REMOTE_MAX_HOSTS];
	/* the route as written where it came from (relayhost, the
	 * transport entry, or the nexthop): a smtp_sasl_password_map key */
	char via[LIM_MAP_KEY];
};
/* route_parse_mx - MX records ("PREF HOST") into rt, sorted, equal
 * preferences shuffled; our own name drops itself and worse ones.
 * 0, or -1 with the permanent failure in r (null MX, loop). */
int route_parse_mx(const char *domain, char *const *rr, int n, const char *self,
		   struct route *rt, struct result *r);
/* route_lookup - the hosts for nexthop; -1 with the failure in r. */
int route_lookup(const char *nexthop, struct route *rt, struct result *r);
/* route_addrs - a host's addresses (IPv6 first); -1 with r on failure.
 * *secure: every address answer was DNSSEC-validated. */
int route_addrs(const char *host, int literal, char addrs[][64], int max,
		int *n, int *secure, struct result *r);

/* remote_map.c - transport_maps lookups */
int transport_lookup(const char *domain, char *out, size_t len);
/* remote_map_get - key in the LMDB map at path: 0 and the value, 1
 * absent, -1 error (logged) */
int remote_map_get(const char *path, const char *key, char *out, size_t len);

/* remote_tls.c - outbound TLS policy (RFC 3207, RFC 7672) */
enum tls_level { TLS_NONE, TLS_MAY, TLS_ENCRYPT, TLS_VERIFY, TLS_DANE };
/* tls_level_parse - "none" .. "dane" (case-insensitive); -1 unknown */
int tls_level_parse(const char *s);
const char *tls_level_name(int level);
/* tls_policy_parse - a policy map value: a level and nothing else;
 * -1 with the reason in err */
int tls_policy_parse(const char *value, int *level, char *err,
		     size_t errlen);
/* tls_policy_for - the level for a nexthop: remote_tls_policy_map (the
 * domain, then ".parent" entries), else remote_tls_security_level;
 * -1 with a deferral in r when the map cannot be read or is bad. */
int tls_policy_for(const char *nexthop, int *level, struct result *r);
struct tls_plan {
	int level; /* what this connection requires */
	int ntlsa;
	char *tlsa[TLSA_MAX_RECORDS]; /* usable records, level TLS_DANE */
};
/* tls_plan_host - level for one host: dane becomes may unless the MX
 * and address answers were validated and a validated TLSA RRset with
 * usable records exists (unusable ones only: encrypt); -1 with r when
 * the TLSA lookup failed (RFC 7672 2.2: defer, never downgrade). */
int tls_plan_host(int level, int mx_secure, int addr_secure,
		  const char *host, int port, struct tls_plan *p,
		  struct result *r);
void tls_plan_free(struct tls_plan *p);
/* smtp_starttls - after EHLO (offered: STARTTLS was in it): 0 TLS is on
 * (EHLO again), 1 go on in plaintext (level none, or may and not offered
 * or refused), -1 this peer fails (reason in fail), -2 the handshake
 * failed under may: connect again without TLS. */
int smtp_starttls(struct smtp_conn *c, const struct tls_plan *p,
		  int offered, struct result *fail);

/* remote_smtp.c - one SMTP session */
struct delivery {
	const char *id;
	const struct smtp_cred *cred; /* for the host tried now, or NULL */
	int qfd;
	const struct qf_envelope *e;
	int n;
	const char **rcpt;
	const int *qidx; /* index of each rcpt in e->rcpt, or -1 */
	struct result *res;
	int *done;	  /* RCPT_OPEN, RCPT_FINAL or RCPT_SOFT */
	long long t_conn; /* us: session set up (EHLO done) */
	/* the message as it goes on the wire: read once per request, for
	 * every session that tries it (remote_smtp.c message_scan) */
	int scanned;
	long long wire_size; /* SIZE= (RFC 1870 4) */
	int eight;	     /* it holds 8-bit octets */
	/* its 7-bit MIME copy for a peer without 8BITMIME
	 * (mime_downgrade.c), planned once, when a session first needs it:
	 * 0 not yet, 1 planned, -1 cannot be converted (dg_why says why),
	 * -2 the queue file could not be read */
	int dg;
	long long dg_size; /* the copy's SIZE= */
	char dg_why[160];
	struct mime_dg_plan *dg_plan; /* malloc'd; the request frees it */
};
/* done[i]: no answer yet; the answer is final; or a 4xx from a server
 * that was not the last one to try: res[i] holds it and the recipient is
 * open for the next MX host or address (Postfix does the same), up to
 * smtp_mx_session_limit sessions per request */
enum { RCPT_OPEN = 0, RCPT_FINAL = 1, RCPT_SOFT = 2 };
static inline int
rcpt_open(const struct delivery *d, int i)
{
	return d->done[i] != RCPT_FINAL;
}
/* smtp_session - deliver d's unfinished recipients over c (connected)
 * with TLS as tp says: 0 when the peer took part (results set), -1 to
 * try the next address or host (deferral in fail), -2 to connect to the
 * same address again without TLS (a failed handshake under may).
 * *keep: the connection answered RSET and may be reused (else QUIT was
 * sent, or the connection is gone). */
int smtp_session(struct smtp_conn *c, struct delivery *d,
		 const struct tls_plan *tp, struct result *fail, int *keep);
/* smtp_session_reuse - the same over a cached connection (EHLO and TLS
 * done): 0 as above, -3 when the connection turned out dead before the
 * peer answered MAIL (nothing changed: connect afresh). */
int smtp_session_reuse(struct smtp_conn *c, struct delivery *d, int *keep);
/* smtp_quit - QUIT, its reply awaited up to timeout_s */
void smtp_quit(struct smtp_conn *c, long timeout_s);

/* remote_cache.c - idle connections kept for the next request to the
 * same next hop (host, address, port, TLS level, AUTH credentials) */
/* conn_cache_take - a live cached connection for that hop (cred_id: the
 * hash of its credentials, all zero for none), removed from the cache, or
 * NULL */
struct smtp_conn *conn_cache_take(const char *host, const char *addr,
				  int port, int level,
				  const unsigned char *cred_id);
/* conn_cache_put - keep c (healthy, after RSET) for
 * remote_connection_reuse_time; when REMOTE_CACHE_MAX are kept, the one
 * closest to its end gets QUIT first */
void conn_cache_put(struct smtp_conn *c);
/* conn_cache_wait_ms - ms until the next cached connection expires, -1
 * when none is cached */
int conn_cache_wait_ms(void);
/* conn_cache_expire - QUIT the expired ones (all when all is set) */
void conn_cache_expire(int all);

#endif
