/*
 * smtpd.h - state of one SMTP session in smtpd(8).
 */
#ifndef SMTPD_H
#define SMTPD_H

#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "ipc.h"
#include "mta_limits.h"

#define SMTPD_IN_BUF 16384   /* client input buffer */
#define SMTPD_OUT_BUF 8192   /* replies waiting for a flush */
/* the longest command line read at all: AUTH's 12288 (RFC 4954), CRLF */
#define SMTPD_CMD_BUF (12288 + 2)
/* what advertised extensions add to smtpd_line_limit (RFC 1870, 6152,
 * 6531, 3461): SIZE=, BODY=, SMTPUTF8, RET= and ENVID= on MAIL; ORCPT=
 * and NOTIFY= on RCPT */
#define SMTPD_MAIL_EXTRA 162
#define SMTPD_RCPT_EXTRA 522
#define SMTPD_ENVID_MAX 100  /* RFC 3461 4.4, decoded */
#define SMTPD_ORCPT_MAX 500  /* RFC 3461 4.2, decoded, type included */
#define SMTPD_EXPN_MAX 100   /* lines in one EXPN answer (smtpd(8)) */
#define SMTPD_SHOWN_MAX 100  /* octets of a parameter a reply quotes */
#define SMTPD_ACCESS_REPLY 511 /* a refusal of smtpd_access.c, no CRLF */

struct cleanup_client;

struct smtpd_io {
	int fd; /* the client, or tlsproxy's plaintext end after TLS */
	char in[SMTPD_IN_BUF];
	size_t pos, len;
	char out[SMTPD_OUT_BUF];
	size_t olen;
	int timeout_s;
	int eof, error;
	/* io_on_idle: called once when no input came for idle_ms */
	void (*on_idle)(void *ctx);
	void *idle_ctx;
	int idle_ms;
	/* io_unread: input that did not fit in, taken before the socket */
	char *spill;
	size_t spill_len, spill_pos;
};

enum io_line { LINE_OK, LINE_LONG, LINE_PART, LINE_EOF, LINE_TIMEOUT };

struct smtpd_session {
	struct smtpd_io io;
	char client_addr[64];
	char client_name[LIM_HOSTNAME];
	char helo[LIM_HOSTNAME];
	int esmtp;
	int trusted;   /* client in mynetworks: may relay */
	int net_trusted; /* trusted before any AUTH (STARTTLS goes back) */
	int verbose;   /* VERB was accepted: each message gets a trace */
	int have_mail;
	char sender[LIM_PATH + 1];
	char body_type[16];
	int smtputf8;  /* MAIL had SMTPUTF8 */
	char tls[200]; /* "TLSv1.3 with cipher ... (256/256 bits)", or "" */
	char auth_user[256]; /* after a successful AUTH, or "" */
	int auth_failures;   /* in this session: the delay grows */
	char ret[8];   /* DSN RET=: "", FULL or HDRS */
	char envid[SMTPD_ENVID_MAX + 1]; /* DSN ENVID=, xtext-decoded */
	char **rcpts;
	char **orcpts; /* DSN ORCPT= per recipient, decoded; may be NULL */
	char **notify; /* DSN NOTIFY= per recipient; may be NULL */
	int nrcpt;
	struct smtpd_bdat *bdat; /* a BDAT transaction in progress */
	/* cleanup(8) connection kept between messages (smtpd_data.c) */
	struct cleanup_client *cleanup;
	int errors;
	int quit;
	int answered; /* read_command already replied to this line */
	/* greeted with 554 (pregreet): RFC 5321 3.1 has the session wait
	 * for QUIT, every other command answered 503 */
	int refused;
	/* counters for the disconnect log line */
	int n_ehlo, n_helo, n_mail, n_rcpt, n_data, n_rset, n_quit, n_other;
	int n_commands;
	/* smtpd_access.c: the client's refusal found at connect, given at
	 * each RCPT of an untrusted client, and its stats counter */
	char access_reply[SMTPD_ACCESS_REPLY];
	int access_stat;
};

/* smtpd_io.c */
void io_init(struct smtpd_io *io, int fd, int timeout_s);
int io_fill(struct smtpd_io *io);
/* io_input_ready - bytes buffered, or readable on the socket now */
int io_input_ready(struct smtpd_io *io);
enum io_line io_read_line(struct smtpd_io *io, char *buf, size_t cap,
			  size_t *len);
void io_printf(struct smtpd_io *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int io_flush(struct smtpd_io *io);
int io_input_pending(const struct smtpd_io *io);
/* io_read_into - message data straight into buf (up to cap bytes, no
 * copy through the input buffer): what is buffered, else one read;
 * *got bytes.  LINE_OK, LINE_EOF or LINE_TIMEOUT. */
int io_read_into(struct smtpd_io *io, char *buf, size_t cap, size_t *got);
/* io_unread - give back the n bytes after the end of the data that
 * io_read_into took (pipelined commands); -1 if they could not be kept */
int io_unread(struct smtpd_io *io, const char *p, size_t n);
/* io_spill_free - drop input io_unread kept aside (the session ends) */
void io_spill_free(struct smtpd_io *io);
/* io_on_idle - call fn(ctx) once when io_fill has waited ms for input
 * (fn NULL: no call) */
void io_on_idle(struct smtpd_io *io, int ms, void (*fn)(void *ctx),
		void *ctx);

/* smtpd_cmd.c */
void smtpd_command(struct smtpd_session *s, char *line);
void smtpd_reset(struct smtpd_session *s);
int smtpd_error(struct smtpd_session *s);
void smtpd_client_label(const struct smtpd_session *s, char *out,
			size_t len);

/* smtpd_data.c */
void smtpd_data(struct smtpd_session *s);
void smtpd_bdat(struct smtpd_session *s, const char *arg);
/* smtpd_bdat_abort - end a BDAT transaction (RSET, QUIT, errors) */
void smtpd_bdat_abort(struct smtpd_session *s);
/* smtpd_data_end - the session ends: close the kept cleanup connection */
void smtpd_data_end(struct smtpd_session *s);
/* how long a session keeps its cleanup connection while the client says
 * nothing: back-to-back messages share it, an idle session holds no
 * cleanup process */
#define SMTPD_CLEANUP_KEEP_MS 1000
/* bytes of DATA taken from the client in one read (smtpd_data.c) */
#define SMTPD_DATA_READ 65536

/*
 * smtpd_body.c - message bytes as the client sends them, to message
 * lines as cleanup(8) takes them (LF line ends).  DATA mode: only
 * CRLF "." CRLF ends the data; a bare LF ends a body line, never the
 * data; a leading dot is removed (RFC 5321 4.5.2).  BDAT mode: no dots
 * and no end marker.  Both: CRLF becomes LF, a CR not before LF becomes
 * a space, so nothing passed on holds a bare CR.
 */
enum body_mode { BODY_DATA, BODY_BDAT };
/* output handed to the sink at once: one cleanup data record */
#define BODY_OUT_BUF 65536
typedef void (*body_sink)(void *ctx, const char *p, size_t n);
struct body_filter {
	enum body_mode mode;
	int state;
	int done;       /* DATA: CRLF.CRLF seen */
	long bare_lf;   /* bare LFs seen (normalized to line ends) */
	long bare_cr;   /* bare CRs seen (replaced by spaces) */
	body_sink sink;
	void *ctx;
	size_t olen;
	char out[BODY_OUT_BUF]; /* last: body_init leaves it as it is */
};
void body_init(struct body_filter *f, enum body_mode mode, body_sink sink,
	       void *ctx);
/* body_feed - take bytes until the end of data; returns how many. */
size_t body_feed(struct body_filter *f, const char *p, size_t n);
/* body_finish - BDAT LAST: settle a held CR and flush. */
void body_finish(struct body_filter *f);

/* smtpd_vrfy.c - VRFY, EXPN, VERB (truthful for trusted clients only) */
enum { VRFY_OK = 0, VRFY_SYNTAX = -1, VRFY_BAD_ADDRESS = -2 };
/* smtpd_vrfy_addr - the address a VRFY/EXPN argument names ("<a@b>",
 * "a@b", or "name" at the first mydestination): VRFY_OK with out, else
 * VRFY_SYNTAX (no argument, trailing text) or VRFY_BAD_ADDRESS, with why */
int smtpd_vrfy_addr(const char *arg, char *out, size_t len, const char **why);
void smtpd_vrfy(struct smtpd_session *s, const char *arg);
void smtpd_expn(struct smtpd_session *s, const char *arg);
void smtpd_verb(struct smtpd_session *s);

/* smtpd_client.c: the forward-confirmed PTR name, or "unknown" */
void smtpd_client_hostname(const char *addr, char *out, size_t len);

/* smtpd_access.c: client and sender access maps, DNSBLs (smtpd(8),
 * "Access control") */
void smtpd_access_init(void); /* before the chroot */
void smtpd_access_connect(struct smtpd_session *s);
/* smtpd_access_refuse - at RCPT: the refusal for this client and sender
 * (in reply), or NULL */
const char *smtpd_access_refuse(struct smtpd_session *s, char *reply,
				size_t len);
/* smtpd_access_refuse_rcpt - at RCPT, once the recipient is one we take
 * (relay check passed): the recipient access map's refusal, or NULL */
const char *smtpd_access_refuse_rcpt(struct smtpd_session *s,
				     const char *local, const char *domain,
				     const char *rcpt, char *reply, size_t len);

/* smtpd_tls.c: TLS through tlsproxy(8) */
int smtpd_tls_available(void);
int smtpd_tls_start(struct smtpd_session *s);
int smtpd_tls_active(const struct smtpd_session *s);

/* smtpd_submit.c: roles (the service name) and the sender login map */
enum smtpd_role { ROLE_SMTPD, ROLE_SUBMISSION, ROLE_SMTPS };
extern enum smtpd_role smtpd_role;
void smtpd_role_set(const char *service);
const char *smtpd_role_name(void);
void smtpd_submit_init(void);
int smtpd_mail_gate(struct smtpd_session *s);
int smtpd_sender_refused(struct smtpd_session *s, const struct addr *a);

/* smtpd_auth.c */
int smtpd_auth_offered(const struct smtpd_session *s);
void smtpd_auth(struct smtpd_session *s, char *arg);
void smtpd_auth_end(void);
/* smtpd_cmd.c: an error reply that counts toward smtpd_error_limit */
void reply_error(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
