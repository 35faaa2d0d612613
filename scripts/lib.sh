# Shared by scripts/setup, scripts/run and scripts/test. Source it; do not run it.
#
# Everything here is idempotent: a tool that is already installed at the right version is left alone.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WASM_TOOLCHAIN_MARKER="$ROOT/target/.wasm-toolchain"
# Build tools come first: wasm-opt through its cache (scripts/tools/bin), npm's binaryen and esbuild
# behind it, then cargo's.
export PATH="$ROOT/scripts/tools/bin:$ROOT/scripts/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Each line says how long the script has run (m:ss), so a first build of many minutes shows its pace.
SWITCHBOARD_STARTED=${SWITCHBOARD_STARTED:-$SECONDS}
log() {
  local t=$((SECONDS - SWITCHBOARD_STARTED))
  printf '==> [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*" >&2
}

# Installs the Debian packages that are missing (apt-get update first, once per call).
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# The WASM target: rustup's when it can be had (short timeout: toolchain downloads may be out of
# reach), otherwise Debian's rustc-web. Either way std's sources come with it (rustup's rust-src,
# Debian's rust-web-src): the release bundle builds std for wasm itself (site-build). Once
# a run has fallen back, later runs do not wait for rustup again: delete target/.wasm-toolchain to
# retry.
ensure_wasm_target() {
  mkdir -p "$ROOT/target"
  if [ "${SWITCHBOARD_WASM_TOOLCHAIN:-}" != debian ] && ! wasm_toolchain_is_debian && command -v rustup >/dev/null; then
    if { rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
        || timeout 120 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; } \
      && { rustup component list --installed 2>/dev/null | grep -qx rust-src \
        || timeout 120 rustup component add rust-src >/dev/null 2>&1; }; then
      echo rustup > "$WASM_TOOLCHAIN_MARKER"
      return 0
    fi
    log "rustup could not add the wasm32 target or std's sources; falling back to Debian's rustc-web"
  fi
  apt_install rustc-web cargo-web rust-web-src lld-22
  echo debian > "$WASM_TOOLCHAIN_MARKER"
}

# The bundle's size flags need a recent rustc (-Cpanic=immediate-abort came about 1.92): an older
# one would fail the release build minutes in, with rustc's word for one flag. Asked up front
# instead (rustc parses them without compiling anything, in well under a second).
ensure_wasm_size_flags() {
  local problem
  # $WASM_SIZE_FLAGS unquoted: its words are the flags.
  if ! problem=$(with_wasm_toolchain env RUSTC_BOOTSTRAP=1 sh -c '"${RUSTC:-rustc}" "$@" --print cfg' rustc \
      --target wasm32-unknown-unknown $WASM_SIZE_FLAGS 2>&1 >/dev/null); then
    log "The WASM toolchain ($(with_wasm_toolchain sh -c '"${RUSTC:-rustc}" --version')) does not take the release bundle's size flags ($WASM_SIZE_FLAGS):"
    printf '%s\n' "$problem" | head -3 >&2
    log "Update it (rustup update stable), or on Debian's toolchain install rustc-web from bookworm-security (1.96)."
    return 1
  fi
}

# True when the WASM side is built with Debian's toolchain (see ensure_wasm_target).
wasm_toolchain_is_debian() {
  [ "$(cat "$WASM_TOOLCHAIN_MARKER" 2>/dev/null)" = debian ]
}

# Runs a command that builds the WASM side with the chosen toolchain. Only such commands switch to
# Debian's: everything native keeps rustup's toolchain (with its clippy and rustfmt).
with_wasm_toolchain() {
  if wasm_toolchain_is_debian; then
    # Debian's rustc names `rust-lld` as the wasm linker, which it does not ship: lld-22's wasm-ld is it.
    PATH="$ROOT/scripts/tools/bin:$ROOT/scripts/tools/node_modules/.bin:/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 "$@"
  else
    "$@"
  fi
}

# The release bundle's size flags, for the browser side only (site-build adds them to the flags it
# compiles with; docs/benchmarks.md, "Bundle", has what each gives). They are unstable, so the
# build says RUSTC_BOOTSTRAP=1 (as it must for -Zbuild-std), and std is built from its sources so
# that it gets them too.
# - -Cpanic=immediate-abort: a panic traps at once, with no message (CONTRIBUTING.md says how to
#   read one).
# - -Zlocation-detail=none: no source paths, lines and columns kept for panics.
# - -Zfmt-debug=shallow: a derived Debug prints the type's name only; a string's `{:?}` (its
#   quotes, which the forms' messages use) is hand-written and unchanged.
WASM_SIZE_FLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=shallow"

# site-build (site-build/), the project's own build step for the bundle, compiled natively in a
# target folder of its own (so that it never waits on the lock of a build running beside it), then
# run with the chosen WASM toolchain: the cargo it starts compiles the browser side with it.
SITE_BUILD="$ROOT/target/site-build/release/site-build"
site_build_tool() {
  [ -x "$SITE_BUILD" ] || log "Compiling site-build, the bundle's build step (once; about 1.5 minutes on 2 cores)"
  CARGO_TARGET_DIR="$ROOT/target/site-build" cargo build --quiet --release --locked -p site-build
}
site_build() {
  site_build_tool || return
  RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$WASM_SIZE_FLAGS" with_wasm_toolchain "$SITE_BUILD" "$ROOT"
}

# A debug bundle in target/site: split as the release one, without the size flags or wasm-opt, so
# that a panic says its message and place (CONTRIBUTING.md). The next release_build builds the
# folder anew (no mark of a finished release build is left).
debug_bundle() {
  rm -f "$ROOT/target/.site-pkg-complete"
  site_build_tool || return
  with_wasm_toolchain "$SITE_BUILD" --debug "$ROOT"
}

# Native builds with the flags of the server's build: component types erased (as the bundle's
# are), so scripts/run, scripts/test and scripts/bench share artifacts instead of each building
# everything again. Without it Leptos' view types also made debug test binaries gigabytes large.
# LEPTOS_OUTPUT_NAME is read when Leptos is compiled: without it a server links `<name>_bg.wasm`,
# a bundle site-build never writes, and the page never hydrates (the browser tests run the debug
# server `cargo test` builds).
server_side() { RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=switchboard "$@"; }

# The release build, the one scripts/run serves: the bundle (site_build: each page's code split
# into WASM chunks loaded with the page, the lazy routes in app/src/lib.rs, wasm-opt over every
# chunk, the small chunks merged into one). site-build runs wasm-opt over every chunk on every
# build; scripts/tools/bin/wasm-opt answers an unchanged chunk from target/wasm-opt-cache, so a
# build with nothing changed takes seconds. Then the release server, unless the one argument is
# `--frontend-only`.
release_build() {
  case "${1:-}" in
    "" | --frontend-only) ;;
    *) log "release_build takes no argument but --frontend-only (was given: $*)"; return 2 ;;
  esac
  # Cached chunks no build has used for two weeks go, once per build.
  find "$ROOT/target/wasm-opt-cache" -name '*.wasm' -mtime +14 -delete 2>/dev/null || true
  # A build that stopped halfway (wasm-opt failed on one chunk, stop 39) left target/site/pkg in a
  # state the next build, though it finished, did not repair: its pages failed to hydrate ("null
  # function") until the folder was removed. A finished build leaves a mark beside the folder
  # (outside what is served); without one, the folder is built anew.
  local done_mark="$ROOT/target/.site-pkg-complete"
  if [ -d "$ROOT/target/site/pkg" ] && [ ! -f "$done_mark" ]; then
    log "target/site/pkg has no mark of a finished build: building it anew"
    rm -rf "$ROOT/target/site/pkg"
  fi
  rm -f "$done_mark"
  site_build && touch "$done_mark" || return
  [ "${1:-}" = --frontend-only ] || release_server
}

# The release server on its own, native, with rustup's toolchain and without the bundle's
# RUSTC_BOOTSTRAP: build scripts read it (proc-macro2's, anyhow's, thiserror's), so with it the
# server's crates were rebuilt whenever `cargo run --release` (scripts/bench's examples) had built
# them without it, and back.
release_server() {
  server_side cargo build --release --locked -p server --bin switchboard
}

# `npm ci` in a folder of the repository, again only when its lock file changed.
npm_install() {
  local dir=$1
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.switchboard-lock" 2>/dev/null; then
    log "Installing the npm packages of ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$dir/node_modules/.switchboard-lock"
  fi
}

ensure_build_tools() {
  command -v cargo >/dev/null || { log "cargo is missing: install Rust with rustup first"; exit 1; }
  ensure_wasm_target
  ensure_wasm_size_flags || exit 1
  # wasm-opt and esbuild for the bundle, from npm (prebuilt; seconds): Debian 12's binaryen 108
  # breaks the bundle ("WebAssembly.Table.set(): Argument 1 is invalid") because it mishandles the
  # reference types current rustc emits. wasm-split and wasm-bindgen are libraries site-build is
  # compiled with, at the versions of Cargo.lock.
  command -v npm >/dev/null || apt_install nodejs npm
  npm_install "$ROOT/scripts/tools"
}

# What Switchboard needs at run time: bubblewrap, the sandbox the embedded engine runs tools in.
ensure_runtime_tools() {
  command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap
  # Each session's disk: an ext4 image (e2fsprogs), loop-mounted in the engine's own mount
  # namespace (util-linux's unshare and mount).
  [ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || apt_install e2fsprogs
  command -v unshare >/dev/null 2>&1 || apt_install util-linux
  # Sessions' GitHub repositories are checked out by the engine with git.
  command -v git >/dev/null 2>&1 || apt_install git
}

ensure_test_tools() {
  ensure_runtime_tools
  apt_install chromium
  # promtool checks the text of /metrics (server/tests/metrics.rs); Debian ships it with the
  # server, which is not started here.
  apt_install prometheus
  # The network test (engine/tests/network.rs) makes namespaces with `ip` and uses curl inside
  # the sandbox.
  apt_install iproute2 curl
  # deploy/check runs compose's PostgreSQL from the server's own binaries (initdb, postgres).
  apt_install postgresql
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  npm_install "$ROOT/end2end"
  # The TypeScript SDK and tsc, for Switchboard's API through the official SDKs (server/sdk-tests).
  npm_install "$ROOT/server/sdk-tests/typescript"
  # The official SDK for the conformance check, and deploy/check's packages, in a venv of the
  # repository; installed again when either list changes.
  local conformance="$ROOT/protocol/conformance/requirements.txt" deploy="$ROOT/deploy/requirements.txt"
  if ! cat "$conformance" "$deploy" | cmp -s - "$ROOT/.venv/.switchboard-requirements" 2>/dev/null; then
    log "Installing the Python packages of the conformance and deployment checks"
    python3 -m venv "$ROOT/.venv"
    "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r "$conformance" -r "$deploy"
    cat "$conformance" "$deploy" > "$ROOT/.venv/.switchboard-requirements"
  fi
}

# A PostgreSQL cluster of the test suite's own: Debian's `postgresql` binaries, a data directory
# made for this run, a spare port on loopback, trust authentication (loopback only). initdb and
# pg_ctl refuse to run as root, and these machines run as root: they run as `postgres` through
# runuser. Debian's own `main` cluster is left as it is (stopped or not). Exports
# SWITCHBOARD_TEST_POSTGRES_URL, a database the tests may create their own databases from.
# `stop_test_postgres` stops it and removes its data.
PG_BIN=${PG_BIN:-}
start_test_postgres() {
  apt_install postgresql
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || { log "PostgreSQL's initdb was not found under /usr/lib/postgresql"; return 1; }
  TEST_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-postgres.XXXXXX")
  chown postgres: "$TEST_PG_DIR"
  chmod 700 "$TEST_PG_DIR"
  local as_postgres=(runuser -u postgres --)
  [ "$(id -u)" -ne 0 ] && as_postgres=()
  "${as_postgres[@]}" "$PG_BIN/initdb" -D "$TEST_PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$TEST_PG_DIR/initdb.log" 2>&1 ||
    { cat "$TEST_PG_DIR/initdb.log"; return 1; }
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Many test servers at once, each a pool: room for a few hundred connections. Durability is
  # not what the tests measure.
  "${as_postgres[@]}" "$PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $TEST_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$TEST_PG_DIR/server.log"; return 1; }
  export SWITCHBOARD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  log "PostgreSQL for the tests on 127.0.0.1:$port ($TEST_PG_DIR)"
}

stop_test_postgres() {
  [ -n "${TEST_PG_DIR:-}" ] && [ -d "$TEST_PG_DIR/data" ] || return 0
  [ -n "$PG_BIN" ] || PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  local as_postgres=(runuser -u postgres --)
  [ "$(id -u)" -ne 0 ] && as_postgres=()
  "${as_postgres[@]}" "$PG_BIN/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TEST_PG_DIR"
}
