/*
 * log.c - logging in the Postfix line format.
 *
 * Lines look like "Nov 28 15:19:24 host mta/smtpd[123]: text" in a file or
 * on stderr, and "mta/smtpd[123]: text" through syslog(3), facility mail,
 * so pflogsumm and friends parse them.  Warnings carry "warning: ",
 * fatal errors "fatal: " as Postfix writes them.
 * Trusts: its callers to pass no newlines (they are replaced anyway).
 * Never: blocks on a full disk more than a write(2); allocates.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum log_dest log_dest = LOG_DEST_STDERR;
static int log_fd = 2;
static int log_verbose;
static const volatile char *log_level_byte; /* log_follow */
static int log_copy_stderr;
static char log_tag[64] = "mta";
static char log_name[32] = "mta";
static char log_host[64] = "localhost";

int
log_open(const char *name, enum log_dest dest, const char *path)
{
	char *dot;

	snprintf(log_name, sizeof(log_name), "%s", name);
	if (gethostname(log_host, sizeof(log_host) - 1) != 0)
		snprintf(log_host, sizeof(log_host), "localhost");
	if ((dot = strchr(log_host, '.')) != NULL)
		*dot = 0;
	log_reopen_pid();
	log_dest = dest;
	if (dest == LOG_DEST_FILE) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			      0640);
		if (fd < 0)
			return -1;
		if (log_fd > 2)
			close(log_fd);
		log_fd = fd;
	} else if (dest == LOG_DEST_SYSLOG) {
		openlog(log_tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
	} else {
		log_fd = 2;
	}
	return 0;
}

void
log_reopen_pid(void)
{
	snprintf(log_tag, sizeof(log_tag), "mta/%s", log_name);
	if (log_dest == LOG_DEST_SYSLOG) {
		closelog();
		openlog(log_tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void
log_also_stderr(int on)
{
	log_copy_stderr = on;
}

void
log_set_verbose(int on)
{
	log_verbose = on;
}

void
log_follow(const volatile char *level)
{
	log_level_byte = level;
}

/* log_emit - format one line and write it with a single write(2). */
static void
log_emit(int prio, const char *label, const char *fmt, va_list ap)
{
	char line[2048], stamp[32];
	int n = 0, m, saved = errno;
	time_t now = time(NULL);
	struct tm tm;

	if (log_dest != LOG_DEST_SYSLOG) {
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s %s %s[%ld]: ", stamp,
			     log_host, log_tag, (long)getpid());
	}
	m = snprintf(line + n, sizeof(line) - n, "%s", label);
	n += m;
	errno = saved;
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_copy_stderr && log_dest != LOG_DEST_STDERR) {
		const char *text = line;
		while (log_dest != LOG_DEST_SYSLOG && *text && *text != ']')
			text++; /* the file's prefix: keep from the tag on */
		if (fprintf(stderr, "mta: %.*s\n", (int)(line + n - text),
			    *text == ']' ? text + 3 : text) < 0) {
			/* stderr is gone: nothing to do */
		}
	}
	if (log_dest == LOG_DEST_SYSLOG) {
		line[n] = 0;
		syslog(prio, "%s", line);
	} else {
		line[n++] = '\n';
		/* One write per line keeps lines whole in a shared file. */
		if (write(log_fd, line, n) < 0) {
			/* Nowhere left to report a failed log write. */
		}
	}
	errno = saved;
}

#define LOG_BODY(prio, label)                                                  \
	va_list ap;                                                            \
	va_start(ap, fmt);                                                     \
	log_emit(prio, label, fmt, ap);                                        \
	va_end(ap)

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "");
}

void
log_debug(const char *fmt, ...)
{
	if (log_level_byte ? *log_level_byte != '1' : !log_verbose)
		return;
	LOG_BODY(LOG_DEBUG, "");
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ");
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error: ");
}

void
log_fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ");
	exit(1);
}

const char *
log_delay(char *buf, size_t len, double s)
{
	if (s < 0)
		s = 0;
	snprintf(buf, len, s >= 10 ? "%.0f" : "%.2f", s);
	if (strchr(buf, '.')) {
		char *e = buf + strlen(buf) - 1;
		while (*e == '0')
			*e-- = 0;
		if (*e == '.')
			*e = 0;
	}
	return buf;
}
