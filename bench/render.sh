#!/usr/bin/env bash
# Benchmarks the render crate (view-only viewer pages) and writes the figures
# between the `render` markers of docs/BENCHMARKS.md (other sections are kept):
#   - one page of a typical text PDF (10 A4 pages of text, fonts embedded and
#     streams compressed by Ghostscript) rendered at 150 dpi through Renderer,
#     median of RUNS, target < 100 ms; against `pdftoppm` run directly on the
#     file in the same run (PNG into a file, and PPM to /dev/null as Renderer asks);
#   - the same page rendered, stamped, forensically marked and PNG-encoded;
#   - a page of a 130-line source file, drawn in process.
# Installs poppler-utils and Ghostscript when missing, builds the release example once.
# Environment: BENCH_RUNS (default 20), BENCH_NO_BUILD=1 (reuse target/release as is).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
RUNS=${BENCH_RUNS:-20}
DOC=docs/BENCHMARKS.md
EX=$ROOT/target/release/examples/render_bench

log() { echo "bench/render: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v gs >/dev/null || missing+=(ghostscript)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release example"
    cargo build --release -p render --example render_bench >&2
fi

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
"$EX" gen "$W"
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -dPDFSETTINGS=/prepress -sOutputFile="$W/typical.pdf" "$W/plain.pdf"

# median_ms CMD...: median wall time of RUNS runs of CMD, in ms.
median_ms() {
    local times=()
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        "$@"
        t1=$(date +%s%N)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b-a)/1e6}')")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}'
}
ref_png() { pdftoppm -r 150 -f 1 -l 1 -png "$W/typical.pdf" "$W/ref"; }
ref_ppm() { pdftoppm -r 150 -f 1 -l 1 -cropbox "$W/typical.pdf" >/dev/null; }
log "running pdftoppm directly ($RUNS runs each)"
REF_PNG_MS=$(median_ms ref_png)
REF_PPM_MS=$(median_ms ref_ppm)
log "running render_bench ($RUNS runs each)"
OUT=$("$EX" run "$W/typical.pdf" "$W/notes.rs" "$RUNS" "$W")
get() { awk -F= -v k="$1" '$1==k {print $2}' <<<"$OUT"; }

verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v+0 < t+0) ? "PASS" : "MISS"}'; }
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet 2>/dev/null || rev="$rev (with uncommitted changes)"
tmp="$W/section.md"
{
    echo "<!-- render:begin -->"
    echo "## View-only pages (\`bench/render.sh\`)"
    echo
    echo "Written by \`bench/render.sh\`; do not edit by hand."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Custody \`$rev\`"
    echo "- Machine: $(nproc) CPUs, Linux $(uname -r); load average at start $LOAD_START (other work on the machine skews every figure)"
    echo "- Tools: $(pdftoppm -v 2>&1 | head -1), Ghostscript $(gs --version); \`target/release/examples/render_bench\`, median of $RUNS runs (fastest in brackets)"
    echo
    echo "| measurement | Custody | reference | target | result |"
    echo "|---|---:|---:|---:|---|"
    echo "| render page 1 of a typical text PDF at 150 dpi ($(get pdf_page_size) px) | $(get pdf_render_ms) ms ($(get pdf_render_best_ms)) | $REF_PNG_MS ms \`pdftoppm -png\` into a file; $REF_PPM_MS ms \`pdftoppm\` PPM to /dev/null | < 100 ms | $(verdict "$(get pdf_render_ms)" 100) |"
    echo "| … of which parsing the PDF in process (page count, page box) | $(get pdf_count_ms) ms ($(get pdf_count_best_ms)) | | | |"
    echo "| visible stamp + forensic mark on that page | $(get pdf_mark_ms) ms ($(get pdf_mark_best_ms)) | | | |"
    echo "| PNG encoding of the marked page ($(get pdf_png_bytes) bytes) | $(get pdf_png_ms) ms ($(get pdf_png_best_ms)) | | | |"
    echo "| render + stamp + mark + PNG in a row (traced back from the PNG: $(get pdf_traced)) | $(get pdf_full_ms) ms ($(get pdf_full_best_ms)) | | | |"
    echo "| draw page 1 of a 130-line source file (1240×1754 px) | $(get text_render_ms) ms ($(get text_render_best_ms)) | | | |"
    echo "| … + stamp + forensic mark + PNG encoding | $(get text_full_ms) ms ($(get text_full_best_ms)) | | | |"
    echo
    echo "- The PDF: 10 A4 pages of 50 lines of Helvetica text, rewritten by Ghostscript \`pdfwrite -dPDFSETTINGS=/prepress\` (font subset embedded, streams compressed), $(stat -c %s "$W/typical.pdf") bytes."
    echo "- Custody's render runs \`pdftoppm\` as a subprocess fed through a pipe and reads a PPM back, after parsing the document in process to refuse encrypted files and size the page; the reference runs are whole \`pdftoppm\` processes reading the file from disk."
    echo "<!-- render:end -->"
} >"$tmp"
splice_section render "$tmp"
log "wrote $DOC"
cat "$tmp" >&2
