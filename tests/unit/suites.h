/*
 * suites.h - the unit test suites, one registration function per module,
 * and the few helpers the suites share (temporary directories and files).
 *
 * Trusts: nothing outside the temporary directory each suite makes.
 * Never: touches the tree or the system queue; leaves files behind.
 */
#ifndef MTA_UNIT_SUITES_H
#define MTA_UNIT_SUITES_H

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each returns CUE_SUCCESS or the CUnit error of a failed registration. */
CU_ErrorCode suite_config(void);
CU_ErrorCode suite_ipc(void);
CU_ErrorCode suite_queue_id(void);
CU_ErrorCode suite_queue_file(void);
CU_ErrorCode suite_addr(void);
CU_ErrorCode suite_db(void);
CU_ErrorCode suite_fsutil(void);
CU_ErrorCode suite_fsync_pair(void);
CU_ErrorCode suite_cidr(void);
CU_ErrorCode suite_access(void);
CU_ErrorCode suite_map(void);
CU_ErrorCode suite_srs(void);
CU_ErrorCode suite_resolve(void);
CU_ErrorCode suite_alias_walk(void);
CU_ErrorCode suite_sasl(void);
CU_ErrorCode suite_passwd(void);
CU_ErrorCode suite_auth_limit(void);
CU_ErrorCode suite_tlsproxy_client(void);
CU_ErrorCode suite_tlsa(void);
CU_ErrorCode suite_stats(void);
CU_ErrorCode suite_log(void);
CU_ErrorCode suite_cleanup_client(void);
/* the parsers inside the programs, linked without their main() */
CU_ErrorCode suite_cleanup_headers(void);
CU_ErrorCode suite_mailbox_path(void);
CU_ErrorCode suite_maildir_quota(void);
CU_ErrorCode suite_local_targets(void);
CU_ErrorCode suite_smtpd(void);
CU_ErrorCode suite_smtpd_vrfy(void);
CU_ErrorCode suite_smtpd_body(void);
CU_ErrorCode suite_remote(void);
CU_ErrorCode suite_mime_downgrade(void);
CU_ErrorCode suite_smtp_auth(void);
CU_ErrorCode suite_resolver(void);
CU_ErrorCode suite_qmgr_dest(void);

/* unit_tmpdir - make a fresh private directory for a suite; 0 on success. */
static inline int
unit_tmpdir(char *dir, size_t len, const char *suite)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(dir, len, "%s/mta-unit-%s.XXXXXX",
			 base && *base ? base : "/tmp", suite);

	if (n < 0 || (size_t)n >= len)
		return -1;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static inline int
unit_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* unit_rm_rf - remove a suite's directory and all below it. */
static inline int
unit_rm_rf(const char *dir)
{
	if (dir[0] == 0)
		return 0;
	return nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* unit_path - dir/name into out; aborts the run on overflow (a test bug). */
static inline const char *
unit_path(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		abort();
	return out;
}

/* unit_write_file - create path holding exactly n bytes; 0 on success. */
static inline int
unit_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *c = p;

	if (fd < 0)
		return -1;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return close(fd);
}

/* unit_read_file - the whole file, NUL-terminated, in malloc'd memory. */
static inline char *
unit_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(buf, cap = (cap ? cap * 2 : 8192));
			if (q == NULL)
				break;
			buf = q;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, fp);
		n += r;
		if (r == 0)
			break;
	}
	fclose(fp);
	if (buf != NULL)
		buf[n] = 0;
	if (len != NULL)
		*len = n;
	return buf;
}

#endif
