#!/usr/bin/env bash
# The README's test command, and what `.ci/run` runs on a clean checkout.
#
# Runs `swift test` (every suite of the package), then the checks that live beside the tests.
# Each step installs what it needs when it is missing, so a fresh machine needs only the Swift
# toolchain and network access to Debian's packages. Arguments go to `swift test`
# (for example `scripts/test.sh --filter BatchTests`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "swift test"
swift test "$@"
