/*
 * addr_class.c - classify a recipient domain by the configured lists.
 *
 * Trusts: cfg (already checked by config_load).  Never: looks at the
 * network; an unknown domain is simply AC_REMOTE.
 */
#include "addr_class.h"
#include "config.h"

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
