/*
 * tlsproxy.c - tlsproxy(8): TLS handshakes and record layer for smtpd and
 * remote, so that neither holds the private key nor parses TLS.
 *
 * A request on private/tlsproxy carries a socket (SCM_RIGHTS) and
 * {req=server} or {req=client, servername, policy, tlsa...} (policy
 * "dane" with TLSA records: tls_client.c).  The proxy does the
 * handshake on that socket, answers {status=ok, protocol, cipher, bits,
 * verified, verify_reason, peer_subject} with one end of a socketpair, and
 * then copies between the TLS socket and the plaintext end in one poll
 * loop for all its sessions, until both sides are closed.
 * Trusts: the local requester (reachable only through the mail_owner
 * group); nothing from the network peer.
 * Never: keeps the key in a process that parses SMTP; reads the key after
 * dropping privileges; buffers more than TLSPROXY_BUF per direction;
 * waits for one requester (requests are read in the poll loop, bounded
 * in size and time).
 */
#include "tlsproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "service.h"
#include "tlsa.h"

enum state { S_REQUEST, S_HANDSHAKE, S_RELAY };

struct sess {
	enum state state;
	struct ipc *req;   /* the requester, until it has its answer */
	int net, plain, give; /* TLS socket, our plaintext end, theirs */
	SSL *ssl;
	int verify;        /* policy verify: unverified is a failure */
	int client;        /* client mode: report trust and DANE too */
	int dane;          /* client mode with TLSA records */
	short net_ev, plain_ev;
	unsigned char up[TLSPROXY_BUF];   /* plaintext -> TLS */
	unsigned char down[TLSPROXY_BUF]; /* TLS -> plaintext */
	size_t uplen, downlen, downoff;
	int plain_eof, tls_eof, notify_sent, dead;
	time_t deadline;
	char peer[64];
};

static int client_start(struct sess *s, const struct attrs *a);
static void step_request(struct sess *s);
static struct sess *sessions[TLSPROXY_SESSIONS];
static int nsess;
static SSL_CTX *server_ctx, *client_ctx;

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		log_fatal("fcntl: %m");
}

/* usable_socket - what a requester sent is a stream socket we can make
 * non-blocking: anything else (a file, an O_PATH descriptor) fails the
 * request instead of ending the process and every session in it */
static int
usable_socket(int fd)
{
	struct stat st;
	int type = 0, fl;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM)
		return 0;
	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static void
sess_free(struct sess *s)
{
	if (s->ssl)
		SSL_free(s->ssl);
	if (s->req)
		ipc_free(s->req);
	if (s->net >= 0 && close(s->net) != 0)
		log_warn("close: %m");
	if (s->plain >= 0 && close(s->plain) != 0)
		log_warn("close: %m");
	if (s->give >= 0 && close(s->give) != 0)
		log_warn("close: %m");
	free(s);
}

/* fail - answer the requester with a reason and end the session */
static void
fail(struct sess *s, const char *why)
{
	log_info("TLS handshake failed%s%s: %s", s->peer[0] ? " with " : "",
		 s->peer, why);
	if (s->req) {
		ipc_put_str(s->req, "status", "fail");
		ipc_put_str(s->req, "reason", why);
		if (ipc_end(s->req) != IPC_OK)
			log_warn("requester went away before the answer");
	}
	s->dead = 1;
}

/* verdict - chain and name result of the peer certificate */
static int
verdict(struct sess *s, char *why, size_t len)
{
	X509 *cert = SSL_get1_peer_certificate(s->ssl);
	long v = SSL_get_verify_result(s->ssl);

	if (cert == NULL) {
		snprintf(why, len, "no peer certificate");
		return 0;
	}
	X509_free(cert);
	if (v != X509_V_OK) {
		snprintf(why, len, "%s", X509_verify_cert_error_string(v));
		return 0;
	}
	why[0] = 0;
	return 1;
}

/* client_report - what remote logs: trust level, DANE, algorithm bits */
static void
client_report(struct sess *s)
{
	int dane, alg = 0;
	const char *trust = tls_client_trust(s->ssl, s->dane, &dane);

	SSL_get_cipher_bits(s->ssl, &alg);
	ipc_put_str(s->req, "trust", trust);
	ipc_put_str(s->req, "dane", dane ? "yes" : "no");
	ipc_put_long(s->req, "alg_bits", alg);
}

/* handshake_done - answer the requester and hand over the plaintext end */
static void
handshake_done(struct sess *s)
{
	char why[256], subject[256] = "";
	int bits = 0, ok = verdict(s, why, sizeof(why));
	X509 *cert = SSL_get1_peer_certificate(s->ssl);

	if (cert) {
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
				  sizeof(subject));
		X509_free(cert);
	}
	if (s->verify && !ok) {
		ipc_put_str(s->req, "stage", "verify"); /* not the handshake */
		fail(s, why);
		return;
	}
	SSL_get_cipher_bits(s->ssl, &bits);
	ipc_put_str(s->req, "status", "ok");
	ipc_put_str(s->req, "protocol", SSL_get_version(s->ssl));
	ipc_put_str(s->req, "cipher", SSL_get_cipher_name(s->ssl));
	ipc_put_long(s->req, "bits", bits);
	ipc_put_str(s->req, "verified", ok ? "yes" : "no");
	ipc_put_str(s->req, "verify_reason", why);
	ipc_put_str(s->req, "peer_subject", subject);
	if (s->client)
		client_report(s);
	ipc_attach_fd(s->req, s->give);
	if (ipc_end(s->req) != IPC_OK) {
		log_warn("requester went away before the answer");
		s->dead = 1;
		return;
	}
	/* the requester has its copy */
	if (close(s->give) != 0)
		log_warn("close: %m");
	s->give = -1;
	ipc_free(s->req);
	s->req = NULL;
	s->state = S_RELAY;
	s->deadline = time(NULL) + cfg.tlsproxy_idle_timeout;
	log_debug("TLS established: %s %s", SSL_get_version(s->ssl),
		  SSL_get_cipher_name(s->ssl));
}

/* want - poll events for an SSL call that could not finish */
static int
want(struct sess *s, int rc)
{
	switch (SSL_get_error(s->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		s->net_ev |= POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		s->net_ev |= POLLOUT;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		s->tls_eof = 1;
		return 0;
	default:
		return -1;
	}
}

static void
step_handshake(struct sess *s)
{
	int rc;

	ERR_clear_error();
	if ((rc = SSL_do_handshake(s->ssl)) == 1)
		handshake_done(s);
	else if (want(s, rc) != 0 || s->tls_eof)
		fail(s, tls_error("connection closed during handshake"));
}

/* pump_down - TLS -> plaintext; returns 1 on progress */
static int
pump_down(struct sess *s)
{
	int progress = 0;

	if (s->downlen == 0 && !s->tls_eof) {
		size_t n = 0;
		ERR_clear_error();
		int rc = SSL_read_ex(s->ssl, s->down, sizeof(s->down), &n);
		if (rc == 1) {
			s->downlen = n;
			s->downoff = 0;
			progress = 1;
		} else if (want(s, 0) != 0) {
			/* a peer that drops TCP without close_notify */
			s->tls_eof = 1;
			progress = 1;
		} else if (s->tls_eof)
			progress = 1;
	}
	if (s->downlen > 0) {
		ssize_t w = write(s->plain, s->down + s->downoff, s->downlen);
		if (w > 0) {
			s->downoff += (size_t)w;
			s->downlen -= (size_t)w;
			progress = 1;
		} else if (w < 0 && errno == EAGAIN)
			s->plain_ev |= POLLOUT;
		else
			s->dead = 1;
	}
	if (s->tls_eof && s->downlen == 0 && shutdown(s->plain, SHUT_WR) != 0
	    && errno != ENOTCONN)
		s->dead = 1;
	return progress;
}

/* pump_up - plaintext -> TLS; returns 1 on progress */
static int
pump_up(struct sess *s)
{
	int progress = 0;

	if (s->uplen < sizeof(s->up) && !s->plain_eof) {
		ssize_t r = read(s->plain, s->up + s->uplen,
				 sizeof(s->up) - s->uplen);
		if (r > 0) {
			s->uplen += (size_t)r;
			progress = 1;
		} else if (r == 0) {
			s->plain_eof = 1;
			progress = 1;
		} else if (errno == EAGAIN)
			s->plain_ev |= POLLIN;
		else
			s->plain_eof = progress = 1;
	}
	if (s->uplen > 0 && !s->tls_eof) {
		size_t n = 0;
		ERR_clear_error();
		int rc = SSL_write_ex(s->ssl, s->up, s->uplen, &n);
		if (rc == 1) {
			memmove(s->up, s->up + n, s->uplen - n);
			s->uplen -= n;
			progress = 1;
		} else if (want(s, 0) != 0)
			s->dead = 1;
	} else if (s->uplen > 0)
		s->uplen = 0; /* the peer closed: nobody to read it */
	if (s->plain_eof && s->uplen == 0 && !s->notify_sent) {
		/* close_notify; the peer's own one is read by pump_down */
		ERR_clear_error();
		int rc = SSL_shutdown(s->ssl);
		if (rc >= 0 || want(s, rc) == 0)
			s->notify_sent = rc >= 0;
		else
			s->notify_sent = 1;
		progress = 1;
	}
	return progress;
}

static void
step_relay(struct sess *s)
{
	int progress;

	do {
		s->net_ev = s->plain_ev = 0;
		progress = pump_down(s);
		progress |= pump_up(s);
		if (progress)
			s->deadline = time(NULL) + cfg.tlsproxy_idle_timeout;
	} while (progress && !s->dead);
	if (s->plain_eof && s->notify_sent && (s->tls_eof || s->uplen == 0)
	    && s->downlen == 0)
		s->dead = 1; /* both sides are done */
	if (SSL_pending(s->ssl) > 0 && s->downlen == 0)
		s->net_ev |= POLLIN;
}

static void
step(struct sess *s)
{
	s->net_ev = 0;
	if (s->state == S_REQUEST)
		step_request(s);
	if (!s->dead && s->state == S_HANDSHAKE)
		step_handshake(s);
	if (!s->dead && s->state == S_RELAY)
		step_relay(s);
}

/* start_session - the handshake asked for by request a on s->req */
static void
start_session(struct sess *s, const struct attrs *a)
{
	int pair[2];

	if ((s->net = ipc_take_fd(s->req)) < 0) {
		log_warn("bad request (no socket)");
		s->dead = 1;
		return;
	}
	const char *req = attrs_get(a, "req");
	int server = req && strcmp(req, "server") == 0;
	int client = req && strcmp(req, "client") == 0;
	SSL_CTX *ctx = server ? server_ctx : client ? client_ctx : NULL;
	if (ctx == NULL) {
		fail(s, server ? "no certificate configured "
				 "(smtpd_tls_cert_file, smtpd_tls_key_file)"
			       : "unknown request");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 ||
	    (s->ssl = SSL_new(ctx)) == NULL) {
		fail(s, "out of resources");
		return;
	}
	s->plain = pair[0];
	s->give = pair[1];
	if (!usable_socket(s->net)) {
		fail(s, "the descriptor sent is not a stream socket");
		return;
	}
	set_nonblock(s->plain);
	SSL_set_fd(s->ssl, s->net);
	if (server) {
		const char *ask = attrs_get(a, "ask_cert");
		if (ask && strcmp(ask, "yes") == 0)
			SSL_set_verify(s->ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_accept_state(s->ssl);
	} else if (client_start(s, a) != 0) {
		return;
	}
	s->state = S_HANDSHAKE;
	s->deadline = time(NULL) + cfg.tls_handshake_timeout;
}

/*
 * step_request - read what the requester has sent, without waiting: one
 * slow or stalled requester must not hold up the other sessions.  The
 * request is bounded (TLSPROXY_REQ_MAX) and has a deadline (reap).
 */
static void
step_request(struct sess *s)
{
	struct attrs a;

	attrs_init(&a);
	for (;;) {
		int rc = ipc_parse(s->req, &a);
		if (rc == IPC_OK) {
			start_session(s, &a);
			break;
		}
		if (rc != IPC_AGAIN || s->req->eof) {
			log_warn("bad request (%s)", rc != IPC_AGAIN
				 ? "malformed record" : "closed before its end");
			s->dead = 1;
			break;
		}
		if (s->req->rlen - s->req->rpos > TLSPROXY_REQ_MAX) {
			log_warn("bad request (over %d bytes)",
				 TLSPROXY_REQ_MAX);
			s->dead = 1;
			break;
		}
		rc = ipc_fill(s->req);
		if (rc == IPC_AGAIN) {
			s->net_ev = POLLIN; /* the request socket's slot */
			break;
		}
		if (rc < 0 && rc != IPC_EOF) {
			log_warn("bad request (read failed or too many "
				 "descriptors)");
			s->dead = 1;
			break;
		}
	}
	attrs_free(&a);
}

/* new_session - a requester connected: its request is read in the poll
 * loop (step_request), never with a blocking wait */
static void
new_session(int fd)
{
	struct sess *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		log_warn("out of memory for a session");
		if (close(fd) != 0)
			log_warn("close: %m");
		return;
	}
	s->net = s->plain = s->give = -1;
	/* timeout 0: the answer (a few hundred bytes into an empty socket
	 * buffer) is never waited for either */
	if ((s->req = ipc_new(fd, 0)) == NULL) {
		log_warn("out of memory for a request");
		if (close(fd) != 0)
			log_warn("close: %m");
		free(s);
		return;
	}
	s->state = S_REQUEST;
	s->deadline = time(NULL) + TLSPROXY_REQ_SECS;
	sessions[nsess++] = s;
	step(s);
}

/* client_start - name, policy and TLSA records of a client request */
static int
client_start(struct sess *s, const struct attrs *a)
{
	const char *name = attrs_get(a, "servername");
	const char *policy = attrs_get(a, "policy");
	char *recs[TLSA_MAX_RECORDS], err[256];
	int n = 0;

	for (int i = 0; i < a->n && n < TLSA_MAX_RECORDS; i++)
		if (strcmp(a->a[i].name, "tlsa") == 0)
			recs[n++] = a->a[i].value;
	if (name && name[0])
		snprintf(s->peer, sizeof(s->peer), "%s", name);
	s->client = 1;
	s->dane = policy && strcmp(policy, "dane") == 0;
	s->verify = s->dane || (policy && strcmp(policy, "verify") == 0);
	if (tls_client_setup(s->ssl, name, policy, recs, n, err,
			     sizeof(err)) != 0) {
		fail(s, err);
		return -1;
	}
	return 0;
}

/* reap - free the dead and the idle sessions */
static void
reap(time_t now)
{
	for (int i = 0; i < nsess;) {
		struct sess *s = sessions[i];
		if (!s->dead && now >= s->deadline) {
			if (s->state == S_REQUEST)
				log_warn("bad request (not complete in %d "
					 "seconds)", TLSPROXY_REQ_SECS);
			else if (s->state == S_HANDSHAKE)
				fail(s, "handshake timed out");
			else
				log_info("TLS session idle, closed");
			s->dead = 1;
		}
		if (s->dead) {
			sess_free(s);
			sessions[i] = sessions[--nsess];
		} else
			i++;
	}
}

/* room - another requester may be accepted: below the session limit and
 * the limit of requests being read (what a stalled requester costs) */
static int
room(void)
{
	int reading = 0;

	for (int i = 0; i < nsess; i++)
		reading += sessions[i]->state == S_REQUEST;
	return nsess < TLSPROXY_SESSIONS && reading < TLSPROXY_REQ_READING;
}

static void
loop(void)
{
	static struct pollfd p[1 + 2 * TLSPROXY_SESSIONS];
	int listening = 1;

	set_nonblock(SERVICE_LISTEN_FD);
	service_report(SERVICE_IDLE);
	while (listening || nsess > 0) {
		int n = 0;
		if (listening && service_stop) {
			/* reload/stop: a new process takes new requests with
			 * the new certificate; ours go on to their end */
			listening = 0;
			service_report(SERVICE_BUSY);
		}
		if (listening)
			p[n++] = (struct pollfd){SERVICE_LISTEN_FD,
						 room() ? POLLIN : 0, 0};
		for (int i = 0; i < nsess; i++) {
			struct sess *s = sessions[i];
			p[n++] = (struct pollfd){s->state == S_REQUEST
						 ? s->req->fd : s->net,
						 s->net_ev, 0};
			p[n++] = (struct pollfd){sessions[i]->plain,
						 sessions[i]->plain_ev, 0};
		}
		int rc = poll(p, (nfds_t)n, 1000);
		if (rc < 0 && errno != EINTR)
			log_fatal("poll: %m");
		int base = listening ? 1 : 0;
		for (int i = 0; rc > 0 && i < nsess; i++) {
			struct pollfd *q = &p[base + 2 * i];
			if (q[0].revents || q[1].revents)
				step(sessions[i]);
		}
		reap(time(NULL));
		if (listening && rc > 0 && (p[0].revents & POLLIN)) {
			int fd = accept4(SERVICE_LISTEN_FD, NULL, NULL,
					 SOCK_CLOEXEC);
			if (fd >= 0)
				new_session(fd);
			else if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %m");
		}
	}
}

int
main(int argc, char **argv)
{
	char err[512];

	/* the table names no user: the key is read first, then we drop */
	service_init("tlsproxy", argc, argv);
	server_ctx = tls_server_ctx(err, sizeof(err));
	if (server_ctx == NULL && err[0])
		log_fatal("%s", err);
	if ((client_ctx = tls_client_ctx(err, sizeof(err))) == NULL)
		log_fatal("%s", err);
	if (strcmp(cfg.run_mode, "root") == 0 &&
	    drop_privileges(cfg.tlsproxy_user, cfg.queue_directory) != 0)
		exit(1);
	if (server_ctx == NULL)
		log_info("no smtpd_tls_cert_file/key_file: server mode off");
	loop();
	return 0;
}
