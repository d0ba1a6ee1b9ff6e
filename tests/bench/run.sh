#!/bin/sh
# run.sh - make bench: every benchmark of tests/bench, one after another
# (they share the machine's two cores; never run them beside the tests).
# BENCH_QUEUE_N: messages in the queue-scale benchmark (default 1000000).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
export MTA_TOP="$top" MTA_BIN="${MTA_BIN:-$top/bin}"
status=0
python3 "$top/tests/bench/queue_scale.py" "${BENCH_QUEUE_N:-1000000}" || status=1
python3 "$top/tests/bench/bench_smtpd.py" "${BENCH_SESSIONS:-1000}" || status=1
exit $status
