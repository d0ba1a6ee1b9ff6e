/*
 * harden.h - process hardening of a root-mode daemon after it dropped
 * privileges: no core dumps (they would hold mail), resource limits, and
 * no_new_privs so no exec can gain privilege again.
 */
#ifndef MTA_HARDEN_H
#define MTA_HARDEN_H

/* most descriptors a service child may hold open */
#define HARDEN_MAX_FILES 4096

/* harden_process - apply the limits above; -1 (logged) on failure. */
int harden_process(void);

#endif
