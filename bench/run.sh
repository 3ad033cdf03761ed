#!/usr/bin/env bash
# Runs every benchmark script under bench/ (each rewrites its own section of
# docs/BENCHMARKS.md); stops at the first that fails.
set -euo pipefail
cd "$(dirname "$0")"
for script in *.sh; do
    case "$script" in run.sh | lib.sh) continue ;; esac
    echo "bench/run: $script" >&2
    bash "./$script"
done
