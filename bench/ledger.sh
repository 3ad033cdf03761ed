#!/usr/bin/env bash
# Benchmarks the tamper-evident ledger and writes the figures between the
# `ledger` markers of docs/BENCHMARKS.md (other sections are kept):
#   (a) fsync-durable audited events per second, 128 concurrent writers
#       recording events through the app's recorder (event row + ledger leaf
#       + nodes, batched, group commit) on SQLite, against plain SQLite
#       (`sqlite3`, one row per transaction, WAL, synchronous=FULL) on the same
#       disk in the same run; also 32 writers, and 128 writers whose every
#       event is a request the policy refuses (a Cedar decision per event),
#       and 128 writers with the server's watcher scoring the events as they
#       are recorded (issue 19: at most 10 % fewer than without, same run);
#   (b) inclusion-proof latency through the app at 1 million entries, then at
#       10 million when the time per size says it fits the time budget;
#   (c) `custody ledger verify` of a 1-million-entry export and its checkpoint.
# Builds the release binaries once, uses a scratch directory on a real disk and
# no network, and aborts itself after BENCH_TIMEOUT seconds (default 570).
#
# Environment: BENCH_DIR (parent of the scratch directory, default /var/tmp),
# BENCH_SECONDS (length of (a), default 10), BENCH_WRITERS (default 128),
# BENCH_PROOFS (proofs per size, default 10000), BENCH_BIG (the large size of
# (b), default 10000000), BENCH_NO_BUILD=1 (reuse target/release as is).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD

TIMEOUT=${BENCH_TIMEOUT:-570}
SECONDS_A=${BENCH_SECONDS:-10}
WRITERS=${BENCH_WRITERS:-128}
FEW_WRITERS=32
PROOFS=${BENCH_PROOFS:-10000}
BIG=${BENCH_BIG:-10000000}
EXPORT_SIZE=1000000
BASE_TX=2000
DOC=docs/BENCHMARKS.md
BIN=$ROOT/target/release/custody
LB=$ROOT/target/release/examples/ledger_bench

log() { echo "bench/ledger: $*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
now() { date +%s.%N; }
val() { awk -v k="$1" '$1==k {print $2}' <<<"$2"; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN {printf "%.*f", d, v}'; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

ensure_packages() {
    command -v sqlite3 >/dev/null && return
    log "installing sqlite3"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq sqlite3 >/dev/null
}

build() {
    if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then return; fi
    log "building release binaries (a no-op when up to date)"
    cargo build --release -q -p custody
    cargo build --release -q -p app --example ledger_bench
}

W=
WATCHDOG=
WATCH_BEHIND=
cleanup() {
    set +e
    if [ -n "$WATCHDOG" ]; then pkill -P "$WATCHDOG" 2>/dev/null; kill "$WATCHDOG" 2>/dev/null; fi
    [ -n "$W" ] && rm -rf "$W"
}

# ---------------------------------------------------------------- (a) appends

bench_baseline() {
    log "(a) baseline: sqlite3, $BASE_TX transactions of one row, WAL, synchronous=FULL"
    sqlite3 "$W/base.db" "PRAGMA journal_mode=WAL;" "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB);" >/dev/null
    {
        echo "PRAGMA synchronous=FULL;"
        for _ in $(seq 1 "$BASE_TX"); do
            echo "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES (randomblob(200)); COMMIT;"
        done
    } >"$W/base.sql"
    local t0 t1
    t0=$(now)
    sqlite3 "$W/base.db" <"$W/base.sql"
    t1=$(now)
    BASE=$(awk -v n="$BASE_TX" -v a="$t0" -v b="$t1" 'BEGIN {print n/(b-a)}')
    log "(a) baseline: $(fmt "$BASE") transactions/s"
}

# One run of `ledger_bench appends` ($1 writers, mode $2); sets RUN_* values.
appends_run() {
    log "(a) Custody: $1 writers ($2) for $SECONDS_A s through the app's recorder, group commit"
    local out
    out=$("$LB" appends "$W/appends" "$SECONDS_A" "$1" "$2")
    log "$(tr '\n' ' ' <<<"$out")"
    RUN_RATE=$(val appends_per_sec "$out")
    RUN_N=$(val appends "$out")
    RUN_COMMITS=$(val commits "$out")
    RUN_SYNCS=$(val wal_syncs "$out")
    RUN_SECS=$(val seconds "$out")
    RUN_SCORED=$(val scored "$out")
    RUN_SIZE=$(val ledger_size "$out")
    rm -rf "$W/appends"
}

# fdatasync latency of the scratch disk now: 500 synced 4 KiB writes.
disk_sync_ms() {
    local t0 t1
    t0=$(now)
    dd if=/dev/zero of="$W/sync.probe" bs=4k count=500 oflag=dsync status=none
    t1=$(now)
    rm -f "$W/sync.probe"
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b-a)*1000/500}'
}

bench_appends() {
    SYNC_BEFORE=$(disk_sync_ms)
    appends_run "$WRITERS" direct
    APPENDS=$RUN_RATE APPENDS_N=$RUN_N A_COMMITS=$RUN_COMMITS A_SYNCS=$RUN_SYNCS A_SECS=$RUN_SECS
    appends_run "$FEW_WRITERS" direct
    FEW_RATE=$RUN_RATE FEW_PER_COMMIT=$(awk -v a="$RUN_N" -v c="$RUN_COMMITS" 'BEGIN {printf "%.1f", a/c}')
    appends_run "$WRITERS" refused
    REFUSED_RATE=$RUN_RATE
    # With and without the watcher in pairs, alternating which comes first
    # (the machine's state drifts within a run): the median pair's ratio.
    local order mode w u pairs=()
    for order in "watched direct" "direct watched" "watched direct"; do
        for mode in $order; do
            appends_run "$WRITERS" "$mode"
            if [ "$mode" = watched ]; then
                w=$RUN_RATE
                WATCH_BEHIND="${WATCH_BEHIND:+$WATCH_BEHIND, }$(printf "%'d" "$RUN_SCORED") of $(printf "%'d" "$RUN_SIZE")"
            else
                u=$RUN_RATE
            fi
        done
        pairs+=("$(awk -v a="$w" -v b="$u" 'BEGIN {printf "%.3f", a/b}') $w $u")
    done
    WATCH_PAIRS=$(printf '%s\n' "${pairs[@]}" | awk '{printf "%s%.2f× (%d/%d)", (NR > 1 ? ", " : ""), $1, $2, $3}')
    read -r WATCH_RATIO WATCHED_RATE UNWATCHED_RATE < <(printf '%s\n' "${pairs[@]}" | sort -g | sed -n 2p)
    SYNC_AFTER=$(disk_sync_ms)
}

# ---------------------------------------------------------------- (b) proofs

# Builds a tree of $1 leaves and times $PROOFS proofs; appends a table row.
proofs_at() {
    local size=$1 out
    log "(b) inclusion proofs at $size entries (bulk-loading the stored nodes first)"
    out=$("$LB" proofs "$W/proofs" "$size" "$PROOFS")
    log "$(tr '\n' ' ' <<<"$out")"
    rm -rf "$W/proofs"
    LAST_BUILD=$(val build_seconds "$out")
    LAST_P99=$(val p99_ms "$out")
    B_ROWS+="| $(printf "%'d" "$size") | $(printf "%'d" "$(val nodes "$out")") | $(fmt "$(val db_bytes "$out")" 0 | awk '{printf "%.0f MB", $1/1e6}') | $(val build_seconds "$out") s | $(val proofs "$out") | $(val p50_ms "$out") ms | $(val p99_ms "$out") ms | $(val max_ms "$out") ms | $(val cold_p50_ms "$out") / $(val cold_p99_ms "$out") / $(val cold_max_ms "$out") ms |"$'\n'
}

bench_proofs() {
    B_ROWS=
    B_NOTE=
    local t0 left need
    t0=$(now)
    proofs_at 1000000
    local small_secs
    small_secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b-a}')
    left=$(awk -v start="$START" -v t="$TIMEOUT" -v n="$(now)" 'BEGIN {print t-(n-start)-30}')
    # The build grows a little faster than linearly (deeper B-trees): allow 30 %.
    need=$(awk -v s="$small_secs" -v k="$((BIG / 1000000))" 'BEGIN {print s*k*1.3}')
    if awk -v n="$need" -v l="$left" 'BEGIN {exit !(n < l)}'; then
        proofs_at "$BIG"
        BIG_DONE=1
    else
        BIG_DONE=0
        B_NOTE="$(printf "%'d" "$BIG") entries were not built: at $(fmt "$small_secs" 0) s per million (build + proofs) the projection, $(fmt "$need" 0) s, exceeds the $(fmt "$left" 0) s left of the time budget."
        log "(b) $B_NOTE"
    fi
}

# ---------------------------------------------------------------- (c) verify

bench_verify() {
    log "(c) writing a $EXPORT_SIZE-entry export and its checkpoint"
    local out t0 t1 i times=()
    out=$("$LB" export "$W/export" "$EXPORT_SIZE")
    C_BYTES=$(val export_bytes "$out")
    for i in 1 2 3; do
        t0=$(now)
        C_SAID=$("$BIN" ledger verify --entries "$W/export/entries.jsonl" \
            --checkpoint "$W/export/checkpoint.txt" --key "$W/export/verifier.key")
        t1=$(now)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')")
    done
    VERIFY=$(printf '%s\n' "${times[@]}" | median)
    C_RSS=$(/usr/bin/time -f %M "$BIN" ledger verify --entries "$W/export/entries.jsonl" \
        --checkpoint "$W/export/checkpoint.txt" --key "$W/export/verifier.key" 2>&1 >/dev/null | tail -1)
    log "(c) verify: median $(fmt "$VERIFY" 2) s of ${times[*]}; said: $C_SAID"
    rm -rf "$W/export"
}

# ---------------------------------------------------------------- report

verdict() { awk -v ok="$1" 'BEGIN {print ok ? "PASS" : "MISS"}'; }

write_doc() {
    local tmp="$W/section.md" ratio
    ratio=$(awk -v a="$APPENDS" -v b="$BASE" 'BEGIN {printf "%.1f", a/b}')
    {
        echo "<!-- ledger:begin -->"
        echo "## Ledger (\`bench/ledger.sh\`)"
        echo
        echo "Written by \`bench/ledger.sh\`; do not edit by hand."
        echo
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Custody \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')\`"
        echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo | awk '{print $1, $2}'), Linux $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo); load average at start $LOAD_START (other work on the machine skews every figure)"
        echo "- Disk: scratch directory under \`${BENCH_DIR:-/var/tmp}\` ($(df -T "${BENCH_DIR:-/var/tmp}" | awk 'NR==2 {print $2}')); SQLite $(sqlite3 --version | awk '{print $1}')"
        echo
        echo "| measurement | Custody | reference | ratio | target | result |"
        echo "|---|---:|---:|---:|---:|---|"
        echo "| (a) fsync-durable audited events/s, $WRITERS writers | $(fmt "$APPENDS") /s | $(fmt "$BASE") /s plain SQLite, FULL | ${ratio}× | ≥ 20,000 /s | $(verdict "$(awk -v a="$APPENDS" 'BEGIN {print a >= 20000}')") |"
        echo "| (a) the same, $FEW_WRITERS writers | $(fmt "$FEW_RATE") /s | | $(awk -v a="$FEW_RATE" -v b="$BASE" 'BEGIN {printf "%.1f", a/b}')× | | (information) |"
        echo "| (a) the same, $WRITERS writers, each event a refused request (Cedar decision + recording) | $(fmt "$REFUSED_RATE") /s | | $(awk -v a="$REFUSED_RATE" -v b="$BASE" 'BEGIN {printf "%.1f", a/b}')× | | (information) |"
        echo "| (a) the same, $WRITERS writers, the watcher scoring events as they are recorded: the median of three pairs with and without it, alternating which runs first (pairs: $WATCH_PAIRS; scored by the end of each watched run: $WATCH_BEHIND recorded) | $(fmt "$WATCHED_RATE") /s | $(fmt "$UNWATCHED_RATE") /s without, same pair | $(fmt "$WATCH_RATIO" 2)× | ≥ 0.90× | $(verdict "$(awk -v r="$WATCH_RATIO" 'BEGIN {print r >= 0.9}')") |"
        if [ "$BIG_DONE" = 1 ]; then
            echo "| (b) inclusion proof p99 at $(printf "%'d" "$BIG") entries (page cache warm) | $LAST_P99 ms | — | — | < 1 ms | $(verdict "$(awk -v p="$LAST_P99" 'BEGIN {print p < 1}')") |"
        else
            echo "| (b) inclusion proof p99 at 1,000,000 entries (10M not built) | $P99_1M ms | — | — | < 1 ms | $(verdict "$(awk -v p="$P99_1M" 'BEGIN {print p < 1}')") |"
        fi
        echo "| (c) \`custody ledger verify\`, $(printf "%'d" "$EXPORT_SIZE") entries | $(fmt "$VERIFY" 2) s | — | — | < 3 s | $(verdict "$(awk -v v="$VERIFY" 'BEGIN {print v < 3}')") |"
        echo
        echo "How each figure is taken:"
        echo
        echo "- (a) \`target/release/examples/ledger_bench appends DIR $SECONDS_A $WRITERS direct\`: $WRITERS tokio tasks" \
            "each record, in a loop, a download event (actor, target, request facts, a JSON detail) through the" \
            "app's events seam (\`App::record_alone\`, what downloads, views, refusals and exports use); the" \
            "recorder writes every event waiting when a batch starts in one transaction" \
            "(\`Store::append_batch\`: on SQLite a connection and thread of its own with prepared statements;" \
            "event rows, one reservation of leaf indices, the frontier read, leaf and node rows) and answers" \
            "each caller after the WAL's \`fdatasync\`." \
            "$(fmt "$APPENDS_N") events in $(fmt "$A_COMMITS") commits ($(awk -v a="$APPENDS_N" -v c="$A_COMMITS" 'BEGIN {printf "%.1f", a/c}') events per commit)" \
            "shared $(fmt "$A_SYNCS") WAL syncs in $(fmt "$A_SECS" 1) s" \
            "($(awk -v c="$A_COMMITS" -v s="$A_SYNCS" 'BEGIN {printf "%.1f", c/s}') commits per sync), after 1 s of warm-up." \
            "Reference: \`sqlite3\` running $BASE_TX transactions of one 200-byte row each, WAL," \
            "\`synchronous=FULL\` (one WAL sync per commit, what Custody did before), same disk." \
            "The disk's \`fdatasync\` (500 synced 4 KiB writes with \`dd oflag=dsync\`) took $SYNC_BEFORE ms each" \
            "before (a) and $SYNC_AFTER ms after: the events per second follow it (each sync serves one round of" \
            "commits). The $FEW_WRITERS-writer run put $FEW_PER_COMMIT events in a commit; the refused-request run" \
            "shows the cost of a Cedar decision per event on the same 2 cores."
        echo "- (b) \`ledger_bench proofs DIR SIZE $PROOFS\`: the stored nodes of a tree of synthetic leaves are" \
            "computed with \`ledger::append\` and bulk-inserted (no leaf rows), then \`App::ledger_inclusion_proof\`" \
            "(authorization, then on SQLite the ledger reader's read-only connection: the \`ledger\` crate's node" \
            "lookups with a prepared statement) for random leaves, each proof verified against the root; 100" \
            "warm-up proofs are not counted. Timed twice: first with the database file as the load left it" \
            "(\"cold\": on this machine most of its pages are then not in the kernel's page cache and are read" \
            "from the virtual disk, as \`perf\` shows), then after reading the file once into the page cache, as" \
            "it stays on a server that has run for a while (p50/p99/max, the target's figure)."
        echo
        echo "| entries | stored nodes | database | build | proofs | p50 | p99 | max | cold p50 / p99 / max |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        printf '%s' "$B_ROWS"
        [ -n "$B_NOTE" ] && { echo; echo "$B_NOTE"; }
        echo
        echo "- (c) \`custody ledger verify --entries --checkpoint --key\` (release) on an export written by" \
            "\`ledger_bench export\` ($(fmt "$C_BYTES" | awk '{printf "%.0f MB", $1/1e6}'), lines as" \
            "\`GET /api/v1/ledger/entries\` serves them, download-shaped events), median of 3 runs; peak RSS" \
            "$(awk -v k="$C_RSS" 'BEGIN {printf "%.0f MiB", k/1024}'). It said: \`$C_SAID\`."
        echo "<!-- ledger:end -->"
    } >"$tmp"
    splice_section ledger "$tmp"
    log "wrote $DOC"
    cat "$tmp" >&2
}

main() {
    ensure_packages
    build
    [ -x "$BIN" ] && [ -x "$LB" ] || die "release binaries missing"
    W=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" custody-ledger-bench.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    exec 3>&2
    ( sleep "$TIMEOUT" && { log "timed out after $TIMEOUT s" 2>&3; kill -TERM $$; } ) 2>/dev/null &
    WATCHDOG=$!
    START=$(now)
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    log "scratch directory $W; load average $LOAD_START"

    bench_verify
    bench_baseline
    bench_appends
    P99_1M=
    bench_proofs
    P99_1M=$(awk -F'|' 'NR==1 {gsub(/ ms| /, "", $8); print $8}' <<<"$B_ROWS")
    write_doc
}

main "$@"
