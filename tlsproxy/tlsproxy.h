/*
 * tlsproxy.h - shared by the files of tlsproxy(8).
 */
#ifndef TLSPROXY_H
#define TLSPROXY_H

#include <openssl/ssl.h>
#include <time.h>

#define TLSPROXY_SESSIONS 1000  /* sessions one process relays at once */
#define TLSPROXY_BUF 16384      /* bytes buffered per direction per session */
#define TLSPROXY_REQ_MS 5000    /* to read one request record */

/* tls_ctx.c: the contexts, made before privileges are dropped */
SSL_CTX *tls_server_ctx(char *err, size_t errlen); /* NULL: no cert set */
SSL_CTX *tls_client_ctx(char *err, size_t errlen);
/* tls_error - the last OpenSSL error (or what) as text */
const char *tls_error(const char *what);

#endif
