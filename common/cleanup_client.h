/*
 * cleanup_client.h - the submitting side of cleanup(8)'s protocol on
 * private/cleanup, shared by smtpd, pickup, local (forwarding) and qmgr
 * (notifications).
 *
 * One conversation per message:
 *   cleanup_client_open()    connect; the request record gets req=submit
 *                            and the sender
 *   cleanup_client_attr()    the rest of the envelope, in order (each rcpt
 *                            followed by its orcpt/notify, client_addr, ...)
 *   cleanup_client_start()   send the envelope, take the queue ID (or
 *                            _send() and _take_id() with work between)
 *   cleanup_client_write()   message bytes, sent in data records of at
 *                            most CLEANUP_CLIENT_CHUNK bytes
 *   cleanup_client_finish()  end=1; cleanup's status and text
 *   cleanup_client_next()    after finish returned a status: the next
 *                            message on the same connection (its request
 *                            record, like open), then attr, start, ...
 *   cleanup_client_close()   hang up; before a successful finish cleanup
 *                            sees EOF and discards the file (an abort)
 * A failed write is remembered: later writes are dropped, so a caller
 * can keep reading its input and answer once at the end.  The module
 * logs nothing and replies to nobody: each caller words its own errors.
 */
#ifndef MTA_CLEANUP_CLIENT_H
#define MTA_CLEANUP_CLIENT_H

#include <stddef.h>

#include "mta_limits.h"

#define CLEANUP_SOCKET "private/cleanup" /* relative to queue_directory */
#define CLEANUP_CLIENT_CHUNK LIM_QF_DATA_CHUNK /* bytes per data record */
#define CLEANUP_NO_ANSWER (-1) /* cleanup_client_finish: no status */

struct cleanup_client; /* opaque */

/* cleanup_client_open - connect to CLEANUP_SOCKET in the cwd; NULL with
 * errno set by the failed connect.  timeout_ms bounds each later call. */
struct cleanup_client *cleanup_client_open(const char *sender,
					   int timeout_ms);
/* cleanup_client_open_fd - the same over a connected socket (now owned). */
struct cleanup_client *cleanup_client_open_fd(int fd, const char *sender,
					      int timeout_ms);
/* cleanup_client_next - begin another message on this connection; -1
 * unless the last one ended with a status from cleanup_client_finish
 * (after an abort or a failure only close is left).  cleanup may have
 * closed an idle connection since: a caller whose start then fails
 * opens a fresh one. */
int cleanup_client_next(struct cleanup_client *cc, const char *sender);
/* cleanup_client_attr - one more envelope attribute; a NULL value is
 * not sent. */
void cleanup_client_attr(struct cleanup_client *cc, const char *name,
			 const char *value);
/* cleanup_client_start - send the envelope; 0 and the queue ID in id,
 * or -1 when cleanup did not answer with one. */
int cleanup_client_start(struct cleanup_client *cc, char *id, size_t idlen);
/* cleanup_client_send, cleanup_client_take_id - cleanup_client_start in
 * two steps, for a caller with something to do while cleanup answers
 * (smtpd sends its 354); each -1 on failure. */
int cleanup_client_send(struct cleanup_client *cc);
int cleanup_client_take_id(struct cleanup_client *cc, char *id, size_t idlen);
/* cleanup_client_write - message bytes; buffered, sent a chunk at a time. */
void cleanup_client_write(struct cleanup_client *cc, const void *p,
			  size_t n);
/* cleanup_client_flush - send what is buffered; -1 once anything failed. */
int cleanup_client_flush(struct cleanup_client *cc);
/* cleanup_client_in_step - the last message got cleanup's final status:
 * cleanup_client_next may follow. */
int cleanup_client_in_step(const struct cleanup_client *cc);
/* cleanup_client_failed - a write (or the start) has failed. */
int cleanup_client_failed(const struct cleanup_client *cc);
/* cleanup_client_finish - end the message and read cleanup's answer: its
 * status (250 when the file is durable, else 4xx/5xx) with *text its
 * text or NULL when it sent none (valid until close), or
 * CLEANUP_NO_ANSWER when a write, the end or the answer failed. */
int cleanup_client_finish(struct cleanup_client *cc, const char **text);
/* cleanup_client_close - hang up and free; NULL is accepted. */
void cleanup_client_close(struct cleanup_client *cc);

#endif
