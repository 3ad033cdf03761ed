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
