#!/usr/bin/env bash
# pywai vs nginx under the same wrk load, access logs off and then on (to /dev/null).
#
# nginx is configured here to `return 200` a body of exactly the size pywai answers wrk's request
# with, with keep-alive, one worker per core, and the same kind of log line (JSON, buffered).
# Prints requests/s, p99 latency and the server's CPU time per request for each run, the ratio
# pywai/nginx of the median requests/s, and pywai's peak RSS.
#
# Environment: DURATION (10s), CONNECTIONS (50), WRK_THREADS (2), ROUNDS (3: runs per server and
# mode, alternating pywai and nginx; medians are reported), SKIP_BUILD=1 to reuse the
# existing release binary. Ports are picked free at run time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
ROUNDS="${ROUNDS:-3}"
CORES="$(nproc)"
PYWAI="$ROOT/target/x86_64-unknown-linux-gnu/release/pywai"

die() { echo "bench: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"
  fi
}

install_tools() {
  local need=()
  command -v wrk >/dev/null || need+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
  [ ${#need[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${need[*]} and no apt-get to install them"
  echo "bench: installing ${need[*]} from Debian" >&2
  as_root apt-get update -qq
  local pkgs=()
  for p in "${need[@]}"; do
    if [ "$p" = nginx ]; then pkgs+=(nginx-light); else pkgs+=("$p"); fi
  done
  # nginx-light is gone from newer Debian releases; plain nginx is the same server.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null ||
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
WORK="$(mktemp -d /tmp/pywai-bench.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nobody listens on (the machine is shared; fixed ports collide).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

# Waits until process $1 listens on port $2.
wait_port() {
  local pid="$1" port="$2"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || die "server (pid $pid) exited; see $WORK"
    if port_in_use "$port"; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on port $port"
}

# Sends exactly the request wrk sends (request line and Host, nothing else: any other header would
# be echoed and change the size) and prints the response body.
fetch_body() {
  local port="$1" line len=""
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n' "$port" >&3
  while IFS= read -r line <&3; do
    line="${line%$'\r'}"
    [ -z "$line" ] && break
    case "${line,,}" in content-length:*) len="${line#*:}"; len="${len// /}" ;; esac
  done
  [ -n "$len" ] || die "no Content-Length in pywai's answer"
  head -c "$len" <&3
  exec 3<&-
}

start_pywai() {
  local log="$1"
  : >"$WORK/pywai.err"
  "$PYWAI" --listen "127.0.0.1:0" --access-log "$log" >/dev/null 2>"$WORK/pywai.err" &
  PYWAI_PID=$!
  PIDS+=("$PYWAI_PID")
  # pywai logs the port it bound as its first stderr line.
  PYWAI_PORT=""
  for _ in $(seq 1 100); do
    PYWAI_PORT="$(sed -n 's/.*"msg":"listening","addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$WORK/pywai.err")"
    [ -n "$PYWAI_PORT" ] && break
    kill -0 "$PYWAI_PID" 2>/dev/null || die "pywai exited: $(cat "$WORK/pywai.err")"
    sleep 0.1
  done
  [ -n "$PYWAI_PORT" ] || die "pywai did not report its port"
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

start_nginx() {
  local log="$1" body="$2" access
  if [ "$log" = off ]; then
    access="access_log off;"
  else
    access="access_log /dev/null pywai_json buffer=64k flush=1s;"
  fi
  # The body goes into a single-quoted nginx string: escape backslashes and quotes.
  local escaped="${body//\\/\\\\}"
  escaped="${escaped//\'/\\\'}"
  cat >"$WORK/nginx.conf" <<EOF
worker_processes $CORES;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  log_format pywai_json escape=json '{"time":"\$time_iso8601","client":"\$remote_addr:\$remote_port",'
    '"method":"\$request_method","path":"\$request_uri","protocol":"\$server_protocol",'
    '"status":\$status,"bytes":\$body_bytes_sent,"duration_ms":\$request_time,'
    '"user_agent":"\$http_user_agent"}';
  $access
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      default_type "text/html; charset=utf-8";
      return 200 '$escaped';
    }
  }
}
EOF
  "$NGINX_BIN" -p "$WORK" -c "$WORK/nginx.conf" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_port "$NGINX_PID" "$NGINX_PORT"
}

# CPU ticks (user + system) used so far by the given processes and all their threads.
cpu_ticks() {
  local t=0 p task f
  for p in "$@"; do
    for task in /proc/"$p"/task/*; do
      read -r -a f <"$task/stat" || continue
      # Fields 14 and 15 (utime, stime); the command name holds no spaces here.
      t=$((t + f[13] + f[14]))
    done
  done
  echo "$t"
}

# Runs wrk against the port while measuring the server processes' CPU.
# Prints "<requests/s> <p99 ms> <server CPU microseconds per request>".
run_wrk() {
  local port="$1" out before after
  shift
  before="$(cpu_ticks "$@")"
  out="$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port/")"
  after="$(cpu_ticks "$@")"
  echo "$out" >>"$WORK/wrk.log"
  local rps p99 reqs
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
  if [ -z "$rps" ] || [ -z "$reqs" ]; then die "could not read wrk output: $out"; fi
  echo "$rps $(to_ms "$p99") $(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$reqs" \
    'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
}

to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else { print "?" } }'
}

install_tools
NGINX_PORT="$(free_port)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release -p pywai)
fi
[ -x "$PYWAI" ] || die "no release binary at $PYWAI"

# Size nginx's body after pywai's answer to exactly wrk's request.
start_pywai off
# Command substitution would drop the body's trailing newline: keep it with a sentinel.
BODY="$(fetch_body "$PYWAI_PORT"; echo .)"
BODY="${BODY%.}"
stop_pid "$PYWAI_PID"
BODY_LEN="$(printf '%s' "$BODY" | wc -c)"

echo "machine: $(uname -m), $CORES cores, $(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "load:    wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION x $ROUNDS rounds, response body $BODY_LEN bytes, $("$NGINX_BIN" -v 2>&1)"
echo

# The machine is shared: alternate the two servers ROUNDS times per mode, so drifting background
# load hits both alike, and report each server's median run.
ROW='%-6s %-5s %-6s %12s %10s %12s\n'
# shellcheck disable=SC2059
printf "$ROW" round logs server "requests/s" "p99 (ms)" "CPU us/req"
PEAK_RSS_KB=0
declare -A RUNS
for log in off on; do
  pywai_log=off
  [ "$log" = on ] && pywai_log=json
  for round in $(seq 1 "$ROUNDS"); do
    start_pywai "$pywai_log"
    read -r rps p99 cpu < <(run_wrk "$PYWAI_PORT" "$PYWAI_PID")
    hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$PYWAI_PID/status")"
    [ "$hwm" -gt "$PEAK_RSS_KB" ] && PEAK_RSS_KB="$hwm"
    stop_pid "$PYWAI_PID"
    RUNS[pywai-$log]+="$rps $p99 $cpu"$'\n'
    # shellcheck disable=SC2059
    printf "$ROW" "$round" "$log" pywai "$rps" "$p99" "$cpu"

    start_nginx "$log" "$BODY"
    got="$(fetch_body "$NGINX_PORT" | wc -c)"
    [ "$got" -eq "$BODY_LEN" ] || die "nginx answers $got bytes, pywai $BODY_LEN"
    # The master and its workers.
    # shellcheck disable=SC2046
    read -r rps p99 cpu < <(run_wrk "$NGINX_PORT" "$NGINX_PID" $(pgrep -P "$NGINX_PID"))
    stop_pid "$NGINX_PID"
    RUNS[nginx-$log]+="$rps $p99 $cpu"$'\n'
    # shellcheck disable=SC2059
    printf "$ROW" "$round" "$log" nginx "$rps" "$p99" "$cpu"
  done
done

# Median requests/s of a server's runs, with that run's p99 and CPU per request.
median() { printf '%s' "$1" | sort -n -k1,1 | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'; }

echo
echo "median of $ROUNDS runs each:"
MED='%-6s %-5s %12s %10s %12s\n'
# shellcheck disable=SC2059
printf "$MED" server logs "requests/s" "p99 (ms)" "CPU us/req"
for log in off on; do
  for server in pywai nginx; do
    read -r rps p99 cpu <<<"$(median "${RUNS[$server-$log]}")"
    # shellcheck disable=SC2059
    printf "$MED" "$server" "$log" "$rps" "$p99" "$cpu"
  done
done
echo
for log in off on; do
  read -r a _ <<<"$(median "${RUNS[pywai-$log]}")"
  read -r b _ <<<"$(median "${RUNS[nginx-$log]}")"
  awk -v a="$a" -v b="$b" -v l="$log" \
    'BEGIN { printf "pywai/nginx requests/s, logs %-3s: %.2f\n", l, a / b }'
done
awk -v kb="$PEAK_RSS_KB" 'BEGIN { printf "pywai peak RSS (VmHWM, max over runs): %.1f MB\n", kb / 1024 }'
