#!/usr/bin/env bash
# Runs every benchmark script under bench/ (each rewrites its own section of
# docs/BENCHMARKS.md); stops at the first that fails.
set -euo pipefail
cd "$(dirname "$0")"
for script in *.sh; do
    [ "$script" = run.sh ] && continue
    echo "bench/run: $script" >&2
    bash "./$script"
done
