/*
 * log.h - one line per event, in the format Postfix log tools read.
 */
#ifndef MTA_LOG_H
#define MTA_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdnoreturn.h>

enum log_dest { LOG_DEST_SYSLOG, LOG_DEST_STDERR, LOG_DEST_FILE };

/* log_open - start logging as "mta/NAME[pid]" to the given destination. */
int log_open(const char *name, enum log_dest dest, const char *path);
void log_set_verbose(int on);
/* log_follow - take the verbose flag from a shared byte ('1' verbose)
 * from now on (log_level.h); NULL goes back to log_set_verbose's. */
void log_follow(const volatile char *level);
/* log_also_stderr - copy lines to stderr too (while a command waits). */
void log_also_stderr(int on);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* log_reopen_pid - take the new pid into the tag after fork(). */
void log_reopen_pid(void);
/* log_delay - seconds as Postfix writes them in delay= and delays=:
 * "0.04", "0", "12" (two decimals below 10 s, trailing zeros cut) */
const char *log_delay(char *buf, size_t len, double s);

#endif
