#!/usr/bin/env bash
# A 3-member etcd cluster on loopback, in a directory of its own (issue 13).
#
#   scripts/etcd-cluster.sh start  DIR [BASEPORT]   start 3 members, wait until healthy, print the client URLs
#   scripts/etcd-cluster.sh stop   DIR              stop every member (SIGTERM, then SIGKILL after 10 s)
#   scripts/etcd-cluster.sh status DIR              each member: pid, running/stopped, health
#   scripts/etcd-cluster.sh urls   DIR              the client URLs, comma-separated
#   scripts/etcd-cluster.sh leader DIR              the member number (1-3) of the current leader
#   scripts/etcd-cluster.sh kill    DIR N           SIGKILL member N (1-3): a crash
#   scripts/etcd-cluster.sh restart DIR N           start member N again on its data dir
#   scripts/etcd-cluster.sh pause   DIR N           SIGSTOP member N (alive, not answering)
#   scripts/etcd-cluster.sh resume  DIR N           SIGCONT member N
#
# Member N (1-3) listens for clients on BASEPORT+2N-2 and for peers on BASEPORT+2N-1 (BASEPORT
# 23790 by default), keeps its data in DIR/mN.etcd, its log in DIR/mN.log and its pid in
# DIR/mN.pid; DIR/baseport remembers the ports for the other subcommands. Installs the
# distribution's etcd-server with apt-get when `etcd` is missing.
#
# Flags that matter to Vitrine: --max-txn-ops 2048 (etcd's default, 128, is smaller than a
# 50-line checkout's compares; EtcdKeyValueStore's default limit is the same 2048 and is checked
# before anything is sent), --max-request-bytes 1.5 MiB (the default, written out), and no
# auto-compaction (a transaction's read revision stays readable).
set -euo pipefail

MAX_TXN_OPS=2048
MAX_REQUEST_BYTES=1572864

usage() { sed -n '2,12p' "$0" >&2; exit 2; }

need_etcd() {
    if ! command -v etcd >/dev/null 2>&1; then
        echo "etcd-cluster: etcd missing, installing etcd-server with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y etcd-server >&2 || { apt-get update >&2 && apt-get install -y etcd-server >&2; }
        # The package's own service would take ports 2379/2380; this script never uses them.
        if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
    fi
}

base_of() { cat "$1/baseport" 2>/dev/null || echo 23790; }
client_port() { echo $(( $1 + 2 * $2 - 2 )); }
peer_port() { echo $(( $1 + 2 * $2 - 1 )); }

urls() {
    local dir=$1 base out="" n
    base=$(base_of "$dir")
    for n in 1 2 3; do out+="${out:+,}http://127.0.0.1:$(client_port "$base" "$n")"; done
    echo "$out"
}

pid_of() { cat "$1/m$2.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1" "$2"); [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }

start_member() {
    local dir=$1 n=$2 state=$3 base cluster="" m
    base=$(base_of "$dir")
    for m in 1 2 3; do cluster+="${cluster:+,}m$m=http://127.0.0.1:$(peer_port "$base" "$m")"; done
    if alive "$dir" "$n"; then return 0; fi
    # setsid: the member leaves the caller's process group, so a test runner's Ctrl-C or a
    # killed job does not take the cluster down in the middle of a failover test.
    setsid etcd --name "m$n" --data-dir "$dir/m$n.etcd" \
        --listen-client-urls "http://127.0.0.1:$(client_port "$base" "$n")" \
        --advertise-client-urls "http://127.0.0.1:$(client_port "$base" "$n")" \
        --listen-peer-urls "http://127.0.0.1:$(peer_port "$base" "$n")" \
        --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$base" "$n")" \
        --initial-cluster "$cluster" --initial-cluster-state "$state" \
        --initial-cluster-token "vitrine-$base" \
        --max-txn-ops "$MAX_TXN_OPS" --max-request-bytes "$MAX_REQUEST_BYTES" \
        --logger zap --log-outputs "$dir/m$n.log" \
        </dev/null >>"$dir/m$n.log" 2>&1 &
    echo $! >"$dir/m$n.pid"
}

# http URL [POSTBODY]: curl when installed, else python3 (a fresh machine may have either).
http() {
    if command -v curl >/dev/null 2>&1; then
        if [[ $# -gt 1 ]]; then curl -fsS --max-time 2 -X POST -d "$2" "$1"; else curl -fsS --max-time 2 "$1"; fi
    else
        python3 -c 'import sys, urllib.request as u
data = sys.argv[2].encode() if len(sys.argv) > 2 else None
sys.stdout.write(u.urlopen(sys.argv[1], data=data, timeout=2).read().decode())' "$@"
    fi
}

healthy() { http "http://127.0.0.1:$1/health" 2>/dev/null | grep -q '"health":"true"'; }

wait_healthy() {
    local dir=$1 base n deadline=$((SECONDS + 60))
    base=$(base_of "$dir")
    for n in 1 2 3; do
        until healthy "$(client_port "$base" "$n")"; do
            if (( SECONDS > deadline )); then
                echo "etcd-cluster: member m$n not healthy after 60 s (see $dir/m$n.log)" >&2
                return 1
            fi
            sleep 0.2
        done
    done
}

stop_member() {
    local dir=$1 n=$2 pid i
    pid=$(pid_of "$dir" "$n")
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -CONT "$pid" 2>/dev/null || true   # a paused member cannot act on SIGTERM
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/m$n.pid"
}

member_arg() {
    [[ "${1:-}" =~ ^[123]$ ]] || { echo "etcd-cluster: member must be 1, 2 or 3" >&2; exit 2; }
    echo "$1"
}

cmd=${1:-}; dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || usage
case "$cmd" in
start)
    need_etcd
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    base=${3:-$(base_of "$dir")}
    [[ "$base" =~ ^[0-9]+$ ]] && (( base > 1024 && base < 65530 )) || { echo "etcd-cluster: bad BASEPORT $base" >&2; exit 2; }
    echo "$base" >"$dir/baseport"
    state=new
    [[ -d "$dir/m1.etcd" ]] && state=existing
    for n in 1 2 3; do start_member "$dir" "$n" "$state"; done
    wait_healthy "$dir" || { for n in 1 2 3; do stop_member "$dir" "$n"; done; exit 1; }
    urls "$dir"
    ;;
stop)
    for n in 1 2 3; do stop_member "$dir" "$n"; done
    ;;
status)
    base=$(base_of "$dir")
    for n in 1 2 3; do
        pid=$(pid_of "$dir" "$n"); state=stopped
        if alive "$dir" "$n"; then
            state=running
            grep -q '^State:.*T' "/proc/$pid/status" 2>/dev/null && state=paused
        fi
        health=unhealthy; healthy "$(client_port "$base" "$n")" && health=healthy
        echo "m$n pid=${pid:--} $state $health http://127.0.0.1:$(client_port "$base" "$n")"
    done
    ;;
urls) urls "$dir" ;;
leader)
    base=$(base_of "$dir")
    for n in 1 2 3; do
        s=$(http "http://127.0.0.1:$(client_port "$base" "$n")/v3/maintenance/status" '{}' 2>/dev/null) || continue
        id=$(sed -n 's/.*"member_id":"\([0-9]*\)".*/\1/p' <<<"$s")
        leader=$(sed -n 's/.*"leader":"\([0-9]*\)".*/\1/p' <<<"$s")
        if [[ -n "$id" && "$id" == "$leader" ]]; then echo "$n"; exit 0; fi
    done
    echo "etcd-cluster: no leader found" >&2; exit 1
    ;;
kill) n=$(member_arg "${3:-}"); pid=$(pid_of "$dir" "$n"); [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true ;;
restart) n=$(member_arg "${3:-}"); dir=$(cd "$dir" && pwd); start_member "$dir" "$n" existing ;;
pause) n=$(member_arg "${3:-}"); pid=$(pid_of "$dir" "$n"); [[ -n "$pid" ]] && kill -STOP "$pid" ;;
resume) n=$(member_arg "${3:-}"); pid=$(pid_of "$dir" "$n"); [[ -n "$pid" ]] && kill -CONT "$pid" ;;
*) usage ;;
esac
