/*
 * mtactl.h - shared by the files of mtactl(8).
 */
#ifndef MTACTL_H
#define MTACTL_H

#define EX_USAGE_ 64
#define EX_UNAVAILABLE_ 69
#define EX_SOFTWARE_ 70
#define EX_CONFIG_ 78

/* queue_list.c */
int queue_list(int json);

#endif
