#!/usr/bin/env bash
# The replication-cost rows (issue 13): starts a 3-member etcd cluster with
# ../scripts/etcd-cluster.sh (installing etcd when missing), builds ClusterBench in release mode,
# runs the same domain workloads on embedded Vitrine and on the cluster, writes
# results/cluster.md, and stops the cluster.
#
#   Benchmarks/cluster.sh [--seconds S] [--flash-stock N]
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/opt/swift/usr/bin:$PATH"

dir="$(mktemp -d "${TMPDIR:-/tmp}/vitrine-bench-etcd.XXXXXX")"
trap '../scripts/etcd-cluster.sh stop "$dir"; rm -rf "$dir"' EXIT
urls="$(../scripts/etcd-cluster.sh start "$dir" 27900)"
swift build -c release --product ClusterBench >&2
mkdir -p results .data
{
    echo "<!-- Benchmarks/cluster.sh $*, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, $(date -u +%Y-%m-%d) -->"
    "$(swift build -c release --show-bin-path)/ClusterBench" --etcd "$urls" --data-dir "$PWD/.data" "$@"
} | tee results/cluster.md
