#!/bin/sh
# run.sh - build the libFuzzer targets of tests/fuzz and run each one.
#
# Usage: tests/fuzz/run.sh [SECONDS]
#   SECONDS  time per target (default 60); 0 runs only the seed corpus
#            once (-runs=0), as a regression check.
# Builds with clang into build-fuzz/ at the top of the tree, copies each
# target's seeds from tests/fuzz/corpus/TARGET to build-fuzz/corpus-TARGET
# (the tree's corpus is never written), and keeps crashing inputs in
# build-fuzz/artifacts/.  Prints one line per target; exits 1 if any
# target crashed or failed to build.
# Environment: CLANG (default clang), FUZZ_TARGETS (default: all),
# FUZZ_MAX_LEN (default 65536).  Inputs that once crashed a target stay in
# its corpus as regress-* seeds.
set -u

secs=${1:-60}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
cd "$top" || exit 2
cc=${CLANG:-clang}
out=build-fuzz
max_len=${FUZZ_MAX_LEN:-65536}
targets=${FUZZ_TARGETS:-"fuzz_addr fuzz_ipc fuzz_queue_file fuzz_cleanup_headers fuzz_smtpd fuzz_smtp_reply fuzz_map fuzz_sasl fuzz_mime_downgrade"}

# every UBSan report is a crash
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 $san"
objdir=$out/obj
export UBSAN_OPTIONS
# the targets are held to the tree's warnings; the code under test is
# checked by its own build (gcc), whose warnings clang does not all share
warn="-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla"
incs="-Icommon -Icleanup -Ismtpd $(pkg-config --cflags libsodium liblmdb 2>/dev/null)"
libs="$(pkg-config --libs libsodium liblmdb 2>/dev/null || echo -lsodium -llmdb) -lssl -lcrypto"

# the program sources each target needs beside common/*.c
prog_src() {
	case $1 in
	fuzz_cleanup_headers) echo cleanup/cleanup_headers.c ;;
	fuzz_smtpd) echo smtpd/smtpd_cmd.c smtpd/smtpd_io.c smtpd/smtpd_data.c smtpd/smtpd_body.c smtpd/smtpd_tls.c smtpd/smtpd_auth.c smtpd/smtpd_submit.c smtpd/smtpd_vrfy.c smtpd/smtpd_access.c ;;
	fuzz_smtp_reply) echo remote/smtp_reply.c remote/smtp_ehlo.c ;;
	fuzz_mime_downgrade) echo remote/mime_downgrade.c ;;
	esac
}

# obj SRC - compile SRC (instrumented for the fuzzer) unless up to date
obj() {
	o=$objdir/$(echo "$1" | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ -n "$(find "$1" common cleanup smtpd remote \
	    -name '*.[ch]' -newer "$o" 2>/dev/null | head -1)" ]; then
		mkdir -p "$(dirname "$o")"
		case $1 in tests/fuzz/*) w=$warn ;; *) w="" ;; esac
		# shellcheck disable=SC2086 # flag lists split on purpose
		$cc $cflags $w -fsanitize=fuzzer-no-link $incs -c -o "$o" "$1" \
			>&2 || return 1
	fi
	echo "$o"
}

build() {
	objs=""
	for src in common/*.c $(prog_src "$1") tests/fuzz/"$1".c; do
		o=$(obj "$src") || return 1
		objs="$objs $o"
	done
	# shellcheck disable=SC2086 # flag and object lists split on purpose
	$cc $san -fsanitize=fuzzer -o "$out/$1" $objs $libs
}

# execs LOG - how many inputs libFuzzer ran
execs() {
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
	[ -n "$n" ] || n=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$1" | tail -1)
	echo "${n:-0}"
}

mkdir -p "$out/artifacts" "$out/logs" || exit 2
status=0
summary=""
for t in $targets; do
	if ! build "$t"; then
		summary="$summary
$t: BUILD FAILED"
		status=1
		continue
	fi
	corpus=$out/corpus-$t
	rm -rf "$corpus" && mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$t" ] && cp -p "tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null
	if [ "$secs" -eq 0 ]; then
		time_opt="-runs=0"
	else
		time_opt="-max_total_time=$secs"
	fi
	log=$out/logs/$t.log
	echo "== $t ($([ "$secs" -eq 0 ] && echo seeds only || echo "${secs}s"))"
	"$out/$t" "$corpus" "$time_opt" -max_len="$max_len" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		>"$log" 2>&1
	rc=$?
	n=$(execs "$log")
	if [ $rc -eq 0 ]; then
		result=ok
	else
		status=1
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		why=$(grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:' "$log")
		result="CRASH (exit $rc) ${art:-see $log}: ${why:-see $log}"
	fi
	summary="$summary
$t: execs=$n corpus=$(find "$corpus" -type f | wc -l) $result"
done
echo "== summary$summary"
exit $status
