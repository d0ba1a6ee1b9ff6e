/*
 * srs.c - Sender Rewriting Scheme (see srs.h).
 *
 * Trusts: nothing in a local part given to srs_reverse.
 * Never: accepts a reversed address whose hash or age does not check.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsutil.h"
#include "mta_limits.h"
#include "srs.h"

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
srs_load_key(const char *path, unsigned char key[SRS_KEY_BYTES], char *err,
	     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 && errno == ENOENT) {
		if (sodium_init() < 0) {
			snprintf(err, errlen, "libsodium failed to start");
			return -1;
		}
		randombytes_buf(key, SRS_KEY_BYTES);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			int bad = write_all(fd, key, SRS_KEY_BYTES) != 0 ||
				  fsync(fd) != 0;
			close(fd);
			if (!bad)
				return 0;
			unlink(path);
		}
		if (errno != EEXIST) {
			snprintf(err, errlen, "create %s: %s", path,
				 strerror(errno));
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC); /* another won */
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, key, SRS_KEY_BYTES);
	close(fd);
	if (n != SRS_KEY_BYTES) {
		snprintf(err, errlen, "%s: not a %d-byte key", path,
			 SRS_KEY_BYTES);
		return -1;
	}
	return 0;
}

/* hash4 - the 4 hash characters for "tt=domain=local". */
static void
hash4(const unsigned char *key, const char *tt, const char *domain,
      const char *local, char out[5])
{
	char msg[LIM_PATH + 16];
	unsigned char mac[crypto_auth_BYTES];
	int n = snprintf(msg, sizeof(msg), "%s=%s=%s", tt, domain, local);

	for (char *p = msg; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	crypto_auth(mac, (const unsigned char *)msg, (size_t)n, key);
	for (int i = 0; i < 4; i++)
		out[i] = b32[mac[i] & 31];
	out[4] = 0;
}

int
srs_forward(const unsigned char *key, const char *sender,
	    const char *srs_domain, long day, char *out, size_t len)
{
	const char *at = strrchr(sender, '@');
	char local[LIM_LOCAL_PART * 2 + 3], tt[3], h[5];
	int w;

	if (at == NULL || at == sender ||
	    (size_t)(at - sender) >= sizeof(local))
		return -1;
	snprintf(local, sizeof(local), "%.*s", (int)(at - sender), sender);
	tt[0] = b32[(day >> 5) & 31];
	tt[1] = b32[day & 31];
	tt[2] = 0;
	hash4(key, tt, at + 1, local, h);
	w = snprintf(out, len, "SRS0=%s=%s=%s=%s@%s", h, tt, at + 1, local,
		     srs_domain);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

int
srs_reverse(const unsigned char *key, const char *local, long day,
	    long max_days, char *out, size_t len)
{
	char h[5], tt[3], domain[LIM_DOMAIN + 1], want[5];
	const char *p = local, *e;
	int w;

	if (strncasecmp(p, "SRS0=", 5) != 0 || strlen(p) < 5 + 4 + 1 + 2 + 1)
		return -1;
	p += 5;
	memcpy(h, p, 4);
	h[4] = 0;
	if (p[4] != '=')
		return -1;
	p += 5;
	memcpy(tt, p, 2);
	tt[2] = 0;
	if (p[2] != '=')
		return -1;
	p += 3;
	if ((e = strchr(p, '=')) == NULL || e == p ||
	    (size_t)(e - p) >= sizeof(domain) || e[1] == 0)
		return -1;
	snprintf(domain, sizeof(domain), "%.*s", (int)(e - p), p);
	hash4(key, tt, domain, e + 1, want);
	if (strcasecmp(h, want) != 0)
		return -1;
	const char *a = strchr(b32, tolower((unsigned char)tt[0]));
	const char *b = strchr(b32, tolower((unsigned char)tt[1]));
	if (a == NULL || b == NULL || *a == 0 || *b == 0)
		return -1;
	long then = ((a - b32) << 5) | (b - b32);
	long age = ((day & 1023) - then + 1024) % 1024;
	if (age > max_days)
		return -1;
	w = snprintf(out, len, "%s@%s", e + 1, domain);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}
