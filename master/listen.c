/*
 * listen.c - open master's listening sockets: SMTP over TCP and the UNIX
 * sockets of the internal services.
 *
 * Trusts: the config values (already checked by config.c for type).
 * Never: leaves a socket of a private service open to other users: its
 * mode is set before anyone can connect (umask during bind).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "master.h"

#define LISTEN_BACKLOG 128

/* split_hostport - "host:port" or "[v6]:port" into host and port. */
static int
split_hostport(const char *spec, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		snprintf(host, hl, "%.*s", (int)(end - spec - 1), spec + 1);
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		snprintf(host, hl, "%.*s", (int)(colon - spec), spec);
	}
	snprintf(port, pl, "%s", colon + 1);
	return port[0] ? 0 : -1;
}

int
listen_inet(const char *key, const char *spec)
{
	char host[256], port[32];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST |
					     AI_NUMERICSERV};
	struct addrinfo *res;
	int fd, one = 1, rc;

	if (split_hostport(spec, host, sizeof(host), port, sizeof(port))) {
		log_error("%s: bad address \"%s\": expected "
			  "host:port or [ipv6]:port", key, spec);
		return -1;
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_error("%s: \"%s\": %s", key, spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		log_error("listen on %s: %m", spec);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* socket_owner - in root mode the mail owner and its group own the
 * internal sockets; a daemon reaches one through that group. */
static int
socket_owner(const char *path)
{
	struct passwd *pw;

	if (strcmp(cfg.run_mode, "root") != 0)
		return 0;
	if ((pw = getpwnam(cfg.mail_owner)) == NULL) {
		log_error("mail_owner \"%s\" does not exist", cfg.mail_owner);
		return -1;
	}
	return chown(path, pw->pw_uid, pw->pw_gid);
}

int
listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (unlink(path) != 0 && errno != ENOENT) {
		log_error("unlink %s: %m", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_error("socket: %m");
		return -1;
	}
	old = umask(0777 & ~mode);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == 0 && socket_owner(path) != 0)
		rc = -1;
	if (rc != 0 || chmod(path, mode) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		log_error("listen on %s: %m", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* listen_off - an inet service whose listen key became empty. */
static void
listen_off(struct svc_state *s)
{
	if (s->listen_fd < 0)
		return;
	log_info("%s: no longer listening on %s", s->def->name,
		 s->listen_addr);
	if (close(s->listen_fd) != 0)
		log_warn("close %s: %m", s->listen_addr);
	s->listen_fd = -1;
	s->listen_addr[0] = 0;
}

/*
 * listen_open_all - open (or keep) every service's socket.  An inet
 * service listens where its key says (smtpd_listen, submission_listen,
 * smtps_listen); an empty key turns the service off.  A socket whose
 * address did not change is kept across a reload, so no client is
 * refused while it happens.
 */
int
listen_open_all(void)
{
	int rc = 0;

	for (int i = 0; i < nservices; i++) {
		struct svc_state *s = &services[i];
		int inet = s->def->kind == SERVICE_INET;
		const char *want = service_listen(s->def);
		if (inet && want[0] == 0) {
			listen_off(s);
			continue;
		}
		if (s->listen_fd >= 0 && strcmp(s->listen_addr, want) == 0)
			continue;
		char key[64];
		snprintf(key, sizeof(key), "%s_listen", s->def->name);
		int fd = inet ? listen_inet(key, want)
			      : listen_unix(want, s->def->mode);
		if (fd < 0) {
			rc = -1; /* the others still get their sockets */
			continue;
		}
		if (s->listen_fd >= 0 || inet)
			log_info("%s: now listening on %s", s->def->name, want);
		if (s->listen_fd >= 0 && close(s->listen_fd) != 0)
			log_warn("close %s: %m", s->listen_addr);
		s->listen_fd = fd;
		snprintf(s->listen_addr, sizeof(s->listen_addr), "%s", want);
	}
	return rc;
}
