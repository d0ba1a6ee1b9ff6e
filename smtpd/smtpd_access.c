/*
 * smtpd_access.c - access control in smtpd(8) ("Access control"): the
 * client access map, asked once at connect, the DNS block lists, asked
 * at connect and answered by the first RCPT (the greeting waits for
 * none of them), and the sender access map, asked at each RCPT; every
 * refusal is given at
 * RCPT, so the log line names the sender and the recipient (Postfix's
 * smtpd_delay_reject).  Clients in mynetworks and authenticated clients
 * are exempt from all three.
 *
 * Trusts: the maps as our own compiled files, but not their values (an
 * unknown one is a configuration error, answered 451 4.3.5); DNS answers
 * only as resolver(8) frames them.
 * Never: accepts on a value it does not understand or a map it cannot
 * read; lets a DNS failure count as a listing; puts text from a map or
 * DNS into a reply or the log without access_clean.
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
static struct dnsbl_sites dnsbl;
static struct dnsbl_sites rhsbl; /* smtpd_rhsbl_sender_sites */

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
	char err[300];

	map_init(&client_map, cfg.smtpd_client_access_map);
	map_init(&sender_map, cfg.smtpd_sender_access_map);
	map_init(&helo_map, cfg.smtpd_helo_access_map);
	map_init(&rcpt_map, cfg.smtpd_recipient_access_map);
	if (dnsbl_sites_parse(cfg.smtpd_dnsbl_sites, &dnsbl, err,
			      sizeof(err)) != 0)
		log_fatal("smtpd_dnsbl_sites: %s", err);
	if (dnsbl_sites_parse(cfg.smtpd_rhsbl_sender_sites, &rhsbl, err,
			      sizeof(err)) != 0)
		log_fatal("smtpd_rhsbl_sender_sites: %s", err);
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

/* dnsbl_listed - the site's answer counts: a record inside its filter */
static int
dnsbl_listed(const struct dnsbl_site *site, const char *name,
	     const struct dns_answer *a)
{
	if (a->status == DNS_TEMPFAIL) {
		log_warn("dnsbl %s: lookup of %s failed (%s): taken as not "
			 "listed",
			 site->zone, name, a->why);
		return 0;
	}
	for (int i = 0; a->status == DNS_OK && i < a->n; i++)
		if (dnsbl_answer_matches(site, a->rr[i]))
			return 1;
	if (a->status == DNS_OK && a->n > 0 &&
	    strncmp(a->rr[0], "127.255.255.", 12) == 0)
		log_warn(
		    "dnsbl %s: %s answered %s, an error code of the list "
		    "(queries from a public resolver, or over its quota?): "
		    "not listed",
		    site->zone, name, a->rr[0]);
	else if (a->status == DNS_OK)
		log_info("dnsbl %s: %s answered %s, outside %s: not listed",
			 site->zone, name, a->n > 0 ? a->rr[0] : "nothing",
			 site->text);
	return 0;
}

/* listing - the answers of batch b, started at start for the names of
 * sites (each freed): the first site in the list's order whose answer
 * lists its name, with that name's TXT record in txt; -1 when none does.
 * The client waits at most smtpd_dnsbl_timeout for both, counted from
 * the start, or from now when it comes to RCPT later than that (its
 * answers are then read as they are, and the TXT record gets the whole
 * wait). */
static int
listing(const struct dnsbl_sites *sites, char names[][DNSBL_QUERY_MAX],
	struct resolver_batch *b, long start, char *txt, size_t txtlen)
{
	long wait_ms = cfg.smtpd_dnsbl_timeout * 1000, now = mono_ms();
	int hit = -1;

	if (now - start >= wait_ms)
		start = now;
	resolver_batch_finish(b);
	for (int i = 0; i < b->n; i++) {
		if (hit < 0 && dnsbl_listed(&sites->s[i], names[i], &b->out[i]))
			hit = i;
		dns_answer_free(&b->out[i]);
	}
	if (hit >= 0)
		dnsbl_txt(names[hit], (int)(wait_ms - (mono_ms() - start)), txt,
			  txtlen);
	return hit;
}

/* blocked - Postfix's words for a listing of who ("Client host" or
 * "Sender address" what) in zone */
static void
blocked(char *out, size_t len, const char *what, const char *who,
	const char *zone, const char *txt)
{
	snprintf(out, len, "554 5.7.1 Service unavailable; %s [%s] blocked "
		 "using %s%s%s", what, who, zone, txt[0] ? "; " : "", txt);
}

/* the DNSBL queries of this session (one client per process), sent at
 * connect and read at the first RCPT: the greeting waits for none */
static struct {
	int pending;
	long start;
	char names[DNSBL_SITES_MAX][DNSBL_QUERY_MAX];
	struct resolver_batch b;
} bl;

/* dnsbl_start - every site's query at once */
static void
dnsbl_start(struct smtpd_session *s)
{
	const char *ask[DNSBL_SITES_MAX];
	int n = 0;

	for (int i = 0; i < dnsbl.n; i++) {
		if (dnsbl_query_name(s->client_addr, dnsbl.s[i].zone,
				     bl.names[i], sizeof(bl.names[i])) != 0)
			return; /* "unknown", or a zone too long for IPv6 */
		ask[n++] = bl.names[i];
	}
	bl.start = mono_ms();
	resolver_batch_start("A", ask, n, (int)(cfg.smtpd_dnsbl_timeout * 1000),
			     &bl.b);
	bl.pending = 1;
}

/* dnsbl_finish - the answers, within smtpd_dnsbl_timeout of the start;
 * the first listing in the order of smtpd_dnsbl_sites becomes the
 * session's refusal */
static void
dnsbl_finish(struct smtpd_session *s)
{
	char txt[ACCESS_TEXT_MAX + 1];
	int hit;

	bl.pending = 0;
	hit = listing(&dnsbl, bl.names, &bl.b, bl.start, txt, sizeof(txt));
	if (hit < 0)
		return;
	blocked(s->access_reply, sizeof(s->access_reply), "Client host",
		s->client_addr, dnsbl.s[hit].zone, txt);
	s->access_stat = ST_REJECT_DNSBL;
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
	long wait_ms = cfg.smtpd_dnsbl_timeout * 1000;

	if (rhsbl.n == 0 || wait_ms <= 0 || domain[0] == 0)
		return NULL;
	if (strcasecmp(seen, domain) != 0) {
		static char names[DNSBL_SITES_MAX][DNSBL_QUERY_MAX];
		static struct resolver_batch b;
		const char *ask[DNSBL_SITES_MAX];
		long start = mono_ms();
		int n = 0, hit;

		snprintf(seen, sizeof(seen), "%s", domain);
		listed = 0;
		for (int i = 0; i < rhsbl.n; i++) {
			if (rhsbl_query_name(domain, rhsbl.s[i].zone, names[i],
					     sizeof(names[i])) != 0)
				return NULL; /* a literal, or too long */
			ask[n++] = names[i];
		}
		resolver_batch_start("A", ask, n, (int)wait_ms, &b);
		if ((hit = listing(&rhsbl, names, &b, start, txt,
				   sizeof(txt))) < 0)
			return NULL;
		listed = 1;
		snprintf(zone, sizeof(zone), "%s", rhsbl.s[hit].zone);
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
			return; /* no DNSBL for a client the map lets on */
	}
	if (dnsbl.n > 0 && cfg.smtpd_dnsbl_timeout > 0)
		dnsbl_start(s);
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
	if (bl.pending)
		dnsbl_finish(s);
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
