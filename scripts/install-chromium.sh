#!/bin/sh
# Installs Debian's Chromium for the browser test (test/browser). Idempotent:
# exits at once when /usr/bin/chromium is already there. Needs root (CI runs
# as root) or sudo; no browser is ever downloaded by npm or Playwright.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-chromium: not root and no sudo; install the Debian package 'chromium' by hand" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt/dpkg (a parallel CI step) may hold the lock: wait for it.
$SUDO apt-get -o DPkg::Lock::Timeout=300 update
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium
/usr/bin/chromium --version
