/*
 * resolver.c - resolver(8): DNS lookups for the other programs, with a
 * cache that honours TTLs.
 *
 * Clients connect to private/resolver and send {req=query, type, name}
 * or {req=stats}; each gets one answer record (resolver_client.h), in
 * the order asked.  One process serves up to RESOLVER_JOBS_MAX clients
 * at once: the main thread reads the requests and answers from the
 * cache, and what the cache lacks is looked up by resolver_threads
 * threads (lookup_pool.c), so a zone that never answers delays only the
 * clients that asked it.  Clients asking the same question meanwhile
 * share one lookup.  With every slot taken the process tells master it
 * is busy (another may start, up to resolver_process_limit) and stops
 * accepting until one is free.
 * Nameservers come from resolver_nameservers or, when that is empty, from
 * /etc/resolv.conf, read before the chroot.
 * Trusts: nothing in a request beyond the type table and name length.
 * Never: answers a temporary failure as "not found"; caches one; blocks
 * on a client (sockets are non-blocking; one whose answer does not fit
 * its socket is closed).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "resolver.h"
#include "service.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_CONF_MAX 65536
#define RESOLVER_IDLE_MS 60000 /* a client without a question is closed */
/* an answer fits the socket's buffer: a client whose buffer is full
 * does not read (it sent questions without taking the answers) and is
 * closed at once; waiting on it held every other client (a local user
 * stalled the process a second per connection, 1000 s with 1000) */
#define RESOLVER_WRITE_MS 0
/* a request is a type and a name: a client whose unread request grows
 * past this is closed (else 1024 clients could make it hold 4 MB each,
 * the ipc record limit) */
#define RESOLVER_REQUEST_MAX 4096
/* descriptors kept for the lookup threads' sockets and our own files,
 * beside one per client */
#define RESOLVER_FDS_SPARE(threads) (2 * (threads) + 32)

static struct dns_cache *cache;

/* a lookup in the threads, for every client that asked it meanwhile */
struct job {
	struct dns_job d; /* first: the pool hands back &d */
	char key[DNS_KEY_MAX];
	int used;
};

struct client {
	struct ipc *c;
	struct job *wait; /* the lookup its question waits for */
	long last;	  /* mono ms of its last question or answer */
	int eof;	  /* asked all it will: closed once answered */
	int ready;	  /* its lookup is done: to be answered (job_done) */
};

static struct job jobs[RESOLVER_JOBS_MAX];
static struct client clients[RESOLVER_JOBS_MAX];
static int nclients, njobs;
/* clients taken at once: RESOLVER_JOBS_MAX, or fewer when the
 * descriptor limit is lower (client_limit); fd_full: accept found no
 * descriptor left, none is taken until a client leaves */
static int client_max = RESOLVER_JOBS_MAX, fd_full;
/* for {req=stats}: questions sent to the nameservers, and questions
 * that joined one already sent (answered without asking again) */
static long lookups, joined;

/* read_resolv_conf - its text, or "" when it is missing. */
static char *
read_resolv_conf(void)
{
	static char text[RESOLV_CONF_MAX];
	FILE *fp = fopen(RESOLV_CONF, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
	}
	text[n] = 0;
	return text;
}

static long
now_sec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		log_fatal("clock_gettime: %m");
	return (long)ts.tv_sec;
}

/* reverse_name - for PTR, an address becomes its in-addr.arpa or
 * ip6.arpa name; anything else is left as it is. */
static const char *
reverse_name(const char *name, char *out, size_t len)
{
	ldns_rdf *a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, name);
	ldns_rdf *rev = NULL;
	char *s = NULL;

	if (a == NULL)
		a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, name);
	if (a != NULL && (rev = ldns_rdf_address_reverse(a)) != NULL &&
	    (s = ldns_rdf2str(rev)) != NULL) {
		snprintf(out, len, "%s", s);
		name = out;
	}
	free(s);
	ldns_rdf_deep_free(rev);
	ldns_rdf_deep_free(a);
	return name;
}

/* query_key - the name to look up (PTR: the address reversed), in lower
 * case, and the cache key "TYPE name"; -1 for a query we do not serve */
static int
query_key(const char *type, const char *name, ldns_rr_type *t, char *lname,
	  char *key)
{
	char rev[LIM_DOMAIN + 1];
	size_t len;

	*t = dns_type_parse(type);
	if (*t == LDNS_RR_TYPE_PTR && name != NULL)
		name = reverse_name(name, rev, sizeof(rev));
	len = name ? strlen(name) : 0;
	if (*t == 0 || len == 0 || len > LIM_DOMAIN)
		return -1;
	for (size_t i = 0; i <= len; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	snprintf(key, DNS_KEY_MAX, "%s %s", type, lname);
	for (char *k = key; *k != ' '; k++)
		*k = (char)toupper((unsigned char)*k);
	return 0;
}

/* send_answer - 0, or -1 when the client is gone */
static int
send_answer(struct client *cl, const struct dns_answer *a)
{
	struct ipc *c = cl->c;

	ipc_put_str(c, "status", dns_status_name(a->status));
	ipc_put_long(c, "ad", a->ad);
	ipc_put_long(c, "ttl", a->ttl);
	ipc_put_str(c, "text", a->why);
	for (int i = 0; i < a->n; i++)
		ipc_put_str(c, "rr", a->rr[i]);
	cl->last = mono_ms();
	return ipc_end(c) == IPC_OK ? 0 : -1;
}

static int
send_stats(struct client *cl)
{
	long hits, misses, entries;

	/* the cache misses a question that joins a lookup on its way:
	 * that is a hit for the nameservers, which are asked once */
	dns_cache_stats(cache, &hits, &misses, &entries);
	ipc_put_long(cl->c, "hits", hits + joined);
	ipc_put_long(cl->c, "misses", lookups);
	ipc_put_long(cl->c, "entries", entries);
	return ipc_end(cl->c) == IPC_OK ? 0 : -1;
}

/* job_for - the lookup of key, already running or started now */
static struct job *
job_for(const char *key, const char *lname, ldns_rr_type t)
{
	struct job *free_job = NULL;

	for (int i = 0; i < RESOLVER_JOBS_MAX; i++) {
		if (jobs[i].used && strcmp(jobs[i].key, key) == 0) {
			joined++;
			return &jobs[i];
		}
		if (!jobs[i].used && free_job == NULL)
			free_job = &jobs[i];
	}
	/* never NULL: a job has a client waiting, a client waits on one */
	if (free_job == NULL)
		log_fatal("no free lookup slot");
	memset(free_job, 0, sizeof(*free_job));
	free_job->used = 1;
	snprintf(free_job->key, sizeof(free_job->key), "%s", key);
	snprintf(free_job->d.name, sizeof(free_job->d.name), "%s", lname);
	free_job->d.type = t;
	njobs++;
	lookups++;
	lookup_pool_submit(&free_job->d);
	return free_job;
}

/* client_query - answer from the cache, or wait for the lookup */
static int
client_query(struct client *cl, const struct attrs *r)
{
	char key[DNS_KEY_MAX], lname[LIM_DOMAIN + 1];
	struct dns_answer a;
	ldns_rr_type t;
	int rc;

	cl->last = mono_ms();
	if (query_key(attrs_get(r, "type"), attrs_get(r, "name"), &t, lname,
		      key) != 0) {
		memset(&a, 0, sizeof(a));
		a.status = DNS_TEMPFAIL;
		snprintf(a.why, sizeof(a.why), "bad query");
		return send_answer(cl, &a);
	}
	if (dns_cache_get(cache, key, now_sec(), &a)) {
		rc = send_answer(cl, &a);
		dns_answer_free(&a);
		return rc;
	}
	cl->wait = job_for(key, lname, t);
	return 0;
}

/* client_requests - the whole requests buffered, up to the first that
 * waits for a lookup (the next are answered after it, in order); -1
 * when the client is to be closed */
static int
client_requests(struct client *cl)
{
	struct attrs r;
	int rc = 0, prc = IPC_OK;

	attrs_init(&r);
	while (rc == 0 && cl->wait == NULL &&
	       (prc = ipc_parse(cl->c, &r)) == IPC_OK) {
		const char *req = attrs_get(&r, "req");
		if (req != NULL && strcmp(req, "query") == 0)
			rc = client_query(cl, &r);
		else if (req != NULL && strcmp(req, "stats") == 0)
			rc = send_stats(cl);
		else
			rc = -1;
	}
	attrs_free(&r);
	if (prc == IPC_BAD)
		rc = -1;
	/* all it sent is read but a request that does not end */
	if (cl->wait == NULL &&
	    cl->c->rlen - cl->c->rpos > RESOLVER_REQUEST_MAX)
		rc = -1;
	/* the client half-closed and all it asked is answered */
	if (cl->eof && cl->wait == NULL)
		rc = -1;
	return rc;
}

static void
client_close(int i)
{
	ipc_free(clients[i].c);
	clients[i] = clients[--nclients];
	fd_full = 0; /* a descriptor is free again */
}

/* client_event - read what came; -1 when the client is to be closed */
static int
client_event(struct client *cl)
{
	int rc = ipc_fill(cl->c);

	if (rc == IPC_AGAIN)
		return 0;
	if (rc == IPC_EOF)
		cl->eof = 1;
	else if (rc < 0)
		return -1;
	return client_requests(cl);
}

/* job_done - into the cache, to every client waiting for it; they go on
 * with the requests they sent meanwhile.  Those may start lookups, in
 * this job's slot too: the waiting clients are taken first, the answer
 * kept apart, and the slot freed before any is answered (a question
 * asked again must not join the lookup that just ended: a temporary
 * failure is not cached, and it would wait for good). */
static void
job_done(struct job *j)
{
	struct dns_answer a = j->d.answer;
	long cap = a.status == DNS_OK ? cfg.resolver_cache_max_ttl
				      : cfg.resolver_negative_ttl_max;

	if (a.ttl > cap)
		a.ttl = cap;
	dns_cache_put(cache, j->key, now_sec(), &a);
	log_debug("%s: %s, %d record(s), ttl %ld", j->key,
		  dns_status_name(a.status), a.n, a.ttl);
	for (int i = 0; i < nclients; i++)
		if (clients[i].wait == j) {
			clients[i].wait = NULL;
			clients[i].ready = 1;
		}
	j->used = 0;
	njobs--;
	for (int i = nclients - 1; i >= 0; i--) {
		struct client *cl = &clients[i];
		if (!cl->ready)
			continue;
		cl->ready = 0;
		if (send_answer(cl, &a) != 0 || client_requests(cl) != 0)
			client_close(i);
	}
	dns_answer_free(&a);
}

static void
client_accept(void)
{
	int fd;

	while (nclients < client_max &&
	       (fd = accept4(SERVICE_LISTEN_FD, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		clients[nclients++] = (struct client){
		    ipc_new(fd, RESOLVER_WRITE_MS), NULL, mono_ms(), 0, 0};
	if (nclients >= client_max || errno == EAGAIN || errno == EINTR ||
	    errno == ECONNABORTED)
		return;
	/* out of descriptors: the clients we have are served, and the
	 * next wait in the listen queue until one of them leaves */
	if (errno == EMFILE || errno == ENFILE) {
		static int warned; /* once: a local user can repeat it */
		if (!warned++)
			log_warn("accept: %m: no more clients than %d until "
				 "one leaves",
				 nclients);
		fd_full = 1;
		return;
	}
	log_fatal("accept: %m");
}

/* client_limit - the soft descriptor limit raised (up to the hard one)
 * to what RESOLVER_JOBS_MAX clients need, and the clients that fit in
 * it (a systemd service has 1024 by default, all of them ours) */
static void
client_limit(int threads)
{
	struct rlimit rl;
	rlim_t want = RESOLVER_JOBS_MAX + RESOLVER_FDS_SPARE(threads);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_fatal("getrlimit RLIMIT_NOFILE: %m");
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
				  ? rl.rlim_max
				  : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_fatal("setrlimit RLIMIT_NOFILE: %m");
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		long fit = (long)rl.rlim_cur - RESOLVER_FDS_SPARE(threads);
		client_max = fit < 8 ? 8 : (int)fit;
	}
	if (client_max < RESOLVER_JOBS_MAX)
		log_warn("descriptor limit %ld: at most %d clients at once",
			 (long)rl.rlim_cur, client_max);
}

/* close_idle - clients silent for RESOLVER_IDLE_MS; the time until the
 * next may be due (for poll) */
static int
close_idle(long now)
{
	long next = RESOLVER_IDLE_MS;

	for (int i = nclients - 1; i >= 0; i--) {
		long left = clients[i].last + RESOLVER_IDLE_MS - now;
		if (clients[i].wait != NULL)
			continue;
		if (left <= 0)
			client_close(i);
		else if (left < next)
			next = left;
	}
	return (int)next;
}

/* report - tell master whether this process takes more clients */
static void
report(int *busy, int now_busy)
{
	if (*busy != now_busy)
		service_report(now_busy ? SERVICE_BUSY : SERVICE_IDLE);
	*busy = now_busy;
}

static void
serve(void)
{
	static struct pollfd p[RESOLVER_JOBS_MAX + 2];
	long idle_since = mono_ms();
	int busy = 0, stopping = 0;

	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	service_report(SERVICE_IDLE);
	for (;;) {
		long now = mono_ms();
		int wait = close_idle(now), rc;
		struct dns_job *d;

		/* SIGHUP (a reload): answer what was asked, take nothing
		 * new; a new process of the new configuration takes over */
		stopping |= service_stop;
		for (int i = nclients - 1; stopping && i >= 0; i--) {
			struct client *cl = &clients[i];
			/* one last read: a question already sent (a client
			 * accepted just before the signal) is still answered */
			if (cl->wait == NULL && !cl->eof &&
			    client_event(cl) != 0) {
				client_close(i);
				continue;
			}
			if (cl->wait == NULL)
				client_close(i);
		}
		report(&busy, stopping || nclients >= client_max || fd_full);
		if (nclients > 0 || njobs > 0)
			idle_since = now;
		else if (stopping || now - idle_since >= cfg.max_idle * 1000)
			exit(0);
		p[0] = (struct pollfd){.fd = busy ? -1 : SERVICE_LISTEN_FD,
				       .events = POLLIN};
		p[1] = (struct pollfd){.fd = lookup_pool_fd(), .events = POLLIN};
		/* a client waiting for a lookup is not read: its next
		 * requests wait in the socket, and its end comes later */
		for (int i = 0; i < nclients; i++)
			p[2 + i] = (struct pollfd){
			    .fd = clients[i].wait || clients[i].eof
				      ? -1
				      : clients[i].c->fd,
			    .events = POLLIN};
		if (nclients == 0 && njobs == 0)
			wait = (int)(cfg.max_idle * 1000 - (now - idle_since));
		rc = poll(p, (nfds_t)(2 + nclients), wait > 0 ? wait : 0);
		if (rc < 0 && errno != EINTR)
			log_fatal("poll: %m");
		if (rc <= 0)
			continue;
		for (int i = nclients - 1; i >= 0; i--)
			if (p[2 + i].revents && client_event(&clients[i]) != 0)
				client_close(i);
		if (p[1].revents)
			while ((d = lookup_pool_done()) != NULL)
				job_done((struct job *)d);
		if (p[0].revents & POLLIN)
			client_accept();
	}
}

int
main(int argc, char **argv)
{
	char err[256];
	/* the chroot has no /etc: read the file while we can */
	const char *conf_text = read_resolv_conf();

	service_init("resolver", argc, argv);
	client_limit((int)cfg.resolver_threads);
	if (lookup_pool_start((int)cfg.resolver_threads,
			      cfg.resolver_nameservers, conf_text, err,
			      sizeof(err)) != 0)
		log_fatal("%s", err);
	if ((cache = dns_cache_new(cfg.resolver_cache_size)) == NULL)
		log_fatal("out of memory");
	serve();
	return 0;
}
