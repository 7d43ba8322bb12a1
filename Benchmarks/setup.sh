#!/usr/bin/env bash
# Installs the C libraries the benchmark peers link against (Debian packages), when missing:
#   libsqlite3-dev  SQLite (headers, sqlite3.pc, libsqlite3.so)
#   liblmdb-dev     LMDB   (headers, lmdb.pc, liblmdb.so)
#   librsvg2-bin    rsvg-convert, with which run.sh checks that the chart renders
# Runs `apt-get update` only when a package cannot be installed from the current lists.
set -euo pipefail

missing=()
for pkg in libsqlite3-dev liblmdb-dev librsvg2-bin; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "setup.sh: installing ${missing[*]}" >&2
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
