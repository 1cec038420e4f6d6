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

cargo test --workspace --locked "$@"
