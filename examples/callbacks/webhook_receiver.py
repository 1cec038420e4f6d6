#!/usr/bin/env python3
"""A small hopscope webhook receiver that verifies signatures (standard library only).

    python3 examples/callbacks/webhook_receiver.py --port 9000 --secret "$HOOK_SECRET"

Point an action at it (`type: webhook, url: http://127.0.0.1:9000/hook, secret: ...`).
It prints each event's plain-English text once, and answers:
  200  accepted (or already seen: the Idempotency-Key deduplicates retries)
  401  the signature does not match the body, or the timestamp is stale (a replay)

The verification recipe, in any language:
  1. take the raw body bytes, the `Hopscope-Timestamp` header (unix seconds) and the
     `Hopscope-Signature` header (`v1=<hex>`);
  2. refuse timestamps more than 5 minutes from your clock;
  3. compute HMAC-SHA256(secret, timestamp + "." + body) and compare it with the hex in
     constant time;
  4. keep each `Idempotency-Key` once: deliveries are at least once.
"""

import argparse
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(secret: bytes, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > TOLERANCE_S or not signature.startswith("v1="):
        return False
    expected = hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature[3:])


def make_handler(secret: bytes, seen: set, out):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify(
                secret,
                self.headers.get("Hopscope-Timestamp", ""),
                self.headers.get("Hopscope-Signature", ""),
                body,
                time.time(),
            )
            if not ok:
                self.send_response(401)
                self.end_headers()
                return
            key = self.headers.get("Idempotency-Key", "")
            if key not in seen:
                seen.add(key)
                event = json.loads(body)
                print(json.dumps({"id": key, "type": event.get("type"), "text": event.get("text")}), file=out, flush=True)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.secret.encode(), set(), sys.stdout))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/hook", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
