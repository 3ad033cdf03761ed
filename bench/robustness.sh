#!/usr/bin/env bash
# Measures how well the watermarks survive what happens to leaked copies, and
# writes docs/ROBUSTNESS.md (the whole file):
#   - images: a generated corpus (photos, smooth gradients, drawings, text pages,
#     dark scenes; 640×480 to 1920×1080) marked by Custody (default style:
#     visible stamp + forensic mark) and, for comparison, by the PyPI package
#     `invisible-watermark` (method dwtDct, 64-bit payload); every marked file
#     goes through the same ImageMagick attacks (JPEG q50, 50 % scale, crop,
#     PNG→JPEG, JPEG→PNG, brightness ±10 %, simulated screenshots saved as PNG
#     and as JPEG) and is read back: trace success, bit-error rate, wrong ids;
#   - PDFs: a generated corpus of text documents stamped by Custody, re-saved by
#     qpdf and Ghostscript, and copied as text with pdftotext (poppler);
#   - embed and detect times of both image methods on a 1920×1080 image.
# Installs ImageMagick, qpdf, Ghostscript and poppler-utils from Debian when
# missing, builds the `mark_robust` example in release, and keeps a Python venv
# with invisible-watermark under /var/tmp. Scratch files live in a directory
# under /var/tmp, removed on exit. About 10 minutes on 2 shared cores, after the build.
# Environment: ROBUST_IMAGES (default 50), ROBUST_PDFS (default 20),
# ROBUST_RUNS (timing runs, default 5), ROBUST_JOBS (parallel jobs, default 2),
# ROBUST_VENV (default /var/tmp/custody-robust-venv), BENCH_NO_BUILD=1 (reuse
# target/release as is).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N_IMG=${ROBUST_IMAGES:-50}
N_PDF=${ROBUST_PDFS:-20}
RUNS=${ROBUST_RUNS:-5}
JOBS=${ROBUST_JOBS:-2}
VENV=${ROBUST_VENV:-/var/tmp/custody-robust-venv}
DOC=docs/ROBUSTNESS.md
EX=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/mark_robust
IM=/usr/bin/convert
TARGET=95
IWM_VERSION=0.2.0

log() { echo "bench/robustness: $*" >&2; }
. bench/lib.sh

missing=()
[ -x "$IM" ] || missing+=(imagemagick)
command -v qpdf >/dev/null || missing+=(qpdf)
command -v gs >/dev/null || missing+=(ghostscript)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# The reference: invisible-watermark's dwtDct (bench/lib.sh).
ensure_iwm_venv "$VENV" "$IWM_VERSION"
PY=$VENV/bin/python

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    log "building the release example"
    cargo build --release -p mark --example mark_robust >&2
fi

START=$(date +%s)
W=$(mktemp -d /var/tmp/custody-robust.XXXXXX)
trap 'rm -rf "$W"' EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
KEY=$(printf 'bench/robustness.sh mark key' | sha256sum | cut -c1-64)
# A distinct, random-looking 64-bit id per file: the first 16 hex digits of a hash.
id_of() { printf 'custody robustness %s' "$1" | sha256sum | cut -c1-16; }

cat >"$W/iwm.py" <<'PY'
"""invisible-watermark (dwtDct, 64-bit payload) for bench/robustness.sh.
embed (IN OUT IDHEX)... | detect ATTACK NAME FILE IDHEX (4 words per file)... | time FILE RUNS"""
import sys
import time
import types

# Only the rivaGan method needs torch, but the package imports it on load.
sys.modules.setdefault("torch", types.ModuleType("torch"))
import cv2  # noqa: E402
from imwatermark import WatermarkDecoder, WatermarkEncoder  # noqa: E402


def encoder(idhex):
    enc = WatermarkEncoder()
    enc.set_watermark("bytes", bytes.fromhex(idhex))
    return enc


def embed(args):
    for src, dst, idhex in zip(args[0::3], args[1::3], args[2::3]):
        img = cv2.imread(src, cv2.IMREAD_COLOR)
        if img is None or not cv2.imwrite(dst, encoder(idhex).encode(img, "dwtDct")):
            sys.exit(f"iwm: cannot embed {src}")


def errors(got, idhex):
    return bin(int.from_bytes(got, "big") ^ int(idhex, 16)).count("1")


def detect(args):
    dec = WatermarkDecoder("bytes", 64)
    for attack, name, path, idhex in zip(args[0::4], args[1::4], args[2::4], args[3::4]):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            print(f"{attack} {name} {idhex} error=unreadable")
            continue
        got = dec.decode(img, "dwtDct")
        e = errors(got, idhex)
        print(f"{attack} {name} {idhex} found=1 id={got.hex()} bit_errors={e}", flush=True)


def median_ms(runs, f):
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        f()
        t.append((time.perf_counter() - s) * 1000)
    return sorted(t)[len(t) // 2]


def timing(path, runs):
    idhex = "0123456789abcdef"
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    enc, dec = encoder(idhex), WatermarkDecoder("bytes", 64)
    marked = enc.encode(img, "dwtDct")
    out = path + ".iwm.png"
    print(f"embed_ms={median_ms(runs, lambda: enc.encode(img, 'dwtDct')):.1f}")
    print(f"detect_ms={median_ms(runs, lambda: dec.decode(marked, 'dwtDct')):.1f}")
    print(f"detect_ok={str(dec.decode(marked, 'dwtDct').hex() == idhex).lower()}")
    print(f"file_embed_ms={median_ms(runs, lambda: cv2.imwrite(out, enc.encode(cv2.imread(path), 'dwtDct'))):.1f}")
    print(f"file_detect_ms={median_ms(runs, lambda: dec.decode(cv2.imread(out), 'dwtDct')):.1f}")


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "embed":
        embed(rest)
    elif mode == "detect":
        detect(rest)
    elif mode == "time":
        timing(rest[0], int(rest[1]))
    else:
        sys.exit(__doc__)
PY

# --- corpus -------------------------------------------------------------------
log "generating $N_IMG images and $N_PDF PDFs in $W"
"$EX" gen-images "$W/img" "$N_IMG" >"$W/images.txt"
"$EX" gen-pdfs "$W/pdf" "$N_PDF" >"$W/pdfs.txt"
mkdir -p "$W/marked/custody" "$W/marked/iwm" "$W/marked/pdf" "$W/att" "$W/res"
: >"$W/fail.txt"
# ids.txt: NAME ID KIND W H (images); pdf-ids.txt: NAME ID PAGES (PDFs).
while read -r file kind size; do
    echo "${file%.png} $(id_of "${file%.png}") $kind ${size%x*} ${size#*x}"
done <"$W/images.txt" >"$W/ids.txt"
while read -r file pages _; do
    echo "${file%.pdf} $(id_of "${file%.pdf}") $pages"
done <"$W/pdfs.txt" >"$W/pdf-ids.txt"

log "marking: Custody (images and PDFs) and dwtDct (images)"
awk -v w="$W" -v k="$KEY" '{print w "/img/" $1 ".png", w "/marked/custody/" $1 ".png", $2, k}' "$W/ids.txt" |
    xargs -P "$JOBS" -n 4 "$EX" embed
awk -v w="$W" -v k="$KEY" '{print w "/pdf/" $1 ".pdf", w "/marked/pdf/" $1 ".pdf", $2, k}' "$W/pdf-ids.txt" |
    xargs -P "$JOBS" -n 4 "$EX" embed
awk -v w="$W" '{print w "/img/" $1 ".png", w "/marked/iwm/" $1 ".png", $2}' "$W/ids.txt" |
    xargs -P "$JOBS" -n 48 "$PY" "$W/iwm.py" embed

# --- image attacks --------------------------------------------------------------
IMAGE_ATTACKS=(none jpeg-q50 scale-50 crop-20 png-to-jpeg-q75 jpeg-q85-to-png bright+10 bright-10
    screenshot-step-png screenshot-step-jpeg screenshot-fit-png screenshot-fit-jpeg)
declare -A DESC=(
    [none]="none (the marked file as issued)"
    [jpeg-q50]="JPEG at quality 50"
    [scale-50]="scaled to 50 %"
    [crop-20]="cropped to 80 % of width and height (36 % of the area away, off-centre)"
    [png-to-jpeg-q75]="PNG → JPEG (quality 75)"
    [jpeg-q85-to-png]="PNG → JPEG (quality 85) → PNG"
    [bright+10]="brightness +10 % (× 1.1)"
    [bright-10]="brightness −10 % (× 0.9)"
    [screenshot-step-png]="screenshot at a zoom step, PNG"
    [screenshot-step-jpeg]="screenshot at a zoom step, JPEG q85"
    [screenshot-fit-png]="screenshot fitted to the viewer, PNG"
    [screenshot-fit-jpeg]="screenshot fitted to the viewer, JPEG q85"
    [rot+2]="rotated +2° (\`-distort SRT 2\`, same size)"
    [rot-2]="rotated −2°"
    [rot+5]="rotated +5°"
    [rot-5]="rotated −5°"
    [rot+5-jpeg]="rotated +5°, then JPEG q75"
    [scale-25]="scaled to 25 %"
    [scale-33]="scaled to 33 %"
    [scale-200]="scaled to 200 %"
    [scale-33-jpeg]="scaled to 33 %, then JPEG q75"
    [aspect-x+10]="width × 1.10, height kept (aspect +10 %)"
    [aspect-x-10]="width × 0.90, height kept (aspect −10 %)"
    [aspect-y+10]="height × 1.10, width kept"
    [crop-50]="cropped to 50 % of the area (70.7 % of each side, off-centre)"
    [print-light]="print quality: blur σ 0.7 px, Gaussian noise (attenuate 0.3)"
    [print-heavy]="print quality: blur σ 1.2 px, Gaussian noise (attenuate 0.6), JPEG q85"
    [persp-2]="screen photo: homography moving the corners by up to 2 % of the side (about 2° of tilt), JPEG q85"
    [persp-4]="screen photo: homography moving the corners by up to 4 % of the side (about 4° of tilt), JPEG q85"
)
# The geometric attacks of issue 18 (Custody only: dwtDct has no synchronisation
# and already fails a plain rescale, see below).
GEO_ATTACKS=(rot+2 rot-2 rot+5 rot-5 rot+5-jpeg scale-25 scale-33 scale-200 scale-33-jpeg
    aspect-x+10 aspect-x-10 aspect-y+10 crop-50 print-light print-heavy persp-2 persp-4)
# The scale of a screenshot: a zoom step of a browser or viewer other than 100 %
# (image i gets step i mod 10), or the image fitted to a viewer area (area i mod 7).
awk '
    BEGIN { split("0.5 0.67 0.75 0.8 0.9 1.1 1.25 1.5 1.75 2.0", step, " ");
            split("1180x760 1500x860 1720x980 1000x640 1360x700 1600x1000 900x600", vp, " ") }
    { i = substr($1, 5) + 0; split(vp[i % 7 + 1], v, "x");
      fit = v[1] / $4; if (v[2] / $5 < fit) fit = v[2] / $5;
      printf "%s %s %.4f\n", $1, step[i % 10 + 1], fit }' "$W/ids.txt" >"$W/scales.txt"

# $PNG_OUT holds several options and is split on purpose in the two functions below.
# screenshot IN OUT INDEX SCALE: IN shown at SCALE in an image viewer window
# (title bar, toolbar, file list, status bar, padding) on a desktop with a
# wallpaper, icons and another window; the capture is cropped to the window.
# shellcheck disable=SC2086
screenshot() {
    local in=$1 out=$2 i=$3 s=$4 w h sw sh k
    read -r w h < <(identify -format '%w %h\n' "$in" | head -1)
    sw=$(awk -v a="$w" -v s="$s" 'BEGIN {printf "%d", a * s + 0.5}')
    sh=$(awk -v a="$h" -v s="$s" 'BEGIN {printf "%d", a * s + 0.5}')
    local side=220 title=34 tool=44 status=26 pad=$((16 + i % 4 * 6))
    local ww=$((side + 2 * pad + sw)) wh=$((title + tool + 2 * pad + sh + status))
    local wx=$((110 + i % 5 * 13)) wy=$((50 + i % 3 * 9))
    local dw=$((ww + wx + 260)) dh=$((wh + wy + 140))
    [ "$dw" -ge 1920 ] || dw=1920
    [ "$dh" -ge 1080 ] || dh=1080
    local ix=$((wx + side + pad)) iy=$((wy + title + tool + pad))
    local view='#2d2d30'
    [ $((i % 2)) = 0 ] || view='#e9e9ea'
    local files=()
    for k in 0 1 2 3 4 5 6 7 8 9 10 11; do
        files+=(-annotate "+$((wx + 14))+$((wy + title + tool + 24 + k * 22))" "IMG_$((4100 + i * 13 + k)).png")
    done
    "$IM" -size "${dw}x${dh}" xc:'#2b4c70' \
        -fill '#3d6b94' -draw "rectangle 0,$((dh / 3)) $dw,$((dh * 2 / 3))" \
        -fill '#1c334d' -draw "rectangle 0,$((dh * 2 / 3)) $dw,$dh" \
        -fill '#e8e8e8' -draw "roundrectangle 24,24 72,72 6,6" -draw "roundrectangle 24,110 72,158 6,6" \
        -draw "roundrectangle 24,196 72,244 6,6" -fill white -pointsize 11 \
        -annotate +22+88 'Home' -annotate +22+174 'Projects' -annotate +22+260 'Trash' \
        -fill '#fdfdfd' -draw "rectangle $((dw - 520)),$((dh - 640)) $((dw - 40)),$((dh - 90))" \
        -fill '#444444' -pointsize 13 -annotate "+$((dw - 500))+$((dh - 600))" 'Meeting notes - Tuesday' \
        -annotate "+$((dw - 500))+$((dh - 575))" 'budget review, supplier list, next steps' \
        -fill '#00000040' -draw "rectangle $((wx + 4)),$((wy + 6)) $((wx + ww + 5)),$((wy + wh + 7))" \
        -fill '#f3f3f3' -draw "rectangle $wx,$wy $((wx + ww - 1)),$((wy + wh - 1))" \
        -fill '#303030' -draw "rectangle $wx,$wy $((wx + ww - 1)),$((wy + title - 1))" \
        -fill '#e06c60' -draw "circle $((wx + 18)),$((wy + 17)) $((wx + 24)),$((wy + 17))" \
        -fill white -pointsize 14 -annotate "+$((wx + 60))+$((wy + 22))" "img-$i.png - Image Viewer" \
        -fill '#dcdcdc' -draw "rectangle $wx,$((wy + title)) $((wx + ww - 1)),$((wy + title + tool - 1))" \
        -fill '#b8b8b8' -draw "roundrectangle $((wx + 10)),$((wy + title + 8)) $((wx + 90)),$((wy + title + 36)) 4,4" \
        -draw "roundrectangle $((wx + 100)),$((wy + title + 8)) $((wx + 180)),$((wy + title + 36)) 4,4" \
        -fill '#222222' -pointsize 12 "${files[@]}" \
        -fill "$view" -draw "rectangle $((wx + side)),$((wy + title + tool)) $((wx + ww - 1)),$((wy + wh - status - 1))" \
        -fill '#c8c8c8' -draw "rectangle $wx,$((wy + wh - status)) $((wx + ww - 1)),$((wy + wh - 1))" \
        -fill '#222222' -pointsize 12 -annotate "+$((wx + 10))+$((wy + wh - 8))" \
        "$w x $h   $(awk -v s="$s" 'BEGIN {printf "%d", s * 100 + 0.5}') %" \
        \( "$in" -resize "${sw}x${sh}!" \) -geometry "+$ix+$iy" -composite \
        -crop "${ww}x${wh}+${wx}+${wy}" +repage $PNG_OUT "$out"
}

# attack METHOD NAME ATTACK SCALE: writes $W/att/METHOD/ATTACK/NAME.{png,jpg};
# `screenshot-step` and `screenshot-fit` write the capture as PNG (ATTACK-png) and
# as JPEG (ATTACK-jpeg). SCALE is used by the screenshots only.
# shellcheck disable=SC2086
attack() {
    local m=$1 n=$2 a=$3 s=$4 in="$W/marked/$1/$2.png" d="$W/att/$1/$3" i w h
    i=$((10#${n#img-}))
    mkdir -p "$d"
    case $a in
    none) cp "$in" "$d/$n.png" ;;
    jpeg-q50) "$IM" "$in" -quality 50 "$d/$n.jpg" ;;
    scale-50) "$IM" "$in" -resize 50% $PNG_OUT "$d/$n.png" ;;
    crop-20)
        read -r w h < <(identify -format '%w %h\n' "$in" | head -1)
        "$IM" "$in" -crop "$((w * 8 / 10))x$((h * 8 / 10))+$((w / 20 + 1))+$((h * 3 / 20 + 1))" +repage $PNG_OUT "$d/$n.png"
        ;;
    png-to-jpeg-q75) "$IM" "$in" -quality 75 "$d/$n.jpg" ;;
    jpeg-q85-to-png) "$IM" "$in" -quality 85 jpg:- | "$IM" jpg:- $PNG_OUT "$d/$n.png" ;;
    bright+10) "$IM" "$in" -evaluate multiply 1.1 $PNG_OUT "$d/$n.png" ;;
    bright-10) "$IM" "$in" -evaluate multiply 0.9 $PNG_OUT "$d/$n.png" ;;
    screenshot-step | screenshot-fit)
        mkdir -p "$d-png" "$d-jpeg"
        screenshot "$in" "$d-png/$n.png" "$i" "$s" && "$IM" "$d-png/$n.png" -quality 85 "$d-jpeg/$n.jpg"
        ;;
    rot[+-][25]) "$IM" "$in" -virtual-pixel edge -distort SRT "${a#rot}" $PNG_OUT "$d/$n.png" ;;
    rot+5-jpeg) "$IM" "$in" -virtual-pixel edge -distort SRT 5 -quality 75 "$d/$n.jpg" ;;
    scale-25) "$IM" "$in" -resize 25% $PNG_OUT "$d/$n.png" ;;
    scale-33) "$IM" "$in" -resize 33.333% $PNG_OUT "$d/$n.png" ;;
    scale-200) "$IM" "$in" -resize 200% $PNG_OUT "$d/$n.png" ;;
    scale-33-jpeg) "$IM" "$in" -resize 33.333% -quality 75 "$d/$n.jpg" ;;
    aspect-x+10) "$IM" "$in" -resize '110%x100%!' $PNG_OUT "$d/$n.png" ;;
    aspect-x-10) "$IM" "$in" -resize '90%x100%!' $PNG_OUT "$d/$n.png" ;;
    aspect-y+10) "$IM" "$in" -resize '100%x110%!' $PNG_OUT "$d/$n.png" ;;
    crop-50)
        read -r w h < <(identify -format '%w %h\n' "$in" | head -1)
        "$IM" "$in" -crop "$((w * 707 / 1000))x$((h * 707 / 1000))+$((w / 10 + 3))+$((h * 2 / 10 + 1))" +repage $PNG_OUT "$d/$n.png"
        ;;
    print-light) "$IM" "$in" -blur 0x0.7 -seed "$i" -attenuate 0.3 +noise Gaussian $PNG_OUT "$d/$n.png" ;;
    print-heavy) "$IM" "$in" -blur 0x1.2 -seed "$i" -attenuate 0.6 +noise Gaussian -quality 85 "$d/$n.jpg" ;;
    persp-2 | persp-4)
        # A keystone (the right edge shorter), a slight turn and a shift: the
        # view of a screen photographed a few degrees off its axis.
        read -r w h < <(identify -format '%w %h\n' "$in" | head -1)
        local k=${a#persp-}
        local c
        c=$(awk -v w="$w" -v h="$h" -v k="$k" 'BEGIN {
            f = k / 100; W = w - 1; H = h - 1
            printf "0,0 %.1f,%.1f  %d,0 %.1f,%.1f  %d,%d %.1f,%.1f  0,%d %.1f,%.1f",
                0.3 * f * w, 0.2 * f * h,  W, W - 0.5 * f * w, f * h,
                W, H, W - 0.6 * f * w, H - f * h,  H, 0.2 * f * w, H - 0.3 * f * h }')
        "$IM" "$in" -virtual-pixel edge -distort Perspective "$c" -quality 85 "$d/$n.jpg"
        ;;
    *) echo "unknown attack $a" >&2 && return 1 ;;
    esac
}
attack_or_log() { attack "$@" || echo "$*" >>"$W/fail.txt"; }
detect_custody() { # ATTACK NAME FILE ID
    local out
    out=$("$EX" detect "$3" "$KEY" "$4" 2>&1) || out="error=$(echo "$out" | tr -s ' \n' '__')"
    echo "$1 $2 $4 $out"
}
# One thread per ImageMagick run (the jobs run in parallel instead); fast PNG
# compression (the pixels are the same).
export MAGICK_THREAD_LIMIT=1 PNG_OUT="-depth 8 -define png:compression-level=1"
export W IM EX KEY
export -f attack attack_or_log screenshot detect_custody

log "attacking $((2 * N_IMG)) marked images, ${#IMAGE_ATTACKS[@]} attacks each"
for m in custody iwm; do
    for a in "${IMAGE_ATTACKS[@]}"; do
        case $a in
        screenshot-step-png) awk -v m="$m" '{print m, $1, "screenshot-step", $2}' "$W/scales.txt" ;;
        screenshot-fit-png) awk -v m="$m" '{print m, $1, "screenshot-fit", $3}' "$W/scales.txt" ;;
        screenshot-*) ;;
        *) awk -v m="$m" -v a="$a" '{print m, $1, a, 1}' "$W/scales.txt" ;;
        esac
    done
done | xargs -P "$JOBS" -L 1 bash -c 'attack_or_log "$@"' _
log "geometric attacks: $N_IMG marked images, ${#GEO_ATTACKS[@]} attacks each, and the unmarked originals turned by 5°"
mkdir -p "$W/marked/plain"
for f in "$W"/img/*.png; do ln -s "$f" "$W/marked/plain/$(basename "$f")"; done
for a in "${GEO_ATTACKS[@]}"; do
    awk -v a="$a" '{print "custody", $1, a, 1}' "$W/scales.txt"
done | cat - <(awk '{print "plain", $1, "rot+5", 1}' "$W/scales.txt") |
    xargs -P "$JOBS" -L 1 bash -c 'attack_or_log "$@"' _

# ATTACK NAME FILE ID for every attacked file of METHOD, and for the unmarked originals.
att_files() {
    local a f n
    for a in "${IMAGE_ATTACKS[@]}" ${2:+"${GEO_ATTACKS[@]}"}; do
        for f in "$W/att/$1/$a"/*; do
            [ -e "$f" ] || continue
            n=$(basename "${f%.*}")
            echo "$a $n $f $(awk -v n="$n" '$1 == n {print $2}' "$W/ids.txt")"
        done
    done
    awk -v w="$W" '{print "unmarked", $1, w "/img/" $1 ".png", $2}' "$W/ids.txt"
}
log "detecting: Custody"
att_files custody geo | xargs -P "$JOBS" -L 1 bash -c 'detect_custody "$@"' _ >"$W/res/custody.txt"
# The null distribution beyond the unmarked originals: the originals turned by
# 5° (the lattice stage runs in full on them), and the marked copies as issued
# and turned by 5° read with a fresh key.
log "detecting: null trials (unmarked turned, fresh key)"
KEY2=$(printf 'bench/robustness.sh fresh key' | sha256sum | cut -c1-64)
awk -v w="$W" '{print "null-unmarked-rot+5", $1, w "/att/plain/rot+5/" $1 ".png", $2}' "$W/ids.txt" |
    xargs -P "$JOBS" -L 1 bash -c 'detect_custody "$@"' _ >"$W/res/null.txt"
{
    awk -v w="$W" '{print "null-key-none", $1, w "/att/custody/none/" $1 ".png", $2}' "$W/ids.txt"
    awk -v w="$W" '{print "null-key-rot+5", $1, w "/att/custody/rot+5/" $1 ".png", $2}' "$W/ids.txt"
} | KEY=$KEY2 xargs -P "$JOBS" -L 1 bash -c 'detect_custody "$@"' _ >>"$W/res/null.txt"
log "detecting: dwtDct"
att_files iwm | xargs -P "$JOBS" -n 192 "$PY" "$W/iwm.py" detect >"$W/res/iwm.txt"

# --- PDF attacks ------------------------------------------------------------------
PDF_ATTACKS=(none qpdf-objstreams qpdf-qdf gs-pdfwrite text-copy text-copy-raw gs-text-copy-raw)
declare -A PDF_DESC=(
    [none]="none (the stamped file as issued)"
    [qpdf-objstreams]="\`qpdf --object-streams=generate\`"
    [qpdf-qdf]="\`qpdf --qdf --object-streams=disable\`"
    [gs-pdfwrite]="Ghostscript \`pdfwrite\`"
    [text-copy]="copy of the text: \`pdftotext\` (reading order, as poppler-based viewers copy a selection)"
    [text-copy-raw]="copy of the text: \`pdftotext -raw\` (content-stream order)"
    [gs-text-copy-raw]="Ghostscript \`pdfwrite\`, then \`pdftotext -raw\`"
)
pdf_attack() { # NAME ATTACK
    local in="$W/marked/pdf/$1.pdf" d="$W/att/pdf/$2"
    mkdir -p "$d"
    case $2 in
    none) cp "$in" "$d/$1.pdf" ;;
    qpdf-objstreams) qpdf --object-streams=generate "$in" "$d/$1.pdf" ;;
    qpdf-qdf) qpdf --qdf --object-streams=disable "$in" "$d/$1.pdf" ;;
    gs-pdfwrite) gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$d/$1.pdf" "$in" ;;
    text-copy) pdftotext "$in" "$d/$1.txt" ;;
    text-copy-raw) pdftotext -raw "$in" "$d/$1.txt" ;;
    gs-text-copy-raw)
        gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$d/$1.tmp.pdf" "$in" &&
            pdftotext -raw "$d/$1.tmp.pdf" "$d/$1.txt" && rm "$d/$1.tmp.pdf"
        ;;
    esac
}
pdf_attack_or_log() { pdf_attack "$@" || echo "pdf $*" >>"$W/fail.txt"; }
export -f pdf_attack pdf_attack_or_log
log "attacking $N_PDF stamped PDFs, ${#PDF_ATTACKS[@]} attacks each"
for a in "${PDF_ATTACKS[@]}"; do
    awk -v a="$a" '{print $1, a}' "$W/pdf-ids.txt"
done | xargs -P "$JOBS" -L 1 bash -c 'pdf_attack_or_log "$@"' _
for a in "${PDF_ATTACKS[@]}"; do
    for f in "$W/att/pdf/$a"/*; do
        [ -e "$f" ] || continue
        n=$(basename "${f%.*}")
        echo "$a $n $f $(awk -v n="$n" '$1 == n {print $2}' "$W/pdf-ids.txt")"
    done
done | xargs -P "$JOBS" -L 1 bash -c 'detect_custody "$@"' _ >"$W/res/pdf.txt"

# --- timing ---------------------------------------------------------------------
T_IMG=$(awk '$3 == "photo" && $4 == 1920 && $5 == 1080 {print $1; exit}' "$W/ids.txt")
[ -n "$T_IMG" ] || T_IMG=$(sort -k4,4nr -k5,5nr "$W/ids.txt" | awk '{print $1; exit}')
log "timing embed and detect on $T_IMG ($RUNS runs each)"
T_CUSTODY=$("$EX" time "$W/img/$T_IMG.png" "$KEY" "$RUNS")
T_IWM=$("$PY" "$W/iwm.py" time "$W/img/$T_IMG.png" "$RUNS")
tget() { awk -F= -v k="$2" '$1 == k {print $2}' <<<"$1"; }

# --- report -----------------------------------------------------------------------
# table FILE ATTACK...: one markdown row per attack from detection lines
# "ATTACK NAME EXPECTED key=value…" (images: BER over the 64 id bits read).
describe() { if [ "${PDF_TABLE:-0}" = 1 ]; then echo "${PDF_DESC[$1]:-$1}"; else echo "${DESC[$1]:-$1}"; fi; }
table() {
    local file=$1
    shift
    local a
    for a in "$@"; do
        awk -v a="$a" -v desc="$(describe "$a")" -v target="$TARGET" -v pdf="${PDF_TABLE:-0}" '
            $1 != a {next}
            {
                delete kv
                for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
                n++
                if ("error" in kv) { errs++; next }
                if (kv["found"] == 1 && kv["id"] == $3) ok++
                else if (kv["found"] == 1) wrong++
                if (kv["bit_errors"] != "na") { ber += kv["bit_errors"] / 64; bn++ }
                if (kv["found"] == 1) from[kv["kind"]]++
            }
            END {
                pct = n ? 100 * ok / n : 0
                res = (pct >= target) ? "PASS" : "MISS"
                if (pdf) {
                    src = ""
                    for (k in from) src = src (src == "" ? "" : ", ") k " " from[k]
                    if (src == "") src = "–"
                    printf "| %s | %d | %d | %.1f %% | %d | %s | ≥ %d %% | %s |\n", desc, n, ok, pct, wrong + 0, src, target, res
                } else {
                    printf "| %s | %d | %d | %.1f %% | %s | %d | ≥ %d %% | %s |\n", desc, n, ok, pct,
                        bn ? sprintf("%.3f", ber / bn) : "–", wrong + 0, target, res
                }
                if (errs) printf "| (%s: %d files could not be read) | | | | | | | |\n", desc, errs
            }' "$file"
    done
}

# by_kind FILE: traced/attacked per attack (rows) and kind of image (columns).
by_kind() {
    awk -v order="${ORDER:-${IMAGE_ATTACKS[*]}}" '
        NR == FNR {kind[$1] = $3; next}
        {
            delete kv
            for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            k = kind[$2]; n[$1, k]++
            if (kv["found"] == 1 && kv["id"] == $3) ok[$1, k]++
        }
        END {
            split("photo smooth drawing text dark", ks, " ")
            na = split(order, as, " ")
            print "| attack | photo | smooth | drawing | text | dark |"
            print "|---|---:|---:|---:|---:|---:|"
            for (j = 1; j <= na; j++) {
                line = "| " as[j]
                for (q = 1; q <= 5; q++) line = line " | " ok[as[j], ks[q]] + 0 "/" n[as[j], ks[q]] + 0
                print line " |"
            }
        }' "$W/ids.txt" "$1"
}

# Screenshots: traced at scales within 1 % of the detector's fixed candidates, and
# elsewhere (where only its scale estimation can find them).
screenshot_scales() {
    awk '
        NR == FNR {step[$1] = $2; fit[$1] = $3; next}
        $1 ~ /^screenshot-/ {
            delete kv
            for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            s = ($1 ~ /step/) ? step[$2] : fit[$2]
            on = 0
            n_s = split("1.0 0.5 0.75 0.6667 0.6 0.4", sc, " ")
            for (j = 1; j <= n_s; j++) if (s / sc[j] > 0.99 && s / sc[j] < 1.01) on = 1
            g = on ? "on" : "off"
            n[g]++
            if (kv["found"] == 1 && kv["id"] == $3) ok[g]++
        }
        END {
            printf "%d/%d traced at a scale within 1 %% of a fixed candidate of the detector (1, 0.5, 0.75, 2/3, 0.6, 0.4); %d/%d at other scales (read at an estimated scale)",
                ok["on"] + 0, n["on"] + 0, ok["off"] + 0, n["off"] + 0
        }' "$W/scales.txt" "$1"
}

unmarked_line() { # FILE: what each method reads on the unmarked originals
    awk '$1 == "unmarked" {
            delete kv
            for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            n++; if (kv["found"] == 1) found++; if (kv["id"] == $3) same++
            if (kv["score"] != "" && (max == "" || kv["score"] + 0 > max)) max = kv["score"] + 0
            ber += kv["bit_errors"] / 64
        }
        END { printf "%d images: %d ids read, %d equal to the id the image would carry, mean BER %.3f", n, found, same, ber / n
              if (max != "") printf ", highest sync score %.2f (threshold 7.0)", max }' "$1"
}

null_line() { # FILE: the null trials, by kind of trial
    awk '
        {
            delete kv
            for (i = 4; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            n[$1]++; if (kv["found"] == 1) found[$1]++
            if (kv["score"] != "" && (!($1 in max) || kv["score"] + 0 > max[$1])) max[$1] = kv["score"] + 0
            if (kv["score"] != "" && (all == "" || kv["score"] + 0 > all)) all = kv["score"] + 0
        }
        END {
            split("null-unmarked-rot+5 null-key-none null-key-rot+5", ks, " ")
            split("unmarked originals turned by 5° read with the key|marked copies as issued read with a fresh key|marked copies turned by 5° read with a fresh key", ds, "|")
            for (j = 1; j <= 3; j++) {
                k = ks[j]
                printf "%s%s: %d images, %d ids read, highest sync score %.2f", (j > 1 ? "; " : ""), ds[j], n[k], found[k] + 0, max[k]
            }
            printf " (threshold 7.0; highest of all %.2f)", all
        }' "$1"
}

IMAGE_HEAD='| attack | images attacked | traced | trace success | mean BER | false id reads | target | result |
|---|---:|---:|---:|---:|---:|---:|---|'
PDF_HEAD='| attack | PDFs attacked | traced | trace success | false id reads | read from | target | result |
|---|---:|---:|---:|---:|---|---:|---|'
ELAPSED=$(($(date +%s) - START))
REV=$(git describe --always --dirty 2>/dev/null || echo unknown)
pyver() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo '?'; }
FAILS=$(wc -l <"$W/fail.txt")

table "$W/res/custody.txt" "${IMAGE_ATTACKS[@]}" >"$W/t-custody.md"
table "$W/res/custody.txt" "${GEO_ATTACKS[@]}" >"$W/t-geo.md"
table "$W/res/iwm.txt" "${IMAGE_ATTACKS[@]}" >"$W/t-iwm.md"
PDF_TABLE=1 table "$W/res/pdf.txt" "${PDF_ATTACKS[@]}" >"$W/t-pdf.md"
passes() { grep -v '^| none' "$1" | grep -c '| PASS |' || true; }
N_ATT=$((${#IMAGE_ATTACKS[@]} - 1))

log "writing $DOC"
{
    echo "# Watermark robustness"
    echo
    echo "Written by \`bench/robustness.sh\`; do not edit by hand. Run \`bench/robustness.sh\` to measure again"
    echo "(it installs ImageMagick, qpdf, Ghostscript and poppler-utils from Debian when missing, keeps a Python venv"
    echo "with \`invisible-watermark\` under /var/tmp, and takes about 10 minutes on 2 shared cores after the build)."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Custody \`$REV\`; run ${ELAPSED} s after the build"
    echo "- Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), Linux $(uname -r);" \
        "load average at start $LOAD_START (other work on the machine skews the times)"
    echo "- Tools: $("$IM" -version | awk 'NR == 1 {print $2, $3}'), $(qpdf --version | head -1)," \
        "Ghostscript $(gs --version), pdftotext $(pdftotext -v 2>&1 | awk 'NR == 1 {print $3}');" \
        "Python $("$PY" -c 'import platform; print(platform.python_version())'), invisible-watermark $(pyver invisible-watermark)," \
        "opencv-python-headless $(pyver opencv-python-headless), PyWavelets $(pyver PyWavelets), numpy $(pyver numpy)"
    echo "- Corpus (generated, deterministic: \`mark_robust gen-images\` / \`gen-pdfs\`): $N_IMG PNG images in five kinds" \
        "(photo-like, smooth gradients, line drawings on white, text pages, dark scenes), 640×480 to 1920×1080;" \
        "$N_PDF PDFs of text (1–12 pages; Letter, A4, A3 landscape, A5, 16:9; Helvetica, Times, Courier; crop boxes," \
        "rotated pages, figures). Each file carries its own random-looking 64-bit id; one key for the run."
    echo "- Custody marks as it issues copies: the default style (tiled visible stamp at 25 % opacity, forensic strength 3)," \
        "PNG out. dwtDct: \`WatermarkEncoder().set_watermark('bytes', <8 bytes>)\`, \`encode(img, 'dwtDct')\`, PNG out;" \
        "read with \`WatermarkDecoder('bytes', 64).decode(img, 'dwtDct')\`."
    [ "$FAILS" = 0 ] || echo "- $FAILS attack runs failed (ImageMagick, qpdf or Ghostscript errors); those files are not counted."
    echo
    echo "- Result: Custody reaches the $TARGET % target on $(passes "$W/t-custody.md") of the $N_ATT image attacks" \
        "and on $(passes "$W/t-geo.md") of the ${#GEO_ATTACKS[@]} geometric ones (issue 18)," \
        "dwtDct on $(passes "$W/t-iwm.md"); Custody's PDF token survives $(passes "$W/t-pdf.md") of the $((${#PDF_ATTACKS[@]} - 1))" \
        "PDF attacks. Details and causes below."
    echo
    echo "Traced: the id read is the file's own. Custody's image detector reports an id only when the sync score reaches 7.0"
    echo "and the CRC-16 checks; a read naming another id is counted as a false id read (worse than a miss). The bit-error"
    echo "rate (BER) is over the 64 id bits the detector decoded at its best sync offset, whether or not it reported an id;"
    echo "0.5 is chance. dwtDct has no detection decision or check: it always returns 64 bits, so every decode that is not"
    echo "the file's id names a wrong one and counts as a false id read."
    echo
    echo "## Images: Custody (forensic mark, \`mark::trace\`)"
    echo
    echo "$IMAGE_HEAD"
    cat "$W/t-custody.md"
    echo
    echo "- Unmarked originals read with the key: $(unmarked_line "$W/res/custody.txt")."
    echo "- Screenshots: $(screenshot_scales "$W/res/custody.txt")."
    echo
    by_kind "$W/res/custody.txt"
    echo
    echo "## Images: Custody after geometric attacks (issue 18)"
    echo
    echo "The same marked files; ImageMagick attacks as described under Attacks below. The detector estimates the"
    echo "lattice of the mark's tiles (rotation, scale, aspect, shear) from the copy itself when its scale candidates"
    echo "do not read (crates/mark/src/image/forensic/lattice.rs)."
    echo
    echo "$IMAGE_HEAD"
    cat "$W/t-geo.md"
    echo
    echo "- Null trials (no id may be read): $(null_line "$W/res/null.txt")."
    echo
    ORDER="${GEO_ATTACKS[*]}" by_kind "$W/res/custody.txt"
    echo
    echo "## Images: invisible-watermark dwtDct (same images, same attacks, same run)"
    echo
    echo "$IMAGE_HEAD"
    cat "$W/t-iwm.md"
    echo
    echo "- Unmarked originals: $(unmarked_line "$W/res/iwm.txt")."
    echo "- Screenshots: $(screenshot_scales "$W/res/iwm.txt")."
    echo
    by_kind "$W/res/iwm.txt"
    echo
    echo "## PDFs: Custody (stamp text and document information)"
    echo
    echo "A PDF's token (\`mark <id>-<crc16>\`) is read whole or not at all, so there is no bit-error rate;"
    echo "\"read from\" counts where it was found (document information, stamp text in a content stream, or the copied text)."
    echo
    echo "$PDF_HEAD"
    cat "$W/t-pdf.md"
    echo
    echo "## Why the misses"
    echo
    echo "- Custody, screenshots: the detector folds the suspect modulo the 256-pixel tile at a candidate scale; a scale" \
        "more than about 0.5–1 % off drifts the fold by more than a cell across the image and the sync peak is lost. Besides" \
        "its fixed candidates (1, 0.5, 0.75, 2/3, 0.6, 0.4; \`SCALES\` in crates/mark/src/image/forensic.rs) it estimates the" \
        "scale from the copy itself (crates/mark/src/image/forensic/scale.rs): the tile repeats every 256·s pixels, so the" \
        "autocorrelation of the clipped residual's band sums peaks at that period and its multiples in both directions; the" \
        "best four periods are tried (and ±0.2 % about one whose sync is found but whose payload does not check). Where it" \
        "still misses, the mark's period did not rank among the best four (the host has a strong period of its own near" \
        "the mark's, such as the ruled grid of a line drawing whose comb hides or shifts the mark's peak, or other" \
        "structure of the capture outranks it), or the payload does not check at a found sync."
    echo "- Custody, geometric attacks: after the scale candidates, the detector estimates the lattice of the mark's tiles" \
        "in the copy (crates/mark/src/image/forensic/lattice.rs): the 2-D autocorrelation of the clipped residual of the" \
        "central 640×640 pixels (and of the central 1280×1280 averaged 2×2) peaks at the two vectors along which the" \
        "256-pixel tile repeats, which give rotation, scale, aspect and shear at once; the copy is resampled on that" \
        "lattice's cells and folded as at a scale. Where it misses, it is one of three things. The mark is too weak for" \
        "the pixels left: a text page (mostly white paper, where the mark is halved by clipping at 255) shrunk to a third" \
        "or a quarter (a 640×480 page becomes 213×160 pixels, under one tile), or blurred with noise added, finds the" \
        "sync at best near the threshold and its payload does not check. The lattice is outranked: the host's own" \
        "periodic structure (text lines, a table's rules, a drawing's grid) gives autocorrelation peaks stronger than the" \
        "mark's, so the right lattice is not among the four tried. Or the copy is not affine: a perspective's scale" \
        "changes across the image, so one affine map (estimated at the centre) holds over the central square only, which" \
        "on a text page holds too little of the mark; a full homography (a lattice estimated in each quadrant) is not" \
        "done yet."
    echo "- Custody, brightness +10 %: × 1.1 sends every value from 232 up to 255, which erases the mark on white and" \
        "near-white paper; no invisible mark on paper survives that. The detector therefore also reads a page whose" \
        "background is saturated (30 % of its pixels or more at 255) from its ink alone: ink has one level on such a page," \
        "so the ink pixels' offsets from it are the mark without the strokes' edges (which drown it in the ordinary residual)."
    echo "- dwtDct: with its default scales (0, 36, 36) it embeds in the U chroma plane only, by quantising the largest" \
        "coefficient of 4×4 blocks of the Haar DWT's approximation band (the DCT its name promises is not applied:" \
        "upstream issue #39); it has no synchronisation, so any change of size, crop or resampling loses every bit, and" \
        "JPEG's chroma quantisation does the same. It fails already unattacked on images with flat or saturated colour" \
        "(white pages and drawings, smooth gradients), as its PyPI page's known defects and upstream issue #2 say."
    echo "- PDFs, copying the text: the stamp's token is real Helvetica text, but drawn at 30°; poppler's reading-order" \
        "extraction (what poppler-based viewers copy) breaks diagonal text into fragments, so the token does not" \
        "come out whole. In content-stream order (\`pdftotext -raw\`) it does, also after Ghostscript."
    echo
    echo "## Attacks"
    echo
    echo "All image attacks are ImageMagick \`convert\` runs on the marked PNG. Screenshots: the marked image is resized" \
        "(ImageMagick's default filter) into the viewing area of an image-viewer window (title bar, toolbar, a file list" \
        "beside the image, status bar, padding) on a desktop canvas of at least 1920×1080 (banded wallpaper, icons," \
        "another window); the capture is cropped to the whole window (so it also holds the window's own content) and" \
        "saved as PNG, or as JPEG at quality 85. Zoom steps: image i is shown at" \
        "50, 67, 75, 80, 90, 110, 125, 150, 175 or 200 % (i mod 10). Fitted: the image is scaled to fit one of seven" \
        "viewing areas (900×600 to 1720×980), up or down, which gives arbitrary scales ($(awk '{print $3}' "$W/scales.txt" |
            sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f to %.2f", lo, hi}') here)."
    echo
    echo "Geometric attacks (issue 18): rotation \`-virtual-pixel edge -distort SRT ±2|±5\` (same size, corners filled" \
        "with the edge's pixels); scale \`-resize 25%|33.333%|200%\`; aspect \`-resize 110%x100%!\` (and 90 % wide," \
        "110 % high); crop to 70.7 % of each side at (10 %, 20 %) of the image; print \`-blur 0xσ -attenuate a" \
        "+noise Gaussian\` (ImageMagick's Gaussian noise, whose spread grows with the attenuation); screen photo" \
        "\`-distort Perspective\` moving the four corners by up to 2 % or 4 % of the side (a keystone with the right edge" \
        "4 % or 8 % shorter than the left, plus a slight turn and shift: a camera a few degrees off the screen's axis)," \
        "saved as JPEG q85. Null trials: the unmarked originals turned by 5° and read with the run's key (the lattice" \
        "stage runs in full on them), and the marked copies as issued and turned by 5° read with a fresh key."
    echo
    echo "## Embed and detect time, 1920×1080 (\`$T_IMG\`, median of $RUNS runs)"
    echo
    echo "| step | Custody | dwtDct |"
    echo "|---|---:|---:|"
    echo "| embed, pixels in memory | $(tget "$T_CUSTODY" embed_ms) ms | $(tget "$T_IWM" embed_ms) ms |"
    echo "| detect, pixels in memory (read back: $(tget "$T_CUSTODY" detect_ok) / $(tget "$T_IWM" detect_ok)) | $(tget "$T_CUSTODY" detect_ms) ms | $(tget "$T_IWM" detect_ms) ms |"
    echo "| detect, marked pixels turned by 3° and scaled by 0.9 (read back: $(tget "$T_CUSTODY" detect_geo_ok)) | $(tget "$T_CUSTODY" detect_geo_ms) ms | – |"
    echo "| detect, unmarked pixels (the whole search, lattice stage included) | $(tget "$T_CUSTODY" detect_unmarked_ms) ms | – |"
    echo "| embed, PNG file to PNG file | $(tget "$T_CUSTODY" file_embed_ms) ms | $(tget "$T_IWM" file_embed_ms) ms |"
    echo "| detect, PNG file | $(tget "$T_CUSTODY" file_detect_ms) ms | $(tget "$T_IWM" file_detect_ms) ms |"
    echo
    echo "Custody's figures are Rust in process (\`mark_robust time\`: the forensic embed alone, then" \
        "\`mark::mark\` with the visible stamp and PNG encoding); dwtDct's are Python with OpenCV and PyWavelets" \
        "(\`encode\`/\`decode\`, then with \`cv2.imread\`/\`cv2.imwrite\`). A marked image's detect stops at the first" \
        "grid that reads; an unmarked one goes through the whole search, the scale estimation included (see docs/BENCHMARKS.md)." \
        "A turned or stretched copy goes through the scale search first, then the lattice stage until a lattice reads:" \
        "the third row; the fourth is the worst case, every grid of both. The detector's false-positive bound counts" \
        "$(tget "$T_CUSTODY" offsets) offsets (352 grids of 128×128): 2.3e-10 per image (sync threshold 7.0 and CRC-16, checked on its own bits and on the pool of the grids whose sync was found)."

} >"$W/doc.md"
mkdir -p docs
mv "$W/doc.md" "$DOC"
log "wrote $DOC in ${ELAPSED} s"
