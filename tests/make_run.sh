#!/bin/sh
# make_run.sh - "make run": write run/mta.conf if missing and run the
# system in the foreground on the embedded default (see README).
set -e
top="$1"
mkdir -p "$top/run"
conf="$top/run/mta.conf"
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# mta.conf for "make run" (see mta.conf(5)); edit freely, or delete it
# to get the default back.
run_mode = user
queue_directory = $top/run/queue
daemon_directory = $top/bin
smtpd_listen = 127.0.0.1:2525
myhostname = localhost
mydestination = localhost
mailbox_base = $top/run/mail
mailbox_template = %d/%u/Maildir
srs_secret_file = $top/run/srs.key
CONF
	# submission on 2587 (STARTTLS) and 2465 (implicit TLS) with a
	# self-signed certificate; add users with mtactl passwd add
	if command -v openssl >/dev/null 2>&1 &&
	    openssl req -x509 -newkey rsa:2048 -nodes -days 365 \
		-subj /CN=localhost -keyout "$top/run/tls.key" \
		-out "$top/run/tls.crt" >/dev/null 2>&1; then
		cat >>"$conf" <<CONF
smtpd_tls_cert_file = $top/run/tls.crt
smtpd_tls_key_file = $top/run/tls.key
smtpd_passwd_map = $top/run/passwd
submission_listen = 127.0.0.1:2587
smtps_listen = 127.0.0.1:2465
CONF
	fi
	echo "make run: wrote $conf"
fi
echo "make run: SMTP on 127.0.0.1:2525, mail for any user@localhost lands in run/mail/localhost/USER/Maildir/"
if grep -q '^submission_listen' "$conf"; then
	echo "make run: submission on 127.0.0.1:2587 (STARTTLS) and 2465 (TLS); add a user: bin/mtactl -c run/mta.conf passwd add alice"
fi
echo "make run: stop with Ctrl-C or: bin/mtactl -c run/mta.conf stop"
exec "$top/bin/mtactl" -c "$conf" start -f
