/*
 * tlsproxy.h - shared by the files of tlsproxy(8).
 */
#ifndef TLSPROXY_H
#define TLSPROXY_H

#include <openssl/ssl.h>
#include <time.h>

#define TLSPROXY_SESSIONS 1000  /* sessions one process relays at once */
#define TLSPROXY_BUF 16384      /* bytes buffered per direction per session */
#define TLSPROXY_REQ_SECS 5     /* to read one request record */
#define TLSPROXY_REQ_MAX (320 * 1024) /* bytes of one request (32 TLSA) */
#define TLSPROXY_REQ_READING 64 /* requests being read at once */

/* tls_ctx.c: the contexts, made before privileges are dropped */
SSL_CTX *tls_server_ctx(char *err, size_t errlen); /* NULL: no cert set */
SSL_CTX *tls_client_ctx(char *err, size_t errlen);
/* tls_error - the last OpenSSL error (or what) as text */
const char *tls_error(const char *what);

/* tls_client.c: client mode (remote's STARTTLS) */
/* tls_client_setup - SNI and reference name; with policy "dane" the
 * TLSA records ("U S M HEX"); -1 with err when none is usable */
int tls_client_setup(SSL *ssl, const char *name, const char *policy,
		     char *const *recs, int n, char *err, size_t errlen);
/* tls_dane_setup - DANE for base with the usable records among recs:
 * their number, or -1 with err (none usable, OpenSSL error) */
int tls_dane_setup(SSL *ssl, const char *base, char *const *recs, int n,
		   char *err, size_t errlen);
/* tls_client_trust - after the handshake: "anonymous", "untrusted",
 * "trusted" (chain good, name not), "verified"; dane_on: DANE was set up;
 * *dane when a TLSA record matched */
const char *tls_client_trust(SSL *ssl, int dane_on, int *dane);

#endif
