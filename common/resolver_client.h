/*
 * resolver_client.h - ask resolver(8) for DNS records over its socket.
 *
 * A request is one IPC record {req=query, type, name}; the answer is
 * {status, ad, ttl, text, rr...}: status "ok", "nodata", "nxdomain" or
 * "tempfail"; ad 1 when the nameserver vouched for the data (DNSSEC AD
 * bit); one "rr" per record, as text: MX "PREF HOST", A/AAAA the address,
 * PTR the name, TXT the joined strings, TLSA "USAGE SELECTOR TYPE HEX".
 * Host names come without the final dot; the null MX target is ".".
 * {req=stats} answers {hits, misses, entries}.
 */
#ifndef MTA_RESOLVER_CLIENT_H
#define MTA_RESOLVER_CLIENT_H

#define RESOLVER_SOCKET "private/resolver"
#define RESOLVER_MAX_RR 64 /* records kept per answer */
#define RESOLVER_WAIT_MS 60000

enum dns_status { DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_TEMPFAIL };

struct dns_answer {
	enum dns_status status;
	int ad;
	long ttl;
	int n;
	char *rr[RESOLVER_MAX_RR];
	char why[256]; /* for DNS_TEMPFAIL and the logs */
};

/* resolver_query - look up name/type ("MX", "A", ...); on a broken
 * resolver connection the answer is DNS_TEMPFAIL with the reason. */
void resolver_query(const char *type, const char *name, struct dns_answer *a);
/* resolver_query_wait - the same, waiting at most wait_ms for the answer
 * (a session that must not stall on DNS) */
void resolver_query_wait(const char *type, const char *name, int wait_ms,
			 struct dns_answer *a);
/*
 * resolver_query_all - n queries of one type (n <= RESOLVER_PARALLEL_MAX),
 * each on its own connection, sent at once and read as they come, all
 * within wait_ms in total: in parallel as far as resolver(8) has
 * processes.  One still unanswered then is DNS_TEMPFAIL "no answer".
 */
#define RESOLVER_PARALLEL_MAX 16
void resolver_query_all(const char *type, const char *const *names, int n,
			int wait_ms, struct dns_answer *out);
/* resolver_query_all in two steps, for a caller with other work while
 * the answers come (smtpd greets while its DNSBL queries run):
 * resolver_batch_start sends them (n <= RESOLVER_PARALLEL_MAX), and
 * resolver_batch_finish waits for what is missing until wait_ms after
 * the start (past that, it still takes the answers that came); the
 * answers are then in b->out (dns_answer_free each). */
struct resolver_batch {
	int n;
	long end; /* mono_ms() */
	struct ipc *c[RESOLVER_PARALLEL_MAX];
	struct dns_answer out[RESOLVER_PARALLEL_MAX];
};
void resolver_batch_start(const char *type, const char *const *names, int n,
			  int wait_ms, struct resolver_batch *b);
void resolver_batch_finish(struct resolver_batch *b);
void dns_answer_free(struct dns_answer *a);
/* dns_status_name - "ok", "nodata", "nxdomain", "tempfail" */
const char *dns_status_name(enum dns_status s);
/* dns_status_parse - the inverse; -1 for unknown text */
int dns_status_parse(const char *s);

#endif
