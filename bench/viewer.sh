#!/usr/bin/env bash
# Benchmarks the view-only viewer's pages, before and after the pages were
# sized for reading, and writes the figures between the `viewer` markers of
# docs/BENCHMARKS.md (other sections are kept):
#   - two documents generated here with Ghostscript from PostScript: a
#     50-page A4 report of dense text (53 lines of 10-pt Times a page) and a
#     10-sheet A3 drawing (frame, title block, holes, hatching, red centre
#     lines, blue dimensions);
#   - before: the pipeline of BEFORE_REV (default 447d14d, main when the work
#     started), built from a git worktree of that revision with
#     bench/viewer_before.rs: per page request, the pages counted, the page
#     rendered at 150 dpi, stamped, marked and encoded as PNG;
#   - after: crates/render/examples/viewer_bench.rs, the pipeline of a view
#     now: the page drawn for a screen by its kind, stamped, marked, encoded;
#   - the reference, in the same run: poppler's `pdftoppm` alone on the whole
#     document, as PNG at 150 dpi (what the viewer used to send, unmarked) and
#     as JPEG at the resolution and quality the viewer now sends.
# Each page is drawn BENCH_RUNS times (default 5), its median kept; the runs
# alternate between before and after, a whole document at a time.
# Installs poppler-utils and Ghostscript when missing; builds the two release
# examples once (only the render crate and what it needs).
# Environment: BENCH_RUNS, BEFORE_REV, BEFORE_TARGET (default
# $CARGO_TARGET_DIR/viewer-before), BENCH_NO_BUILD=1 (reuse the examples).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "bench/viewer: $*" >&2; }
. bench/lib.sh
ROOT=$PWD
RUNS=${BENCH_RUNS:-5}
BEFORE_REV=${BEFORE_REV:-447d14d}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BEFORE_TARGET=${BEFORE_TARGET:-$TARGET/viewer-before}
EX=$TARGET/release/examples

missing=()
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v gs >/dev/null || missing+=(ghostscript)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

W=$(mktemp -d)
cleanup() {
    if [ -d "$W/before" ]; then git worktree remove --force "$W/before" >/dev/null 2>&1 || true; fi
    rm -rf "$W"
}
trap cleanup EXIT

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release example (after)"
    cargo build --release -p render --example viewer_bench >&2
    log "building the release example of $BEFORE_REV (before)"
    git worktree add --detach "$W/before" "$BEFORE_REV" >&2
    cp bench/viewer_before.rs "$W/before/crates/render/examples/viewer_before.rs"
    # A target directory of its own: cargo names the artifacts of path crates by
    # their path within the workspace, so the two revisions would share them.
    (cd "$W/before" && CARGO_TARGET_DIR=$BEFORE_TARGET cargo build --release -p render --example viewer_before >&2)
fi

log "generating the documents"
cat >"$W/text.ps" <<'PS'
%!PS-Adobe-3.0
<< /PageSize [595 842] >> setpagedevice
/words [(the) (design) (tolerance) (of) (each) (bracket) (is) (measured) (against) (supplier)
        (drawing) (revision) (and) (load) (case) (before) (release) (fatigue) (margin) (for)
        (titanium) (forging) (inspection) (report) (shall) (record) (deviation) (within) (limits)] def
/seed 7 def
/rand { seed 1103515245 mul 12345 add 2147483647 and /seed exch def seed 65536 idiv } def
/body /Times-Roman findfont 10 scalefont def
/head /Helvetica-Bold findfont 14 scalefont def
/small /Helvetica findfont 8 scalefont def
1 1 50 { /pg exch def
  head setfont 60 790 moveto (Section ) show pg 3 string cvs show ( - Bracket qualification programme) show
  body setfont
  /y 765 def
  0 1 52 { /ln exch def
    ln 13 mod 12 eq { /y y 6 sub def } {
      60 y moveto
      /x 60 def
      { rand words length mod words exch get /w exch def
        w stringwidth pop x add 6 add 535 gt { exit } if
        w show ( ) show /x currentpoint pop def } loop
      /y y 13 sub def } ifelse
  } for
  small setfont 280 40 moveto (Page ) show pg 3 string cvs show ( of 50) show
  showpage
} for
PS
cat >"$W/drawing.ps" <<'PS'
%!PS-Adobe-3.0
<< /PageSize [1191 842] >> setpagedevice
/thin { 0.35 setlinewidth } def
/thick { 0.9 setlinewidth } def
/label /Helvetica findfont 9 scalefont def
/title /Helvetica-Bold findfont 16 scalefont def
/arrow { gsave 3 1 roll translate rotate newpath 0 0 moveto -8 2.5 lineto -8 -2.5 lineto closepath fill grestore } def
/dim { /t exch def /y2 exch def /x2 exch def /y1 exch def /x1 exch def
  gsave 0 0 0.75 setrgbcolor thin newpath x1 y1 moveto x2 y2 lineto stroke
  x2 y2 y2 y1 sub x2 x1 sub atan arrow x1 y1 y1 y2 sub x1 x2 sub atan arrow
  label setfont x1 x2 add 2 div 10 sub y1 y2 add 2 div 4 add moveto t show grestore } def
1 1 10 { /pg exch def
  thick 0 setgray 20 20 1151 802 rectstroke 30 30 1131 782 rectstroke
  thin 1 1 7 { /i exch def 30 i 1131 mul 8 div add dup 30 moveto 20 lineto stroke } for
  thick 791 30 370 110 rectstroke thin
  791 85 moveto 1161 85 lineto stroke 976 30 moveto 976 85 lineto stroke
  title setfont 801 110 moveto (BRACKET B-7 ASSY  SHEET ) show pg 2 string cvs show
  label setfont 801 65 moveto (MATERIAL: Ti-6Al-4V  SCALE 1:2) show 986 65 moveto (DWG No. 4711-) show pg 3 string cvs show
  801 45 moveto (TOLERANCES ISO 2768-mK  REV C) show
  gsave 120 pg 7 mul add 180 translate
  thick newpath 0 0 moveto 520 0 lineto 520 260 lineto 380 420 lineto 0 420 lineto closepath stroke
  0 1 5 { /k exch def newpath 100 k 60 mul add 80 18 0 360 arc stroke } for
  newpath 260 280 70 0 360 arc stroke newpath 260 280 40 0 360 arc stroke
  0 30 330 { /a exch def newpath a cos 55 mul 260 add a sin 55 mul 280 add 5 0 360 arc stroke } for
  thin gsave newpath 380 20 moveto 500 20 lineto 500 220 lineto 380 220 lineto closepath clip
  -200 8 400 { /h exch def newpath 380 h add 20 moveto 580 h add 220 lineto stroke } for grestore
  380 20 120 200 rectstroke
  gsave 0.8 0 0 setrgbcolor thin [12 3 2 3] 0 setdash
  newpath 160 280 moveto 360 280 lineto stroke newpath 260 180 moveto 260 380 lineto stroke
  0 1 5 { /k exch def newpath 100 k 60 mul add 50 moveto 100 k 60 mul add 110 lineto stroke } for grestore
  0 -40 520 -40 (520) dim  -40 0 -40 420 (420) dim  100 120 400 120 (5 x 60) dim
  190 280 330 280 (D140) dim
  grestore
  gsave 760 420 translate thick newpath 0 0 moveto 60 180 140 -60 300 120 curveto stroke
  newpath 0 0 moveto 0 260 lineto 300 260 lineto 300 120 lineto stroke
  thin 0 20 260 { /y exch def newpath 0 y moveto 12 y lineto stroke } for
  label setfont 10 270 moveto (DETAIL A  SCALE 2:1) show grestore
  showpage
} for
PS
for doc in text drawing; do
    gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$W/$doc.pdf" "$W/$doc.ps"
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# summary FILE: "pages mean_bytes max_bytes median_ms mean_ms total_ms kinds" of key=value page lines.
summary() {
    local median
    median=$(awk '/^page=/ {for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) print substr($i, 4)}' "$1" |
        sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
    awk -v median="$median" '/^page=/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            n++; b += v["bytes"]; if (v["bytes"] + 0 > mb) mb = v["bytes"] + 0; t += v["ms"]; k[v["kind"]]++
         }
         END {
            kinds = ""; for (x in k) kinds = kinds (kinds == "" ? "" : ", ") k[x] " " x
            printf "%d %.0f %d %.1f %.1f %.0f %s\n", n, b / n, mb, median, t / n, t, kinds
         }' "$1"
}
# reference NAME PDF ARGS...: pdftoppm alone on the whole document, into a directory;
# prints "pages mean_bytes max_bytes - mean_ms total_ms".
reference() {
    local name=$1 pdf=$2
    shift 2
    local dir="$W/ref-$name" best=""
    for _ in $(seq "$RUNS"); do
        rm -rf "$dir" && mkdir -p "$dir"
        local t0 t1
        t0=$(date +%s%N)
        pdftoppm "$@" "$pdf" "$dir/p"
        t1=$(date +%s%N)
        local ms=$(((t1 - t0) / 1000000))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    find "$dir" -type f -printf '%s\n' | awk -v total="$best" '
        {n++; b += $1; if ($1 > mb) mb = $1}
        END {printf "%d %.0f %d - %.1f %.0f\n", n, b / n, mb, total / n, total}'
}
kb() { awk -v b="$1" 'BEGIN {printf "%.0f KB", b / 1000}'; }

declare -A ROW
# merge FILE...: one line per page with the median time over the runs' files.
merge() {
    awk '/^page=/ {
            p = $1; line[p] = $0; n[p]++
            for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) ms[p, n[p]] = substr($i, 4) + 0
            if (!(p in order)) { order[p] = ++pages; name[pages] = p }
         }
         /^traced=/ { traced = $0 }
         END {
            for (k = 1; k <= pages; k++) {
                p = name[k]; c = n[p]
                for (i = 1; i <= c; i++) v[i] = ms[p, i]
                for (i = 2; i <= c; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
                out = line[p]; sub(/ms=[0-9.]+/, sprintf("ms=%.1f", v[int((c + 1) / 2)]), out); print out
            }
            print traced
         }' "$@"
}
for doc in text drawing; do
    mkdir -p "$W/out-before-$doc" "$W/out-after-$doc"
    # Rounds alternate between the two pipelines, so both see the same load.
    for round in $(seq "$RUNS"); do
        log "$doc: round $round of $RUNS, before ($BEFORE_REV) then after"
        "$BEFORE_TARGET/release/examples/viewer_before" "$W/$doc.pdf" 1 "$W/out-before-$doc" >"$W/before-$doc-$round.txt"
        "$EX/viewer_bench" "$W/$doc.pdf" 1 "$W/out-after-$doc" >"$W/after-$doc-$round.txt"
    done
    merge "$W"/before-"$doc"-*.txt >"$W/before-$doc.txt"
    merge "$W"/after-"$doc"-*.txt >"$W/after-$doc.txt"
    ROW[$doc-before]=$(summary "$W/before-$doc.txt")
    ROW[$doc-after]=$(summary "$W/after-$doc.txt")
    ROW[$doc-traced-before]=$(awk -F= '/^traced=/ {print $2}' "$W/before-$doc.txt")
    ROW[$doc-traced-after]=$(awk -F= '/^traced=/ {print $2}' "$W/after-$doc.txt")
    ROW[$doc-size-before]=$(awk '/^page=1 / {sub("size=", "", $3); print $3}' "$W/before-$doc.txt")
    ROW[$doc-size-after]=$(awk '/^page=1 / {sub("size=", "", $3); print $3}' "$W/after-$doc.txt")
    log "$doc: pdftoppm alone"
    ROW[$doc-ref-png]=$(reference "$doc-png" "$W/$doc.pdf" -r 150 -png)
done
ROW[text-ref-jpeg]=$(reference text-jpeg "$W/text.pdf" -r 120 -gray -jpeg -jpegopt quality=60)
ROW[drawing-ref-jpeg]=$(reference drawing-jpeg "$W/drawing.pdf" -r 150 -jpeg -jpegopt quality=75)

# line LABEL SUMMARY NOTE: one table row.
line() {
    local label=$1 note=$3
    read -r pages mean max median avg total kinds <<<"$2"
    local median_cell="$median ms"
    [ "$median" = "-" ] && median_cell="–"
    echo "| $label | $(kb "$mean") | $(kb "$max") | $median_cell | $avg ms | $(awk -v t="$total" 'BEGIN {printf "%.1f s", t / 1000}') | $note |"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f×", a / b}'; }
# speed BEFORE_MS AFTER_MS: "N× faster" or "N× slower".
speed() { awk -v a="$1" -v b="$2" 'BEGIN {if (a >= b) printf "%.1f× faster", a / b; else printf "%.1f× slower", b / a}'; }
mean_of() { cut -d' ' -f2 <<<"$1"; }
avg_of() { cut -d' ' -f5 <<<"$1"; }

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet 2>/dev/null || rev="$rev (with uncommitted changes)"
tmp="$W/section.md"
{
    echo "<!-- viewer:begin -->"
    echo "## Viewer pages, before and after (\`bench/viewer.sh\`)"
    echo
    echo "Written by \`bench/viewer.sh\`; do not edit by hand."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Custody \`$rev\`, before = \`$BEFORE_REV\`"
    echo "- Machine: $(nproc) CPUs, Linux $(uname -r); load average at start $LOAD_START (other work on the machine skews every time)"
    echo "- Tools: $(pdftoppm -v 2>&1 | head -1), Ghostscript $(gs --version); release examples \`viewer_before\` (built from \`$BEFORE_REV\`) and \`viewer_bench\`; each page drawn $RUNS times (before and after in turn, a whole document at a time), its median kept"
    echo
    echo "| document, pipeline | bytes per page (mean) | largest page | time per page (median) | time per page (mean) | whole document | notes |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    for doc in text drawing; do
        if [ "$doc" = text ]; then name="50-page text report, A4"; else name="10-sheet drawing, A3"; fi
        b=${ROW[$doc-before]} a=${ROW[$doc-after]}
        line "$name: before (150 dpi, PNG, per request)" "$b" "${ROW[$doc-size-before]} px; mark traced from page 1: ${ROW[$doc-traced-before]}"
        line "$name: after (per view)" "$a" "${ROW[$doc-size-after]} px; kinds: $(cut -d' ' -f7- <<<"$a"); mark traced from page 1 and from it fitted to 990 px: ${ROW[$doc-traced-after]}; $(ratio "$(mean_of "$b")" "$(mean_of "$a")") smaller, $(speed "$(avg_of "$b")" "$(avg_of "$a")")"
        line "$name: \`pdftoppm -r 150 -png\` alone" "${ROW[$doc-ref-png]}" "reference: unmarked, whole document in one process (fastest of $RUNS)"
        if [ "$doc" = text ]; then
            line "$name: \`pdftoppm -r 120 -gray -jpeg -jpegopt quality=60\` alone" "${ROW[$doc-ref-jpeg]}" "reference: the format and resolution the viewer now sends, unmarked"
        else
            line "$name: \`pdftoppm -r 150 -jpeg -jpegopt quality=75\` alone" "${ROW[$doc-ref-jpeg]}" "reference: the format and resolution the viewer now sends, unmarked"
        fi
    done
    echo
    echo "- Text target: at most 300 KB for a text page at a readable size — after: $(kb "$(cut -d' ' -f3 <<<"${ROW[text-after]}")") for the largest page of the report (A4 at 120 dpi, 992 px wide: the viewer's column in a 1280-px window)."
    echo "- Time per page is the drawing of one page (render, visible stamp, forensic mark, encoding) as the server does it on its pixel thread; before, every request for a page did it again (pages were sent \`no-store\`, so a reload or a second look drew them anew); after, a page is drawn once per view and later requests are answered from the view's cache (\`viewer_cache_mib\`, 256 MiB by default)."
    echo "- Drawings take longer to draw than before: a sheet is encoded as colour JPEG by the \`image\` crate's encoder (some 160 ms for an A3 sheet at 150 dpi, against some 40 ms as PNG, timed apart on this machine) and its pixels are read once more to tell its kind; text pages have fewer pixels at 120 dpi. A SIMD JPEG encoder would take most of that back."
    echo "- The reference runs are single \`pdftoppm\` processes over the whole document reading it from disk; the pipelines run one \`pdftoppm\` per page (twice for a document's page that is not text: first at 120 dpi to see what it is) through a pipe, and mark every page."
    echo "<!-- viewer:end -->"
} >"$tmp"
splice_section viewer "$tmp"
log "wrote docs/BENCHMARKS.md"
cat "$tmp" >&2
