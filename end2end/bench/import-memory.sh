#!/usr/bin/env bash
# Peak memory of one import upload, of one read of its stream, and of idle readers: the server's
# VmHWM before and after each, with a fresh server for each reading so its peak is its own.
#
#   end2end/bench/import-memory.sh BINARY
#
# Two files, made here: a 64.6 MB export of 60,000 events of about 1 KB, and a 2 MB export of a
# million one-digit events (the most an import takes; the short values a file can hold most of).
# For the idle readers, two people each import the file and open 40 streams of their import (the
# most one person may hold) that never read: what the server holds for readers that do not keep
# up, as a slow phone or a stalled tab does.
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-import-bench.XXXXXX")
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=${BENCH_PORT:-3990}
password='correct horse battery staple 7'

python3 - "$work" <<'PY'
import hashlib, json, sys
work = sys.argv[1]
def write(name, events, canonical):
    doc = {"format": "switchboard.session_export", "version": 1,
           "digest": "sha256:" + hashlib.sha256(canonical).hexdigest(),
           "session": {"id": "sesn_bench", "title": name}, "agent": {"name": "Bench"}, "threads": []}
    with open(f"{work}/{name}.json", "w") as f:
        f.write(json.dumps(doc)[:-1] + ', "events": ' + events + "}")
events = [{"content": [{"text": "x" * 900, "type": "text"}], "id": f"sevt_{i:08d}",
           "processed_at": "2026-11-26T10:00:00Z", "type": "agent.message"} for i in range(60_000)]
canonical = b"".join(json.dumps(e, separators=(",", ":"), sort_keys=True).encode() + b"\n" for e in events)
write("60k-events", json.dumps(events, indent=1), canonical)
write("1m-short-events", "[" + ",".join(["0"] * 1_000_000) + "]", b"0\n" * 1_000_000)
PY

start_server() {
  SWITCHBOARD_LISTEN=127.0.0.1:$port SWITCHBOARD_DATA_DIR=$work/data SWITCHBOARD_ADMIN_PASSWORD=$password \
    SWITCHBOARD_SITE_ROOT=$root/target/site RUST_LOG=warn "$bin" >>"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.3; done
  sign_in admin jar
}
sign_in() {
  curl -s -c "$work/$2" -b "$work/$2" -o /dev/null -X POST "http://127.0.0.1:$port/auth/login" \
    --data-urlencode "username=$1" --data-urlencode "password=$password" --data-urlencode next=/
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
peak_kb() { awk '/VmHWM/ { print $2 }' "/proc/$pid/status"; }

for name in 60k-events 1m-short-events; do
  rm -rf "$work/data"
  start_server
  before=$(peak_kb)
  began=$(date +%s.%N)
  status=$(curl -s -o "$work/answer" -w '%{http_code}' -b "$work/jar" -H 'Accept: application/json' \
    -F "file=@$work/$name.json;type=application/json" "http://127.0.0.1:$port/api/imports")
  took=$(echo "$(date +%s.%N) - $began" | bc)
  upload=$(( ($(peak_kb) - before) / 1024 ))
  stop_server
  [ "$status" = 201 ] || { echo "$name: the upload answered $status: $(cat "$work/answer")"; exit 1; }
  start_server
  before=$(peak_kb)
  sent=$(curl -s -b "$work/jar" --max-time 10 "http://127.0.0.1:$port/api/imports/import_1/stream" | wc -c || true)
  stream=$(( ($(peak_kb) - before) / 1024 ))
  stop_server
  printf '%-16s %6.1f MB file: upload +%d MB peak in %.1f s; one stream read +%d MB peak (%d bytes in 10 s)\n' \
    "$name" "$(echo "$(stat -c %s "$work/$name.json") / 1000000" | bc -l)" "$upload" "$took" "$stream" "$sent"
done

# Idle readers: a second person, an import each, 40 streams each that never read.
for name in 60k-events 1m-short-events; do
  rm -rf "$work/data"
  start_server
  curl -s -b "$work/jar" -o /dev/null -X POST "http://127.0.0.1:$port/api/users/create" \
    --data-urlencode username=bea --data-urlencode display_name= --data-urlencode "password=$password" \
    --data-urlencode 'roles[operator]=true'
  sign_in bea jar2
  for jar in jar jar2; do
    curl -s -o /dev/null -b "$work/$jar" -H 'Accept: application/json' \
      -F "file=@$work/$name.json;type=application/json" "http://127.0.0.1:$port/api/imports"
  done
  stop_server
  start_server
  sign_in bea jar2
  before=$(peak_kb)
  resident_before=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
  held=$(python3 - "$port" "$work/jar" "$work/jar2" <<'PY'
import socket, sys, time
port, jars = int(sys.argv[1]), sys.argv[2:]
def cookie(jar):
    rows = [line.rstrip("\n").split("\t") for line in open(jar) if line.count("\t") >= 6]
    return "; ".join(f"{row[5]}={row[6]}" for row in rows)
readers, statuses = [], set()
for n, jar in enumerate(jars):
    for _ in range(40):
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", port))
        request = f"GET /api/imports/import_{n + 1}/stream HTTP/1.1\r\nHost: bench\r\nCookie: {cookie(jar)}\r\n\r\n"
        reader.sendall(request.encode())
        statuses.add(reader.recv(12)[9:12].decode())
        readers.append(reader)
time.sleep(10)  # each reader's buffers fill; then nothing more is read
print(f"{len(readers)} streams, HTTP {' '.join(sorted(statuses))}")
PY
)
  readers=$(( ($(peak_kb) - before) / 1024 ))
  resident=$(( ($(awk '/VmRSS/ { print $2 }' "/proc/$pid/status") - resident_before) / 1024 ))
  stop_server
  printf '%-16s two people, an import each, 40 idle readers each (%s): +%d MB peak, +%d MB resident\n' \
    "$name" "$held" "$readers" "$resident"
done
