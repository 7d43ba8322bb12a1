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

# etcd (issue 13): the etcd suites start their own 3-member clusters with scripts/etcd-cluster.sh;
# here etcd is installed when missing, and required, so that a missing etcd fails them instead
# of skipping them.
step "etcd"
if ! command -v etcd >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y etcd-server || { apt-get update && apt-get install -y etcd-server; }; } >/dev/null
fi
etcd --version | sed -n 1p # reads it all: with pipefail, head could end etcd with SIGPIPE (exit 141)
export VITRINE_REQUIRE_ETCD=1

# The code's format: clean under the toolchain's swift-format with the repository's
# .swift-format (fix with `swift format format --in-place --parallel -r Sources Tests
# Benchmarks/Sources Package.swift Benchmarks/Package.swift`).
step "swift format lint"
swift format lint --strict --parallel -r Sources Tests Benchmarks/Sources Package.swift Benchmarks/Package.swift

step "swift test"
swift test "$@"

# The DocC documentation of VitrineStore, Vitrine and VitrinePages: built with the toolchain's
# own docc, failing on any warning (scripts/docs.sh).
step "docs"
scripts/docs.sh

# The shop's static pages in a real browser (installs chromium when missing): no console error,
# no overflow at phone or desktop width, no injected script or markup, no link off the partner
# whitelist; screenshots in .build/browser-check/screenshots (scripts/browser-check.sh).
step "browser check"
scripts/browser-check.sh
