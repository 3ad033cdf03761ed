#!/usr/bin/env bash
# Measures what authorization adds to a metadata request, end to end, and writes
# the figures between the `authz` markers of docs/BENCHMARKS.md (other sections
# are kept): the real router over HTTPS in process on SQLite, 1,000 rooms, a user
# of an external party with grants in 100 of them, `GET /api/v1/rooms/{id}`
# timed through a keep-alive HTTPS client, then the same decisions timed alone
# (crates/server/examples/authz_overhead.rs).
#
# Environment: BENCH_REQUESTS (default 5000), BENCH_NO_BUILD=1 (reuse the
# release build as is), CARGO_TARGET_DIR (default target).
# BENCH_BASELINE=PATH (a release build of the same example from an earlier
# commit, named by BENCH_BASELINE_LABEL) adds a before/after table: the two
# builds run alternately BENCH_ROUNDS times (default 3, baseline first), and
# the medians of each figure are compared in the same run on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
REQUESTS=${BENCH_REQUESTS:-5000}
EX=${CARGO_TARGET_DIR:-target}/release/examples/authz_overhead
# The name of what the build measures stands for in the tables (BENCH_TREE_LABEL).
TREE=${BENCH_TREE_LABEL:-this tree}
log() { echo "bench/authz: $*" >&2; }
val() { awk -v k="$1" '$1==k {print $2}' <<<"$2"; }

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release example (a no-op when up to date)"
    cargo build --release -q -p server --example authz_overhead
fi
log "$REQUESTS requests"
OUT=$("$EX" "$REQUESTS")
log "$(tr '\n' ' ' <<<"$OUT")"

# The median of figure $1 over the outputs in the files $2…
median_of() {
    local key=$1
    shift
    for f in "$@"; do val "$key" "$(cat "$f")"; done | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
AB=""
if [ -n "${BENCH_BASELINE:-}" ]; then
    ROUNDS=${BENCH_ROUNDS:-3}
    LABEL=${BENCH_BASELINE_LABEL:-baseline}
    RUNS=$(mktemp -d)
    for i in $(seq "$ROUNDS"); do
        log "round $i of $ROUNDS: $LABEL, then $TREE"
        "$BENCH_BASELINE" "$REQUESTS" >"$RUNS/before.$i"
        "$EX" "$REQUESTS" >"$RUNS/after.$i"
        log "before $(tr '\n' ' ' <"$RUNS/before.$i")"
        log "after $(tr '\n' ' ' <"$RUNS/after.$i")"
    done
    row() {
        local what=$1 key=$2 b a
        b=$(median_of "$key" "$RUNS"/before.*)
        a=$(median_of "$key" "$RUNS"/after.*)
        echo "| $what | $b µs | $a µs | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')× |"
    }
    AB="
### Before and after: \`$LABEL\` against $TREE

The same example built from \`$LABEL\` and from $TREE, run alternately
$ROUNDS times each ($LABEL first) in one run of \`bench/authz.sh\`, $REQUESTS requests
each; medians of the runs. A ratio above 1 means $TREE is slower.

| | $LABEL | $TREE | ratio |
|---|---|---|---|
$(row "request p50" request_p50_us)
$(row "request p99" request_p99_us)
$(row "request mean" request_mean_us)
$(row "decision p50" authz_p50_us)
$(row "decision p99" authz_p99_us)
$(row "decision mean" authz_mean_us)
"
    rm -rf "$RUNS"
fi

SECTION=$(mktemp)
trap 'rm -f "$SECTION"' EXIT
cat >"$SECTION" <<MD
<!-- authz:begin -->
## Authorization in a metadata request (end to end)

\`bench/authz.sh\` on $(nproc) cores (load average $(cut -d' ' -f1 /proc/loadavg) at the end), $(date -u +%Y-%m-%d):
the real router over HTTPS (rustls, one keep-alive connection) in the
same process as its client, on SQLite, with 1,000 rooms and a user of an
external party (TOTP enrolled) holding grants in $(val granted "$OUT") of them.
$(val requests "$OUT") sequential \`GET /api/v1/rooms/{id}\` on those rooms (after a warm-up),
each authenticating the bearer token, reading the room, the caller's grants and
the room's requirements, and deciding \`room.view\` once; then the same
$(val requests "$OUT") decisions alone (\`app::authz::authorize\` with the principal,
resource and context the request builds, checked against the app's own
simulation of each). $(val policies "$OUT") policies in force (with explanations).

| | p50 | p99 | mean |
|---|---|---|---|
| \`GET /api/v1/rooms/{id}\` | $(val request_p50_us "$OUT") µs | $(val request_p99_us "$OUT") µs | $(val request_mean_us "$OUT") µs |
| its authorization decision alone | $(val authz_p50_us "$OUT") µs | $(val authz_p99_us "$OUT") µs | $(val authz_mean_us "$OUT") µs |
| share of the request | $(val share_p50_pct "$OUT") % | | $(val share_mean_pct "$OUT") % |
$AB
<!-- authz:end -->
MD
splice_section authz "$SECTION"
log "wrote the authz section of docs/BENCHMARKS.md"
