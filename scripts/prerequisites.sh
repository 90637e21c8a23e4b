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
  apt_install libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  ensure_ui_packages
}

# What running the window headless and driving it through WebDriver needs,
# plus CJK fonts so Chinese renders in screenshots.
ensure_desktop_test() {
  apt_install xvfb xauth imagemagick webkit2gtk-driver fonts-noto-cjk fonts-dejavu-core dbus
  # Build the font cache now, not inside the first window's start-up.
  fc-cache >/dev/null 2>&1 || true
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
apt_install build-essential pkg-config
ensure_rust
