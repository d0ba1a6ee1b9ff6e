/*
 * smtpd_tls.c - STARTTLS for smtpd(8), with OpenSSL, inside smtpd.
 *
 * The certificate and key are read once, as root, before smtpd chroots
 * and drops its privileges (service_before_drop); sessions then run the
 * handshake and the record layer here.  Only TLS 1.2 and later, with
 * forward-secret AEAD ciphers first (smtpd_tls_ciphers).  See smtpd(8),
 * "STARTTLS", for why this is in smtpd and what is still to come.
 * Trusts: OpenSSL for the protocol; nothing the client sends.
 * Never: offers STARTTLS without a usable certificate and key; lets
 * plaintext pipelined behind STARTTLS into the TLS session.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "smtpd.h"

static SSL_CTX *ctx;

static void
ssl_error(const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	log_warn("%s: %s", what, e ? buf : strerror(errno));
	ERR_clear_error();
}

/* smtpd_tls_init - read certificate and key (before privileges go). */
void
smtpd_tls_init(void)
{
	if (cfg.smtpd_tls_cert_file[0] == 0)
		return;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		log_fatal("TLS: cannot make a context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_set_cipher_list(ctx, cfg.smtpd_tls_ciphers) != 1)
		log_fatal("smtpd_tls_ciphers: no usable cipher in \"%s\"",
			  cfg.smtpd_tls_ciphers);
	const char *key = cfg.smtpd_tls_key_file[0] ? cfg.smtpd_tls_key_file
						    : cfg.smtpd_tls_cert_file;
	if (SSL_CTX_use_certificate_chain_file(ctx,
					       cfg.smtpd_tls_cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char buf[256];
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		log_fatal("TLS certificate %s or key %s unusable: %s",
			  cfg.smtpd_tls_cert_file, key, buf);
	}
}

int
smtpd_tls_available(void)
{
	return ctx != NULL;
}

/* smtpd_tls_start - the server handshake on the session's socket. */
int
smtpd_tls_start(struct smtpd_session *s)
{
	struct smtpd_io *io = &s->io;
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL || SSL_set_fd(ssl, io->fd) != 1) {
		ssl_error("TLS: cannot start a session");
		SSL_free(ssl);
		return -1;
	}
	for (;;) {
		int rc = SSL_accept(ssl);
		if (rc == 1)
			break;
		int e = SSL_get_error(ssl, rc);
		struct pollfd p = {.fd = io->fd, .events = e == SSL_ERROR_WANT_WRITE
							      ? POLLOUT
							      : POLLIN};
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    poll(&p, 1, io->timeout_s * 1000) <= 0) {
			char client[400];
			smtpd_client_label(s, client, sizeof(client));
			ssl_error("TLS handshake failed");
			log_info("SSL_accept error from %s", client);
			SSL_free(ssl);
			return -1;
		}
	}
	io->ssl = ssl;
	snprintf(s->tls, sizeof(s->tls), "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		 SSL_get_cipher_bits(ssl, NULL), SSL_get_cipher_bits(ssl, NULL));
	return 0;
}

void
smtpd_tls_end(struct smtpd_io *io)
{
	if (io->ssl == NULL)
		return;
	SSL_shutdown(io->ssl); /* close_notify; the answer is not awaited */
	SSL_free(io->ssl);
	io->ssl = NULL;
}

/* io_tls_read / io_tls_write - like read(2)/send(2) on a ready socket:
 * -1 with errno EAGAIN when TLS needs the socket to become ready. */
ssize_t
io_tls_read(struct smtpd_io *io, void *buf, size_t n)
{
	int r = SSL_read(io->ssl, buf, (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(io->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t
io_tls_write(struct smtpd_io *io, const void *buf, size_t n)
{
	int r = SSL_write(io->ssl, buf, (int)n);
	if (r > 0)
		return r;
	int e = SSL_get_error(io->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	return -1;
}
