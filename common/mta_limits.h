/*
 * mta_limits.h - fixed protocol and format limits.
 *
 * Limits an operator may tune are config keys (config.c); the ones here are
 * set by the RFCs or by our own wire formats and do not change at run time.
 */
#ifndef MTA_LIMITS_H
#define MTA_LIMITS_H

/* RFC 5321 4.5.3.1 */
#define LIM_LOCAL_PART 64      /* octets in a local part */
#define LIM_FORWARD_EXT 64     /* octets of an extension in ~/.forward+ext */
#define LIM_DOMAIN 255         /* octets in a domain */
#define LIM_PATH 256           /* octets in a reverse or forward path */
#define LIM_SMTP_LINE 512      /* command line, CRLF included */
#define LIM_SMTP_LINE_EXT 1024 /* with what SIZE/8BITMIME/DSN may add */
#define LIM_TEXT_LINE 1000     /* text line, CRLF included */

/* IPC records (ipc.c) */
#define LIM_IPC_NAME 32          /* attribute name */
#define LIM_IPC_VALUE 65536      /* one attribute value */
#define LIM_IPC_ATTRS 2200       /* attributes in one record */
#define LIM_IPC_RECORD (4 << 20) /* bytes in one record */
#define LIM_IPC_FDS 4            /* descriptors waiting to be claimed */

/* queue file (queue_file.c) */
#define LIM_QF_RECORD (1 << 20) /* one record's payload */
#define LIM_QF_RCPTS 10000      /* recipients in one queue file */
#define LIM_QF_DATA_CHUNK 65536 /* message bytes per data record */

#define LIM_QUEUE_ID 16 /* queue ID characters, NUL included */
/* notifications a cleanup process sends qmgr before its answers; at
 * this many it skips the next ones, and qmgr, finding this many waiting
 * on one connection, scans incoming/ (cleanup.c, qmgr.c) */
#define LIM_QMGR_NOTIFY_OWED 64
#define LIM_HOSTNAME 256
#define LIM_ERRTEXT 512 /* delivery status text kept per recipient */

/* lookup maps (map.c, mta-maps(5)) */
#define LIM_MAP_KEY 512     /* bytes in a key */
#define LIM_MAP_VALUE 8192  /* bytes in a value */
#define LIM_MAP_LINE 8192   /* bytes in a logical line, continuations included */
#define LIM_MAP_ENTRIES 10000000 /* entries in one map */
/* SMTP AUTH (common/sasl.c, common/passwd.c) */
#define LIM_SASL_LINE 12288 /* one AUTH line or response, RFC 4954 4 */
#define LIM_SASL_FIELD 255  /* authzid, authcid, password: RFC 4616 2 */
/* remote(8)'s credentials for a peer, "username:password" as the value of
 * smtp_sasl_password_map: two fields, the colon and the NUL */
#define LIM_SASL_CRED (2 * LIM_SASL_FIELD + 2)

/* MIME walked by remote's 7-bit downgrade (remote/mime_downgrade.c) */
#define LIM_MIME_NESTING 100   /* multipart and message/rfc822 levels
				  walked, as Postfix's mime_nesting_limit */
#define LIM_MIME_BOUNDARY 200  /* octets of a boundary (RFC 2046 says 70;
				  longer ones are seen in the wild) */
#define LIM_MIME_HEADER 16384  /* a Content-Type or Content-Transfer-
				  Encoding header, continuations included */
#define LIM_MIME_PARTS 100000  /* parts (headers) in one message */

#endif
