/*
 * smtpd.h - state of one SMTP session in smtpd(8).
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stddef.h>

#include "addr.h"
#include "ipc.h"
#include "mta_limits.h"

#define SMTPD_IN_BUF 16384   /* client input buffer */
#define SMTPD_OUT_BUF 8192   /* replies waiting for a flush */
#define SMTPD_DATA_CHUNK 16384 /* message bytes per record to cleanup */

struct smtpd_io {
	int fd;
	char in[SMTPD_IN_BUF];
	size_t pos, len;
	char out[SMTPD_OUT_BUF];
	size_t olen;
	int timeout_s;
	int eof, error;
};

enum io_line { LINE_OK, LINE_LONG, LINE_PART, LINE_EOF, LINE_TIMEOUT };

struct smtpd_session {
	struct smtpd_io io;
	char client_addr[64];
	char client_name[LIM_HOSTNAME];
	char helo[LIM_HOSTNAME];
	int esmtp;
	int have_mail;
	char sender[LIM_PATH + 1];
	char body_type[16];
	char **rcpts;
	int nrcpt;
	int errors;
	int quit;
	int answered; /* read_command already replied to this line */
	/* counters for the disconnect log line */
	int n_ehlo, n_helo, n_mail, n_rcpt, n_data, n_rset, n_quit, n_other;
	int n_commands;
};

/* smtpd_io.c */
void io_init(struct smtpd_io *io, int fd, int timeout_s);
enum io_line io_read_line(struct smtpd_io *io, char *buf, size_t cap,
			  size_t *len);
void io_printf(struct smtpd_io *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int io_flush(struct smtpd_io *io);
int io_input_pending(const struct smtpd_io *io);

/* smtpd_cmd.c */
void smtpd_command(struct smtpd_session *s, char *line);
void smtpd_reset(struct smtpd_session *s);
int smtpd_error(struct smtpd_session *s);
void smtpd_client_label(const struct smtpd_session *s, char *out,
			size_t len);

/* smtpd_data.c */
void smtpd_data(struct smtpd_session *s);

#endif
