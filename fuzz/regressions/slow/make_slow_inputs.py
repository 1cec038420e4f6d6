#!/usr/bin/env python3
"""Writes inputs (each within the 1 MiB `max_input_bytes` the targets use) on which one
run of the pipeline takes far longer than the targets' 10 s timeout, or close to it.

They were found by probing sizes the fuzzer does not reach on its own (its inputs stay near
the seed sizes, a few KB): the costs are super-linear in the number of distinct ids,
names, participants or stream×tick pairs, so they only show with large inputs. They are
generated rather than stored because they do not compress to a small file.

    python3 fuzz/regressions/slow/make_slow_inputs.py           # → fuzz/artifacts/slow/<target>/<name>
    B=fuzz/target/x86_64-unknown-linux-gnu/release
    $B/observertc   -timeout=10 fuzz/artifacts/slow/observertc/many-ids.json
    $B/jitsi_server -timeout=10 fuzz/artifacts/slow/jitsi_server/many-endpoint-names.log
    $B/native       -timeout=10 fuzz/artifacts/slow/native/many-participants.ndjson
    $B/native       -timeout=10 fuzz/artifacts/slow/native/streams-x-ticks.ndjson

`--scale 0.25` makes each one smaller, to watch the growth without waiting.
"""

import argparse
import os

LIMIT = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "artifacts", "slow")
T0 = 1756000000000


def fill(make, budget):
    """Largest n with len(make(n)) <= budget (make is monotonic)."""
    lo, hi = 1, 1
    while len(make(hi)) <= budget:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(make(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def observertc_ids(n):
    # formats/observertc.rs: each stats object looks its key up with a linear
    # `objects.iter().position(..)` → O(ids²).
    objs = ",".join('{"id":"%x"}' % i for i in range(n))
    return ('{"clientId":"c","timestamp":%d,"peerConnections":[{"peerConnectionId":"p","codecs":[%s]}]}'
            % (T0, objs))


def jitsi_names(n):
    # formats/jitsi_server.rs: identity `endpoints` are deduplicated with a linear
    # `endpoint_names.iter().any(..)` → O(names²).
    names = ",".join('"%x"' % i for i in range(n))
    return ('{"statsSessionId":"s","type":"identity","data":{"applicationName":"JVB","endpoints":[%s]}}\n'
            % names)


def native_participants(n):
    # join.rs `assemble`: every pair of participants is compared (key sets, then SSRC
    # and candidate sets rebuilt per pair) → O(participants²).
    return "\n".join('{"v":1,"participant":"%x","events":[{"timestamp":%d,"type":"x"}]}' % (i, T0)
                     for i in range(n)) + "\n"


def streams_ticks(n):
    # hopscope-rules (diagnose): every rule is evaluated for every stream at every tick; a
    # 1 s stats interval and a 20 000 s span give 20 000 ticks (MAX_TICKS) → O(streams × ticks).
    def env(t, k):
        objs = ",".join(
            '{"id":"I%x","type":"inbound-rtp","kind":"%s","ssrc":%d,"packetsReceived":%d,'
            '"packetsLost":%d,"jitter":0.5,"timestamp":%d}'
            % (i, "audio" if i % 2 else "video", i, 100 * k, 30 * k, t) for i in range(n))
        return '{"v":1,"participant":"a","pc":"p","timestamp":%d,"stats":[%s]}' % (t, objs)
    return "\n".join(env(t, k + 1) for k, t in enumerate([T0, T0 + 1000, T0 + 20_000_000])) + "\n"


CASES = [
    ("observertc", "many-ids.json", observertc_ids),
    ("jitsi_server", "many-endpoint-names.log", jitsi_names),
    ("native", "many-participants.ndjson", native_participants),
    ("native", "streams-x-ticks.ndjson", streams_ticks),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the 1 MiB budget")
    args = ap.parse_args()
    for target, name, make in CASES:
        n = fill(make, int(LIMIT * args.scale))
        d = os.path.join(OUT, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write(make(n))
        print(f"{target}/{name}: n={n}, {len(make(n))} bytes")


if __name__ == "__main__":
    main()
