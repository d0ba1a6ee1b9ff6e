/*
 * alias_list.h - the targets of one alias value (aliases(5)), split the
 * one way local(8) delivers them and smtpd(8) lists them for EXPN.
 */
#ifndef MTA_ALIAS_LIST_H
#define MTA_ALIAS_LIST_H

#include <stddef.h>

/*
 * alias_list_next - the next target of the alias value at *cursor:
 * targets are separated by commas or white space outside double quotes;
 * a target quoted whole ("|cmd arg") loses its quotes, a quoted local
 * part ("a b"@example.org) keeps them.  Writes NULs into the value.
 * 1 with *target set, 0 at the end, -1 for an unbalanced quote.
 */
int alias_list_next(char **cursor, char **target);

/* alias_target_qualify - "name" becomes name@(first mydestination);
 * a target with '@' is copied as it is */
void alias_target_qualify(const char *t, char *out, size_t len);

#endif
