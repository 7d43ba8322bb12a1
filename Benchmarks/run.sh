#!/usr/bin/env bash
# Runs the whole benchmark suite: installs the peers' libraries if missing, builds in release
# mode, runs every workload on every engine, and writes results/<size>.md and results/<size>.json;
# a whole-suite run also puts its table into README.md (a smoke run never replaces a full run's),
# and writes results/<size>.svg, the chart of the ratios, which this script checks renders.
#
#   Benchmarks/run.sh                 # smoke size: well under a minute once built
#   Benchmarks/run.sh --size full     # 1,000,000 products, 5 rounds
#   Benchmarks/run.sh --workloads 2,3 --engines sqlite,lmdb   # any VitrineBench option
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/opt/swift/usr/bin:$PATH"

./setup.sh
swift build -c release --product VitrineBench >&2

BENCH_SWIFT_VERSION="$(swift --version 2>/dev/null | sed -n 1p)"
BENCH_GIT_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- .. 2>/dev/null)" ]; then BENCH_GIT_COMMIT="$BENCH_GIT_COMMIT+dirty"; fi
export BENCH_SWIFT_VERSION BENCH_GIT_COMMIT

# Charts written by this run are rendered to PNG (next to them, not committed: results/*.png is
# ignored) to check that they are valid SVG a renderer accepts.
mkdir -p results
started="$(mktemp)"
status=0
"$(swift build -c release --show-bin-path)/VitrineBench" --readme README.md "$@" || status=$?
for svg in $(find results -name '*.svg' -newer "$started"); do
    if rsvg-convert "$svg" -o "${svg%.svg}.png"; then
        echo "run.sh: $svg renders (${svg%.svg}.png)" >&2
    else
        echo "run.sh: $svg does not render" >&2
        status=1
    fi
done
rm -f "$started"
exit $status
