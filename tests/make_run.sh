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
CONF
	echo "make run: wrote $conf"
fi
echo "make run: SMTP on 127.0.0.1:2525, mail for any user@localhost lands in run/mail/localhost/USER/Maildir/"
echo "make run: stop with Ctrl-C or: bin/mtactl -c run/mta.conf stop"
exec "$top/bin/mtactl" -c "$conf" start -f
