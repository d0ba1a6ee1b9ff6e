/*
 * log_level.h - the running system's log level, shared: master(8) keeps
 * it in pid/log_level (one byte, '1' verbose, '0' normal); every daemon
 * maps that file read-only when it starts, and log_debug() looks at the
 * byte each time, so "mtactl log-level" reaches every process at once,
 * the long-lived ones (qmgr, anvil, pickup) included, without a signal
 * or a restart.
 */
#ifndef MTA_LOG_LEVEL_H
#define MTA_LOG_LEVEL_H

#define LOG_LEVEL_FILE "pid/log_level" /* relative to queue_directory */

/* log_level_create - master: the file with this level, mode 0644, and
 * master itself following it; -1 logged. */
int log_level_create(const char *path, int verbose);
/* log_level_set - master: change the level for every process. */
int log_level_set(int verbose);
/* log_level_get - the level in force (1 verbose). */
int log_level_get(void);
/* log_level_attach - a daemon: follow the file (read-only mapping);
 * when it cannot, the config's "verbose" stays in force. */
void log_level_attach(const char *path);

#endif
