/*
 * log_level.c - the shared log level (see log_level.h).
 *
 * Trusts: the byte only as "verbose or not".  Never: lets a daemon
 * change it (daemons map the file read-only from a read-only open, so
 * not even mprotect can make it writable); fails a daemon's start.
 */
#include "log_level.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int level_fd = -1; /* master's descriptor */
static const volatile char *level_map;

/* map_file - fd's first byte, shared and read-only; NULL on failure */
static const volatile char *
map_file(int fd)
{
	void *p = mmap(NULL, 1, PROT_READ, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : (const volatile char *)p;
}

int
log_level_create(const char *path, int verbose)
{
	char b = verbose ? '1' : '0';

	if (level_fd >= 0)
		return log_level_set(verbose);
	if ((level_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			     0644)) < 0 ||
	    fchmod(level_fd, 0644) != 0 || ftruncate(level_fd, 1) != 0 ||
	    pwrite(level_fd, &b, 1, 0) != 1 ||
	    (level_map = map_file(level_fd)) == NULL) {
		log_error("%s: %m", path);
		return -1;
	}
	log_follow(level_map);
	return 0;
}

int
log_level_set(int verbose)
{
	char b = verbose ? '1' : '0';

	/* a write to the file shows in every shared mapping of it */
	if (level_fd < 0 || pwrite(level_fd, &b, 1, 0) != 1) {
		log_warn("log level not changed: %m");
		return -1;
	}
	return 0;
}

int
log_level_get(void)
{
	return level_map != NULL && *level_map == '1';
}

void
log_level_attach(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return; /* not started by master: the config decides */
	if (fstat(fd, &st) == 0 && st.st_size >= 1 &&
	    (level_map = map_file(fd)) != NULL)
		log_follow(level_map);
	else
		log_warn("%s: cannot follow the log level: %m", path);
	if (close(fd) != 0)
		log_warn("close %s: %m", path);
}
