/*
 * remote_tls.c - remote(8)'s outbound TLS: which level a destination
 * gets (remote_tls_security_level, remote_tls_policy_map, DANE per RFC
 * 7672), and STARTTLS itself (RFC 3207), done by handing the socket to
 * tlsproxy(8) and talking on over the plaintext descriptor it returns.
 *
 * Levels: none (never), may (when offered; a failed handshake is retried
 * in plaintext), encrypt (required, any certificate), verify (required,
 * chain to remote_tls_cafile and the MX host name), dane (TLSA records
 * when DNSSEC vouches for the MX, address and TLSA answers, else may).
 * Trusts: resolver's AD flag (resolver_dnssec_trust_ad), tlsproxy's
 * verdict; nothing the peer says.
 * Never: downgrades a required level to plaintext; reads a byte the peer
 * sent before the TLS handshake as part of the TLS session (RFC 3207 4.2,
 * the STARTTLS injection class).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "remote.h"
#include "resolver_client.h"
#include "tlsproxy_client.h"

static const char *const level_names[] = {"none", "may", "encrypt", "verify",
					  "dane"};

int
tls_level_parse(const char *s)
{
	for (int i = 0; s && i < 5; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
tls_level_name(int level)
{
	return level >= 0 && level < 5 ? level_names[level] : "?";
}

int
tls_policy_parse(const char *value, int *level, char *err, size_t errlen)
{
	char word[32];
	size_t n = 0;
	const char *p = value;

	while (isspace((unsigned char)*p))
		p++;
	while (*p && !isspace((unsigned char)*p) && n + 1 < sizeof(word))
		word[n++] = *p++;
	word[n] = 0;
	while (isspace((unsigned char)*p))
		p++;
	if ((*level = tls_level_parse(word)) < 0 || *p != 0) {
		snprintf(err, errlen,
			 "bad TLS policy \"%.60s\": expected "
			 "none, may, encrypt, verify or dane",
			 value);
		return -1;
	}
	return 0;
}

/* policy_key - the domain of a nexthop: "[host]:port" -> host */
static void
policy_key(const char *nexthop, char *out, size_t len)
{
	const char *p = nexthop, *end;

	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else
		end = strrchr(p, ':');
	if (end == NULL)
		end = p + strlen(p);
	snprintf(out, len, "%.*s", (int)(end - p), p);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	while (out[0] && out[strlen(out) - 1] == '.')
		out[strlen(out) - 1] = 0;
}

int
tls_policy_for(const char *nexthop, int *level, struct result *r)
{
	char key[LIM_DOMAIN + 1], val[256], err[160];
	int rc;

	*level = tls_level_parse(cfg.remote_tls_security_level);
	if (*level < 0)
		*level = TLS_MAY; /* config_check refused it already */
	if (cfg.remote_tls_policy_map[0] == 0)
		return 0;
	policy_key(nexthop, key, sizeof(key));
	/* the domain itself, then ".parent" for each parent domain */
	rc = remote_map_get(cfg.remote_tls_policy_map, key, val, sizeof(val));
	for (const char *k = strchr(key, '.'); rc == 1 && k != NULL;
	     k = strchr(k + 1, '.'))
		rc = remote_map_get(cfg.remote_tls_policy_map, k, val,
				    sizeof(val));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		remote_result(r, 4, "4.3.5",
			      "TLS policy lookup error for %s "
			      "in %s",
			      key, cfg.remote_tls_policy_map);
		return -1;
	}
	if (tls_policy_parse(val, level, err, sizeof(err)) != 0) {
		remote_result(r, 4, "4.3.5", "%s: %s for %s",
			      cfg.remote_tls_policy_map, err, key);
		return -1;
	}
	return 0;
}

void
tls_plan_free(struct tls_plan *p)
{
	for (int i = 0; i < p->ntlsa; i++)
		free(p->tlsa[i]);
	p->ntlsa = 0;
}

/* keep_usable - the usable records of a into p; their number */
static int
keep_usable(const struct dns_answer *a, struct tls_plan *p)
{
	struct tlsa_rec *t = malloc(sizeof(*t));
	char err[128];

	if (t == NULL)
		log_fatal("out of memory");
	for (int i = 0; i < a->n && p->ntlsa < TLSA_MAX_RECORDS; i++)
		if (tlsa_parse(a->rr[i], t, err, sizeof(err)) == 0 &&
		    tlsa_usable(t, NULL, 0) &&
		    (p->tlsa[p->ntlsa] = strdup(a->rr[i])) != NULL)
			p->ntlsa++;
	free(t);
	return p->ntlsa;
}

static int
is_address(const char *host)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, host, bin) == 1 ||
	       inet_pton(AF_INET6, host, bin) == 1;
}

int
tls_plan_host(int level, int mx_secure, int addr_secure, const char *host,
	      int port, struct tls_plan *p, struct result *r)
{
	char name[LIM_DOMAIN + 16];
	struct dns_answer a;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->level = level;
	if (level != TLS_DANE)
		return 0;
	p->level = TLS_MAY;
	if (!mx_secure || !addr_secure || is_address(host))
		return 0; /* RFC 7672 2.2.1, 2.2.2: no DANE without DNSSEC,
			   * and an address has no TLSA name */
	snprintf(name, sizeof(name), "_%d._tcp.%s", port, host);
	resolver_query("TLSA", name, &a);
	if (a.status == DNS_TEMPFAIL) {
		remote_result(r, 4, "4.7.5", "TLSA lookup error for %s:%d: %s",
			      host, port, a.why);
		rc = -1;
	} else if (a.status == DNS_OK && a.ad) {
		/* usable records: DANE; only unusable: TLS without
		 * authentication (RFC 7672 2.2) */
		p->level = keep_usable(&a, p) > 0 ? TLS_DANE : TLS_ENCRYPT;
	}
	dns_answer_free(&a);
	return rc;
}

static void
cap_first(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s[0] ? s : "anonymous");
	dst[0] = (char)toupper((unsigned char)dst[0]);
}

/* handshake - hand c->fd to tlsproxy; c talks plaintext afterwards */
static int
handshake(struct smtp_conn *c, const struct tls_plan *p, struct result *fail)
{
	struct tlsproxy_opts o = {
	    .timeout_ms = (int)cfg.tls_handshake_timeout * 1000,
	    .servername = c->host,
	    .policy = tls_level_name(p->level),
	    .tlsa = p->tlsa,
	    .ntlsa = p->ntlsa,
	};
	struct tls_result tr;
	char err[512], trust[16];
	int fd = tlsproxy_client(c->fd, &o, &tr, err, sizeof(err));
	int fl;

	if (fd < 0 && tr.verify_failed) {
		remote_result(fail, 4, "4.7.5", "%s for host %s[%s]:%d: %s",
			      p->level == TLS_DANE
				  ? "TLSA certificate match failed"
				  : "Server certificate not verified",
			      c->host, c->addr, c->port, tr.verify_reason);
		return -1;
	}
	if (fd < 0) {
		remote_result(fail, 4, "4.7.5",
			      "Cannot start TLS with host "
			      "%s[%s]:%d: %s",
			      c->host, c->addr, c->port, err);
		return p->level == TLS_MAY ? -2 : -1;
	}
	/* the proxy holds its own copy of the network socket */
	if (close(c->fd) != 0)
		log_warn("close: %m");
	c->fd = fd;
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		log_fatal("fcntl: %m");
	c->tls = 1;
	cap_first(trust, sizeof(trust), tr.trust);
	log_info("%s TLS connection established to %s[%s]:%d: %s with "
		 "cipher %s (%d/%d bits)%s",
		 trust, c->host, c->addr, c->port, tr.protocol, tr.cipher,
		 tr.bits, tr.alg_bits, tr.dane ? " (DANE)" : "");
	return 0;
}

int
smtp_starttls(struct smtp_conn *c, const struct tls_plan *p, int offered,
	      struct result *fail)
{
	struct smtp_reply rep;
	char flat[LIM_ERRTEXT];

	if (p->level == TLS_NONE || (!offered && p->level == TLS_MAY))
		return 1;
	if (!offered) {
		remote_result(fail, 4, "4.7.4",
			      "TLS is required, but was not "
			      "offered by host %s[%s]",
			      c->host, c->addr);
		return -1;
	}
	if (smtp_printf(c, "STARTTLS\r\n") != 0 ||
	    smtp_flush(c, cfg.smtp_helo_timeout) != 0 ||
	    smtp_read_reply(c, cfg.smtp_helo_timeout, &rep) != 0) {
		remote_result(fail, 4, "4.4.2",
			      "lost connection with %s[%s] "
			      "while sending STARTTLS: %s",
			      c->host, c->addr, c->err);
		return -1;
	}
	if (rep.code != 220) {
		smtp_reply_flat(&rep, flat, sizeof(flat));
		if (p->level == TLS_MAY) {
			log_info("host %s[%s] refused to start TLS: %s; "
				 "continuing without TLS",
				 c->host, c->addr, flat);
			return 1;
		}
		remote_result(fail, 4, "4.7.5",
			      "TLS is required, but host "
			      "%s[%s] refused to start TLS: %s",
			      c->host, c->addr, flat);
		return -1;
	}
	if (c->rpos < c->rlen) {
		/* bytes after the 220 would be read as if they came over
		 * TLS: the injection class of CVE-2011-0411 */
		remote_result(fail, 4, "4.7.5",
			      "host %s[%s] sent data after "
			      "its 220 to STARTTLS",
			      c->host, c->addr);
		return p->level == TLS_MAY ? -2 : -1;
	}
	return handshake(c, p, fail);
}
