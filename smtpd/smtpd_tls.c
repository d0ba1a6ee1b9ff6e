/*
 * smtpd_tls.c - STARTTLS (RFC 3207) and implicit TLS (RFC 8314) for
 * smtpd(8), through tlsproxy(8).
 *
 * smtpd holds no certificate, no private key and no TLS code: at the
 * handshake it hands the client's socket to tlsproxy over
 * private/tlsproxy and goes on with the plaintext end of a socketpair
 * that tlsproxy sends back, put on the same descriptor number.  A bug in
 * the SMTP parser can then reach neither the key nor another session's
 * TLS state.  tlsproxy reads the certificate and key as root before it
 * drops privileges, and a reload starts a new tlsproxy with the new
 * files.  See smtpd(8), "STARTTLS", for the reasons.
 * Trusts: tlsproxy for the handshake result (bounded fields).
 * Never: offers STARTTLS without a certificate configured; lets plaintext
 * pipelined behind STARTTLS into the TLS session (smtpd_cmd.c refuses it
 * before the 220 reply).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "smtpd.h"
#include "tlsproxy_client.h"

/* what smtpd waits for tlsproxy beyond the proxy's own handshake limit */
#define SMTPD_TLS_MARGIN_MS 2000

/* smtpd_tls_available - a certificate is configured, so tlsproxy has one
 * (tlsproxy refuses to start with files it cannot use). */
int
smtpd_tls_available(void)
{
	return cfg.smtpd_tls_cert_file[0] != 0;
}

/*
 * smtpd_tls_start - the server handshake on the session's socket, done by
 * tlsproxy.  On success the plaintext end replaces the client socket on
 * the same descriptor (our copy of the TCP socket is closed; tlsproxy
 * holds it) and s->tls describes the connection.
 */
int
smtpd_tls_start(struct smtpd_session *s)
{
	struct tlsproxy_opts o = {
		.timeout_ms = (int)cfg.tls_handshake_timeout * 1000 +
			      SMTPD_TLS_MARGIN_MS};
	struct tls_result r;
	char err[512], client[400];
	int plain = tlsproxy_server(s->io.fd, &o, &r, err, sizeof(err));

	if (plain < 0) {
		smtpd_client_label(s, client, sizeof(client));
		log_info("TLS handshake failed with %s: %s", client, err);
		return -1;
	}
	if (dup2(plain, s->io.fd) < 0 ||
	    fcntl(s->io.fd, F_SETFD, FD_CLOEXEC) != 0) {
		log_warn("dup2 of the TLS plaintext socket: %m");
		if (close(plain) != 0)
			log_warn("close: %m");
		return -1;
	}
	if (close(plain) != 0)
		log_warn("close: %m");
	snprintf(s->tls, sizeof(s->tls), "%s with cipher %s (%d/%d bits)",
		 r.protocol, r.cipher, r.bits, r.bits);
	return 0;
}

/* smtpd_tls_active - the session runs over TLS */
int
smtpd_tls_active(const struct smtpd_session *s)
{
	return s->tls[0] != 0;
}
