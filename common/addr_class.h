/*
 * addr_class.h - what an address is to us (DESIGN.md section 5): the one
 * answer smtpd (may I accept it?) and qmgr (where does it go?) share.
 */
#ifndef MTA_ADDR_CLASS_H
#define MTA_ADDR_CLASS_H

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

#endif
