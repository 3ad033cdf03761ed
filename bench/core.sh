#!/usr/bin/env bash
# Benchmarks Custody's core against reference tools in the same run and writes the
# ratios between the `core` markers of docs/BENCHMARKS.md (other sections are kept):
#   (a) chunk AEAD, one thread: vault seal/open vs `openssl speed -evp aes-256-gcm`;
#   (b) HTTPS download of a large file: `custody serve` vs nginx (TLS 1.3, sendfile);
#   (c) durable upload: `curl -T` to the API (fsync before 201) vs `dd conv=fdatasync`.
# Installs what it needs (nginx, perf when available), builds the release binaries
# once, uses only 127.0.0.1 and a scratch directory, stops everything it started,
# and aborts itself after BENCH_TIMEOUT seconds (default 570).
#
# Environment: BENCH_MIB (file size, default 1024), BENCH_RUNS (default 3),
# BENCH_DIR (parent of the scratch directory, default /var/tmp — a real disk, not a
# tmpfs), BENCH_PROFILE=1 (profile even when every target is met),
# BENCH_NO_BUILD=1 (reuse target/release as is).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD

MIB=${BENCH_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
SIZE=$((MIB * 1024 * 1024))
TIMEOUT=${BENCH_TIMEOUT:-570}
DOC=docs/BENCHMARKS.md
BIN=$ROOT/target/release/custody
EX=$ROOT/target/release/examples

log() { echo "bench/core: $*" >&2; }
die() { log "error: $*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- set-up

ensure_packages() {
    local missing=()
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    command -v curl >/dev/null || missing+=(curl)
    command -v openssl >/dev/null || missing+=(openssl)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_perf() {
    command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1 && return 0
    log "installing linux-perf (profiling)"
    as_root apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq linux-perf >/dev/null 2>&1 || true
    command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1
}

build() {
    if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then return; fi
    log "building release binaries (a no-op when up to date)"
    cargo build --release -q -p custody
    cargo build --release -q -p vault --examples
}

W=
CUSTODY_PID=
NGINX_CONF=
WATCHDOG=
PERF_PID=

cleanup() {
    set +e
    [ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
    if [ -n "$CUSTODY_PID" ]; then
        kill -TERM "$CUSTODY_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$CUSTODY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CUSTODY_PID" 2>/dev/null
    fi
    if [ -n "$NGINX_CONF" ] && [ -s "$W/nginx/nginx.pid" ]; then
        kill -QUIT "$(cat "$W/nginx/nginx.pid")" 2>/dev/null
        for _ in $(seq 1 50); do [ -e "$W/nginx/nginx.pid" ] || break; sleep 0.1; done
    fi
    if [ -n "$WATCHDOG" ]; then pkill -P "$WATCHDOG" 2>/dev/null; kill "$WATCHDOG" 2>/dev/null; fi
    [ -n "$W" ] && rm -rf "$W"
}

# A free TCP port on 127.0.0.1 (nothing answers on it).
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    die "no free port"
}

best() { sort -g | tail -1; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r+0 >= t+0) ? "PASS" : "MISS"}'; }
runs_mbs() { printf '%s\n' "$@" | awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1/1e6} END {print " MB/s"}'; }
mbs() { awk -v v="$1" 'BEGIN {printf "%.0f MB/s", v/1e6}'; }
# CPU seconds (user + system, all threads) a process has used so far.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }

# ---------------------------------------------------------------- (a) chunk AEAD

openssl_speed() {
    openssl speed -evp aes-256-gcm -bytes 1048576 -seconds 3 "$@" 2>/dev/null |
        awk '/^(AES-256-GCM|aes-256-gcm)/ {v=$2; sub(/k$/, "", v); print v*1000}'
}

bench_aead() {
    log "(a) chunk AEAD: openssl speed vs vault aead_speed, best of $RUNS runs each, interleaved"
    local o=() s=() p=() r=() i out
    for i in $(seq 1 "$RUNS"); do
        o+=("$(openssl_speed)")
        out=$(timeout 60 "$EX/aead_speed" 3)
        s+=("$(awk '$1=="vault_seal_bytes_per_sec" {print $2}' <<<"$out")")
        p+=("$(awk '$1=="vault_open_bytes_per_sec" {print $2}' <<<"$out")")
        r+=("$(awk '$1=="aws_lc_seal_bytes_per_sec" {print $2}' <<<"$out")")
    done
    OSSL=$(printf '%s\n' "${o[@]}" | best)
    SEAL=$(printf '%s\n' "${s[@]}" | best)
    OPEN=$(printf '%s\n' "${p[@]}" | best)
    RAW=$(printf '%s\n' "${r[@]}" | best)
    OSSL_AEAD=$(openssl_speed -aead)
    log "openssl ${o[*]} | seal ${s[*]} | open ${p[*]} | openssl -aead $OSSL_AEAD"
}

# ---------------------------------------------------------------- servers

start_custody() {
    local port out
    port=$(free_port)
    ADMIN_PW=$(openssl rand -hex 16)
    CUSTODY_DATA_DIR="$W/data" CUSTODY_LISTEN="127.0.0.1:$port" CUSTODY_LOG=warn \
        CUSTODY_ADMIN_EMAIL=bench@custody.local CUSTODY_ADMIN_PASSWORD="$ADMIN_PW" \
        "$BIN" serve >"$W/custody.out" 2>"$W/custody.err" &
    CUSTODY_PID=$!
    for _ in $(seq 1 300); do
        out=$(grep -o 'listening on https://[0-9.:]*' "$W/custody.out" 2>/dev/null || true)
        [ -n "$out" ] && break
        kill -0 "$CUSTODY_PID" 2>/dev/null || { cat "$W/custody.err" >&2; die "custody serve exited"; }
        sleep 0.1
    done
    [ -n "$out" ] || die "custody serve did not start"
    CUSTODY_URL=${out#listening on }
    log "custody serve at $CUSTODY_URL (pid $CUSTODY_PID)"
}

api() { # METHOD PATH [JSON] — prints the response body; fails on HTTP >= 400
    local auth=()
    [ -n "${TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TOKEN")
    curl -sS -k --fail-with-body --max-time 30 -X "$1" "${auth[@]}" \
        -H 'Content-Type: application/json' ${3:+--data "$3"} "$CUSTODY_URL/api/v1$2"
}
json_field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }

prepare_custody() {
    TOKEN=
    TOKEN=$(api POST /auth/login "{\"email\":\"bench@custody.local\",\"password\":\"$ADMIN_PW\"}" | json_field token)
    [ -n "$TOKEN" ] || die "login failed"
    # Owner admins must use a second factor: enrol TOTP (RFC 6238, computed here).
    local secret code
    secret=$(api POST /auth/totp | json_field secret)
    [ -n "$secret" ] || die "TOTP enrolment failed"
    code=$(python3 -c 'import base64,hmac,hashlib,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8))
h=hmac.new(k,struct.pack(">Q",int(time.time())//30),hashlib.sha1).digest()
o=h[-1]&15
print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$secret")
    TOKEN=$(api POST /auth/totp/confirm "{\"code\":\"$code\"}" | json_field token)
    [ -n "$TOKEN" ] || die "TOTP confirmation failed"
    ROOM=$(api POST /rooms '{"name":"bench","classification":"internal"}' | json_field id)
    [ -n "$ROOM" ] || die "room creation failed"
    log "uploading the ${MIB} MiB file for the download test"
    local body
    body=$(curl -sS -k --fail-with-body --max-time 300 -H 'Expect:' -H "Authorization: Bearer $TOKEN" \
        -T "$W/plain.bin" "$CUSTODY_URL/api/v1/rooms/$ROOM/files/bench/download.bin")
    FILE_ID=$(json_field id <<<"$body")
    [ -n "$FILE_ID" ] || die "upload failed: $body"
}

start_nginx() {
    local port
    port=$(free_port)
    mkdir -p "$W/nginx/tmp" "$W/www"
    ln "$W/plain.bin" "$W/www/plain.bin"
    chmod 755 "$W" "$W/www"
    chmod 644 "$W/plain.bin"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$W/nginx/key.pem" -out "$W/nginx/cert.pem" 2>/dev/null
    NGINX_CONF=$W/nginx/nginx.conf
    cat >"$NGINX_CONF" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon on;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $W/nginx/tmp/body;
    proxy_temp_path $W/nginx/tmp/proxy;
    fastcgi_temp_path $W/nginx/tmp/fastcgi;
    uwsgi_temp_path $W/nginx/tmp/uwsgi;
    scgi_temp_path $W/nginx/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $W/nginx/cert.pem;
        ssl_certificate_key $W/nginx/key.pem;
        ssl_protocols TLSv1.3;
        root $W/www;
    }
}
EOF
    local nginx_bin
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    "$nginx_bin" -p "$W/nginx" -e "$W/nginx/error.log" -c "$NGINX_CONF"
    for _ in $(seq 1 50); do [ -s "$W/nginx/nginx.pid" ] && break; sleep 0.1; done
    [ -s "$W/nginx/nginx.pid" ] || die "nginx did not start: $(cat "$W/nginx/error.log")"
    NGINX_URL=https://127.0.0.1:$port
    NGINX_WORKER=$(pgrep -P "$(cat "$W/nginx/nginx.pid")" | head -1)
    log "nginx at $NGINX_URL (master $(cat "$W/nginx/nginx.pid"), worker $NGINX_WORKER)"
}

# ---------------------------------------------------------------- (b) download

CURL_TLS=(-sS -k --http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384)

# URL PID [AUTH...] — prints "bytes_per_sec server_cpu_seconds"
download() {
    local url=$1 pid=$2 before r
    shift 2
    before=$(cpu_secs "$pid")
    r=$(curl "${CURL_TLS[@]}" --max-time 120 "$@" -o /dev/null \
        -w '%{speed_download} %{size_download} %{http_code}' "$url")
    read -r speed size code <<<"$r"
    [ "$code" = 200 ] && [ "$size" = "$SIZE" ] || die "download of $url: HTTP $code, $size bytes"
    echo "$speed $(awk -v a="$before" -v b="$(cpu_secs "$pid")" 'BEGIN {print b-a}')"
}

bench_download() {
    log "(b) HTTPS download of ${MIB} MiB: custody vs nginx, $RUNS runs each, interleaved"
    local c=() n=() cc=() nc=() i r
    local curl_cipher
    curl_cipher=$(curl "${CURL_TLS[@]}" -v -o /dev/null -r 0-0 -H "Authorization: Bearer $TOKEN" \
        "$CUSTODY_URL/api/v1/files/$FILE_ID/content" 2>&1 | grep -o 'SSL connection using .*' | head -1)
    local nginx_cipher
    nginx_cipher=$(curl "${CURL_TLS[@]}" -v -o /dev/null -r 0-0 "$NGINX_URL/plain.bin" 2>&1 |
        grep -o 'SSL connection using .*' | head -1)
    TLS_NOTE="custody: ${curl_cipher#SSL connection using }; nginx: ${nginx_cipher#SSL connection using }"
    for i in $(seq 1 "$RUNS"); do
        for who in $( ((i % 2)) && echo "custody nginx" || echo "nginx custody"); do
            if [ "$who" = custody ]; then
                r=$(download "$CUSTODY_URL/api/v1/files/$FILE_ID/content" "$CUSTODY_PID" -H "Authorization: Bearer $TOKEN")
                c+=("${r% *}"); cc+=("${r#* }")
            else
                r=$(download "$NGINX_URL/plain.bin" "$NGINX_WORKER")
                n+=("${r% *}"); nc+=("${r#* }")
            fi
        done
    done
    DL_C=$(printf '%s\n' "${c[@]}" | median)
    DL_N=$(printf '%s\n' "${n[@]}" | median)
    DL_C_CPU=$(printf '%s\n' "${cc[@]}" | median)
    DL_N_CPU=$(printf '%s\n' "${nc[@]}" | median)
    log "custody ${c[*]} (cpu s ${cc[*]}) | nginx ${n[*]} (cpu s ${nc[*]})"
    DL_RUNS="Custody $(runs_mbs "${c[@]}"); nginx $(runs_mbs "${n[@]}")"
}

# ---------------------------------------------------------------- (c) upload

# NAME — prints "bytes_per_sec server_cpu_seconds"
upload() {
    local before r
    before=$(cpu_secs "$CUSTODY_PID")
    r=$(curl -sS -k --http1.1 --max-time 300 -H 'Expect:' -H "Authorization: Bearer $TOKEN" \
        -T "$W/plain.bin" -o "$W/upload.json" -w '%{size_upload} %{time_total} %{http_code}' \
        "$CUSTODY_URL/api/v1/rooms/$ROOM/files/bench/$1")
    read -r size secs code <<<"$r"
    [ "$code" = 201 ] && [ "$size" = "$SIZE" ] || die "upload: HTTP $code, $size bytes: $(cat "$W/upload.json")"
    echo "$(awk -v s="$size" -v t="$secs" 'BEGIN {print s/t}') $(awk -v a="$before" -v b="$(cpu_secs "$CUSTODY_PID")" 'BEGIN {print b-a}')"
}

# N — each run writes a new file, kept until the end, as Custody keeps its blobs.
dd_write() {
    local out secs
    out=$(LC_ALL=C dd if="$W/plain.bin" of="$W/dd-$1.bin" bs=1M conv=fdatasync 2>&1)
    secs=$(grep -o 'copied, [0-9.e+-]* s' <<<"$out" | awk '{print $2}')
    awk -v s="$SIZE" -v t="$secs" 'BEGIN {print s/t}'
}

bench_upload() {
    log "(c) durable upload of ${MIB} MiB: curl -T to custody vs dd conv=fdatasync, $RUNS runs each"
    local c=() cc=() d=() i r
    for i in $(seq 1 "$RUNS"); do
        for who in $( ((i % 2)) && echo "custody dd" || echo "dd custody"); do
            sync
            if [ "$who" = custody ]; then
                r=$(upload "upload-$i.bin")
                c+=("${r% *}"); cc+=("${r#* }")
            else
                d+=("$(dd_write "$i")")
            fi
        done
    done
    UP_C=$(printf '%s\n' "${c[@]}" | median)
    UP_C_CPU=$(printf '%s\n' "${cc[@]}" | median)
    UP_D=$(printf '%s\n' "${d[@]}" | median)
    log "custody ${c[*]} (cpu s ${cc[*]}) | dd ${d[*]}"
    UP_RUNS="Custody $(runs_mbs "${c[@]}"); dd $(runs_mbs "${d[@]}")"
}

# ---------------------------------------------------------------- profile

PROFILE_MD=

phases() {
    log "phases: vault pipeline on one thread, no network"
    PHASES=$(timeout 120 "$EX/pipeline_speed" "$W/phases" "$MIB")
    TLS_ONLY=$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 2 2>/dev/null |
        awk '/^(AES-256-GCM|aes-256-gcm)/ {v=$2; sub(/k$/, "", v); print v*1000}')
}

# WHAT — runs WHAT (a shell function) under perf attached to custody; prints a table
perf_custody() {
    local data=$W/perf-$1.data
    perf record -q -F 499 -g -p "$CUSTODY_PID" -o "$data" >/dev/null 2>&1 &
    PERF_PID=$!
    sleep 0.5
    "$2" >/dev/null
    kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=
    perf report -i "$data" --no-children -g none --sort symbol --stdio --percent-limit 1.5 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -15 |
        awk '{p=$1; $1=""; sub(/^ +\[[.k]\] /, ""); sub(/[ -]+$/, ""); printf "| %s | `%s` |\n", p, $0}'
}

# DATA — self time grouped by what the code is doing, as markdown table rows
perf_groups() {
    perf report -i "$1" --no-children -g none --sort symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | awk '
        { p=$1; sub(/%/, "", p); s=$0
          g = (s ~ /sha256/) ? "SHA-256 of the plaintext (`Repr-Digest` check / record)" :
              (s ~ /gcm.*decrypt|decrypt.*gcm/) ? "AES-GCM decrypt (vault chunks on download, TLS records on upload)" :
              (s ~ /gcm|ghash|ctr32|aes/) ? "AES-GCM encrypt (TLS records on download, vault chunks on upload)" :
              (s ~ /memmove|memcpy|memset/) ? "user-space memcpy / memset (buffer copies, zeroed allocations)" :
              (s ~ /malloc|_int_free|calloc|cfree|free_perturb|mmap|munmap|brk/) ? "allocator" :
              (s ~ /\[k\].*(clear_page|page_fault|do_anonymous|handle_mm|folio_alloc|alloc_pages|zap_|lru|__mod_)/) ? "kernel: page faults and page allocation" :
              (s ~ /\[k\].*(copy_|csum_)/) ? "kernel: copies to/from sockets and page cache" :
              (s ~ /\[k\]/) ? "kernel: other (TCP, scheduling, file system, fsync)" : "other user space (tokio, hyper, rustls, sqlite…)"
          t[g] += p }
        END { for (g in t) printf "%.1f|%s\n", t[g], g }' | sort -t'|' -k1,1 -gr |
        awk -F'|' '{printf "| %s %% | %s |\n", $1, $2}'
}

one_download() { download "$CUSTODY_URL/api/v1/files/$FILE_ID/content" "$CUSTODY_PID" -H "Authorization: Bearer $TOKEN"; }
one_upload() { upload profile.bin; }

profile() {
    phases
    if ensure_perf; then
        log "perf: one download and one upload"
        PERF_DL=$(perf_custody dl one_download)
        PERF_DL_GROUPS=$(perf_groups "$W/perf-dl.data")
        PERF_UP=$(perf_custody up one_upload)
        PERF_UP_GROUPS=$(perf_groups "$W/perf-up.data")
    else
        PERF_DL="(perf unavailable)"
        PERF_UP="(perf unavailable)"
    fi
}

# ---------------------------------------------------------------- report

phase() { awk -v n="$1" '$1==n {printf "%.0f", $2/1e6}' <<<"$PHASES"; }
share() { grep -F "$2" <<<"$1" | awk -F'|' '{gsub(/[ %]/, "", $2); s+=$2} END {printf "%.0f", s}'; }

# How to read the figures: code facts, with this run's numbers.
analysis() {
    local gib_s
    gib_s=$(awk -v m="$(phase sha256)" 'BEGIN {printf "%.2f", 1073.741824/m}')
    echo "Reading the figures:"
    echo
    echo "- **SHA-256 is the most expensive step per byte** ($(phase sha256) MB/s on one core, ${gib_s} s of CPU per GiB;" \
        "$(share "${PERF_DL_GROUPS:-}" SHA-256) % of the server's CPU during the download, $(share "${PERF_UP_GROUPS:-}" SHA-256) % during the upload)." \
        "Both directions hash the whole plaintext (\`StreamSealer\` on upload; \`Reader::next_piece\` checks the" \
        "recorded digest on a full download) although every chunk is already authenticated by GCM."
    echo "- **Two zeroed 1 MiB allocations per chunk on download** (\`read_chunk\` for the ciphertext," \
        "\`open_chunk\` for the plaintext): in the server they cost the memset and allocator shares above" \
        "($(share "${PERF_DL_GROUPS:-}" memcpy) % + $(share "${PERF_DL_GROUPS:-}" allocator) %, page faults $(share "${PERF_DL_GROUPS:-}" 'page faults') %);" \
        "in the one-thread example glibc hands the pages back to the kernel between chunks, which is why" \
        "\`read_open\` ($(phase read_open) MB/s) is far below \`read_only\` ($(phase read_only) MB/s) and \`open_chunk\`" \
        "alone ($(mbs "$OPEN"))."
    local busy verdict_dl
    busy=$(awk -v c="$DL_C_CPU" -v s="$SIZE" -v r="$DL_C" 'BEGIN {printf "%.0f", 100*c/(s/r)}')
    if [ "$busy" -ge 80 ]; then
        verdict_dl="so one download is CPU-bound on about one core, and the ratio to nginx is a ratio of CPU per byte"
    else
        verdict_dl="so the server also waits (for the client, the socket or the next chunk), not only computes"
    fi
    echo "- **Download: serial work per connection.** The body stream (\`stream::unfold\`, no read-ahead) reads" \
        "and decrypts chunk n+1 on a blocking thread only when hyper polls the body for more, then hashes it on" \
        "the runtime thread, so reading, decrypting, hashing and TLS writing do not overlap. The server was busy $(printf '%.2f' "$DL_C_CPU") s of a" \
        "$(awk -v s="$SIZE" -v r="$DL_C" 'BEGIN {printf "%.2f", s/r}') s transfer (${busy} %), $verdict_dl:" \
        "Custody $(printf '%.2f' "$DL_C_CPU") s per ${MIB} MiB, of which SHA-256 about" \
        "$(awk -v c="$DL_C_CPU" -v p="$(share "${PERF_DL_GROUPS:-}" SHA-256)" 'BEGIN {printf "%.2f", c*p/100}') s, against" \
        "nginx's $(printf '%.2f' "$DL_N_CPU") s (page-cache read + TLS encryption)."
    echo "- **Uploads: the kernel's copy into the page cache dominates** ($(share "${PERF_UP_GROUPS:-}" 'kernel: copies') % of the" \
        "server's CPU; \`dd\` pays the same copy) and the disk is slow and erratic here (\`dd conv=fdatasync\`" \
        "$(mbs "$UP_D") median). What Custody adds: TLS decryption, SHA-256, sealing (\`seal_stream\`" \
        "$(phase seal_stream) MB/s: copy + seal + hash, on the tokio worker thread inside \`StreamSealer::push\`)," \
        "and no overlap between receiving and writing: \`write_blob\` awaits each 4 MiB \`write_batch\` before it" \
        "reads more of the body, then fsyncs the blob, its directory and the SQLite commit before answering."
    echo "- **(a)**: aws-lc seals with its VAES/AVX-512 code on this CPU (\`aes_gcm_encrypt_avx512\`) at about" \
        "$(ratio "$RAW" "$OSSL") times Debian's OpenSSL figure (OpenSSL's code path on this CPU is not" \
        "identified: its library is stripped), so the ratio to OpenSSL says little about vault;" \
        "vault's own overhead is the copy of the plaintext into the output buffer in \`seal_chunk\`" \
        "(vault seal / aws-lc in place = $(ratio "$SEAL" "$RAW")×)."
}

write_doc() {
    local tmp=$W/section.md rev cpu
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev (with uncommitted changes)"; fi
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    local ra_s ra_o rb rc
    ra_s=$(ratio "$SEAL" "$OSSL"); ra_o=$(ratio "$OPEN" "$OSSL")
    rb=$(ratio "$DL_C" "$DL_N"); rc=$(ratio "$UP_C" "$UP_D")
    {
        echo "<!-- core:begin -->"
        echo "## Core (\`bench/core.sh\`)"
        echo
        echo "Written by \`bench/core.sh\`; do not edit by hand."
        echo
        echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Custody \`$rev\`"
        echo "- Machine: $(nproc) CPUs, $cpu, Linux $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;" \
            "load average at start $LOAD_START (other work on the machine skews every figure)"
        echo "- Tools: $(openssl version | cut -d' ' -f1-2), $(nginx -v 2>&1 | cut -d' ' -f3), curl $(curl --version | awk 'NR==1 {print $2}')," \
            "file ${MIB} MiB of random bytes; (a) best of $RUNS runs, (b) and (c) median of $RUNS runs," \
            "interleaved in ABBA order"
        echo
        echo "| measurement | Custody | reference | ratio | target | result |"
        echo "|---|---:|---:|---:|---:|---|"
        echo "| (a) chunk AEAD seal, 1 MiB chunks, 1 thread | $(mbs "$SEAL") | $(mbs "$OSSL") \`openssl speed\` | ${ra_s}× | ≥ 0.9× | $(verdict "$ra_s" 0.9) |"
        echo "| (a) chunk AEAD open, 1 MiB chunks, 1 thread | $(mbs "$OPEN") | $(mbs "$OSSL") \`openssl speed\` | ${ra_o}× | ≥ 0.9× | $(verdict "$ra_o" 0.9) |"
        echo "| (b) HTTPS download, curl | $(mbs "$DL_C") | $(mbs "$DL_N") nginx | ${rb}× | ≥ 0.6× | $(verdict "$rb" 0.6) |"
        echo "| (c) durable upload, \`curl -T\` | $(mbs "$UP_C") | $(mbs "$UP_D") \`dd conv=fdatasync\` | ${rc}× | ≥ 0.7× | $(verdict "$rc" 0.7) |"
        echo
        echo "How each figure is taken:"
        echo
        echo "- (a) \`target/release/examples/aead_speed 3\` (\`ChunkCipher::seal_chunk\` / \`open_chunk\` on 1 MiB" \
            "chunks for 3 s each after a warm-up) against \`openssl speed -evp aes-256-gcm -bytes 1048576 -seconds 3\`," \
            "which times bare \`EVP_EncryptUpdate\` on one buffer in place. With \`-aead\` (a fresh IV, tag and" \
            "final per message, like a chunk) OpenSSL gives $(mbs "$OSSL_AEAD"). aws-lc itself, sealing one" \
            "buffer in place without vault's copy, gives $(mbs "$RAW") (vault/aws-lc $(ratio "$SEAL" "$RAW")×)."
        echo "- (b) \`curl -k --http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 -o /dev/null -w '%{speed_download}'\`" \
            "of \`GET /api/v1/files/{id}/content\` (bearer token) from \`custody serve\` (release, data dir on the" \
            "scratch disk), and of the same plaintext file from nginx (one worker, \`sendfile on\`, TLS 1.3 only," \
            "self-signed P-256 certificate; without kernel TLS nginx encrypts in user space too). Negotiated: $TLS_NOTE." \
            "Server CPU per download (user + system, all threads): Custody $(printf '%.2f' "$DL_C_CPU") s," \
            "nginx worker $(printf '%.2f' "$DL_N_CPU") s. Runs in order: $DL_RUNS."
        echo "- (c) \`curl -T file -H 'Expect:'\` to \`PUT /api/v1/rooms/{id}/files/{path}\`, speed = size / total time" \
            "up to the 201 (the server fsyncs the blob and commits the version first), against" \
            "\`dd if=file of=new-file bs=1M conv=fdatasync\` on the same file system (a new file each run, none" \
            "deleted, as Custody keeps its blobs), \`sync\` before each run." \
            "Server CPU per upload: $(printf '%.2f' "$UP_C_CPU") s. Runs in order: $UP_RUNS (this virtual disk's" \
            "write speed swings several-fold between identical \`dd\` runs, so (c) carries that noise)."
        if [ -n "${PHASES:-}" ]; then
            echo
            echo "### Where the time goes"
            echo
            echo "Written when a target is missed or with \`BENCH_PROFILE=1\`."
            echo
            echo "Phases on one thread without network (\`target/release/examples/pipeline_speed\`, ${MIB} MiB," \
                "blob on the scratch disk), and OpenSSL's AES-256-GCM on 16 KiB records (the TLS record size):"
            echo
            echo "| phase | throughput |"
            echo "|---|---:|"
            awk '{printf "| `%s` | %.0f MB/s |\n", $1, $2/1e6}' <<<"$PHASES"
            echo "| TLS record encryption alone (\`openssl speed\`, 16 KiB) | $(mbs "$TLS_ONLY") |"
            echo
            echo "Server CPU per ${MIB} MiB: download Custody $(printf '%.2f' "$DL_C_CPU") s in a" \
                "$(awk -v s="$SIZE" -v r="$DL_C" 'BEGIN {printf "%.2f", s/r}') s transfer, nginx $(printf '%.2f' "$DL_N_CPU") s in" \
                "$(awk -v s="$SIZE" -v r="$DL_N" 'BEGIN {printf "%.2f", s/r}') s; upload Custody $(printf '%.2f' "$UP_C_CPU") s in" \
                "$(awk -v s="$SIZE" -v r="$UP_C" 'BEGIN {printf "%.2f", s/r}') s (dd: $(awk -v s="$SIZE" -v r="$UP_D" 'BEGIN {printf "%.2f", s/r}') s)."
            echo
            echo "Custody server under \`perf record\` (all threads, self time) during one download:"
            echo
            echo "| share | what |"
            echo "|---:|---|"
            echo "${PERF_DL_GROUPS:-}"
            echo
            echo "| share | top symbols (≥ 1.5 %) |"
            echo "|---:|---|"
            echo "$PERF_DL"
            echo
            echo "During one upload:"
            echo
            echo "| share | what |"
            echo "|---:|---|"
            echo "${PERF_UP_GROUPS:-}"
            echo
            echo "| share | top symbols (≥ 1.5 %) |"
            echo "|---:|---|"
            echo "$PERF_UP"
            echo
            analysis
        fi
        echo "<!-- core:end -->"
    } >"$tmp"
    splice_section core "$tmp"
    log "wrote $DOC"
    cat "$tmp" >&2
}

# ---------------------------------------------------------------- main

main() {
    ensure_packages
    build
    [ -x "$BIN" ] && [ -x "$EX/aead_speed" ] && [ -x "$EX/pipeline_speed" ] || die "release binaries missing"
    W=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" custody-bench.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    exec 3>&2
    ( sleep "$TIMEOUT" && { log "timed out after $TIMEOUT s" 2>&3; kill -TERM $$; } ) 2>/dev/null &
    WATCHDOG=$!
    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    log "scratch directory $W; load average $LOAD_START"

    bench_aead
    log "writing ${MIB} MiB of random bytes"
    dd if=/dev/urandom of="$W/plain.bin" bs=1M count="$MIB" status=none
    start_custody
    prepare_custody
    start_nginx
    bench_download
    bench_upload

    local missed
    missed=$(awk -v a="$(ratio "$SEAL" "$OSSL")" -v o="$(ratio "$OPEN" "$OSSL")" -v b="$(ratio "$DL_C" "$DL_N")" \
        -v c="$(ratio "$UP_C" "$UP_D")" 'BEGIN {print (a<0.9 || o<0.9 || b<0.6 || c<0.7) ? 1 : 0}')
    if [ "$missed" = 1 ] || [ "${BENCH_PROFILE:-0}" = 1 ]; then
        profile
    fi
    write_doc
}

main "$@"
