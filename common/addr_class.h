/*
 * addr_class.h - what an address is to us (DESIGN.md section 5): the one
 * answer smtpd (may I accept it?) and qmgr (where does it go?) share.
 */
#ifndef MTA_ADDR_CLASS_H
#define MTA_ADDR_CLASS_H

#include <stddef.h>

enum addr_class {
	AC_LOCAL,   /* mydestination: system users and aliases */
	AC_VIRTUAL, /* virtual_mailbox_domains: mailboxes owned by vmail */
	AC_RELAY,   /* relay_domains: accepted from anyone, passed on */
	AC_REMOTE,  /* anything else: relayed for trusted clients only */
};

/* addr_domain_class - the class of a lower-case domain. */
enum addr_class addr_domain_class(const char *domain);
/* addr_class_transport - the delivery service: "local" or "remote". */
const char *addr_class_transport(enum addr_class c);
/* addr_class_name - for logs and mtactl: "local", "virtual", ... */
const char *addr_class_name(enum addr_class c);

/*
 * The recipient maps (mta-maps(5)): opened once by addr_maps_open, which
 * service_init calls before any chroot, and reopened when replaced on
 * disk where their path is reachable.
 */
void addr_maps_open(void);
/* addr_maps_close - forget the open maps (they are opened again from the
 * configuration at the next lookup). */
void addr_maps_close(void);
/*
 * addr_alias_lookup - the alias_maps entry for local@domain: keys
 * "local@domain" (and without the extension), then, for mydestination
 * domains and for postmaster and MAILER-DAEMON in any of our domains, the
 * bare local part.  1 found (targets in val), 0 none, -1 map error.
 */
int addr_alias_lookup(const char *local, const char *domain, char *val,
		      size_t vlen);
/* addr_srs_verify - set by smtpd before service_init: addr_maps_open
 * then reads srs_secret_file (never creating it) and
 * addr_recipient_known refuses SRS0 addresses that do not check. */
extern int addr_srs_verify;
/* addr_alias_source - the compiled alias map (its .lmdb path) that
 * answered the last addr_alias_lookup that found an entry, or NULL. */
const char *addr_alias_source(void);
/*
 * addr_virtual_lookup - the virtual_mailbox_maps entry (a mailbox path
 * relative to mailbox_base) for local@domain, with the "@domain"
 * catch-all.  1 found, 0 none (or no map configured), -1 map error.
 */
int addr_virtual_lookup(const char *local, const char *domain, char *val,
			size_t vlen);
/*
 * addr_recipient_known - whether local@domain names a recipient of ours:
 * 1 yes (or not ours to judge: relay and remote domains), 0 unknown
 * (550 5.1.1), -1 cannot tell now (a map is unreadable: 451 4.3.0).
 */
int addr_recipient_known(const char *local, const char *domain);
/* addr_system_user - a system account of that name (getpwnam, or the
 * list read by addr_maps_open before a chroot). */
int addr_system_user(const char *name);
/* addr_is_postmaster - postmaster or MAILER-DAEMON (case-insensitive). */
int addr_is_postmaster(const char *local);

#endif
