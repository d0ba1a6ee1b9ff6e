/*
 * tls_ctx.c - OpenSSL contexts of tlsproxy(8) from mta.conf(5).
 *
 * Trusts: the certificate, key and CA files the administrator named.
 * Never: allows a protocol below TLS 1.2; runs after the chroot (the files
 * lie outside it).
 */
#include "tlsproxy.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

const char *
tls_error(const char *what)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return what;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* min_version - smtpd_tls_protocols names the lowest version allowed */
static int
min_version(SSL_CTX *ctx, char *err, size_t errlen)
{
	int v;

	if (strcmp(cfg.smtpd_tls_protocols, "TLSv1.2") == 0)
		v = TLS1_2_VERSION;
	else if (strcmp(cfg.smtpd_tls_protocols, "TLSv1.3") == 0)
		v = TLS1_3_VERSION;
	else {
		snprintf(err, errlen, "smtpd_tls_protocols: \"%s\" is not "
			 "TLSv1.2 or TLSv1.3", cfg.smtpd_tls_protocols);
		return -1;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, v)) {
		snprintf(err, errlen, "%s", tls_error("set protocol version"));
		return -1;
	}
	return 0;
}

/* common_setup - version floor, ciphers, modes the relay loop needs */
static int
common_setup(SSL_CTX *ctx, char *err, size_t errlen)
{
	if (min_version(ctx, err, errlen) != 0)
		return -1;
	if (!SSL_CTX_set_cipher_list(ctx, cfg.smtpd_tls_ciphers)) {
		snprintf(err, errlen, "smtpd_tls_ciphers: %s",
			 tls_error("no usable cipher"));
		return -1;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				 SSL_OP_NO_RENEGOTIATION);
	return 0;
}

SSL_CTX *
tls_server_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx;

	err[0] = 0;
	if (cfg.smtpd_tls_cert_file[0] == 0 || cfg.smtpd_tls_key_file[0] == 0)
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "%s", tls_error("SSL_CTX_new"));
		return NULL;
	}
	if (common_setup(ctx, err, errlen) != 0)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg.smtpd_tls_cert_file) != 1) {
		snprintf(err, errlen, "smtpd_tls_cert_file %s: %s",
			 cfg.smtpd_tls_cert_file, tls_error("unreadable"));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg.smtpd_tls_key_file,
					SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "smtpd_tls_key_file %s: %s",
			 cfg.smtpd_tls_key_file, tls_error("unreadable"));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* a client certificate is asked for, never required: see ask_cert */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	/* remote_tls_cafile is remote's own name for the client CAs */
	const char *file = cfg.remote_tls_cafile[0] ? cfg.remote_tls_cafile
						     : cfg.smtp_tls_cafile;
	const char *path = cfg.smtp_tls_capath;

	err[0] = 0;
	if (ctx == NULL) {
		snprintf(err, errlen, "%s", tls_error("SSL_CTX_new"));
		return NULL;
	}
	if (common_setup(ctx, err, errlen) != 0)
		goto fail;
	if (file[0] || path[0]) {
		if (SSL_CTX_load_verify_locations(ctx, file[0] ? file : NULL,
						  path[0] ? path : NULL) != 1) {
			snprintf(err, errlen, "remote_tls_cafile, "
				 "smtp_tls_cafile/capath: %s",
				 tls_error("unreadable"));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "%s", tls_error("default CA paths"));
		goto fail;
	}
	/* DANE is switched on per connection (tls_client.c) */
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		snprintf(err, errlen, "%s", tls_error("DANE"));
		goto fail;
	}
	/* verification is judged after the handshake, by policy */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
