"""The operator's platform in the tests: receives cmkctl's notices and checks each with the Standard
Webhooks reference library (the `standardwebhooks` package), as an operator's platform would.

Usage: webhook_receiver.py SECRET_FILE LOG_FILE [--fail-first N]
Prints the port it listens on (127.0.0.1) on its first line, then serves until killed. Every request
is appended to LOG_FILE as one JSON line: {"verified": bool, "id", "type", "body"}. With --fail-first N
the first N requests are answered 503 (and logged), to exercise retries.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

secret = open(sys.argv[1]).read().strip()
log_path = sys.argv[2]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--fail-first" else 0
webhook = Webhook(secret)
seen = {"count": 0}


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            webhook.verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        seen["count"] += 1
        failing = seen["count"] <= fail_first
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        with open(log_path, "a") as log:
            log.write(json.dumps({"verified": verified, "id": headers.get("webhook-id"), "failed": failing,
                                  "type": (document or {}).get("type"), "body": document}) + "\n")
        self.send_response(503 if failing else (204 if verified else 401))
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
