/*
 * anvil.c - anvil(8): counts SMTP sessions per client address, for the
 * connection limits of smtpd(8).
 *
 * One long-lived process (master keeps it running).  Each smtpd session
 * from an untrusted client opens one connection to private/anvil, sends
 * {req=connect, addr=ADDRESS} and keeps the connection open for as long
 * as the session lasts; anvil answers with {count=N, rate=M}: the
 * sessions that address holds now (this one included) and the ones it
 * opened in the current minute.  When the connection closes - session
 * over, or its smtpd process crashed - the kernel tells us with EOF and
 * the count goes down, so a slot can never leak.
 *
 * It also remembers failed SMTP AUTH attempts (common/auth_limit), so the
 * growing delay and the failure limit hold across sessions and smtpd
 * processes: {req=auth_check, addr} before an attempt, {req=auth_fail,
 * addr, account} after a failure, {req=auth_ok, account} after a
 * success; each is answered {delay=SECONDS, failures=N}, the delay owed
 * before the next answer and the address's failures within
 * smtpd_auth_failure_window.  These requests may come on any
 * connection, counted or not.  An IPv6 address's AUTH failures count
 * for its /64 (auth_client_key).
 * Trusts: smtpd for framing only; addresses are bounded strings.
 * Never: blocks on one client (every socket is non-blocking); holds more
 * than ANVIL_CLIENTS_MAX connections or ANVIL_ADDRS_MAX addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth_limit.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "service.h"

#define ANVIL_CLIENTS_MAX 8192 /* sessions counted at once */
#define ANVIL_ADDRS_MAX 8192   /* client addresses remembered */
#define ANVIL_ADDR_LEN 64
#define ANVIL_WINDOW 60 /* seconds of the rate window */
#define ANVIL_CLIENT_MS 1000
#define ANVIL_AUTH_MAX 8192      /* addresses and accounts with failures */

struct addr_entry {
	char addr[ANVIL_ADDR_LEN];
	int count;     /* connections open now */
	int rate;      /* connects in the window */
	time_t window; /* when the window started */
};

struct client {
	struct ipc *c;
	int slot; /* addr_entry index once connected, else -1 */
};

static struct addr_entry addrs[ANVIL_ADDRS_MAX];
static int naddrs;
static struct client clients[ANVIL_CLIENTS_MAX];
static int nclients;
static struct auth_limit auth;

/* addr_slot - the entry of addr, made if needed; -1 when full. */
static int
addr_slot(const char *addr, time_t now)
{
	int free_slot = -1;

	for (int i = 0; i < naddrs; i++) {
		if (strcmp(addrs[i].addr, addr) == 0)
			return i;
		/* an entry without sessions whose window passed is free */
		if (free_slot < 0 && addrs[i].count == 0 &&
		    now - addrs[i].window >= ANVIL_WINDOW)
			free_slot = i;
	}
	if (free_slot < 0) {
		if (naddrs == ANVIL_ADDRS_MAX)
			return -1;
		free_slot = naddrs++;
	}
	memset(&addrs[free_slot], 0, sizeof(addrs[free_slot]));
	snprintf(addrs[free_slot].addr, ANVIL_ADDR_LEN, "%s", addr);
	addrs[free_slot].window = now;
	return free_slot;
}

/*
 * auth_client_key - the key of an address in the failed-AUTH table: an
 * IPv6 address counts as its /64, since one host commonly holds a whole
 * /64 and would otherwise start afresh with every address it picks
 * (IPv4 and anything else as it is).
 */
static const char *
auth_client_key(const char *addr, char *out, size_t len)
{
	struct in6_addr a6;

	if (strchr(addr, ':') == NULL || inet_pton(AF_INET6, addr, &a6) != 1 ||
	    IN6_IS_ADDR_V4MAPPED(&a6))
		return addr;
	memset(a6.s6_addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, &a6, out, (socklen_t)len) == NULL ||
	    strlen(out) + 4 >= len)
		return addr;
	strcat(out, "/64");
	return out;
}

/* auth_request - auth_check, auth_fail, auth_ok (see the top) */
static void
auth_request(struct client *cl, const char *req, const struct attrs *a)
{
	const char *addr = attrs_get(a, "addr");
	const char *account = attrs_get(a, "account");
	char key[ANVIL_ADDR_LEN];
	time_t now = time(NULL);

	if (addr && (addr[0] == 0 || strlen(addr) >= ANVIL_ADDR_LEN))
		addr = NULL;
	if (addr)
		addr = auth_client_key(addr, key, sizeof(key));
	if (account && (account[0] == 0 ||
			strlen(account) >= AUTH_LIMIT_KEY - 3))
		account = NULL;
	if (strcmp(req, "auth_fail") == 0) {
		auth_limit_fail(&auth, addr, account, now);
		log_debug("auth failure from %s for %s", addr ? addr : "?",
			  account ? account : "?");
	} else if (strcmp(req, "auth_ok") == 0 && account) {
		auth_limit_success(&auth, account);
	}
	ipc_put_long(cl->c, "delay",
		     auth_limit_delay(&auth, addr, account, now));
	ipc_put_long(cl->c, "failures",
		     addr ? (long)auth_limit_failures(&auth, addr, now) : 0);
	if (ipc_end(cl->c) != IPC_OK)
		log_debug("anvil client went away");
}

static void
client_request(struct client *cl, const struct attrs *a)
{
	const char *req = attrs_get(a, "req"), *addr = attrs_get(a, "addr");
	time_t now = time(NULL);
	int i;

	if (req && strncmp(req, "auth_", 5) == 0) {
		auth_request(cl, req, a);
		return;
	}
	if (cl->slot >= 0 || req == NULL || strcmp(req, "connect") != 0 ||
	    addr == NULL || strlen(addr) >= ANVIL_ADDR_LEN ||
	    (i = addr_slot(addr, now)) < 0) {
		ipc_put_long(cl->c, "count", 0);
		ipc_put_long(cl->c, "rate", 0);
		if (ipc_end(cl->c) != IPC_OK)
			log_debug("anvil client went away");
		return;
	}
	struct addr_entry *e = &addrs[i];
	if (now - e->window >= ANVIL_WINDOW) {
		e->window = now;
		e->rate = 0;
	}
	e->count++;
	e->rate++;
	cl->slot = i;
	ipc_put_long(cl->c, "count", e->count);
	ipc_put_long(cl->c, "rate", e->rate);
	if (ipc_end(cl->c) != IPC_OK)
		log_debug("anvil client went away");
}

/* client_event - 1 when the connection closed. */
static int
client_event(struct client *cl)
{
	struct attrs a;
	int rc = ipc_fill(cl->c), prc;

	if (rc == IPC_AGAIN)
		return 0;
	attrs_init(&a);
	while ((prc = ipc_parse(cl->c, &a)) == IPC_OK)
		client_request(cl, &a);
	attrs_free(&a);
	return rc < 0 || prc == IPC_BAD;
}

static void
client_close(int i)
{
	if (clients[i].slot >= 0 && addrs[clients[i].slot].count > 0)
		addrs[clients[i].slot].count--;
	ipc_free(clients[i].c);
	clients[i] = clients[--nclients];
}

static void
client_accept(void)
{
	int fd;

	while ((fd = accept4(SERVICE_LISTEN_FD, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (nclients == ANVIL_CLIENTS_MAX) {
			/* smtpd lets the session go on unlimited */
			log_warn("more than %d sessions on private/anvil; "
				 "refusing one",
				 ANVIL_CLIENTS_MAX);
			close(fd);
			continue;
		}
		clients[nclients++] =
		    (struct client){ipc_new(fd, ANVIL_CLIENT_MS), -1};
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_fatal("accept: %m");
}

int
main(int argc, char **argv)
{
	static struct pollfd p[ANVIL_CLIENTS_MAX + 1];

	service_init("anvil", argc, argv);
	if (auth_limit_init(&auth, ANVIL_AUTH_MAX, cfg.smtpd_auth_failure_delay,
			    AUTH_LIMIT_DELAY_MAX,
			    cfg.smtpd_auth_failure_window) != 0)
		log_fatal("out of memory for the AUTH failure table");
	if (fcntl(SERVICE_LISTEN_FD, F_SETFL, O_NONBLOCK) != 0)
		log_fatal("listening socket: %m");
	service_report(SERVICE_BUSY);
	for (;;) {
		int n = 0;

		service_stop = 0; /* SIGHUP: nothing to reload */
		p[n++] =
		    (struct pollfd){.fd = SERVICE_LISTEN_FD, .events = POLLIN};
		for (int i = 0; i < nclients; i++)
			p[n++] = (struct pollfd){.fd = clients[i].c->fd,
						 .events = POLLIN};
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal("poll: %m");
		}
		for (int i = nclients - 1; i >= 0; i--)
			if (p[1 + i].revents && client_event(&clients[i]))
				client_close(i);
		if (p[0].revents & POLLIN)
			client_accept();
	}
}
