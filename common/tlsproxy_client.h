/*
 * tlsproxy_client.h - hand a socket to tlsproxy(8) for TLS and get back a
 * descriptor that carries the plaintext (one end of a socketpair).
 *
 * Used by smtpd (server mode: STARTTLS, port 465) and remote (client mode:
 * STARTTLS to a peer).  The caller never sees the private key or a TLS
 * record.  Both calls block, at most opts->timeout_ms, for the handshake.
 */
#ifndef MTA_TLSPROXY_CLIENT_H
#define MTA_TLSPROXY_CLIENT_H

#include <stddef.h>

#define TLSPROXY_SOCKET "private/tlsproxy" /* relative to queue_directory */

struct tlsproxy_opts {
	const char *socket_path; /* NULL: TLSPROXY_SOCKET in the cwd */
	int timeout_ms;          /* whole request, handshake included */
	/* client mode */
	const char *servername;  /* SNI and the name to verify */
	const char *policy;      /* "may", "encrypt", "verify" or "dane" */
	char *const *tlsa;       /* policy "dane": TLSA records as text */
	int ntlsa;               /* ("USAGE SELECTOR MTYPE HEX", tlsa.h) */
	/* server mode */
	int ask_cert;            /* ask the client for a certificate */
};

struct tls_result {
	char protocol[32];      /* e.g. "TLSv1.3" */
	char cipher[128];       /* e.g. "TLS_AES_256_GCM_SHA384" */
	int bits;               /* secret bits of the cipher */
	int verified;           /* peer certificate chain and name verified */
	char verify_reason[256]; /* why not, when verified is 0 */
	char peer_subject[256]; /* peer certificate subject, "" if none */
	/* client mode */
	char trust[16];         /* anonymous, untrusted, trusted, verified */
	int dane;               /* verified by a TLSA record (RFC 7672) */
	int alg_bits;           /* bits of the cipher algorithm */
	int verify_failed;      /* on -1: the handshake went through but
				 * verify/dane rejected the peer */
};

/*
 * tlsproxy_server - TLS server handshake on client_fd (which the caller
 * still owns and should close afterwards).  Returns the plaintext fd, or
 * -1 with err set (proxy down, timeout, handshake failed).
 */
int tlsproxy_server(int client_fd, const struct tlsproxy_opts *o,
		    struct tls_result *r, char *err, size_t errlen);

/*
 * tlsproxy_client - TLS client handshake on peer_fd.  With policy
 * "verify" an unverified peer is a failure (-1, err says why,
 * r->verify_failed is 1); with "may" and "encrypt" it is reported in
 * r->verified and r->verify_reason.  Policy "dane" verifies the peer
 * against o->tlsa only (DANE-TA/DANE-EE), a mismatch is a failure too.
 */
int tlsproxy_client(int peer_fd, const struct tlsproxy_opts *o,
		    struct tls_result *r, char *err, size_t errlen);

#endif
