#!/usr/bin/env bash
# A sign-in flood against the release server, on SQLite and on PostgreSQL: CLIENTS
# clients post wrong passwords to `POST /api/v1/auth/login` as fast as they are
# answered (each request with an `X-Forwarded-For` address of its own, the server
# trusting 127.0.0.1 as its proxy, so the per-address throttle does not stop them)
# while one probe uploads and downloads 256 KiB files. The reference is the same
# probe on the same server with no flood, in the same run. Writes the figures
# between the `login-flood` markers of docs/BENCHMARKS.md.
#
# Target (issue 12): under 600 flooding clients the probes succeed, p50 < 200 ms,
# no 500s, on both backends.
#
# Environment: BENCH_CLIENTS (600), BENCH_PROBES (300), BENCH_NO_BUILD=1 (reuse
# the release build as is), CARGO_TARGET_DIR (default target),
# BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CLIENTS=${BENCH_CLIENTS:-600}
PROBES=${BENCH_PROBES:-300}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
TARGET=${CARGO_TARGET_DIR:-target}/release
log() { echo "bench/login_flood: $*" >&2; }
val() { awk -v k="$1" '$1==k {print $2}' <<<"$2"; }

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release server and driver (a no-op when up to date)"
    cargo build --release -q -p custody --bin custody --example login_flood
fi
# Every flood client holds a connection; the driver and the server each need
# more descriptors than the usual 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# run_backend NAME DATABASE_URL: one server, one flood; prints the driver's lines.
run_backend() {
    local name=$1 db=$2 dir=$WORK/$1 port
    port=$((20000 + RANDOM % 20000))
    mkdir -p "$dir"
    local password="flood-admin-password-$RANDOM$RANDOM"
    local args=(serve --data-dir "$dir/data" --listen "127.0.0.1:$port")
    if [ -n "$db" ]; then export CUSTODY_DATABASE_URL=$db; else unset CUSTODY_DATABASE_URL; fi
    CUSTODY_ADMIN_EMAIL=admin@custody.local CUSTODY_ADMIN_PASSWORD=$password \
        CUSTODY_CLIENT_ADDRESS_HEADER=x-forwarded-for CUSTODY_TRUSTED_PROXIES=127.0.0.0/8 \
        CUSTODY_MAX_CONNECTIONS_PER_ADDRESS=4096 \
        RUST_LOG=warn "$TARGET/custody" "${args[@]}" >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    local fp=
    for _ in $(seq 1 100); do
        fp=$(awk '/fingerprint:/ {print $NF}' "$dir/server.log" | head -1)
        [ -n "$fp" ] && curl -sk "https://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.2
    done
    [ -n "$fp" ] || { cat "$dir/server.log" >&2; echo "the $name server did not start" >&2; exit 1; }
    "$TARGET/examples/login_flood" "https://127.0.0.1:$port" "$fp" admin@custody.local "$password" \
        "$CLIENTS" "$PROBES"
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    echo "server_vmhwm_kib $hwm"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

log "SQLite: $CLIENTS clients, $PROBES probes"
SQLITE=$(run_backend sqlite "")
log "$(tr '\n' ' ' <<<"$SQLITE")"
PG_DB=custody_flood_bench
psql "${PG_URL%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
log "PostgreSQL: $CLIENTS clients, $PROBES probes"
PG=$(run_backend postgres "${PG_URL%/*}/$PG_DB")
log "$(tr '\n' ' ' <<<"$PG")"
psql "${PG_URL%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null || true

verdict() {
    local out=$1 p50 e
    p50=$(val flood_put_p50_ms "$out"); e=$(( $(val flood_probe_errors "$out") + $(val flood_5xx_other "$out") ))
    if awk -v a="$p50" -v b="$(val flood_get_p50_ms "$out")" 'BEGIN {exit !(a < 200 && b < 200)}' && [ "$e" = 0 ]; then
        echo PASS
    else
        echo MISS
    fi
}

row() {
    local name=$1 out=$2
    echo "| $name, quiet | $(val quiet_put_p50_ms "$out") / $(val quiet_put_p99_ms "$out") | $(val quiet_get_p50_ms "$out") / $(val quiet_get_p99_ms "$out") | $(val quiet_probe_errors "$out") | | |"
    echo "| $name, $CLIENTS flooding | $(val flood_put_p50_ms "$out") / $(val flood_put_p99_ms "$out") | $(val flood_get_p50_ms "$out") / $(val flood_get_p99_ms "$out") | $(val flood_probe_errors "$out") ($(val flood_probe_5xx "$out") 5xx) | $(val flood_requests "$out") at $(val flood_rate_per_s "$out")/s: 401 $(val flood_401 "$out"), 429 $(val flood_429 "$out"), 503 $(val flood_503 "$out"), other 5xx $(val flood_5xx_other "$out"), transport errors $(val flood_transport_errors "$out") | $(verdict "$out") |"
}

SECTION=$(mktemp)
cat >"$SECTION" <<MD
<!-- login-flood:begin -->
## Sign-in flood (issue 12)

\`bench/login_flood.sh\` on $(nproc) cores (load average $(cut -d' ' -f1 /proc/loadavg) at the end), $(date -u +%Y-%m-%d):
the release \`custody serve\` (its own process) and a driver on the same machine.
$CLIENTS clients post wrong passwords as fast as they are answered, one
connection each, every request naming an address of its own in
\`X-Forwarded-For\` (127.0.0.1 is a trusted proxy), so the per-address throttle
does not stop them; one in ten tries the admin's account (which locks), the rest
unknown ones. Meanwhile one probe, signed in before the flood, uploads and
downloads $PROBES files of 256 KiB in turn. Reference: the same probe, same
server, no flood. Target: probes succeed, p50 < 200 ms, no 5xx but the flood's 503s.

| backend | probe PUT p50 / p99 (ms) | probe GET p50 / p99 (ms) | probe errors | flood answers | |
|---|---|---|---|---|---|
$(row SQLite "$SQLITE")
$(row PostgreSQL "$PG")

Before the fix (issue 12, the same kind of flood): uploads and downloads took
10 s at the median and half of them failed with 500 on SQLite, 15-23 s on
PostgreSQL. What holds it now: the password is hashed before any write
transaction; hashes run on half the cores; sign-ins beyond 32 waiting for a
hasher are shed with 503; every refused sign-in is answered no sooner than
500 ms after it arrived (so the flood waits between tries: about 1,100 requests
a second from 600 clients).

Server peak RSS: SQLite $(( $(val server_vmhwm_kib "$SQLITE") / 1024 )) MiB, PostgreSQL $(( $(val server_vmhwm_kib "$PG") / 1024 )) MiB.
<!-- login-flood:end -->
MD
splice_section login-flood "$SECTION"
rm -f "$SECTION"
log "wrote the login-flood section of docs/BENCHMARKS.md"
