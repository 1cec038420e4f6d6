#!/usr/bin/env python3
"""Builds fuzz/corpus/<target>/ seeds from the project fixtures and the shared real corpus.

Run through seed.sh. Large inputs are cut to a few KB, keeping their structure valid:
stats reports keep a handful of objects (one per stats type, the same ids on every
line so delta compression stays meaningful), long strings (SDP, certificates) are
shortened, column-store series keep their last few points, and line dumps keep their
first events and first few stats lines. A few small files are copied whole.
"""

import gzip
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "chromium")
REAL = os.environ.get("HOPSCOPE_REAL_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data", "real"))
OUT = os.path.join(ROOT, "fuzz", "corpus")
RTCSTATS_RS = os.path.join(ROOT, "engine", "hopscope-ingest", "src", "formats", "rtcstats.rs")

BUDGET = 6 * 1024  # bytes per cut seed (soft)
MAX_FIELDS = 25  # fields kept per stats object
MAX_STRING = 160  # longer strings are cut (SDP, certificates)
MAX_OBJECTS = 9  # stats objects kept per report
TYPE_ORDER = [
    "inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "candidate-pair", "transport",
    "local-candidate", "remote-candidate", "codec", "remote-outbound-rtp", "media-source",
    "track", "ssrc", "googCandidatePair", "localcandidate", "remotecandidate", "VideoBwe",
    "googComponent", "data-channel", "peer-connection", "media-playout", "certificate",
]

EXPORT_PREFIX = b'RTCStatsDump\n{"fileFormat":3}\n'
V4_PREFIX = b'RTCStatsDump\n{"clientProtocol":"rtcstats#4.0"}\n'
SEPARATOR = b"\n--8<--\n"  # any_format: files in one input


def dumps(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def shrink(v, depth=0):
    """Shortens long strings and long arrays; keeps the structure."""
    if isinstance(v, str):
        return v if len(v) <= MAX_STRING else v[:MAX_STRING]
    if isinstance(v, list):
        return [shrink(x, depth + 1) for x in v[:12]]
    if isinstance(v, dict):
        return {k: shrink(x, depth + 1) for k, x in list(v.items())[:MAX_FIELDS]}
    return v


def stat_type(stat):
    if isinstance(stat, dict):
        t = stat.get("type")
        return t if isinstance(t, str) else None
    return None


def pick_ids(report):
    """Up to MAX_OBJECTS ids of a {id: stat} report, one per type, in TYPE_ORDER first."""
    by_type = {}
    for sid, stat in report.items():
        t = stat_type(stat)
        if t is not None:
            by_type.setdefault(t, []).append(sid)
    keep = []
    for t in TYPE_ORDER + sorted(by_type):
        ids = by_type.get(t, [])
        # Two of the media types (audio and video), one of the rest.
        n = 2 if t in ("inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "ssrc") else 1
        for sid in ids[:n]:
            if sid not in keep:
                keep.append(sid)
    # Objects without a type in the first line (v3 deltas start full, but be safe).
    for sid in report:
        if sid not in keep and stat_type(report[sid]) is None and sid != "timestamp":
            keep.append(sid)
            break
    return keep[:MAX_OBJECTS]


def cut_report(report, keep):
    out = {}
    for k, v in report.items():
        if k in keep:
            if isinstance(v, dict):
                v = dict(list(v.items())[:MAX_FIELDS])
            out[k] = shrink(v)
        elif not isinstance(v, (dict, list)):
            out[k] = v  # top-level timestamp
    return out


def cut_lines(lines, stats_of, set_stats, max_events=20, max_stats=3, budget=BUDGET):
    """Line dumps: first events and first stats lines per peer connection, reports cut
    to the same ids on every line."""
    kept_ids = {}
    stats_count = {}
    events = 0
    out = []
    size = 0
    for line in lines:
        s = line.strip()
        if not s:
            continue
        try:
            v = json.loads(s)
        except ValueError:
            if len(s) < 200:
                out.append(s)
            continue
        got = stats_of(v)
        if got is not None:
            pc, report = got
            if stats_count.get(pc, 0) >= max_stats:
                continue
            stats_count[pc] = stats_count.get(pc, 0) + 1
            if isinstance(report, dict):
                if pc not in kept_ids:
                    kept_ids[pc] = pick_ids(report)
                v = set_stats(v, cut_report(report, kept_ids[pc]))
            elif isinstance(report, list):
                v = set_stats(v, shrink(report[:MAX_OBJECTS]))
            text = dumps(v)
        else:
            if events >= max_events:
                continue
            events += 1
            text = dumps(shrink(v))
        out.append(text)
        size += len(text) + 1
        if size > budget and stats_count:
            break
    return "\n".join(out) + "\n"


# ---- rtcstats v3 -----------------------------------------------------------------------


def v3_stats(v):
    if isinstance(v, list) and len(v) >= 3 and isinstance(v[0], str) and v[0].lower() == "getstats":
        return (str(v[1]), v[2])
    return None


def v3_set(v, report):
    v = list(v)
    v[2] = report
    return v


def export_stats(v):
    if isinstance(v, list) and len(v) >= 3 and v[0] == "getStats":
        return (str(v[1]), v[2])
    return None


def seeds_rtcstats(fixture_files, real_files):
    seeds = {}
    for path in fixture_files:
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        seeds[name] = cut_lines(read(path).split("\n"), v3_stats, v3_set)
    for path in real_files:
        seeds[os.path.basename(path)] = cut_lines(read(path).split("\n"), v3_stats, v3_set)
    return seeds


# ---- Chrome RTCStatsDump export and rtcstats v4 -----------------------------------------


def export_body(path):
    """The export file without its two header lines, cut."""
    lines = read(path).split("\n")
    return cut_lines(lines[2:], export_stats, v3_set)


def v4_tables():
    """Reverse tables (name → id) from the engine's rtcstats v4 tables."""
    src = read(RTCSTATS_RS)

    def table(fn):
        body = src.split(f"fn {fn}(", 1)[1].split("_ => return None", 1)[0]
        return body

    methods = {}
    for ids, name in re.findall(r'((?:"\w+"\s*\|\s*)*"\w+")\s*=>\s*"([^"]+)"', table("v4_method")):
        first = re.findall(r'"(\w+)"', ids)[0]
        methods.setdefault(name, first)
    types = {name: int(i) for i, name in re.findall(r"(\d+)\s*=>\s*\"([^\"]+)\"", table("v4_stats_type"))}
    props = {name: i for i, name in re.findall(r"(\d+)\s*=>\s*\"([^\"]+)\"", table("v4_property"))}
    return methods, types, props


def to_v4(body, tables):
    """Rewrites an export body as rtcstats v4: numeric methods, compressed keys, getStats
    as deltas (absent id = unchanged, null = removed, `t` = report time)."""
    methods, types, props = tables
    prev = {}
    out = []
    for line in body.split("\n"):
        if not line.strip():
            continue
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if not isinstance(v, list) or not v or not isinstance(v[0], str):
            continue
        method = v[0]
        if method == "getStats" and len(v) >= 3 and isinstance(v[2], dict):
            pc = str(v[1])
            old = prev.setdefault(pc, {})
            delta = {}
            t = None
            for sid, stat in v[2].items():
                if not isinstance(stat, dict):
                    continue
                c = {}
                for k, x in stat.items():
                    if k == "id":
                        continue
                    if k == "timestamp":
                        t = x if t is None else max(t, x)
                        continue
                    if k == "type" and x in types:
                        c["type"] = types[x]
                        continue
                    c[props.get(k, k)] = x
                before = old.get(sid, {})
                changed = {k: x for k, x in c.items() if before.get(k) != x}
                if changed:
                    delta[sid] = changed
                old[sid] = c
            for sid in list(old):
                if sid not in v[2]:
                    delta[sid] = None
                    del old[sid]
            if t is not None:
                delta["t"] = t
            v = [methods.get("getStats", "1"), v[1], delta] + v[3:]
        elif method in methods:
            v = [int(methods[method]) if methods[method].isdigit() else methods[method]] + v[1:]
        out.append(dumps(v))
    return "\n".join(out) + "\n"


# ---- webrtc-internals and processed rtcstats ------------------------------------------------


def cut_series(values_text, n=4):
    try:
        values = json.loads(values_text)
    except ValueError:
        return values_text[:MAX_STRING]
    if isinstance(values, list):
        values = [shrink(x) for x in values[-n:]]
    return dumps(values)


INTERNALS_METRICS = {
    "timestamp", "type", "kind", "ssrc", "packetsReceived", "packetsLost", "bytesReceived", "bytesSent",
    "packetsSent", "jitter", "framesPerSecond", "freezeCount", "currentRoundTripTime", "roundTripTime",
    "state", "nominated", "localCandidateId", "remoteCandidateId", "candidateType", "protocol",
    "relayProtocol", "selectedCandidatePairId", "iceState", "dtlsState", "qualityLimitationReason",
    "availableOutgoingBitrate", "transportId", "codecId", "mimeType", "address", "port", "url",
}


def cut_internals(doc, max_pcs=2, max_log=10, max_ids=6):
    out = {}
    for k, v in doc.items():
        if k == "PeerConnections" and isinstance(v, dict):
            pcs = {}
            for key, pc in list(v.items())[:max_pcs]:
                if not isinstance(pc, dict):
                    continue
                p = {}
                for pk, pv in pc.items():
                    if pk == "updateLog" and isinstance(pv, list):
                        p[pk] = [shrink(e) for e in pv[:max_log]]
                    elif pk == "stats" and isinstance(pv, dict):
                        # Group series by stats id (split on the last '-'), keep a few ids
                        # of distinct types, all their series, last few points each.
                        groups = {}
                        for sk, sv in pv.items():
                            sid = sk.rsplit("-", 1)[0] if "-" in sk else sk
                            groups.setdefault(sid, {})[sk] = sv
                        types = {}
                        for sid, series in groups.items():
                            t = None
                            for sv in series.values():
                                if isinstance(sv, dict) and isinstance(sv.get("statsType"), str):
                                    t = sv["statsType"]
                                    break
                            tk = sid.rsplit("-", 1)[0] if "-" in sid else sid
                            t = t or series.get(sid + "-type", {}).get("values", tk)
                            types.setdefault(t, []).append(sid)
                        keep = []
                        for t in TYPE_ORDER + sorted(types, key=str):
                            for sid in types.get(t, [])[:1]:
                                if sid not in keep:
                                    keep.append(sid)
                        keep = keep[:max_ids]
                        stats = {}
                        for sid in keep:
                            series = list(groups[sid].items())
                            metric = lambda sk: sk.rsplit("-", 1)[-1]
                            series = [x for x in series if metric(x[0]) in INTERNALS_METRICS][:7] + [
                                x for x in series if metric(x[0]) not in INTERNALS_METRICS][:1]
                            for sk, sv in series:
                                if isinstance(sv, dict) and isinstance(sv.get("values"), str):
                                    sv = dict(sv)
                                    sv["values"] = cut_series(sv["values"])
                                stats[sk] = sv
                        p[pk] = stats
                    else:
                        p[pk] = shrink(pv)
                pcs[key] = p
            out[k] = pcs
        elif k == "peerConnections" and isinstance(v, dict):
            pcs = {}
            for key, entries in list(v.items())[:max_pcs]:
                kept = []
                ids = None
                stats = 0
                for e in entries if isinstance(entries, list) else []:
                    if isinstance(e, dict) and e.get("type") == "getStats" and isinstance(e.get("value"), dict):
                        if stats >= 3:
                            continue
                        stats += 1
                        if ids is None:
                            ids = pick_ids(e["value"])
                        e = dict(e)
                        e["value"] = cut_report(e["value"], ids)
                        kept.append(e)
                    elif len(kept) - stats < max_log:
                        kept.append(shrink(e))
                pcs[key] = kept
            out[k] = pcs
        elif k == "getUserMedia" and isinstance(v, list):
            out[k] = [shrink(e) for e in v[:4]]
        else:
            out[k] = shrink(v)
    return out


# ---- getStats snapshots ---------------------------------------------------------------------


def snapshot_shapes(report):
    """The four shapes ReportSeed reads, from one {id: stat} report."""
    objs = {}
    for sid, stat in report.items():
        if isinstance(stat, dict):
            s = dict(stat)
            s.setdefault("id", sid)
            objs[sid] = s
    return {
        "map": dumps(objs),
        "array": dumps(list(objs.values())),
        "pairs": dumps([[k, v] for k, v in objs.items()]),
        "keyvalue": dumps([{"key": k, "value": v} for k, v in objs.items()]),
    }


# ---- native envelopes -----------------------------------------------------------------------


def native_stats(v):
    if isinstance(v, dict) and "stats" in v:
        st = v["stats"]
        if isinstance(st, list):
            st = {str(o.get("id", i)): o for i, o in enumerate(st) if isinstance(o, dict)}
            return (str(v.get("pc")), st)
        return (str(v.get("pc")), st)
    return None


def native_set(v, report):
    v = dict(v)
    if isinstance(v.get("events"), list):
        v["events"] = [shrink(e) for e in v["events"][:6]]
    objs = []
    for sid, stat in report.items():
        if isinstance(stat, dict):
            s = dict(stat)
            s.setdefault("id", sid)
            objs.append(s)
    v["stats"] = objs
    return v


# ---- Jitsi server dumps -----------------------------------------------------------------------

JVB_KEEP = {"endpoints", "timestamp", "iceTransport", "transceiver", "Packet handler stats",
            "received_bytes", "received_bitrate_mbps", "iceConnected", "iceFailed",
            "num_packets_received", "num_packets_sent", "chat_room", "members"}


def shrink_server(v, depth=0):
    if isinstance(v, dict):
        out = {}
        n = 0
        for k, x in v.items():
            important = k in JVB_KEEP or k.startswith("RTP receiver")
            if important or (n < 6 and depth < 4):
                out[k] = shrink_server(x, depth + 1)
                n += 1
            if len(out) >= 12 and depth > 0:
                break
        return out
    if isinstance(v, list):
        return [shrink_server(x, depth + 1) for x in v[:6]]
    return shrink(v)


def cut_jitsi(text, max_lines=8, budget=BUDGET):
    out = []
    size = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, dict) and isinstance(v.get("data"), str):
            try:
                inner = json.loads(v["data"])
                if isinstance(inner, dict) and isinstance(inner.get("endpoints"), dict):
                    inner["endpoints"] = dict(list(inner["endpoints"].items())[:2])
                v["data"] = dumps(shrink_server(inner))
            except ValueError:
                v["data"] = v["data"][:MAX_STRING]
        else:
            v = shrink_server(v)
        s = dumps(v)
        out.append(s)
        size += len(s)
        if len(out) >= max_lines or size > budget:
            break
    return "\n".join(out) + "\n"


# ---- main -----------------------------------------------------------------------------------


def fixture_files(suffix):
    out = []
    if os.path.isdir(FIXTURES):
        for scenario in sorted(os.listdir(FIXTURES)):
            d = os.path.join(FIXTURES, scenario)
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(suffix)]
    return out


def real(*parts):
    p = os.path.join(REAL, *parts)
    return p if os.path.exists(p) else None


def main():
    have_real = os.path.isdir(REAL)
    any_seeds = {}

    # rtcstats v3
    client_dumps = []
    server_dumps = []
    if have_real:
        d = os.path.join(REAL, "jitsi-rtcstats-server")
        for f in sorted(os.listdir(d)):
            if f == "LICENSE":
                continue
            (server_dumps if f.endswith("-sample") else client_dumps).append(os.path.join(d, f))
    v3 = seeds_rtcstats(fixture_files(".rtcstats"), client_dumps)
    if real("rtcstats-rtcstats", "gumonly.jsonl"):
        v3["gumonly.jsonl"] = read(real("rtcstats-rtcstats", "gumonly.jsonl"))  # complete
    for name, data in v3.items():
        write("rtcstats_v3", name, data)
    any_seeds["v3-p2p-lossy-alice"] = v3.get("p2p-lossy-alice.rtcstats")
    any_seeds["v3-p2p-lossy-bob"] = v3.get("p2p-lossy-bob.rtcstats")
    any_seeds["v3-safari-relay"] = v3.get("safari-relay")

    # Chrome export, and v4 converted from it
    tables = v4_tables()
    for path in fixture_files(".chrome-rtcstats.txt"):
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        body = export_body(path)
        write("rtcstats_export", name, body)
        write("rtcstats_v4", name.replace(".chrome-rtcstats.txt", ".v4"), to_v4(body, tables))
        if "p2p-turn-tcp-alice" in name:
            any_seeds["export-p2p-turn-tcp-alice"] = EXPORT_PREFIX + body.encode()
            any_seeds["v4-p2p-turn-tcp-alice"] = V4_PREFIX + to_v4(body, tables).encode()
    # Small hand-written v4 dumps.
    write("rtcstats_v4", "minimal.v4", "\n".join([
        '[39,null,{"userAgent":"Mozilla/5.0 Chrome/140.0.0.0","hardwareConcurrency":8},1756000000000]',
        '[39,"1",{"iceServers":[]},1]',
        '[24,"1","checking",5]',
        '["g","1",{"IT01V1":{"type":1,"11":"video","10":1234,"14":100,"15":2,"16":0.01,"t":1756000001000},'
        '"CP1":{"type":6,"148":"L1","149":"R1","150":true,"152":0.05},"L1":{"type":7,"136":"relay","116":"udp"},'
        '"R1":{"type":8,"136":"srflx"},"T1":{"type":5,"125":"CP1","124":"connected"},"t":1756000001000},1000]',
        '[1,"1",{"IT01V1":{"14":150,"15":9},"L1":null,"t":1756000002000},1000]',
        '[25,"1","failed",10]',
        '[36,"1",null,2]',
    ]) + "\n")

    # webrtc-internals (and processed rtcstats JSON)
    for path in fixture_files(".webrtc-internals.json"):
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        doc = json.loads(read(path))
        cut = dumps(cut_internals(doc))
        write("webrtc_internals", name, cut)
        if "p2p-lossy-alice" in name:
            any_seeds["internals-p2p-lossy-alice"] = cut
    if real("jitsi-rtcstats-server-processed", "clienttest.json"):
        doc = json.loads(read(real("jitsi-rtcstats-server-processed", "clienttest.json")))
        cut = dumps(cut_internals(doc))
        write("webrtc_internals", "clienttest-processed.json", cut)
        any_seeds["processed-clienttest"] = cut
    write("webrtc_internals", "minimal.json",
          '{"getUserMedia":[],"PeerConnections":{"1-1":{"url":"https://x","updateLog":[],"stats":{'
          '"T1-timestamp":{"startTime":"2025-01-01T00:00:00Z","endTime":"2025-01-01T00:00:02Z",'
          '"statsType":"transport","values":"[1735689600000,1735689601000,1735689602000]"},'
          '"T1-bytesReceived":{"startTime":"2025-01-01T00:00:00Z","endTime":"2025-01-01T00:00:02Z",'
          '"statsType":"transport","values":"[1,2,3]"}}}},"UserAgent":"Mozilla/5.0"}')

    # getStats snapshots: real files whole, plus the four shapes of one fixture report
    if have_real:
        for folder in ["dolbyio-web-webrtc-stats", "mypurecloud-webrtc-stats-gatherer", "skyway-rtcstats-wrapper"]:
            d = os.path.join(REAL, folder)
            for f in sorted(os.listdir(d)):
                if f.endswith(".json"):
                    data = read(os.path.join(d, f))
                    write("getstats_snapshot", f"{folder}-{f}", data)
                    if f == "firefox-67.0.4.json":
                        any_seeds["snapshot-firefox-67"] = data
    for path in fixture_files(".chrome-rtcstats.txt")[:2]:
        for line in read(path).split("\n"):
            got = export_stats(json.loads(line)) if line.startswith('["getStats"') else None
            if got and isinstance(got[1], dict) and len(got[1]) > 5:
                report = cut_report(got[1], pick_ids(got[1]))
                tag = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path).split(".")[0]
                for shape, data in snapshot_shapes(report).items():
                    write("getstats_snapshot", f"{tag}-{shape}.json", data)
                break

    # native envelopes
    for path in fixture_files(".hopscope.ndjson"):
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        cut = cut_lines(read(path).split("\n"), native_stats, native_set, max_events=8, max_stats=3)
        write("native", name, cut)
        if "p2p-direct" in name:
            lines = [json.loads(l) for l in cut.split("\n") if l.strip()]
            write("native", name.replace(".ndjson", ".array.json"), dumps(lines[:6]))
            any_seeds["native-" + os.path.basename(path)] = cut
    write("native", "minimal.ndjson", "\n".join([
        '{"v":1,"app":"demo","conference":"c1","participant":"alice","source":"endpoint","timestamp":1756000000000,'
        '"client":{"userAgent":"Mozilla/5.0 Firefox/140.0","sdk":"x/1"},"pc":"pc-1","remote":"sfu",'
        '"events":[{"type":"iceconnectionstatechange","value":"checking"}]}',
        '{"v":1,"conference":"c1","participant":"alice","pc":"pc-1","timestamp":1756000001000,"stats":['
        '{"id":"IT1","type":"inbound-rtp","kind":"audio","ssrc":1,"packetsReceived":50,"packetsLost":1,'
        '"timestamp":1756000001000},{"id":"CP1","type":"candidate-pair","state":"succeeded","nominated":true,'
        '"currentRoundTripTime":0.04,"timestamp":1756000001000}]}',
        '{"v":1,"conference":"c1","participant":"bob","source":"endpoint","timestamp":1756000001500,'
        '"events":[{"timestamp":1756000001400,"type":"getUserMediaOnFailure","value":"NotAllowedError"}]}',
    ]) + "\n")

    # ObserveRTC
    if real("observertc-schemas", "stream.golden.json"):
        doc = json.loads(read(real("observertc-schemas", "stream.golden.json")))
        doc.pop("byteLengths", None)
        msgs = doc.get("messages", [])
        write("observertc", "stream.golden.json", dumps(doc))  # complete (24 KB pretty, less compact)
        small = dict(doc)
        small["messages"] = msgs[:3]
        write("observertc", "stream-3.json", dumps(small))
        write("observertc", "stream-array.json", dumps(msgs[:2]))
        if msgs:
            write("observertc", "one-sample.json", dumps(dict(msgs[0], clientId="client-42")))
        any_seeds["observertc-stream-3"] = dumps(small)
    write("observertc", "minimal.json",
          '{"clientId":"c","callId":"k","timestamp":1756000000000,"peerConnections":[{"peerConnectionId":"p",'
          '"inboundRtps":[{"ssrc":1,"kind":"video","packetsReceived":10,"packetsLost":1}],'
          '"iceCandidatePairs":[{"id":"CP","state":"succeeded","nominated":true,"currentRoundTripTime":0.1}]}],'
          '"clientEvents":[{"type":"ICE_CONNECTION_STATE_CHANGED","payload":"failed"}]}')

    # Jitsi server dumps
    for path in server_dumps:
        name = os.path.basename(path)
        data = read(path)
        cut = data if len(data) < 2048 else cut_jitsi(data)
        write("jitsi_server", name, cut)
        if name == "jvb-sample":
            write("jitsi_server", "jvb-sample-short", cut_jitsi(data, max_lines=4, budget=4096))
            any_seeds["jitsi-jvb"] = cut
    write("jitsi_server", "minimal-jvb",
          '{"statsSessionId":"s","type":"identity","data":{"applicationName":"JVB","displayName":"jvb-1",'
          '"meetingUniqueId":"m1","confName":"room","endpoints":["e1"]}}\n'
          '{"statsSessionId":"s","type":"stats-entry","data":"{\\"timestamp\\":1756000000000,\\"endpoints\\":'
          '{\\"e1\\":{\\"iceTransport\\":{\\"iceConnected\\":true,\\"num_packets_received\\":10},'
          '\\"transceiver\\":{\\"RTP receiver e1\\":{\\"Packet handler stats\\":{\\"received_bytes\\":1000,'
          '\\"received_bitrate_mbps\\":0.5}}}}}}"}\n')

    # any_format: a few seeds of every format, gzip, and joined multi-file inputs
    for name, data in any_seeds.items():
        if data is None:
            continue
        if isinstance(data, str):
            data = data.encode()
        write("any_format", name, data)
    if real("rtcstats-rtcstats", "gumonly.gz"):
        with open(real("rtcstats-rtcstats", "gumonly.gz"), "rb") as f:
            write("any_format", "gumonly.gz", f.read())
    for name in ["v3-p2p-lossy-alice", "internals-p2p-lossy-alice"]:
        if any_seeds.get(name):
            data = any_seeds[name]
            data = data.encode() if isinstance(data, str) else data
            write("any_format", name + ".gz", gzip.compress(data, mtime=0))
    pairs = [("v3-p2p-lossy-alice", "v3-p2p-lossy-bob"), ("v3-safari-relay", "jitsi-jvb"),
             ("export-p2p-turn-tcp-alice", "native-bob.hopscope.ndjson"),
             ("snapshot-firefox-67", "snapshot-firefox-67")]
    for a, b in pairs:
        if any_seeds.get(a) and any_seeds.get(b):
            da, db = (x.encode() if isinstance(x, str) else x for x in (any_seeds[a], any_seeds[b]))
            write("any_format", f"join-{a}+{b}", da + SEPARATOR + db)

    total = 0
    for target in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, target))
        size = sum(os.path.getsize(os.path.join(OUT, target, f)) for f in files)
        total += len(files)
        print(f"{target:18} {len(files):3} seeds {size // 1024:5} KiB")
    if not have_real:
        print(f"note: {REAL} not found; seeds from the project fixtures only", file=sys.stderr)


if __name__ == "__main__":
    main()
