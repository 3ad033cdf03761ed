#!/usr/bin/env bash
# Benchmarks authorization decisions in process and writes the figures between
# the `policy` markers of docs/BENCHMARKS.md (other sections are kept): decision
# latency (p50, p99, mean, max) of the default Cedar policies alone and plus 100
# custom ones of five kinds (room-scoped, generic, half of each, generic ones on a
# set attribute, and generic ones
# the pre-filter cannot leave out), with 10,000 users in 100 parties and 1,000
# rooms, each decision building its entity slice as `authz::authorize` does.
# Target: p99 < 100 µs.
#
# Environment: BENCH_DECISIONS (default 200000), BENCH_NO_BUILD=1 (reuse the
# release build as is), CARGO_TARGET_DIR (default target). The release build of
# cedar-policy takes minutes. BENCH_BASELINE=PATH (a release build of the same
# example from an earlier commit, named by BENCH_BASELINE_LABEL) adds a
# before/after table: for each mix the baseline and this tree run alternately
# (baseline first) in the same run, and their p50/p99 are compared.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DECISIONS=${BENCH_DECISIONS:-200000}
DOC=docs/BENCHMARKS.md
EX=${CARGO_TARGET_DIR:-target}/release/examples/policy_bench
# The name of what the build measures stands for in the tables (BENCH_TREE_LABEL).
TREE=${BENCH_TREE_LABEL:-this tree}
log() { echo "bench/policy: $*" >&2; }
val() { awk -v k="$1" '$1==k {print $2}' <<<"$2"; }

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release example (a no-op when up to date)"
    cargo build --release -q -p policy --example policy_bench
fi
ROWS=""
AB_ROWS=""
LOAD=""
for MIX in none scoped mixed generic sets opaque; do
    log "$DECISIONS decisions, custom policies: $MIX"
    OUT=$("$EX" "$DECISIONS" "$MIX")
    log "$(tr '\n' ' ' <<<"$OUT")"
    P99=$(val p99_us "$OUT")
    VERDICT=$(awk -v p="$P99" 'BEGIN {print (p < 100) ? "met" : "**not met**"}')
    case $MIX in
        none) WHAT="defaults only" ;;
        scoped) WHAT="+ 100 room-scoped" ;;
        mixed) WHAT="+ 50 room-scoped, 50 generic" ;;
        generic) WHAT="+ 100 generic" ;;
        sets) WHAT="+ 100 generic on a set attribute" ;;
        opaque) WHAT="+ 100 generic, not pre-filterable" ;;
    esac
    if [ -n "${BENCH_BASELINE:-}" ]; then
        log "$DECISIONS decisions, custom policies: $MIX, ${BENCH_BASELINE_LABEL:-baseline}"
        BEFORE=$("$BENCH_BASELINE" "$DECISIONS" "$MIX")
        log "$(tr '\n' ' ' <<<"$BEFORE")"
        # This tree again, right after the baseline: the pair shares the machine's state.
        AGAIN=$("$EX" "$DECISIONS" "$MIX")
        ratio() { awk -v a="$(val "$1" "$AGAIN")" -v b="$(val "$1" "$BEFORE")" 'BEGIN {printf "%.2f", a / b}'; }
        AB_ROWS+="| $MIX | $(val p50_us "$BEFORE") µs | $(val p50_us "$AGAIN") µs | $(ratio p50_us)× | $(val p99_us "$BEFORE") µs | $(val p99_us "$AGAIN") µs | $(ratio p99_us)× |"$'\n'
    fi
    ROWS+="| $WHAT | $(val policies "$OUT") | $(val p50_us "$OUT") µs | $(val p99_us "$OUT") µs | $(val mean_us "$OUT") µs | $(val max_us "$OUT") µs | $(val allowed "$OUT") / $(val denied "$OUT") / $(val hidden "$OUT") | $VERDICT |"$'\n'
    LOAD+="$MIX $(val load_ms "$OUT") ms, "
done

AB_SECTION=""
if [ -n "$AB_ROWS" ]; then
    B=${BENCH_BASELINE_LABEL:-baseline}
    AB_SECTION="
### Before and after: \`$B\` against $TREE

The same example built from \`$B\` (before) and from $TREE (after), run
back to back for each mix in this run. A ratio above 1 means $TREE is
slower.

| mix | p50 before | p50 after | ratio | p99 before | p99 after | ratio |
|---|---|---|---|---|---|---|
$AB_ROWS"
fi

SECTION=$(mktemp)
trap 'rm -f "$SECTION"' EXIT
cat >"$SECTION" <<MD
<!-- policy:begin -->
## Authorization decisions (Cedar, in process)

\`bench/policy.sh\` on $(nproc) cores (load average $(cut -d' ' -f1 /proc/loadavg) at the end), $(date -u +%Y-%m-%d):
$DECISIONS decisions by 10,000 users of 100 parties on 1,000 rooms (a quarter
requiring an NDA), drawn by a fixed seed, so every row asks the same questions.
Each decision builds its entity slice and evaluates the cached, scope-indexed
policy set, as \`app::authz::authorize\` does (docs/policy.md). Room-scoped custom
policies (\`resource == Custody::Room::"…"\`) are evaluated only for their room.
Generic ones (\`when { resource.classification == "restricted" &&
principal.party.status == "x{i}" }\` on any room) are left out by the pre-filter
(\`crates/policy/src/prefilter.rs\`) on every request whose own facts prove them
false, and so are those that test a set attribute for a literal
(\`when { principal.party.status == "active" &&
resource.required_agreements.contains("k{i}") }\`). The last row is the worst
case: 100 generic policies whose leading comparison holds and whose next one
compares two attributes, which the pre-filter does not read
(\`principal.party.status == "active" && resource.tags.contains(context.action_name)\`),
all evaluated by Cedar on every content request. Policies counts include the explanations. Parsing, validating
and indexing: ${LOAD%, }.

| policies in force | count | p50 | p99 | mean | max | allowed / denied / hidden | p99 < 100 µs |
|---|---|---|---|---|---|---|---|
$ROWS
$AB_SECTION
<!-- policy:end -->
MD
splice_section policy "$SECTION"
log "wrote the policy section of $DOC"
