#!/usr/bin/env bash
# Peak memory of one import upload and of one read of the imported session's stream: the server's
# VmHWM before and after each, with a fresh server for the stream so its peak is its own.
#
#   end2end/bench/import-memory.sh BINARY
#
# Two files, made here: a 64.6 MB export of 60,000 events of about 1 KB, and a 2 MB export of a
# million one-digit events (the most an import takes; the short values a file can hold most of).
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
  curl -s -c "$work/jar" -b "$work/jar" -o /dev/null -X POST "http://127.0.0.1:$port/auth/login" \
    --data-urlencode username=admin --data-urlencode "password=$password" --data-urlencode next=/
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
