#!/bin/sh
# deps.sh - install the Debian packages the build and the tests need.
# As root it runs apt-get; otherwise it prints the exact command to run.
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing ||
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
else
	echo "deps: missing packages; run as root:"
	echo "  sudo apt-get install -y$missing"
	exit 1
fi
