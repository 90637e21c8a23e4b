# Installs what building and testing Lighttouch needs on Debian/Ubuntu, only
# when missing. Sourced by scripts/run, scripts/test and scripts/e2e.

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is required: install it from https://rustup.rs and run this again." >&2
    exit 1
  fi
  for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
      rustup component add "$component"
    fi
  done
}

ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
}

# The UI's packages, reinstalled when package-lock.json changed.
ensure_ui_packages() {
  ensure_node
  if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# What the desktop shell (Tauri on WebKitGTK) needs to build.
ensure_desktop_build() {
  apt_install libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libdbus-1-dev
  ensure_ui_packages
}

# What running the window headless and driving it through WebDriver needs,
# plus CJK fonts so Chinese renders in screenshots.
ensure_desktop_test() {
  # xdotool answers the system file dialogs, which WebDriver cannot reach.
  apt_install xvfb xauth imagemagick webkit2gtk-driver fonts-noto-cjk fonts-dejavu-core dbus xdotool
  # Build the font cache now, not inside the first window's start-up.
  fc-cache >/dev/null 2>&1 || true
}

# Starts a throwaway PostgreSQL (Debian's) on 127.0.0.1 for the storage
# tests and exports LIGHTTOUCH_TEST_POSTGRES; it stops when the shell exits.
start_test_postgres() {
  apt_install postgresql
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_DIR=$(mktemp -d /tmp/lighttouch-pg.XXXXXX)
  local port
  port=$(shuf -i 20000-60000 -n 1)
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-off}" start >/dev/null
  export LIGHTTOUCH_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  trap 'stop_test_postgres' EXIT
  echo "PostgreSQL for tests at $LIGHTTOUCH_TEST_POSTGRES" >&2
}

stop_test_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=
  fi
}

# Runs a command on a virtual screen (WIDTHxHEIGHT) with a private D-Bus
# session that activates no services (see scripts/lib/headless-session.conf).
headless() {
  local size=$1
  shift
  dbus-run-session --config-file="$(dirname "${BASH_SOURCE[0]}")/lib/headless-session.conf" -- \
    xvfb-run -a -s "-screen 0 ${size}x24" "$@"
}

# A C compiler for the bundled SQLite.
apt_install build-essential pkg-config curl
ensure_rust
