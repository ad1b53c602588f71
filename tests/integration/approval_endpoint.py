"""A real HTTPS approval endpoint on 127.0.0.1 for the integration tests
(SPEC "Approval endpoint — protocol version 1").

It makes a throw-away CA with openssl, a server certificate for 127.0.0.1
signed by it (and, for the faults, one for another host and one with a key
that is not pinned), verifies every request's signature itself with
Python's hmac (never with the plugin's code), records what it received, and
answers in the mode the test sets:

  approve, deny, pending (forever), pending_then_approve (after `delay`
  seconds), status429 / status503 (with Retry-After, then `then` if set),
  slow (sleeps `slow_secs`), redirect, status500, malformed, big (65 KiB),
  bad_signature, unknown_key, wrong_nonce, stale_timestamp, replay (an
  earlier response again), wrong_host, unpinned; unstored503 (as the
  reference service answers when it cannot store a request: the first POST
  of each request_id gets 503 and is not kept, a GET of a request_id it
  does not keep gets 404, later POSTs are kept and answered by `then`,
  default approve).

Like the reference service, it keeps the first POST of each request_id: a
later POST of that request_id naming another user, folder, session, rule
or binding code gets 409.

Run as a program it serves until killed (the demo):
  approval_endpoint.py DIR PORT KEYFILE [MODE [DELAY]]
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import socketserver
import ssl
import subprocess
import sys
import threading
import time


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_ca(d):
    """CA, the server certificate (127.0.0.1), one for another host and
    one for 127.0.0.1 with a different key (not pinned). Returns the pin
    (sha256//BASE64) of the server's key."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=stepup test CA", "-keyout", "ca.key",
             "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, san in (("server", "IP:127.0.0.1,DNS:localhost"),
                      ("other", "DNS:other.example"),
                      ("unpinned", "IP:127.0.0.1,DNS:localhost")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj",
                 "/CN=" + name, "-keyout", name + ".key", "-out",
                 name + ".csr", cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" % san)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                 "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)
    os.chmod(os.path.join(d, "ca.pem"), 0o644)
    return pin_of(os.path.join(d, "server.key"))


def pin_of(key_path):
    der = subprocess.run(["openssl", "pkey", "-in", key_path, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def sign_request(key, method, host, path, ts, nonce, body):
    msg = ("%s\n%s\n%s\n%s\n%s\n" % (method, host, path, ts, nonce)).encode()
    return hmac.new(key, msg + body, hashlib.sha256).hexdigest()


def sign_response(key, nonce, ts, body):
    msg = ("RESPONSE\n%s\n%s\n" % (nonce, ts)).encode()
    return hmac.new(key, msg + body, hashlib.sha256).hexdigest()


class Received:
    """One request as it reached the endpoint."""

    def __init__(self, method, path, headers, body, host):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.host = host
        self.time = time.time()
        self.sig_ok = False
        self.key_id = None
        self.json = None
        self.json_error = None

    def __repr__(self):
        return "<%s %s sig_ok=%s key=%s>" % (self.method, self.path,
                                             self.sig_ok, self.key_id)


class Endpoint:
    def __init__(self, directory, keys, port=0, path="/v1/requests"):
        """keys: {id: secret bytes}, the first signs responses."""
        self.dir = directory
        self.keys = dict(keys)
        self.sign_key_id = next(iter(self.keys))
        self.path = path
        self.pin = make_ca(directory)
        self.ca_file = os.path.join(directory, "ca.pem")
        self.lock = threading.Lock()
        self.requests = []
        # the last approval sent (mode replay sends it again)
        self.last_response = None
        self.set_mode("approve")
        self.contexts = {}
        for name in ("server", "other", "unpinned"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(directory, name + ".pem"),
                                os.path.join(directory, name + ".key"))
            self.contexts[name] = ctx
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.endpoint = self
        self.port = self.server.server_address[1]
        self.url = "https://127.0.0.1:%d%s" % (self.port, path)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- what the test sets
    def set_mode(self, mode, delay=2.0, message="Denied by the test",
                 ttl=None, then=None, slow_secs=10, retry_after="1",
                 approver="boss@example.org", reason="approved by the test"):
        with self.lock:
            self.mode = mode
            self.delay = delay
            self.message = message
            self.ttl = ttl
            self.then = then
            self.slow_secs = slow_secs
            self.retry_after = retry_after
            self.approver = approver
            self.reason = reason
            self.first_seen = {}
            self.calls = 0
            # request_id -> the first POST's body kept (dict)
            self.stored = {}

    def reset(self, mode="approve", **kw):
        with self.lock:
            self.requests = []
            self.sign_key_id = next(iter(self.keys))
        self.set_mode(mode, **kw)

    def posts(self):
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def gets(self):
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]

    def wait_requests(self, n, timeout=10, method="POST"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.posts() if method == "POST" else self.gets()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.posts() if method == "POST" else self.gets()

    # -- answering
    def context_for_mode(self):
        return self.contexts[{"wrong_host": "other",
                              "unpinned": "unpinned"}.get(self.mode,
                                                          "server")]

    def verify(self, rec):
        """The request's signature, checked independently."""
        sig = rec.headers.get("X-Stepup-Signature", "")
        ts = rec.headers.get("X-Stepup-Timestamp", "")
        nonce = rec.headers.get("X-Stepup-Nonce", "")
        if not sig.startswith("v1=") or ":" not in sig:
            return
        kid, hexsig = sig[3:].split(":", 1)
        key = self.keys.get(kid)
        if key is None:
            return
        rec.key_id = kid
        want = sign_request(key, rec.method, rec.host, rec.path, ts, nonce,
                            rec.body)
        try:
            skew = abs(int(ts) - time.time())
        except ValueError:
            return
        rec.sig_ok = hmac.compare_digest(want, hexsig) and skew <= 300 and \
            len(nonce) == 32

    def request_id_of(self, rec):
        if rec.method == "POST":
            try:
                return json.loads(rec.body).get("request_id", "")
            except (ValueError, AttributeError):
                return ""
        return rec.path.rsplit("/", 1)[-1]

    SAME_FIELDS = ("user", "mailbox", "session", "rule", "binding_code")

    def keep(self, rec, rid):
        """None, or the answer of a request_id the endpoint cannot take
        (with self.lock held)."""
        if self.mode == "unstored503":
            if rec.method == "GET" and rid not in self.stored:
                return 404, {}, None
            if rec.method == "POST" and rid not in self.first_seen:
                self.first_seen[rid] = time.time()
                return 503, {}, None
        if rec.method != "POST":
            return None
        body = rec.json if isinstance(rec.json, dict) else {}
        kept = self.stored.setdefault(rid, body)
        if any(kept.get(k) != body.get(k) for k in self.SAME_FIELDS):
            return 409, {}, b'{"error":"request_id already names a ' \
                b'different request"}'
        return None

    def decide(self, rec):
        """(status, extra headers, decision dict or raw body, how to sign)"""
        with self.lock:
            self.calls += 1
            mode = self.mode
            rid = self.request_id_of(rec)
            refused = self.keep(rec, rid)
            if refused is not None:
                return refused
            if mode == "unstored503":
                mode = self.then or "approve"
            first = self.first_seen.setdefault(rid, time.time())
            if mode in ("status429", "status503") and self.then and \
               time.time() - first >= self.delay:
                mode = self.then
            if mode == "pending_then_approve":
                mode = "approve" if time.time() - first >= self.delay \
                    else "pending"
            if mode == "pending_then_deny":
                mode = "deny" if time.time() - first >= self.delay \
                    else "pending"
        if mode == "approve":
            d = {"decision": "approved", "approver": self.approver,
                 "reason": self.reason}
            if self.ttl is not None:
                d["ttl"] = self.ttl
            return 200, {}, d
        if mode == "deny":
            return 200, {}, {"decision": "denied", "message": self.message,
                             "approver": self.approver,
                             "reason": "denied by the test"}
        if mode == "expired":
            return 200, {}, {"decision": "expired"}
        if mode == "pending":
            return 200, {}, {"decision": "pending", "poll_after": 1}
        if mode == "status429":
            return 429, {"Retry-After": self.retry_after}, None
        if mode == "status503":
            return 503, {"Retry-After": self.retry_after}, None
        if mode == "slow":
            time.sleep(self.slow_secs)
            return 200, {}, {"decision": "approved"}
        if mode == "redirect":
            return 302, {"Location": self.url + "/elsewhere"}, None
        if mode == "status500":
            return 500, {}, None
        if mode == "malformed":
            return 200, {}, b'{"decision": "approved", '
        if mode == "big":
            return 200, {}, {"decision": "approved",
                             "message": "x" * (65 * 1024)}
        # the faults of signing and echo: an approval otherwise
        return 200, {}, {"decision": "approved", "fault": mode}

    def respond(self, handler, rec):
        status, headers, d = self.decide(rec)
        nonce = rec.headers.get("X-Stepup-Nonce", "")
        rid = self.request_id_of(rec)
        mode = d.get("fault") if isinstance(d, dict) else None
        if isinstance(d, dict):
            d = dict(d)
            d.pop("fault", None)
            d.setdefault("request_id", rid)
            d["nonce"] = "0" * 32 if mode == "wrong_nonce" else nonce
            body = json.dumps(d).encode()
        elif d is None:
            body = b""
        else:
            body = d
        ts = str(int(time.time()) - (1000 if mode == "stale_timestamp"
                                     else 0))
        kid = self.sign_key_id
        key = self.keys[kid]
        if mode == "unknown_key":
            kid, key = "nobody-knows", b"k" * 32
        sig = sign_response(key, nonce, ts, body)
        if mode == "bad_signature":
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out = {"X-Stepup-Timestamp": ts,
               "X-Stepup-Signature": "v1=%s:%s" % (kid, sig)}
        out.update(headers)
        if mode == "replay":
            with self.lock:
                earlier = self.last_response
            if earlier is None:
                raise RuntimeError("replay: nothing to replay")
            status, out, body = earlier
        elif status == 200:
            with self.lock:
                self.last_response = (status, out, body)
        handler.send_response(status)
        for k, v in out.items():
            handler.send_header(k, v)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        # a new connection (and certificate) for every exchange
        handler.send_header("Connection", "close")
        handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(body)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # the certificate of the current mode, chosen per connection
        try:
            request.settimeout(20)
            tls = self.endpoint.context_for_mode().wrap_socket(
                request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request, client_address):
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        ep = self.server.endpoint
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        rec = Received(self.command, self.path, dict(self.headers.items()),
                       body, self.headers.get("Host", ""))
        if self.command == "POST":
            try:
                rec.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                rec.json_error = str(e)
        ep.verify(rec)
        with ep.lock:
            ep.requests.append(rec)
        if not rec.sig_ok:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ep.respond(self, rec)

    def do_POST(self):
        self._handle()

    def do_GET(self):
        self._handle()


def main():
    d, port, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(keyfile, "rb") as f:
        key = f.read()
    if key.endswith(b"\n"):
        key = key[:-1]
    ep = Endpoint(d, {"1": key}, port=port)
    if len(sys.argv) > 4:
        ep.set_mode(sys.argv[4], delay=float(sys.argv[5])
                    if len(sys.argv) > 5 else 2.0)
    print(json.dumps({"url": ep.url, "ca_file": ep.ca_file, "pin": ep.pin}),
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        ep.stop()


if __name__ == "__main__":
    main()
