# Shared by the bench/*.sh scripts (sourced, not run).

# splice_section NAME FILE: puts FILE (which starts with `<!-- NAME:begin -->` and
# ends with `<!-- NAME:end -->`) into docs/BENCHMARKS.md in place of the section
# of that name, or appends it; other sections are kept. Creates the file with its
# heading when missing.
splice_section() {
    local name=$1 section=$2 doc=docs/BENCHMARKS.md
    mkdir -p docs
    if [ ! -f "$doc" ]; then
        printf '# Benchmarks\n\nEach section is written by a script under `bench/` (`bench/run.sh` runs them all).\nRatios compare Custody with a reference tool measured in the same run on the same machine.\n' >"$doc"
    fi
    if grep -q "<!-- $name:begin -->" "$doc"; then
        awk -v f="$section" -v b="<!-- $name:begin -->" -v e="<!-- $name:end -->" '
            index($0, b) {while ((getline l < f) > 0) print l; skip=1; next}
            index($0, e) {skip=0; next}
            !skip {print}' "$doc" >"$doc.tmp"
        mv "$doc.tmp" "$doc"
    else
        { echo; cat "$section"; } >>"$doc"
    fi
}

# as_root CMD…: runs CMD as root (directly, or through sudo).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PKG…: installs Debian packages, quietly.
apt_install() {
    log "installing $*"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# ensure_iwm_venv VENV VERSION: a Python venv with invisible-watermark VERSION
# for its dwtDct method (the reference of bench/mark.sh and bench/robustness.sh).
# The package imports torch at load time for the rivaGan method only, so it is
# installed without dependencies and only what dwtDct uses is added (its callers
# stand in an empty `torch` module).
ensure_iwm_venv() {
    local venv=$1 version=$2
    if "$venv/bin/python" -c 'import sys, types; sys.modules["torch"] = types.ModuleType("torch")
import importlib.metadata as m, cv2, pywt, imwatermark; assert m.version("invisible-watermark") == sys.argv[1]' \
        "$version" 2>/dev/null; then
        return
    fi
    log "creating the venv $venv (invisible-watermark $version, opencv-python-headless)"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        apt_install python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check opencv-python-headless PyWavelets numpy
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "invisible-watermark==$version"
}
