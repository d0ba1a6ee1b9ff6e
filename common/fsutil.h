/*
 * fsutil.h - small file-system helpers with every error reported.
 */
#ifndef MTA_FSUTIL_H
#define MTA_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* fsync_dir - make a directory's entries durable. */
int fsync_dir(const char *path);
/* write_all - write n bytes, retrying short writes and EINTR. */
int write_all(int fd, const void *p, size_t n);
/* mkdir_p - create a directory and its parents with mode (umask applies). */
int mkdir_p(const char *path, mode_t mode);
/* now_us - wall clock in microseconds. */
long long now_us(void);
/* mono_ms - a monotonic clock in milliseconds, for deadlines (a change of
 * the wall clock must not cut a wait short or make it last). */
long mono_ms(void);
/* rfc2822_date - "Sat, 28 Nov 2026 15:19:24 +0000" for t. */
void rfc2822_date(long t, char *out, size_t len);

#endif
