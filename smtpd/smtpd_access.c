/*
 * smtpd_access.c - access control in smtpd(8) ("Access control"): the
 * client access map, asked once at connect; the DNS lists of the
 * client (allow lists, block lists of its address and of its verified
 * name), asked at connect in one resolver batch and answered by the
 * first RCPT (the greeting waits for none of them); the HELO map and
 * the HELO name's block lists (asked at the first RCPT), the sender
 * map and the sender domain's block lists, asked at each RCPT.  Every
 * refusal is given at RCPT, so the log line names the sender and the
 * recipient (Postfix's smtpd_delay_reject).  Clients in mynetworks and
 * authenticated clients are exempt from all of them; a client in an
 * allow list, from the block lists.
 *
 * Trusts: the maps as our own compiled files, but not their values (an
 * unknown one is a configuration error, answered 451 4.3.5); DNS answers
 * only as resolver(8) frames them.
 * Never: accepts on a value it does not understand or a map it cannot
 * read; lets a DNS failure, or an allow list's 127.0.0.255 (dnswl.org's
 * "over quota"), count as a listing; puts text from a map or DNS into a
 * reply or the log without access_clean (a name of a listing is one
 * rhsbl_query_name took, an answer one dnsbl_answer_matches read).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "config.h"
#include "dnsbl.h"
#include "fsutil.h"
#include "log.h"
#include "map.h"
#include "resolver_client.h"
#include "service.h"
#include "smtpd.h"
#include "stats.h"

struct access_map {
	const char *key; /* the config key, for the logs */
	const char *file;
	struct map m;
	int set;
};

static struct access_map client_map = {"smtpd_client_access_map", "", {0}, 0};
static struct access_map sender_map = {"smtpd_sender_access_map", "", {0}, 0};
static struct access_map helo_map = {"smtpd_helo_access_map", "", {0}, 0};
static struct access_map rcpt_map = {"smtpd_recipient_access_map", "", {0},
				     0};

static void lists_init(void);

#define CONFIG_ERROR "451 4.3.5 Server configuration error"

/* map_init - open one map before the chroot; a missing one is tried
 * again at each lookup (and answers 451 until it is there) */
static void
map_init(struct access_map *a, const char *file)
{
	char db[4200], err[512];

	a->file = file;
	if (file[0] == 0)
		return;
	if (map_db_path(file, db, sizeof(db)) != 0)
		log_fatal("%s: path too long", a->key);
	a->set = 1;
	if (map_open(&a->m, db, err, sizeof(err)) != 0)
		log_warn("%s: %s (run mtactl makemap %s)", a->key, err, file);
}

void
smtpd_access_init(void)
{
	map_init(&client_map, cfg.smtpd_client_access_map);
	map_init(&sender_map, cfg.smtpd_sender_access_map);
	map_init(&helo_map, cfg.smtpd_helo_access_map);
	map_init(&rcpt_map, cfg.smtpd_recipient_access_map);
	lists_init();
}

/*
 * map_verdict - the first key with an entry decides.  -1 after a lookup
 * error (v untouched, logged); else 0 with v: ACCESS_DUNNO when nothing
 * decided, ACCESS_BAD (logged) for a value we do not know.
 */
static int
map_verdict(struct access_map *a, char keys[][LIM_MAP_KEY], int n,
	    struct access_verdict *v)
{
	static char val[LIM_MAP_VALUE];
	char shown[ACCESS_TEXT_MAX + 1];

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < n; i++) {
		int r = map_get(&a->m, keys[i], val, sizeof(val));
		service_map_check(&a->m);
		if (r < 0) {
			log_warn("%s: %s", a->key, val);
			return -1;
		}
		if (r == 0)
			continue;
		access_value_parse(val, v);
		if (v->action == ACCESS_BAD) {
			access_clean(val, shown, sizeof(shown));
			log_warn(
			    "%s %s: key \"%s\": unknown value \"%s\" "
			    "(expected OK, DUNNO, REJECT, DEFER or a 4NN/5NN "
			    "code): replying 451 4.3.5",
			    a->key, a->file, keys[i], shown);
		}
		return 0;
	}
	return 0;
}

/* refusal - the reply for a map's verdict on who ("host[addr]" or the
 * sender), or NULL when it lets the client on */
static const char *
refusal(int r, const struct access_verdict *v, const char *who,
	const char *what, char *out, size_t len)
{
	if (r < 0)
		snprintf(out, len, "451 4.3.0 <%s>: Temporary lookup failure",
			 who);
	else if (v->action == ACCESS_BAD)
		snprintf(out, len, CONFIG_ERROR);
	else if (v->action == ACCESS_REJECT) {
		/* a long address and text are cut to the reply's size */
		if (snprintf(out, len, "%d %s <%s>: %s rejected: %s", v->code,
			     v->dsn, who, what, v->text) >= (int)len)
			log_debug("%s refusal cut to %zu octets", what, len - 1);
	} else
		return NULL;
	return out;
}

/* map_refuse - the refusal of map m for who under keys (a REJECT, DEFER
 * or code counted in st), or NULL; v gets the verdict */
static const char *
map_refuse(struct access_map *m, char keys[][LIM_MAP_KEY], int n,
	   const char *who, const char *what, enum stat_id st,
	   struct access_verdict *v, char *reply, size_t len)
{
	int r = map_verdict(m, keys, n, v);

	if (refusal(r, v, who, what, reply, len) == NULL)
		return NULL;
	if (v->action == ACCESS_REJECT)
		stats_inc(st);
	return reply;
}

/* the kinds of DNS list smtpd asks, each with its words in the logs and
 * in the reply (Postfix's reject_rbl_client, reject_rhsbl_client,
 * reject_rhsbl_helo, reject_rhsbl_sender, permit_dnswl_client) */
enum list_kind { L_DNSWL, L_DNSBL, L_RHSBL_CLIENT, L_RHSBL_HELO,
		 L_RHSBL_SENDER, L_KINDS };

static const struct {
	const char *key, *log, *what; /* config key, log prefix, reply */
	enum stat_id st;
} kinds[L_KINDS] = {
    [L_DNSWL] = {"smtpd_dnswl_sites", "dnswl", "", ST_SMTPD_DNSWL_PASS},
    [L_DNSBL] = {"smtpd_dnsbl_sites", "dnsbl", "Client host",
		 ST_REJECT_DNSBL},
    [L_RHSBL_CLIENT] = {"smtpd_rhsbl_client_sites", "dnsbl", "Client host",
			ST_REJECT_RHSBL_CLIENT},
    [L_RHSBL_HELO] = {"smtpd_rhsbl_helo_sites", "dnsbl", "Helo command",
		      ST_REJECT_RHSBL_HELO},
    [L_RHSBL_SENDER] = {"smtpd_rhsbl_sender_sites", "dnsbl",
			"Sender address", ST_REJECT_RHSBL},
};

static struct dnsbl_sites lists[L_KINDS];

/* lists_init - every list's sites; mta.conf was checked as it was read
 * (and the connect-time lists to fit one batch), so an error here is a
 * config file changed under us */
static void
lists_init(void)
{
	const char *val[L_KINDS] = {
	    [L_DNSWL] = cfg.smtpd_dnswl_sites,
	    [L_DNSBL] = cfg.smtpd_dnsbl_sites,
	    [L_RHSBL_CLIENT] = cfg.smtpd_rhsbl_client_sites,
	    [L_RHSBL_HELO] = cfg.smtpd_rhsbl_helo_sites,
	    [L_RHSBL_SENDER] = cfg.smtpd_rhsbl_sender_sites,
	};
	char err[300];

	for (int k = 0; k < L_KINDS; k++)
		if (dnsbl_sites_parse(val[k], &lists[k], err, sizeof(err)) != 0)
			log_fatal("%s: %s", kinds[k].key, err);
	if (dnsbl_connect_check(cfg.smtpd_dnsbl_sites, cfg.smtpd_dnswl_sites,
				cfg.smtpd_rhsbl_client_sites, err,
				sizeof(err)) != 0)
		log_fatal("%s", err);
}

/* dnsbl_txt - the site's TXT record for name, cleaned, in the time left */
static void
dnsbl_txt(const char *name, int wait_ms, char *out, size_t len)
{
	struct dns_answer a;
	const char *names[1] = {name};

	out[0] = 0;
	if (wait_ms <= 0)
		return;
	resolver_query_all("TXT", names, 1, wait_ms, &a);
	if (a.status == DNS_OK && a.n > 0)
		access_clean(a.rr[0], out, len);
	dns_answer_free(&a);
}

/* dnsbl_listed - the record of the site's answer that counts (inside its
 * filter; for an allow list, never 127.0.0.255), or NULL */
static const char *
dnsbl_listed(enum list_kind k, const struct dnsbl_site *site,
	     const char *name, const struct dns_answer *a)
{
	const char *log = kinds[k].log;

	if (a->status == DNS_TEMPFAIL) {
		log_warn("%s %s: lookup of %s failed (%s): taken as not "
			 "listed",
			 log, site->zone, name, a->why);
		return NULL;
	}
	for (int i = 0; a->status == DNS_OK && i < a->n; i++)
		if (k == L_DNSWL ? dnswl_answer_matches(site, a->rr[i])
				 : dnsbl_answer_matches(site, a->rr[i]))
			return a->rr[i];
	if (a->status == DNS_OK && a->n > 0 &&
	    (strncmp(a->rr[0], "127.255.255.", 12) == 0 ||
	     (k == L_DNSWL && strcmp(a->rr[0], "127.0.0.255") == 0)))
		log_warn(
		    "%s %s: %s answered %s, an error code of the list "
		    "(queries from a public resolver, or over its quota?): "
		    "not listed",
		    log, site->zone, name, a->rr[0]);
	else if (a->status == DNS_OK)
		log_info("%s %s: %s answered %s, outside %s: not listed", log,
			 site->zone, name, a->n > 0 ? a->rr[0] : "nothing",
			 site->text);
	return NULL;
}

/*
 * A batch of list queries sent at once through resolver(8): at connect
 * the client's (DNSWL, DNSBL, client RHSBL), at the first RCPT the
 * HELO name's, at RCPT the sender domain's.  Entry i is the query of
 * site[i], of kind[i], under names[i].
 */
struct list_batch {
	int pending, n;
	long start; /* mono_ms() when sent */
	enum list_kind kind[RESOLVER_PARALLEL_MAX];
	const struct dnsbl_site *site[RESOLVER_PARALLEL_MAX];
	char names[RESOLVER_PARALLEL_MAX][DNSBL_QUERY_MAX];
	char answer[RESOLVER_PARALLEL_MAX][48]; /* the A record that listed */
	struct resolver_batch b;
};

/* batch_add - the queries of every site of list k for subject (an
 * address for the DNSBL and DNSWL, a domain for the others); a site
 * whose name cannot be made (a zone too long for IPv6) is left out,
 * and so is the list when subject is no address or domain */
static void
batch_add(struct list_batch *lb, enum list_kind k, const char *subject)
{
	const struct dnsbl_sites *l = &lists[k];

	for (int i = 0; i < l->n && lb->n < RESOLVER_PARALLEL_MAX; i++) {
		char *name = lb->names[lb->n];
		int r = k == L_DNSBL || k == L_DNSWL
			    ? dnsbl_query_name(subject, l->s[i].zone, name,
					       DNSBL_QUERY_MAX)
			    : rhsbl_query_name(subject, l->s[i].zone, name,
					       DNSBL_QUERY_MAX);
		if (r != 0)
			continue;
		lb->kind[lb->n] = k;
		lb->site[lb->n] = &l->s[i];
		lb->n++;
	}
}

/* batch_start - send what batch_add put in (nothing when empty) */
static void
batch_start(struct list_batch *lb)
{
	const char *ask[RESOLVER_PARALLEL_MAX];

	if (lb->n == 0)
		return;
	for (int i = 0; i < lb->n; i++)
		ask[i] = lb->names[i];
	lb->start = mono_ms();
	resolver_batch_start("A", ask, lb->n,
			     (int)(cfg.smtpd_dnsbl_timeout * 1000), &lb->b);
	lb->pending = 1;
}

/*
 * batch_read - the answers, within smtpd_dnsbl_timeout of the start:
 * hit[k] is the first entry of kind k (in the order of its list) that
 * lists its name, or -1.  A client that comes to RCPT later than that
 * has its answers read as they are, and the TXT record of a listing
 * gets the whole wait anew: the wait's new start is returned.
 */
static long
batch_read(struct list_batch *lb, int hit[L_KINDS])
{
	long wait_ms = cfg.smtpd_dnsbl_timeout * 1000, now = mono_ms();
	long start = lb->start;

	for (int k = 0; k < L_KINDS; k++)
		hit[k] = -1;
	if (!lb->pending)
		return now;
	lb->pending = 0;
	if (now - start >= wait_ms)
		start = now;
	resolver_batch_finish(&lb->b);
	for (int i = 0; i < lb->b.n; i++) {
		const struct dns_answer *a = &lb->b.out[i];
		enum list_kind k = lb->kind[i];
		const char *rr;
		if (hit[k] < 0 &&
		    (rr = dnsbl_listed(k, lb->site[i], lb->names[i], a))) {
			hit[k] = i;
			snprintf(lb->answer[i], sizeof(lb->answer[i]), "%s", rr);
		}
		dns_answer_free(&lb->b.out[i]);
	}
	return start;
}

/* blocked - Postfix's words for a listing of who (kind what, "Client
 * host" ...) in zone, with the TXT record's text */
static void
blocked(char *out, size_t len, const char *what, const char *who,
	const char *zone, const char *txt)
{
	snprintf(out, len, "554 5.7.1 Service unavailable; %s [%s] blocked "
		 "using %s%s%s", what, who, zone, txt[0] ? "; " : "", txt);
}

/* blocked_entry - the same for entry i of lb: its TXT record asked in
 * what is left of the wait since start */
static void
blocked_entry(const struct list_batch *lb, int i, long start,
	      const char *who, char *out, size_t len)
{
	char txt[ACCESS_TEXT_MAX + 1];
	long left = cfg.smtpd_dnsbl_timeout * 1000 - (mono_ms() - start);

	dnsbl_txt(lb->names[i], (int)left, txt, sizeof(txt));
	blocked(out, len, kinds[lb->kind[i]].what, who, lb->site[i]->zone,
		txt);
}

/* the session's lists (one client per process): the client's batch
 * sent at connect and read at the first RCPT (the greeting waits for
 * none), the HELO name's sent at the first RCPT; dnswl: the client is
 * in an allow list, and no block list refuses it */
static struct list_batch conn, helo;
static int dnswl;
static char helo_asked[LIM_HOSTNAME], helo_reply[SMTPD_ACCESS_REPLY];

/* lists_connect - the client's queries, all in one batch */
static void
lists_connect(struct smtpd_session *s)
{
	if (cfg.smtpd_dnsbl_timeout <= 0)
		return;
	batch_add(&conn, L_DNSWL, s->client_addr);
	batch_add(&conn, L_DNSBL, s->client_addr);
	/* the verified name only: a PTR name alone is the client's say */
	if (strcmp(s->client_name, "unknown") != 0)
		batch_add(&conn, L_RHSBL_CLIENT, s->client_name);
	batch_start(&conn);
}

/* lists_client - the client's answers: an allow list's listing lets it
 * past every block list (logged and counted once); else the first
 * DNSBL listing, then the first client RHSBL listing, becomes the
 * session's refusal */
static void
lists_client(struct smtpd_session *s)
{
	int hit[L_KINDS];
	long start = batch_read(&conn, hit);

	if (hit[L_DNSWL] >= 0) {
		int i = hit[L_DNSWL];
		dnswl = 1;
		log_info("dnswl %s: client [%s] listed (%s): DNSBL checks "
			 "skipped",
			 conn.site[i]->zone, s->client_addr, conn.answer[i]);
		stats_inc(ST_SMTPD_DNSWL_PASS);
		return;
	}
	int i = hit[L_DNSBL] >= 0 ? hit[L_DNSBL] : hit[L_RHSBL_CLIENT];
	if (i < 0)
		return;
	blocked_entry(&conn, i, start,
		      conn.kind[i] == L_DNSBL ? s->client_addr : s->client_name,
		      s->access_reply, sizeof(s->access_reply));
	s->access_stat = kinds[conn.kind[i]].st;
}

/* helo_start - the HELO name's queries, sent before the wait for the
 * client's answers so that the two waits overlap; once per name (a
 * second EHLO with another name is asked anew) */
static void
helo_start(struct smtpd_session *s)
{
	int hit[L_KINDS];

	if (lists[L_RHSBL_HELO].n == 0 || cfg.smtpd_dnsbl_timeout <= 0 ||
	    dnswl || strcasecmp(helo_asked, s->helo) == 0)
		return;
	/* an earlier name's answers, unread after a refusal that came
	 * first: read and dropped, not left open */
	if (helo.pending)
		batch_read(&helo, hit);
	snprintf(helo_asked, sizeof(helo_asked), "%s", s->helo);
	helo_reply[0] = 0;
	helo.n = 0;
	/* a literal, a bare address or no name: not asked */
	batch_add(&helo, L_RHSBL_HELO, s->helo);
	batch_start(&helo);
}

/* helo_refuse - the HELO name's listing, kept for the session */
static const char *
helo_refuse(struct smtpd_session *s, char *reply, size_t len)
{
	int hit[L_KINDS];

	if (dnswl)
		return NULL; /* its answers are left unread */
	if (helo.pending) {
		long start = batch_read(&helo, hit);
		if (hit[L_RHSBL_HELO] >= 0)
			blocked_entry(&helo, hit[L_RHSBL_HELO], start,
				      s->helo, helo_reply, sizeof(helo_reply));
	}
	if (helo_reply[0] == 0 || strcasecmp(helo_asked, s->helo) != 0)
		return NULL;
	stats_inc(ST_REJECT_RHSBL_HELO);
	snprintf(reply, len, "%s", helo_reply);
	return reply;
}

/*
 * rhsbl_refuse - the sender's domain in each zone of
 * smtpd_rhsbl_sender_sites, all at once within smtpd_dnsbl_timeout; the
 * first listing in the order of the list refuses.  One lookup per
 * sender domain and session (the answer is kept for the next RCPT and
 * the next transaction of the same domain).
 */
static const char *
rhsbl_refuse(const char *sender, const char *domain, char *reply,
	     size_t len)
{
	static char seen[LIM_DOMAIN + 1], zone[LIM_DOMAIN + 1];
	static char txt[ACCESS_TEXT_MAX + 1];
	static int listed;
	static struct list_batch lb;

	if (lists[L_RHSBL_SENDER].n == 0 || cfg.smtpd_dnsbl_timeout <= 0 ||
	    domain[0] == 0)
		return NULL;
	if (strcasecmp(seen, domain) != 0) {
		int hit[L_KINDS], i;
		long start, left;

		snprintf(seen, sizeof(seen), "%s", domain);
		listed = 0;
		lb.n = 0;
		batch_add(&lb, L_RHSBL_SENDER, domain);
		batch_start(&lb);
		start = batch_read(&lb, hit);
		if ((i = hit[L_RHSBL_SENDER]) < 0)
			return NULL;
		listed = 1;
		snprintf(zone, sizeof(zone), "%s", lb.site[i]->zone);
		left = cfg.smtpd_dnsbl_timeout * 1000 - (mono_ms() - start);
		dnsbl_txt(lb.names[i], (int)left, txt, sizeof(txt));
	}
	if (!listed)
		return NULL;
	blocked(reply, len, "Sender address", sender, zone, txt);
	stats_inc(ST_REJECT_RHSBL);
	return reply;
}

void
smtpd_access_connect(struct smtpd_session *s)
{
	static char keys[ACCESS_KEYS_MAX][LIM_MAP_KEY];
	struct access_verdict v;
	char who[400];
	int r = 0;

	s->access_reply[0] = 0;
	/* a session process starts with all of it zero: written only when
	 * not, since each page written here is a page an idle session owns
	 * (the idle sessions of make bench: 74 KB each with, 66 without) */
	if (conn.n || conn.pending || dnswl)
		conn.n = conn.pending = dnswl = 0;
	if (helo.n || helo.pending)
		helo.n = helo.pending = 0;
	if (helo_asked[0] || helo_reply[0])
		helo_asked[0] = helo_reply[0] = 0;
	/* on the submission ports every client authenticates first */
	if (s->trusted || smtpd_role != ROLE_SMTPD)
		return;
	if (client_map.set) {
		int n = access_client_keys(s->client_addr, s->client_name, keys,
					   ACCESS_KEYS_MAX);
		r = map_verdict(&client_map, keys, n, &v);
		smtpd_client_label(s, who, sizeof(who));
		if (refusal(r, &v, who, "Client host", s->access_reply,
			    sizeof(s->access_reply)) != NULL) {
			s->access_stat = v.action == ACCESS_REJECT
					     ? ST_REJECT_CLIENT_ACCESS
					     : ST_COUNT;
			return;
		}
		if (v.action == ACCESS_OK)
			return; /* no DNS list for a client the map lets on */
	}
	lists_connect(s);
}

const char *
smtpd_access_refuse(struct smtpd_session *s, char *reply, size_t len)
{
	static char keys[ACCESS_KEYS_MAX][LIM_MAP_KEY];
	char local[LIM_PATH + 1], *at;
	struct access_verdict v;
	const char *domain = "";

	if (s->trusted || s->auth_user[0])
		return NULL;
	helo_start(s);
	if (conn.pending)
		lists_client(s);
	if (s->access_reply[0]) {
		stats_inc((enum stat_id)s->access_stat);
		snprintf(reply, len, "%s", s->access_reply);
		return reply;
	}
	if (helo_map.set && s->helo[0]) {
		int n = access_helo_keys(s->helo, keys, ACCESS_KEYS_MAX);
		if (map_refuse(&helo_map, keys, n, s->helo, "Helo command",
			       ST_REJECT_HELO_ACCESS, &v, reply, len))
			return reply;
	}
	if (helo_refuse(s, reply, len) != NULL)
		return reply;
	snprintf(local, sizeof(local), "%s", s->sender);
	if ((at = strrchr(local, '@')) != NULL) {
		*at = 0;
		domain = at + 1;
	}
	if (sender_map.set) {
		int n = access_sender_keys(local, domain,
					   cfg.recipient_delimiter[0], keys,
					   ACCESS_KEYS_MAX);
		if (map_refuse(&sender_map, keys, n, s->sender,
			       "Sender address", ST_REJECT_SENDER_ACCESS, &v,
			       reply, len))
			return reply;
		if (v.action == ACCESS_OK)
			return NULL; /* no domain list for a sender let on */
	}
	if (dnswl)
		return NULL;
	return rhsbl_refuse(s->sender, domain, reply, len);
}

const char *
smtpd_access_refuse_rcpt(struct smtpd_session *s, const char *local,
			 const char *domain, const char *rcpt, char *reply,
			 size_t len)
{
	static char keys[ACCESS_KEYS_MAX][LIM_MAP_KEY];
	struct access_verdict v;

	if (s->trusted || s->auth_user[0] || !rcpt_map.set)
		return NULL;
	int n = access_sender_keys(local, domain, cfg.recipient_delimiter[0],
				   keys, ACCESS_KEYS_MAX);
	return map_refuse(&rcpt_map, keys, n, rcpt, "Recipient address",
			  ST_REJECT_RCPT_ACCESS, &v, reply, len);
}
