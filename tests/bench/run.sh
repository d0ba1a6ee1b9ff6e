#!/bin/sh
# run.sh - make bench: every benchmark of tests/bench, one after another
# (they share the machine's two cores; never run them beside the tests).
# BENCH_QUEUE_N: messages in the queue-scale benchmark (default 1000000).
# BENCH_SCALE: multiplies the throughput message counts (default 1).
# BENCH_JOURNAL=1 (root): run on a journaled ext4 loop file system made
#   under build-bench/ and unmounted at the end.
# BENCH_TARGET=host:port BENCH_MAILDIR_ROOT=dir: drive another server
#   (throughput scenarios only).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
export MTA_TOP="$top" MTA_BIN="${MTA_BIN:-$top/bin}"
status=0
mnt=
if [ "${BENCH_JOURNAL:-0}" = 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: BENCH_JOURNAL=1 needs root" >&2
		exit 2
	fi
	mkdir -p "$top/build-bench/mnt" || exit 2
	img="$top/build-bench/ext4.img"
	mnt="$top/build-bench/mnt"
	rm -f "$img"
	# 8 GB sparse, an inode per 4 KB: the 1,000,000-message queue fits
	truncate -s 8G "$img" && mkfs.ext4 -q -F -i 4096 "$img" &&
		mount -o loop "$img" "$mnt" || exit 2
	chmod 1777 "$mnt"
	export TMPDIR="$mnt"
	trap 'cd /; umount "$mnt"; rm -f "$img"' EXIT INT TERM
	echo "bench: on a journaled ext4 loop file system at $mnt"
fi
if [ -z "${BENCH_TARGET:-}" ]; then
	python3 "$top/tests/bench/queue_scale.py" "${BENCH_QUEUE_N:-1000000}" ||
		status=1
fi
python3 "$top/tests/bench/throughput.py" || status=1
exit $status
