#!/usr/bin/env bash
# Soak: Gatehouse under honest code flows, a password-guessing attacker and a flood of
# malformed requests at once, for DURATION seconds, on a fresh embedded SQLite database or
# (BACKEND=postgres) a fresh PostgreSQL database and Redis key prefix. Prints the driver's
# report and the server's RSS before and after; exits non-zero when the driver's gate fails
# (any 5xx, honest success below 99%) or the server died. Cleans up even when interrupted.
# Usage: benches/soak/run.sh   (DURATION=60 BACKEND=embedded|postgres PROFILE=release|dev
#        PIN=1 PORT=18090 BIN=other/gatehouse; HONEST_USERS THINK_MS CC_RATE ATTACK_RATE
#        FLOOD_RATE go to the driver)
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
DURATION="${DURATION:-60}"
BACKEND="${BACKEND:-embedded}"
PROFILE="${PROFILE:-release}"
PIN="${PIN:-1}"
PORT="${PORT:-18090}"
PG_ADMIN="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
work=$(mktemp -d /tmp/gatehouse-soak.XXXXXX)
server_pid="" driver_pid="" sampler_pid="" db="" prefix=""

# Background jobs of a script ignore SIGINT, so everything started here is stopped by id.
cleanup() {
  local pid
  for pid in "$driver_pid" "$sampler_pid" "$server_pid"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -n "$db" ]; then
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ -n "$prefix" ]; then
    redis-cli -u "$REDIS_URL" --scan --pattern "$prefix*" |
      xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

case "$PROFILE" in
  release) build=(--release); dir=release ;;
  dev) build=(); dir=debug ;;
  *) echo "PROFILE must be release or dev" >&2; exit 2 ;;
esac
echo "building the server and the driver ($PROFILE)…" >&2
cargo build "${build[@]}" -q --bin gatehouse --example soak
bin="${BIN:-$CARGO_TARGET_DIR/$dir/gatehouse}"
driver="$CARGO_TARGET_DIR/$dir/examples/soak"

# The server on CPU 0 and the driver on CPU 1, so the load does not take the server's core.
server_cpu=() driver_cpu=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0) driver_cpu=(taskset -c 1)
fi

base="http://127.0.0.1:$PORT"
export GATEHOUSE__SERVER__LISTEN="127.0.0.1:$PORT" GATEHOUSE__SERVER__ISSUER="$base"
# The driver names each sender in X-Forwarded-For (attacker, flood and honest users are
# different addresses); the server believes it only from the loopback proxy.
export GATEHOUSE__SERVER__TRUSTED_PROXIES='["127.0.0.1/32"]'
case "$BACKEND" in
  embedded)
    export GATEHOUSE__DATABASE__URL="sqlite://$work/gatehouse.db?mode=rwc"
    ;;
  postgres)
    db="gatehouse_soak_$$"
    PGOPTIONS=--client-min-messages=warning \
      psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    prefix="gatehouse-soak-$$:"
    export GATEHOUSE__DATABASE__URL="${PG_ADMIN%/*}/$db"
    export GATEHOUSE__REDIS__URL="$REDIS_URL" GATEHOUSE__REDIS__KEY_PREFIX="$prefix"
    GATEHOUSE__KEYS__ENCRYPTION_KEY="$("$bin" gen-key)"
    export GATEHOUSE__KEYS__ENCRYPTION_KEY
    ;;
  *) echo "BACKEND must be embedded or postgres" >&2; exit 2 ;;
esac

rss_mb() { awk '/^VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$server_pid/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }

log="$work/server.log"
(cd "$work" && exec "${server_cpu[@]}" "$bin" >"$log" 2>&1) &
server_pid=$!
for _ in $(seq 600); do
  curl -fs -o /dev/null "$base/readyz" && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the server did not start:" >&2; tail -20 "$log" >&2; exit 1; }
  sleep 0.1
done
rss_before=$(rss_mb)

# The server's RSS every 10 s, to see a leak as a trend rather than one number.
(while sleep 10; do rss_mb >>"$work/rss.txt" 2>/dev/null || exit 0; done) &
sampler_pid=$!

echo "soaking $BACKEND ($PROFILE build) for ${DURATION}s on $base…" >&2
status=0
"${driver_cpu[@]}" "$driver" "$base" "$DURATION" &
driver_pid=$!
wait "$driver_pid" || status=$?
driver_pid=""
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "FAIL: the server exited during the soak:" >&2
  tail -20 "$log" >&2
  exit 1
fi
echo "server RSS: ${rss_before} MB before, $(rss_mb) MB after, peak $(hwm_mb) MB" \
  "(every 10 s: $(paste -sd' ' "$work/rss.txt" 2>/dev/null || true))"
# Error lines by message (timestamps and request ids cut), most frequent first.
errors=$(grep -c -E ' ERROR |panicked' "$log" || true)
echo "server log: $errors ERROR lines"
grep -E ' ERROR |panicked' "$log" | sed -E 's/^[^ ]+ +//; s/request_id=[^ ]+ ?//' |
  sort | uniq -c | sort -rn | head -5 || true
exit "$status"
