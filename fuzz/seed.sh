#!/usr/bin/env bash
# Recreates fuzz/corpus/<target>/ from the project fixtures (tests/fixtures/chromium/*/)
# and, when present, the shared real corpus (../shared/data/real/, or $HOPSCOPE_REAL_DATA).
# The corpus is git-ignored: seeds never go into a tracked path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v python3 >/dev/null || { echo "seed.sh needs python3" >&2; exit 1; }
targets="rtcstats_v3 rtcstats_export rtcstats_v4 webrtc_internals getstats_snapshot native observertc jitsi_server any_format"
for t in $targets; do
    rm -rf "$here/corpus/$t"
    mkdir -p "$here/corpus/$t"
done
python3 "$here/seed.py"
