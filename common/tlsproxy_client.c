/*
 * tlsproxy_client.c - requests to tlsproxy(8) (see tlsproxy_client.h).
 *
 * Trusts: the proxy behind private/tlsproxy (a socket only our users can
 * reach) for the result; copies it into bounded fields.
 * Never: keeps the request socket or a received descriptor on failure.
 */
#include "tlsproxy_client.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

/* copy - attribute name into a bounded field ("" when missing). */
static void
copy(char *dst, size_t cap, const struct attrs *a, const char *name)
{
	const char *v = attrs_get(a, name);

	snprintf(dst, cap, "%s", v ? v : "");
}

static int
request(const char *mode, int fd, const struct tlsproxy_opts *o,
	struct tls_result *r, char *err, size_t errlen)
{
	const char *path = o->socket_path ? o->socket_path : TLSPROXY_SOCKET;
	struct attrs a;
	int s, rc, plain = -1, ok;

	memset(r, 0, sizeof(*r));
	if (fd < 0) {
		snprintf(err, errlen, "no socket to hand to tlsproxy");
		return -1;
	}
	if ((s = ipc_connect_unix(path)) < 0) {
		snprintf(err, errlen, "connect %s: %m", path);
		return -1;
	}
	struct ipc *c = ipc_new(s, o->timeout_ms > 0 ? o->timeout_ms : 30000);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		if (close(s) != 0)
			snprintf(err, errlen, "out of memory; close: %m");
		return -1;
	}
	ipc_attach_fd(c, fd);
	ipc_put_str(c, "req", mode);
	if (o->servername)
		ipc_put_str(c, "servername", o->servername);
	if (o->policy)
		ipc_put_str(c, "policy", o->policy);
	for (int i = 0; o->tlsa && i < o->ntlsa; i++)
		ipc_put_str(c, "tlsa", o->tlsa[i]);
	if (o->ask_cert)
		ipc_put_str(c, "ask_cert", "yes");
	attrs_init(&a);
	if ((rc = ipc_end(c)) != IPC_OK || (rc = ipc_read(c, &a)) != IPC_OK) {
		snprintf(err, errlen, "tlsproxy: %s", rc == IPC_TIMEOUT ?
			 "timed out" : rc == IPC_EOF ? "closed the connection"
						      : "request failed");
		goto out;
	}
	const char *status = attrs_get(&a, "status");
	if (status == NULL || strcmp(status, "ok") != 0) {
		const char *why = attrs_get(&a, "reason");
		const char *stage = attrs_get(&a, "stage");
		r->verify_failed = stage && strcmp(stage, "verify") == 0;
		copy(r->verify_reason, sizeof(r->verify_reason), &a, "reason");
		snprintf(err, errlen, "TLS handshake failed: %s",
			 why ? why : "no reason given");
		goto out;
	}
	if ((plain = ipc_take_fd(c)) < 0) {
		snprintf(err, errlen, "tlsproxy sent no descriptor");
		goto out;
	}
	copy(r->protocol, sizeof(r->protocol), &a, "protocol");
	copy(r->cipher, sizeof(r->cipher), &a, "cipher");
	copy(r->verify_reason, sizeof(r->verify_reason), &a, "verify_reason");
	copy(r->peer_subject, sizeof(r->peer_subject), &a, "peer_subject");
	r->bits = (int)attrs_get_long(&a, "bits", &ok);
	copy(r->trust, sizeof(r->trust), &a, "trust");
	r->alg_bits = (int)attrs_get_long(&a, "alg_bits", &ok);
	const char *dane = attrs_get(&a, "dane");
	r->dane = dane && strcmp(dane, "yes") == 0;
	const char *v = attrs_get(&a, "verified");
	r->verified = v && strcmp(v, "yes") == 0;
out:
	attrs_free(&a);
	ipc_free(c);
	return plain;
}

int
tlsproxy_server(int client_fd, const struct tlsproxy_opts *o,
		struct tls_result *r, char *err, size_t errlen)
{
	return request("server", client_fd, o, r, err, errlen);
}

int
tlsproxy_client(int peer_fd, const struct tlsproxy_opts *o,
		struct tls_result *r, char *err, size_t errlen)
{
	if (o->policy == NULL || (strcmp(o->policy, "may") != 0 &&
				  strcmp(o->policy, "encrypt") != 0 &&
				  strcmp(o->policy, "verify") != 0 &&
				  strcmp(o->policy, "dane") != 0)) {
		memset(r, 0, sizeof(*r));
		snprintf(err, errlen, "TLS policy \"%s\" needs no proxy or is "
			 "unknown (may, encrypt, verify, dane)",
			 o->policy ? o->policy : "");
		return -1;
	}
	return request("client", peer_fd, o, r, err, errlen);
}
