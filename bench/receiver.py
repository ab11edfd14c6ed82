"""A webhook receiver that verifies every signature, for tests and benchmarks (also the docs' example, in short).

Run alone: ``python -m bench.receiver --port 9000 --secret <secret>`` prints one line per verified event.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from triage.services.webhooks import EVENT_HEADER, SIGNATURE_HEADER, verify_signature


class Receiver:
    """Records verified deliveries; counts rejected ones. ``start``/``stop`` simulate a receiver going down."""

    def __init__(self, secret: str, *, port: int = 0, status: int = 200) -> None:
        self.secret = secret
        self.port = port
        self.status = status
        self.events: list[dict] = []  # verified: {"id", "event", "body", "received": monotonic seconds}
        self.rejected = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = verify_signature(receiver.secret, body, self.headers.get(SIGNATURE_HEADER, ""))
                with receiver._lock:
                    if ok:
                        payload = json.loads(body)
                        receiver.events.append({"id": payload["id"], "event": self.headers.get(EVENT_HEADER),
                                                "body": payload, "received": time.monotonic()})  # fmt: skip
                    else:
                        receiver.rejected += 1
                self.send_response(receiver.status if ok else 401)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        with self._lock:
            return [e["id"] for e in self.events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    receiver = Receiver(args.secret, port=args.port).start()
    print(f"listening on {receiver.url}", flush=True)
    seen = 0
    while True:
        time.sleep(0.5)
        for event in receiver.events[seen:]:
            print(json.dumps({"event": event["event"], "id": event["id"], "ticket": event["body"]["ticket"]}), flush=True)
        seen = len(receiver.events)


if __name__ == "__main__":
    main()
