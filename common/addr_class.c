/*
 * addr_class.c - classify a recipient domain by the configured lists.
 *
 * Also answers whether a recipient of ours exists (alias_maps,
 * virtual_mailbox_maps), for smtpd at RCPT time and for local.
 * Trusts: cfg (already checked by config_load); the compiled maps.
 * Never: looks at the network; an unknown domain is simply AC_REMOTE;
 * says "unknown" when a map could not be read (that is -1, a 4xx).
 */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "addr_class.h"
#include "config.h"
#include "log.h"
#include "map.h"
#include "mta_limits.h"
#include "service.h"
#include "srs.h"

enum addr_class
addr_domain_class(const char *domain)
{
	if (config_list_has(cfg.mydestination, domain))
		return AC_LOCAL;
	if (config_list_has(cfg.virtual_mailbox_domains, domain))
		return AC_VIRTUAL;
	if (config_list_has(cfg.relay_domains, domain))
		return AC_RELAY;
	return AC_REMOTE;
}

const char *
addr_class_transport(enum addr_class c)
{
	return c == AC_LOCAL || c == AC_VIRTUAL ? "local" : "remote";
}

const char *
addr_class_name(enum addr_class c)
{
	static const char *names[] = {"local", "virtual", "relay", "remote"};
	return names[c];
}

#define ADDR_MAPS_MAX 8 /* files in alias_maps or virtual_mailbox_maps */

struct maplist {
	struct map m[ADDR_MAPS_MAX];
	int n, opened;
};
static struct maplist aliases, virtuals;
static const char *alias_hit; /* the alias map that answered last */

/* SRS addresses checked at RCPT time (smtpd): the key, read before any
 * chroot, or later while it is missing and its path reachable (local(8)
 * makes it at the first forward); without it local checks them */
int addr_srs_verify;
static unsigned char srs_key[SRS_KEY_BYTES];
static int srs_tried, srs_have;

/* srs_key_read - the key if srs_secret_file exists and is readable;
 * never creates it (local(8) does, at the first forward) */
static void
srs_key_read(void)
{
	int fd;

	srs_tried = 1;
	if ((fd = open(cfg.srs_secret_file, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	srs_have = read(fd, srs_key, sizeof(srs_key)) == sizeof(srs_key);
	close(fd);
}

/* srs_known - 1 when an SRS0 local part checks (or cannot be checked
 * here), 0 when its hash or age is wrong */
static int
srs_known(const char *local)
{
	char orig[LIM_PATH + 1];

	if (!srs_have && addr_srs_verify)
		srs_key_read(); /* made by local after we started */
	if (!srs_have)
		return 1;
	return srs_reverse(srs_key, local, (long)(time(NULL) / 86400),
			   cfg.srs_max_age / 86400, orig, sizeof(orig)) == 0;
}

/* the system users' names, read before any chroot (local_users = system):
 * a chrooted smtpd cannot read /etc/passwd; it sees new users when its
 * processes are restarted (max_idle, max_use, mtactl reload) */
#define ADDR_USERS_MAX 100000
static char **users;
static size_t nusers;
static int users_read;

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
users_read_all(void)
{
	struct passwd *pw;
	char **grown;

	users_read = 1;
	setpwent();
	while ((pw = getpwent()) != NULL && nusers < ADDR_USERS_MAX) {
		if ((grown = realloc(users, (nusers + 1) * sizeof(*users))) ==
		    NULL)
			break;
		users = grown;
		if ((users[nusers] = strdup(pw->pw_name)) == NULL)
			break;
		nusers++;
	}
	endpwent();
	qsort(users, nusers, sizeof(*users), name_cmp);
}

int
addr_system_user(const char *name)
{
	if (getpwnam(name) != NULL)
		return 1;
	if (!users_read)
		return 0;
	return bsearch(&name, users, nusers, sizeof(*users), name_cmp) != NULL;
}

static void
maplist_open(struct maplist *l, const char *files)
{
	char file[4096], db[4200], err[512];

	l->opened = 1;
	while ((files = config_list_next(files, file, sizeof(file))) != NULL &&
	       l->n < ADDR_MAPS_MAX) {
		if (map_db_path(file, db, sizeof(db)) != 0)
			continue;
		/* a map not built yet is tried again at each lookup */
		if (map_open(&l->m[l->n], db, err, sizeof(err)) != 0)
			log_warn("%s (run mtactl makemap or newaliases)", err);
		l->n++;
	}
}

void
addr_maps_open(void)
{
	if (!aliases.opened)
		maplist_open(&aliases, cfg.alias_maps);
	if (!virtuals.opened)
		maplist_open(&virtuals, cfg.virtual_mailbox_maps);
	if (!users_read && strcmp(cfg.local_users, "system") == 0)
		users_read_all();
	if (addr_srs_verify && !srs_tried)
		srs_key_read();
}

void
addr_maps_close(void)
{
	struct maplist *l[] = {&aliases, &virtuals};

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < l[i]->n; j++)
			map_close(&l[i]->m[j]);
		l[i]->n = 0;
		l[i]->opened = 0;
	}
	for (size_t i = 0; i < nusers; i++)
		free(users[i]);
	free(users);
	users = NULL;
	nusers = 0;
	users_read = 0;
}

/* maplist_get - the first map that has key wins; an error stops. */
static int
maplist_get(struct maplist *l, const char *local, const char *domain,
	    char *val, size_t vlen)
{
	addr_maps_open();
	for (int i = 0; i < l->n; i++) {
		int r = domain ? map_get_addr(&l->m[i], local, domain,
					      cfg.recipient_delimiter[0], val,
					      vlen, NULL, 0)
			       : map_get(&l->m[i], local, val, vlen);
		service_map_check(&l->m[i]);
		if (r != 0) {
			if (r < 0)
				log_warn("%s", val);
			if (r > 0 && l == &aliases)
				alias_hit = l->m[i].path;
			return r;
		}
	}
	return 0;
}

int
addr_is_postmaster(const char *local)
{
	return strcasecmp(local, "postmaster") == 0 ||
	       strcasecmp(local, "mailer-daemon") == 0;
}

/* base_of - the local part without its extension. */
static void
base_of(const char *local, char *out, size_t len)
{
	const char *d = cfg.recipient_delimiter[0] ?
			strchr(local, cfg.recipient_delimiter[0]) : NULL;
	size_t n = d && d != local ? (size_t)(d - local) : strlen(local);

	snprintf(out, len, "%.*s", (int)n, local);
}

/* maplist_get_full - "local@domain", "base@domain"; no catch-all (an
 * alias catch-all would accept every address of a domain by mistake) */
static int
maplist_get_full(struct maplist *l, const char *local, const char *domain,
		 char *val, size_t vlen)
{
	char key[LIM_PATH + 2], base[LIM_LOCAL_PART + 1];
	int r;

	snprintf(key, sizeof(key), "%s@%s", local, domain);
	if ((r = maplist_get(l, key, NULL, val, vlen)) != 0)
		return r;
	base_of(local, base, sizeof(base));
	if (strcmp(base, local) == 0)
		return 0;
	snprintf(key, sizeof(key), "%s@%s", base, domain);
	return maplist_get(l, key, NULL, val, vlen);
}

int
addr_alias_lookup(const char *local, const char *domain, char *val,
		  size_t vlen)
{
	char base[LIM_LOCAL_PART + 1];
	enum addr_class c = addr_domain_class(domain);
	int r;

	if (c != AC_LOCAL && c != AC_VIRTUAL)
		return 0;
	if ((r = maplist_get_full(&aliases, local, domain, val, vlen)) != 0)
		return r;
	if (c != AC_LOCAL && !addr_is_postmaster(local))
		return 0;
	if ((r = maplist_get(&aliases, local, NULL, val, vlen)) != 0)
		return r;
	base_of(local, base, sizeof(base));
	if (strcmp(base, local) == 0)
		return 0;
	return maplist_get(&aliases, base, NULL, val, vlen);
}

const char *
addr_alias_source(void)
{
	return alias_hit;
}

int
addr_virtual_lookup(const char *local, const char *domain, char *val,
		    size_t vlen)
{
	return maplist_get(&virtuals, local, domain, val, vlen);
}

int
addr_recipient_known(const char *local, const char *domain)
{
	char val[LIM_MAP_VALUE];
	enum addr_class c = addr_domain_class(domain);
	int r;

	if (c != AC_LOCAL && c != AC_VIRTUAL)
		return 1;
	if (addr_is_postmaster(local))
		return 1;
	/* bounces to senders we rewrote: the hash and age checked here
	 * when smtpd has the key (addr_srs_verify), and by local */
	if (strncasecmp(local, "SRS0=", 5) == 0 &&
	    strcasecmp(domain, cfg.srs_domain[0] ? cfg.srs_domain :
		       cfg.myhostname) == 0)
		return srs_known(local);
	if ((r = addr_alias_lookup(local, domain, val, sizeof(val))) != 0)
		return r;
	if (c == AC_LOCAL && strcmp(cfg.local_users, "system") == 0) {
		char user[LIM_LOCAL_PART * 2 + 3];
		if (addr_mailbox_user(local, cfg.recipient_delimiter[0], user,
				      sizeof(user)) != 0)
			return 0;
		return addr_system_user(user);
	}
	/* mydestination with local_users = any, and virtual domains without
	 * a mailbox map, take every local part (mailbox_template) */
	if (c == AC_LOCAL || cfg.virtual_mailbox_maps[0] == 0)
		return 1;
	return addr_virtual_lookup(local, domain, val, sizeof(val));
}
