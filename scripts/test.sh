#!/usr/bin/env bash
# The test command: installs what the tests need that a fresh machine lacks, then runs
# every test in the workspace. `.ci/run` calls this same script.
set -euo pipefail
cd "$(dirname "$0")/.."

# WASM plugins are built from source for this target during the tests; rustup does not
# install targets listed in rust-toolchain.toml by itself.
if ! rustup target list --installed | grep -qx 'wasm32-wasip2'; then
    rustup target add wasm32-wasip2
fi

# The conference page is tested in a real browser: Debian's Chromium (never a downloaded
# one), driven by playwright-core from the npm registry, pinned by its lockfile.
if ! command -v chromium >/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } || {
        echo "scripts/test.sh: the page tests need Debian's chromium (apt-get install chromium)" >&2
        exit 1
    }
fi
ui=engine/hopscope-server/tests/ui
if [ ! -d "$ui/node_modules/playwright-core" ]; then
    npm ci --prefix "$ui" --no-audit --no-fund --silent
fi

cargo test --workspace --locked "$@"
