#!/bin/sh
# side_by_side.sh [ROUNDS] - our system and Debian's Postfix 3.7 on the
# same scenarios in alternating pairs (ours then Postfix's, Postfix's then
# ours in the next round, so drift in the machine's load falls on both),
# same client, same file system (BENCHMARKS.md).  As root.
#   ROUNDS (default 2)   pairs per scenario
#   BENCH_SIDE           scenarios (default "relay idle500 idle1000"):
#                        local1 local20 big rcpt5 relay relay-cache idleK
#                        (relay-cache: Postfix's connection cache always on
#                        for the relayhost; idleK: K idle sessions, Postfix
#                        with default_process_limit = K + 50)
#   BENCH_JOURNAL=1      on a journaled ext4 loop file system made under
#                        build-bench/side/ and unmounted at the end
#   BENCH_POSTFIX_DEB    a postfix_*.deb to use instead of apt-get download
# Postfix is started fresh for each of its runs (tests/bench/postfix_private.sh)
# and stopped after it; ours is throughput.py's own instance.
# Trusts: throughput.py and postfix_private.sh.  Never: touches the host's
# Postfix or any mount but its own.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
export MTA_TOP="$top" MTA_BIN="${MTA_BIN:-$top/bin}"
rounds=${1:-2}
[ "$(id -u)" = 0 ] || { echo "side_by_side.sh: needs root" >&2; exit 2; }
base=$top/build-bench/side
mkdir -p "$base" || exit 2
mnt=
pfdir=
cleanup() {
	[ -n "$pfdir" ] && [ -s "$pfdir/queue/pid/master.pid" ] &&
		sh "$top/tests/bench/postfix_private.sh" "$pfdir" stop >/dev/null 2>&1
	if [ -n "$mnt" ]; then
		cd / && umount "$mnt" && rm -f "$base/ext4.img"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ "${BENCH_JOURNAL:-0}" = 1 ]; then
	mnt=$base/mnt
	mkdir -p "$mnt" || exit 2
	rm -f "$base/ext4.img"
	truncate -s 4G "$base/ext4.img" &&
		mkfs.ext4 -q -F -i 4096 "$base/ext4.img" &&
		mount -o loop "$base/ext4.img" "$mnt" || { mnt=; exit 2; }
	work=$mnt
	echo "side: on a journaled ext4 loop file system at $mnt"
else
	work=$base/work
	mkdir -p "$work" || exit 2
fi
chmod 1777 "$work"
export TMPDIR="$work"
pfdir=$work/postfix
mkdir -p "$pfdir" || exit 2
deb=${BENCH_POSTFIX_DEB:-}
if [ -z "$deb" ]; then
	ls "$base"/postfix_*.deb >/dev/null 2>&1 ||
		(cd "$base" && apt-get download postfix) || exit 2
	deb=$(ls "$base"/postfix_*.deb | head -n 1)
fi
cp "$deb" "$pfdir/" || exit 2

ours() {    # scenario
	case $1 in
	relay-cache) set -- relay ;;
	esac
	case $1 in
	idle*) BENCH_SCENARIOS=idle BENCH_IDLE=${1#idle} \
		python3 "$top/tests/bench/throughput.py" ;;
	*) BENCH_SCENARIOS=$1 python3 "$top/tests/bench/throughput.py" ;;
	esac
}

theirs() {  # scenario
	case $1 in
	relay) opts=--relay; only=relay; k= ;;
	relay-cache) opts=--relay-cache; only=relay; k= ;;
	idle*) k=${1#idle}; opts="--procs $((k + 50))"; only=idle ;;
	*) opts=; only=$1; k= ;;
	esac
	# shellcheck disable=SC2086
	vars=$(sh "$top/tests/bench/postfix_private.sh" "$pfdir" start $opts \
	       2>/dev/null) || { echo "side: Postfix did not start" >&2; return 1; }
	echo "side: Postfix: $vars"
	log=$pfdir/maillog
	from=$(($(cat "$log" 2>/dev/null | wc -l) + 1))
	# shellcheck disable=SC2086
	env $vars BENCH_SCENARIOS=$only ${k:+BENCH_IDLE=$k} \
		python3 "$top/tests/bench/throughput.py"
	if [ "$only" = relay ]; then
		# its smtp(8) logs conn_use=N for the Nth message of a cached
		# connection (N >= 2)
		tail -n "+$from" "$log" | awk '/ postfix\/smtp\[.*status=sent/ {
			n++; if (/conn_use=/) r++ }
			END { printf "side: Postfix relayed %d, %d over a reused connection\n", n, r }'
	fi
	sh "$top/tests/bench/postfix_private.sh" "$pfdir" stop >/dev/null 2>&1
}

status=0
for s in ${BENCH_SIDE:-relay idle500 idle1000}; do
	r=1
	while [ "$r" -le "$rounds" ]; do
		if [ $((r % 2)) = 1 ]; then order="ours theirs"; else order="theirs ours"; fi
		for who in $order; do
			echo "side: $s, round $r, $who; load $(cut -d' ' -f1-3 /proc/loadavg)"
			"$who" "$s" || status=1
		done
		r=$((r + 1))
	done
done
exit $status
