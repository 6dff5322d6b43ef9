#!/usr/bin/env bash
# Installs what building and testing Beatbook needs on a Debian machine, skipping whatever is
# already there at the right version. Usage: scripts/install-deps.sh run|test
#   run  — wasm32 target, cargo-leptos, the matching wasm-bindgen CLI, npm tools (wasm-opt)
#   test — all of that, plus Chromium and ChromeDriver for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

want="${1:-run}"
CARGO_LEPTOS_VERSION=0.3.10

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; exit 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || apt_install nodejs npm
command -v cc >/dev/null || apt_install build-essential
command -v perl >/dev/null || apt_install perl
command -v python3 >/dev/null || apt_install python3

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $CARGO_LEPTOS_VERSION"; then
  say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (once per machine, about 14 minutes)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# The CLI must equal the wasm-bindgen crate pinned in Cargo.lock, to the patch version.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
  say "cargo install wasm-bindgen-cli $bindgen_version"
  # Not --locked: its lock file names a webpki-roots release the registry does not have.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# npm tools: Playwright's runner (no browser download) and binaryen's wasm-opt (never Debian's
# binaryen 108, which silently breaks the bundle).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "npm ci (end2end)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# The browser tests run Debian's current Chromium, exactly the version a fresh machine gets today:
# `apt-get install` alone keeps whatever version a machine already has, so a machine set up
# months ago would test a browser no new developer has. This can turn CI red when Debian's
# candidate changes; that is intended (the README says so), and the app must work on it.
apt_install_candidate() {
  as_root apt-get update -qq
  local specs=() pkg candidate installed
  for pkg in "$@"; do
    candidate=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      echo "apt has no candidate for $pkg" >&2; exit 1
    fi
    # dpkg-query fails for a package never installed: that is "no version", not an error.
    installed=$( (dpkg-query -W -f='${Status} ${Version}' "$pkg" 2>/dev/null || true) | awk '$3 == "installed" { print $4 }')
    [ "$installed" = "$candidate" ] || specs+=("$pkg=$candidate")
  done
  [ ${#specs[@]} -eq 0 ] && return 0
  say "apt-get install ${specs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    --allow-downgrades "${specs[@]}"
}

if [ "$want" = test ]; then
  # chromium-common is named too: it must move with the browser when the browser is downgraded.
  apt_install_candidate chromium chromium-common chromium-driver
  say "$(/usr/bin/chromium --version)"
fi
