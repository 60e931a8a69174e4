"""Test peer: a KMS-shaped HTTP server on loopback that answers from a script, to exercise the
client's retry rules (throttling and 5xx retried, other errors not) over real HTTP.

    kms_flaky_server.py STEP[,STEP...]

Prints its port, then answers request n with STEP n (and `ok` after the script ends), printing one line
per request answered (`n STEP X-Amz-Target`), so a test can count the client's attempts:
`ok` (DescribeKey-shaped JSON with the attempt count), `throttle` (400 ThrottlingException),
`500` (500 KMSInternalException), `503` (503 without a body), `invalid` (400 ValidationException),
`deny` (403 with an XML AccessDenied body).
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SCRIPT = sys.argv[1].split(",") if len(sys.argv) > 1 else []
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        step = SCRIPT[COUNT[0]] if COUNT[0] < len(SCRIPT) else "ok"
        COUNT[0] += 1
        if step == "ok":
            meta = {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "KeyState": "Enabled",
                    "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Description": str(COUNT[0])}
            self.answer(200, json.dumps({"KeyMetadata": meta}), "application/x-amz-json-1.1")
        elif step == "throttle":
            self.answer(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}), "application/x-amz-json-1.1")
        elif step == "500":
            self.answer(500, json.dumps({"__type": "KMSInternalException", "message": "internal"}), "application/x-amz-json-1.1")
        elif step == "503":
            self.answer(503, "", "text/plain")
        elif step == "invalid":
            self.answer(400, json.dumps({"__type": "ValidationException", "message": "bad"}), "application/x-amz-json-1.1")
        elif step == "deny":
            body = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>denied by gateway</Message></Error></ErrorResponse>"
            self.answer(403, body, "text/xml")
        print(COUNT[0], step, self.headers.get("X-Amz-Target", ""), flush=True)

    def answer(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
