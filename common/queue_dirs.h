/*
 * queue_dirs.h - create the queue directory tree with its owners and
 * modes (mta-queue(5)); shared by master(8) and mtactl setup.
 */
#ifndef MTA_QUEUE_DIRS_H
#define MTA_QUEUE_DIRS_H

/* queue_dirs_create - make cfg.queue_directory and its subdirectories
 * (owned by mail_owner in root mode) and chdir into it; -1 logged. */
int queue_dirs_create(void);

#endif
