#!/bin/sh
# postfix_private.sh DIR [start|stop] [--relay|--relay-cache] [--procs N]
# Debian's Postfix in a private directory, for BENCH_TARGET side by side
# (BENCHMARKS.md).  As root: the package is downloaded and unpacked under
# DIR (apt-get download, dpkg-deb -x; a postfix_*.deb already in DIR is
# used as it is; never installed, the host's instance is left alone),
# with its own main.cf: smtpd on a free port of 127.0.0.1 only, queue and
# Maildirs under DIR (put DIR on the file system to compare on), mail for
# user@localhost and user1..user5@localhost delivered by virtual(8) to
# DIR/mail/USER/, as the user "mail".  Prints the BENCH_* settings.
#   --relay        other domains (the bench's user@far.example) go to
#                  relayhost = [127.0.0.1]:PORT, a free port where
#                  throughput.py's sink listens (BENCH_SINK_PORT=PORT is
#                  printed); Postfix's defaults otherwise: 20 connections
#                  per destination, its connection cache on demand
#                  (smtp_connection_cache_on_demand = yes: while the
#                  destination has a backlog; idle connections kept 2 s)
#   --relay-cache  the same, with the cache always on for the relayhost
#                  and our remote's reuse limits (reuse 5 s idle, 100
#                  messages per connection)
#   --procs N      default_process_limit = N (idle sessions: Postfix runs
#                  one smtpd process per session, 100 by default)
# Trusts: the Debian package.  Never: touches /etc/postfix or the host's
# Postfix, or listens beyond 127.0.0.1.
set -eu
usage="usage: postfix_private.sh DIR [start|stop] [--relay|--relay-cache] [--procs N]"
dir=$(cd "${1:?$usage}" && pwd)
shift
cmd=start
relay=
procs=
while [ $# -gt 0 ]; do
	case $1 in
	start|stop) cmd=$1 ;;
	--relay|--relay-cache) relay=$1 ;;
	--procs) procs=${2:?$usage}; shift ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
	shift
done
case $procs in
''|*[!0-9]*) [ -z "$procs" ] || { echo "$usage" >&2; exit 2; } ;;
esac
root=$dir/root
export LD_LIBRARY_PATH=$root/usr/lib/postfix
pf() { script -qc "$root/usr/sbin/postfix -c $dir/conf $1" /dev/null; }
if [ "$cmd" = stop ]; then
	pid=$(tr -d ' ' < "$dir/queue/pid/master.pid")
	pf stop
	# its children are gone once master is: the next start may follow
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	echo "postfix_private.sh: master $pid still running after 10 s" >&2
	exit 1
fi
[ "$(id -u)" = 0 ] || { echo "postfix_private.sh: needs root" >&2; exit 2; }
if [ ! -d "$root" ]; then
	(cd "$dir" && { ls postfix_*.deb >/dev/null 2>&1 ||
			apt-get download postfix; } &&
	 dpkg-deb -x postfix_*.deb root)
fi
mkdir -p "$dir/conf" "$dir/queue" "$dir/data" "$dir/mail"
chown mail:mail "$dir/data" "$dir/mail"
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
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
sink=
if [ -n "$relay" ]; then
	sink=$(free_port)
	# mynetworks (127.0.0.0/8) may relay; a bracketed address: no DNS
	echo "relayhost = [127.0.0.1]:$sink" >> "$dir/conf/main.cf"
fi
if [ "$relay" = --relay-cache ]; then
	cat >> "$dir/conf/main.cf" <<CONF
smtp_connection_cache_destinations = [127.0.0.1]:$sink
smtp_connection_cache_time_limit = 5s
smtp_connection_reuse_count_limit = 100
CONF
fi
if [ -n "$procs" ]; then
	echo "default_process_limit = $procs" >> "$dir/conf/main.cf"
fi
pf start >&2   # stdout: the BENCH_* line only
for _ in $(seq 50); do
	[ -s "$dir/queue/pid/master.pid" ] && break
	sleep 0.1
done
echo "BENCH_TARGET=127.0.0.1:$port BENCH_MAILDIR_ROOT=$dir/mail" \
     "BENCH_RCPT=user@localhost BENCH_TARGET_PID=$(tr -d ' ' < "$dir/queue/pid/master.pid")" \
     ${sink:+"BENCH_SINK_PORT=$sink"}
