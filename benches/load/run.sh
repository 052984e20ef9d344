#!/usr/bin/env bash
# Load benchmark: Gatehouse (release) pinned to CPU 0, wrk pinned to CPU 1, on the embedded
# default and on PostgreSQL + Redis. Prints a table and writes a CSV. Bounded in time and
# cleans up after itself. Usage: benches/load/run.sh
# (DURATION=8 WARMUP=2 BACKENDS="embedded postgres" BIN=other/gatehouse to tune)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
DURATION="${DURATION:-8}"
WARMUP="${WARMUP:-2}"
CONNS="${CONNS:-16}"
REPS="${REPS:-3}"
SLICE="${SLICE:-4}"
PORT="${PORT:-18080}"
PG_ADMIN="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
work=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
results="$root/benches/load/results"
mkdir -p "$results"
csv="$results/latest.csv"
server_pid=""

# PostgreSQL and Redis would run on other hosts in production; here they share CPU 1 with
# the load generator, so CPU 0 is Gatehouse's alone. Their affinity is restored on exit.
pinned=()
pin_backing_services() {
  local pid mask
  for pid in $(pgrep -x postgres) $(pgrep -x redis-server); do
    mask=$(taskset -p "$pid" 2>/dev/null | awk '{print $NF}') || continue
    taskset -p -c 1 "$pid" >/dev/null 2>&1 && pinned+=("$pid:$mask")
  done
}
unpin_backing_services() {
  local entry
  for entry in "${pinned[@]}"; do taskset -p "${entry#*:}" "${entry%%:*}" >/dev/null 2>&1 || true; done
  pinned=()
}

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  unpin_backing_services
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }

echo "building release binaries…" >&2
cargo build --release -q --bin gatehouse --example bench_prep
# BIN=path runs another server build (an A/B comparison) with this checkout's tooling.
bin="${BIN:-$CARGO_TARGET_DIR/release/gatehouse}"
prep="$CARGO_TARGET_DIR/release/examples/bench_prep"

# Cryptographic bounds on this machine, on the server's core. A shared VM's speed drifts by
# ±10% from one second to the next, so a token scenario runs REPS slices of SLICE seconds,
# each bracketed by bound measurements (the server idle meanwhile); a slice's ratio is its
# rate over the mean of its two brackets, and the scenario reports its median slice.
sign_speed() { taskset -c 0 openssl speed -seconds 1 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}'; }
es256_speed() { taskset -c 0 openssl speed -seconds 1 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ {print $7}'; }
ed25519_speed() { taskset -c 0 openssl speed -seconds 1 ed25519 2>/dev/null | awk '/EdDSA \(Ed25519\)/ {print $7}'; }
argon_speed() { taskset -c 0 "$prep" argon2 2; }
speed_of() { # sign | half_sign | es256 | ed25519 | argon2 → operations per second
  case "$1" in
    sign) sign_speed ;;
    es256) es256_speed ;;
    ed25519) ed25519_speed ;;
    half_sign) awk -v s="$(sign_speed)" 'BEGIN {print s / 2}' ;;
    argon2) argon_speed ;;
  esac
}

base="http://127.0.0.1:$PORT"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

starts=0
start_server() { # env for the backend is already exported
  local t0 log
  # Each start logs to a new file: truncating the last run's log (hundreds of MB, still being
  # written back) inside the timed window took up to ~100 ms before the exec.
  starts=$((starts + 1))
  log="$work/server-$starts.log"
  t0=$(date +%s%N)
  (cd "$work" && exec taskset -c 0 "$bin" >"$log" 2>&1) &
  server_pid=$!
  # Exec to the first /readyz 200, polled every millisecond from CPU 1.
  startup_ms=$(taskset -c 1 "$prep" wait-ready "$base/readyz" "$t0")
  # The server's own count, from main() to listening (no shell or curl in it).
  server_ms=$(grep -o 'startup_ms=[0-9]*' "$log" | head -1 | cut -d= -f2)
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# run_wrk NAME CONNS SECONDS [wrk args…] → sets rps p50 p99 non2xx cpu
run_wrk() {
  local name=$1 conns=$2 secs=$3; shift 3
  local out="$work/$name.wrk" c0 c1 total
  c0=$(cpu_ticks)
  taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" >"$out" 2>&1 || true
  c1=$(cpu_ticks)
  total=$(awk '/requests in/ {print $1}' "$out")
  requests_sent=$((requests_sent + ${total:-0}))
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$out"); non2xx=${non2xx:-0}
  rps=$(awk -v t="${total:-0}" -v n="$non2xx" -v s="$secs" 'BEGIN {printf "%.0f", (t - n) / s}')
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  cpu=$(awk -v d="$((c1 - c0))" -v s="$secs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", 100 * d / hz / s}')
}

probe_p99() { # SECONDS → p99 in ms of client_credentials grants sent 50 per second over one
  # kept-alive connection (as an RP's pool would), from CPU 1
  taskset -c 1 "$prep" probe "$base/token" "$1" 50
}

ms() { # wrk latency (e.g. 1.23ms, 850.00us, 1.02s) → milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "?" }'
}

# Backend operations per request, for the sizing guide (docs/sizing.md): Redis commands from
# `INFO commandstats`; PostgreSQL statements from pg_stat_statements when it is loaded
# (shared_preload_libraries), else transactions from pg_stat_database. Counted over a whole
# scenario (warm-up and slices) on the PostgreSQL + Redis backend only.
redis_calls() { redis-cli -u "$REDIS_URL" info commandstats | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {n += $3} END {print n + 0}'; }
pg_calls() {
  if [ "$pg_statements" = 1 ]; then
    psql -tAq "$PG_ADMIN" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'"
  else
    psql -tAq "$PG_ADMIN" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'"
  fi
}
ops_begin() { requests_sent=0; [ "$counting" = 1 ] && { r0=$(redis_calls); p0=$(pg_calls); } || true; }
ops_end() { # name → a row of ops.csv: scenario, requests, Redis commands and PostgreSQL calls per request
  [ "$counting" = 1 ] || return 0
  local r1 p1; sleep 0.3; r1=$(redis_calls); p1=$(pg_calls)
  awk -v n="$1" -v q="$requests_sent" -v r="$((r1 - r0))" -v p="$((p1 - p0))" \
    'BEGIN {printf "%s,%d,%.2f,%.2f\n", n, q, r / (q ? q : 1), p / (q ? q : 1)}' >>"$work/ops.csv"
}
counting=0
pg_statements=0
requests_sent=0

record() { # backend scenario [bound kind: sign | half_sign | argon2, and its rate] — printed at the end
  printf "%-10s %-34s %8s req/s%s\n" "$1" "$2" "$rps" "${4:+  (bound $4/s)}" >&2
  echo "$1,$2,$rps,$(ms "$p50"),$(ms "$p99"),$non2xx,$cpu,$(( $(hwm_kb) / 1024 )),${3:-},${4:-}" >>"$work/rows.csv"
}

report() { # the table and CSV, with each token endpoint's rate as a ratio of its bound
  echo "backend,scenario,rps,p50_ms,p99_ms,non2xx,server_cpu_pct,peak_rss_mb,ratio,bound,bound_per_s" >"$csv"
  printf "%-10s %-34s %8s %9s %9s %7s %6s %8s  %s\n" backend scenario "req/s" "p50 ms" "p99 ms" non2xx cpu peak ratio
  local backend name rps p50 p99 non2xx cpu peak kind rate label ratio
  while IFS=, read -r backend name rps p50 p99 non2xx cpu peak kind rate; do
    case "$kind" in
      sign) label="RSA-2048 signing rate" ;;
      es256) label="ECDSA P-256 signing rate" ;;
      ed25519) label="Ed25519 signing rate" ;;
      half_sign) label="half the signing rate" ;;
      argon2) label="Argon2id rate" ;;
      *) label="" ;;
    esac
    ratio="-"
    [ -n "$rate" ] && ratio=$(awk -v r="$rps" -v b="$rate" 'BEGIN {printf "%.0f%%", 100 * r / b}')
    printf "%-10s %-34s %8s %9s %9s %7s %6s %8s  %s\n" "$backend" "$name" "$rps" "$p50" "$p99" "$non2xx" "$cpu%" \
      "${peak}MB" "$ratio${label:+ of $label ($rate/s)}"
    echo "$backend,$name,$rps,$p50,$p99,$non2xx,$cpu,$peak,$ratio,$label,$rate" >>"$csv"
  done <"$work/rows.csv"
  cat "$work/notes.txt"
  cp "$work/notes.txt" "$results/latest-notes.txt"
}

scenario() { # backend name conns -- wrk args
  local backend=$1 name=$2 conns=$3; shift 3
  ops_begin
  run_wrk "$name-warm" "$conns" "$WARMUP" "$@"
  run_wrk "$name" "$conns" "$DURATION" "$@"
  ops_end "$name"
  record "$backend" "$name"
}

# bounded_scenario backend name conns bound -- wrk args: REPS bracketed slices, after a
# warm-up. WARM_ENV and SLICE_ENV name a variable to set to "$prefix.warm" / "$prefix.N" for
# the warm-up and each slice (codes and refresh tokens are used once, so each run has its own).
bounded_scenario() {
  local backend=$1 name=$2 conns=$3 bound=$4; shift 4
  local i before after slices="$work/$name.slices"
  [ -n "${PER_RUN:-}" ] && export "${PER_RUN%%=*}=${PER_RUN#*=}.warm"
  ops_begin
  run_wrk "$name-warm" "$conns" "$WARMUP" "$@"
  : >"$slices"
  before=$(speed_of "$bound")
  for i in $(seq "$REPS"); do
    [ -n "${PER_RUN:-}" ] && export "${PER_RUN%%=*}=${PER_RUN#*=}.$i"
    run_wrk "$name-$i" "$conns" "$SLICE" "$@"
    after=$(speed_of "$bound")
    awk -v r="$rps" -v a="$before" -v b="$after" -v p50="$p50" -v p99="$p99" -v n="$non2xx" -v c="$cpu" \
      'BEGIN {m = (a + b) / 2; printf "%.4f %s %s %s %s %s %.1f\n", r / m, r, p50, p99, n, c, m}' >>"$slices"
    before=$after
  done
  ops_end "$name"
  note "$backend: $name slice ratios: $(sort -g "$slices" | awk '{printf "%s%.0f%%", (NR > 1 ? " " : ""), 100 * $1}')"
  local bound_rate
  read -r _ rps p50 p99 non2xx cpu bound_rate < <(sort -g "$slices" | sed -n "$(( (REPS + 1) / 2 ))p")
  record "$backend" "$name" "$bound" "$bound_rate"
}

note() { echo "$*" | tee -a "$work/notes.txt" >&2; }

# split_runs FILE LINES PREFIX: the first LINES lines to PREFIX.warm, the next to PREFIX.1 … REPS.
split_runs() {
  local file=$1 lines=$2 prefix=$3 i
  sed -n "1,${lines}p" "$file" >"$prefix.warm"
  for i in $(seq "$REPS"); do
    sed -n "$(( i * lines + 1 )),$(( (i + 1) * lines ))p" "$file" >"$prefix.$i"
  done
}

bench_backend() {
  local backend=$1
  start_server
  local idle_rss=$(( $(rss_kb) / 1024 ))
  local basic="Basic $(printf 'demo-web:demo-web-secret' | base64)"
  scenario "$backend" "discovery" "$CONNS" "$base/.well-known/openid-configuration"
  scenario "$backend" "jwks" "$CONNS" "$base/jwks"
  BODY="grant_type=client_credentials&scope=profile" AUTH="$basic" \
    bounded_scenario "$backend" "client_credentials (1 signature)" "$CONNS" sign -s benches/load/post.lua "$base/token"
  local rs256_rps=$rps
  # The same grant for the demo clients whose access tokens are ES256 and EdDSA, each against
  # what one core signs with that algorithm.
  BODY="grant_type=client_credentials&scope=profile" AUTH="Basic $(printf 'demo-es256:demo-es256-secret' | base64)" \
    bounded_scenario "$backend" "client_credentials ES256" "$CONNS" es256 -s benches/load/post.lua "$base/token"
  local es256_rps=$rps
  BODY="grant_type=client_credentials&scope=profile" AUTH="Basic $(printf 'demo-eddsa:demo-eddsa-secret' | base64)" \
    bounded_scenario "$backend" "client_credentials EdDSA" "$CONNS" ed25519 -s benches/load/post.lua "$base/token"
  note "$backend: client_credentials ES256 $(awk -v a="$es256_rps" -v b="$rs256_rps" 'BEGIN {printf "%.1f", a / b}')× and EdDSA $(awk -v a="$rps" -v b="$rs256_rps" 'BEGIN {printf "%.1f", a / b}')× the RS256 rate"

  # Codes live at most 60 s: mint them right before use. Every run (warm-up, slices) gets
  # its own codes and its own 64 refresh-token chains: a reused refresh token would be
  # answered from the retry grace window without signing anything.
  local per_run=$(( 2500 * (WARMUP > SLICE ? WARMUP : SLICE) ))
  "$prep" "$base" "$work" "$(( per_run * (REPS + 1) ))" "$(( 64 * (REPS + 1) ))" 2>"$work/prep.log"
  note "$backend: $(cat "$work/prep.log")"
  split_runs "$work/codes.txt" "$per_run" "$work/codes"
  split_runs "$work/refresh_tokens.txt" 64 "$work/refresh"
  PER_RUN="CODES=$work/codes" AUTH="$basic" VERIFIER="bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz" \
    bounded_scenario "$backend" "code_exchange (2 signatures)" "$CONNS" half_sign \
    -s benches/load/exchange.lua "$base/token"
  PER_RUN="TOKENS=$work/refresh" AUTH="$basic" \
    bounded_scenario "$backend" "refresh_rotation (2 signatures)" "$CONNS" half_sign \
    -s benches/load/refresh.lua "$base/token"
  local access; access=$(cat "$work/access_token.txt")
  scenario "$backend" "userinfo" "$CONNS" -H "Authorization: Bearer $access" "$base/userinfo"
  BODY="token=$access" AUTH="$basic" \
    scenario "$backend" "introspection" "$CONNS" -s benches/load/post.lua "$base/introspect"

  # Password logins (the login form POST) alone, then again beside a slow client_credentials
  # probe (50 req/s) whose p99 is compared with the same probe on an idle server.
  BODY="$(cat "$work/login_body.txt")" COOKIE="$(cat "$work/login_cookie.txt")" \
    bounded_scenario "$backend" "password_login (1 Argon2id hash)" 4 argon2 -s benches/load/post.lua "$base/login"
  local idle_probe loaded_probe
  idle_probe=$(probe_p99 "$DURATION")
  BODY="$(cat "$work/login_body.txt")" COOKIE="$(cat "$work/login_cookie.txt")" \
    taskset -c 1 wrk -t1 -c4 -d"${DURATION}s" -s benches/load/post.lua "$base/login" >/dev/null 2>&1 &
  local storm=$!
  loaded_probe=$(probe_p99 "$DURATION")
  wait "$storm" || true
  # At rest: hashes still queued when wrk hung up hold the Argon2 buffer until the queue empties.
  sleep 1
  note "$backend: client_credentials p99 (50 req/s probe) idle ${idle_probe} ms, during the login storm ${loaded_probe} ms"
  note "$backend: idle RSS ${idle_rss} MB after start, $(( $(rss_kb) / 1024 )) MB after the run, peak $(( $(hwm_kb) / 1024 )) MB; first start (keys, seeding) ready in ${startup_ms} ms"
  stop_server
}

# The login scenarios are one address signing in ~60 times a second, which the per-address
# sign-in limit exists to stop: lift it for the benchmark (if this build has it).
if GATEHOUSE__LIMITS__LOGIN_PER_IP__LIMIT=0 "$bin" check-config >/dev/null 2>&1; then
  export GATEHOUSE__LIMITS__LOGIN_PER_IP__LIMIT=0
fi

BACKENDS="${BACKENDS:-embedded postgres}"
: >"$work/rows.csv"
: >"$work/notes.txt"

if [[ " $BACKENDS " == *" embedded "* ]]; then
  # Embedded default: SQLite file + built-in store; then a restart on the existing database.
  export GATEHOUSE__SERVER__LISTEN="127.0.0.1:$PORT" GATEHOUSE__SERVER__ISSUER="$base"
  export GATEHOUSE__DATABASE__URL="sqlite://$work/gatehouse.db?mode=rwc"
  bench_backend embedded
  start_server
  note "embedded: restart on the existing database: /readyz 200 after ${startup_ms} ms (server start-up ${server_ms} ms), idle RSS $(( $(rss_kb) / 1024 )) MB"
  stop_server
fi

if [[ " $BACKENDS " == *" postgres "* ]]; then
  # Production: PostgreSQL + Redis, which get CPU 1 (beside wrk) for the run.
  db="gatehouse_bench_$$"
  psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  trap 'cleanup; psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  export GATEHOUSE__SERVER__LISTEN="127.0.0.1:$PORT" GATEHOUSE__SERVER__ISSUER="$base"
  export GATEHOUSE__DATABASE__URL="${PG_ADMIN%/*}/$db"
  export GATEHOUSE__REDIS__URL="$REDIS_URL" GATEHOUSE__REDIS__KEY_PREFIX="gatehouse-bench-$$:"
  GATEHOUSE__KEYS__ENCRYPTION_KEY="$("$bin" gen-key)"
  export GATEHOUSE__KEYS__ENCRYPTION_KEY
  if psql -tAq "$PG_ADMIN" -c "SELECT 1 FROM pg_stat_statements LIMIT 1" >/dev/null 2>&1; then
    pg_statements=1
  fi
  counting=1
  : >"$work/ops.csv"
  pin_backing_services
  bench_backend postgres
  unpin_backing_services
  counting=0
  redis-cli --scan --pattern "gatehouse-bench-$$:*" | xargs -r -n 500 redis-cli del >/dev/null || true
fi

echo
report
if [ -s "$work/ops.csv" ]; then
  echo
  echo "PostgreSQL + Redis operations per request ($([ "$pg_statements" = 1 ] && echo "statements, pg_stat_statements" || echo "transactions, pg_stat_database: load pg_stat_statements for statements")):"
  printf "%-34s %9s %14s %14s\n" scenario requests "Redis/request" "PG/request"
  while IFS=, read -r name q r p; do printf "%-34s %9s %14s %14s\n" "$name" "$q" "$r" "$p"; done <"$work/ops.csv"
  cp "$work/ops.csv" "$results/latest-ops.csv"
fi
echo "results: $csv"
