/*
 * tlsproxy_echo.c - test driver for tlsproxy(8), built by the Makefile for
 * tests/integration/test_tlsproxy.py and never installed.
 *
 *   tlsproxy_echo server SOCKET      listen on 127.0.0.1 (port printed),
 *       accept one client, hand it to tlsproxy_server(), print the
 *       result, then echo every byte back over the plaintext fd.
 *   tlsproxy_echo client SOCKET PORT NAME POLICY   connect to 127.0.0.1
 *       PORT, tlsproxy_client(), print the result, send "hello\n" and
 *       print the line the server sends back.
 * Trusts: its arguments.  Never: opens a certificate or key file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tlsproxy_client.h"

static void
print_result(const struct tls_result *r)
{
	printf("ok protocol=%s cipher=%s bits=%d verified=%s reason=%s\n",
	       r->protocol, r->cipher, r->bits, r->verified ? "yes" : "no",
	       r->verify_reason[0] ? r->verify_reason : "-");
	fflush(stdout);
}

static int
serve(const char *sock)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, p;
	struct tlsproxy_opts o = {.socket_path = sock, .timeout_ms = 20000};
	struct tls_result r;
	char err[512], buf[65536];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) != 0) {
		perror("listen");
		return 1;
	}
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	if ((c = accept(l, NULL, NULL)) < 0) {
		perror("accept");
		return 1;
	}
	p = tlsproxy_server(c, &o, &r, err, sizeof(err));
	if (close(c) != 0) /* the proxy holds its own copy */
		perror("close");
	if (p < 0) {
		printf("fail %s\n", err);
		return 1;
	}
	print_result(&r);
	for (;;) {
		ssize_t n = read(p, buf, sizeof(buf)), off = 0;
		if (n <= 0)
			break;
		while (off < n) {
			ssize_t w = write(p, buf + off, (size_t)(n - off));
			if (w <= 0)
				return 1;
			off += w;
		}
	}
	printf("closed\n");
	return close(p) == 0 ? 0 : 1;
}

static int
client(const char *sock, int port, const char *name, const char *policy)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct tlsproxy_opts o = {.socket_path = sock, .timeout_ms = 20000,
				  .servername = name, .policy = policy};
	struct tls_result r;
	char err[512], buf[1024];
	int s = socket(AF_INET, SOCK_STREAM, 0), p;

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("connect");
		return 1;
	}
	p = tlsproxy_client(s, &o, &r, err, sizeof(err));
	if (close(s) != 0)
		perror("close");
	if (p < 0) {
		printf("fail %s\n", err);
		return 1;
	}
	print_result(&r);
	if (write(p, "hello\n", 6) != 6)
		return 1;
	ssize_t n = read(p, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	printf("got %s", buf);
	return close(p) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return serve(argv[2]);
	if (argc == 6 && strcmp(argv[1], "client") == 0)
		return client(argv[2], atoi(argv[3]), argv[4], argv[5]);
	fprintf(stderr, "usage: tlsproxy_echo server SOCKET | client SOCKET "
		"PORT NAME POLICY\n");
	return 2;
}
