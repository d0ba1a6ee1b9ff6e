/*
 * fsync_pair.h - fsync a directory and a file in it at once.
 */
#ifndef FSYNC_PAIR_H
#define FSYNC_PAIR_H

/* fsync_pair - fsync(dir) and fsync(fd), the second in a worker thread
 * while the first runs; 0 when both succeeded, else -1 with errno of
 * the first that failed.  Without a worker (it could not be started)
 * the two run one after the other. */
int fsync_pair(int dir, int fd);

#endif
