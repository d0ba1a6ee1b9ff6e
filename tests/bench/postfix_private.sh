#!/bin/sh
# postfix_private.sh DIR [start|stop] - Debian's Postfix in a private
# directory, for BENCH_TARGET side by side (BENCHMARKS.md).  As root:
# the package is downloaded and unpacked under DIR (apt-get download,
# dpkg-deb -x; never installed, the host's instance is left alone), with
# its own main.cf: smtpd on a free port of 127.0.0.1 only, queue and
# Maildirs under DIR (put DIR on the file system to compare on), mail
# for user@localhost and user1..user5@localhost delivered by virtual(8)
# to DIR/mail/USER/, as the user "mail".  Prints the BENCH_* settings.
set -eu
dir=$(cd "${1:?usage: postfix_private.sh DIR [start|stop]}" && pwd)
cmd=${2:-start}
root=$dir/root
export LD_LIBRARY_PATH=$root/usr/lib/postfix
pf() { script -qc "$root/usr/sbin/postfix -c $dir/conf $1" /dev/null; }
if [ "$cmd" = stop ]; then
	pf stop
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "postfix_private.sh: needs root" >&2; exit 2; }
if [ ! -d "$root" ]; then
	(cd "$dir" && apt-get download postfix && dpkg-deb -x postfix_*.deb root)
fi
mkdir -p "$dir/conf" "$dir/queue" "$dir/data" "$dir/mail"
chown mail:mail "$dir/data" "$dir/mail"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# smtpd on 127.0.0.1:port only; no service chrooted
sed -E -e "s/^smtp( +inet .*smtpd)$/127.0.0.1:$port\1/" \
    -e 's/^([a-z0-9.:]+ +[a-z-]+ +[-ny] +[-ny] +)y /\1n /' \
    "$root/usr/share/postfix/master.cf.dist" > "$dir/conf/master.cf"
cp "$root/usr/share/postfix/dynamicmaps.cf" "$root/etc/postfix/postfix-files" \
   "$dir/conf/"
: > "$dir/conf/vmailbox"
for u in user user1 user2 user3 user4 user5; do
	echo "$u@localhost $u/" >> "$dir/conf/vmailbox"
done
cat > "$dir/conf/main.cf" <<CONF
compatibility_level = 3.6
config_directory = $dir/conf
meta_directory = $dir/conf
shlib_directory = $root/usr/lib/postfix
daemon_directory = $root/usr/lib/postfix/sbin
command_directory = $root/usr/sbin
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = mail
setgid_group = uucp
default_privs = nobody
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=$root/usr/lib/postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.bench.example
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = localhost
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = texthash:$dir/conf/vmailbox
virtual_minimum_uid = $(id -u mail)
virtual_uid_maps = static:$(id -u mail)
virtual_gid_maps = static:$(id -g mail)
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
CONF
pf start
for _ in $(seq 50); do
	[ -s "$dir/queue/pid/master.pid" ] && break
	sleep 0.1
done
echo "BENCH_TARGET=127.0.0.1:$port BENCH_MAILDIR_ROOT=$dir/mail" \
     "BENCH_RCPT=user@localhost BENCH_TARGET_PID=$(tr -d ' ' < "$dir/queue/pid/master.pid")"
