"""The worked example of doc/approvals.md, recomputed independently of the
C code with Python's hmac module (tests/unit/test-approval-proto.c checks
the same example against the C code). No Dovecot needed."""

import hashlib
import hmac
import json
import os
import re

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "..", "..", "doc", "approvals.md")


def examples():
    text = open(DOC, encoding="utf-8").read()
    blocks = dict(re.findall(
        r"<!-- example: ([a-z-]+) -->\n```[a-z]*\n(.*?)\n```", text, re.S))
    assert set(blocks) == {"key", "request-body", "request-headers",
                           "response-body", "response-headers",
                           "poll-headers"}
    return blocks


def headers(block):
    first, *lines = block.split("\n")
    return first, dict(line.split(": ", 1) for line in lines)


def sign(key, *fields, body=b""):
    msg = "".join(f + "\n" for f in fields).encode() + body
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def test_request_signature():
    ex = examples()
    key = ex["key"].encode()
    assert len(key) >= 32
    body = ex["request-body"].encode()
    first, h = headers(ex["request-headers"])
    method, path, _ = first.split(" ")
    assert (method, path) == ("POST", "/v1/requests")
    assert h["Content-Type"] == "application/json"
    want = sign(key, method, h["Host"], path, h["X-Stepup-Timestamp"],
                h["X-Stepup-Nonce"], body=body)
    assert h["X-Stepup-Signature"] == "v1=1:" + want
    # the body is JSON with the members in the documented order
    doc = json.loads(body)
    assert list(doc) == ["version", "request_id", "user", "mailbox",
                         "session", "remote_ip", "protocol", "client",
                         "rule", "auth", "binding_code", "created",
                         "expires"]
    assert doc["created"] == int(h["X-Stepup-Timestamp"])
    assert re.fullmatch(r"[0-9a-f]{32}", h["X-Stepup-Nonce"])
    # a changed byte of the body, host or path does not verify
    assert sign(key, method, h["Host"] + ":443", path,
                h["X-Stepup-Timestamp"], h["X-Stepup-Nonce"],
                body=body) != want
    assert sign(key, method, h["Host"], path, h["X-Stepup-Timestamp"],
                h["X-Stepup-Nonce"], body=body + b" ") != want


def test_response_signature():
    ex = examples()
    key = ex["key"].encode()
    _, req = headers(ex["request-headers"])
    first, h = headers(ex["response-headers"])
    assert first == "HTTP/1.1 200 OK"
    body = ex["response-body"].encode()
    want = sign(key, "RESPONSE", req["X-Stepup-Nonce"],
                h["X-Stepup-Timestamp"], body=body)
    assert h["X-Stepup-Signature"] == "v1=1:" + want
    doc = json.loads(body)
    assert doc["nonce"] == req["X-Stepup-Nonce"]
    assert doc["request_id"] == json.loads(ex["request-body"])["request_id"]
    assert doc["decision"] == "approved"
    skew = int(h["X-Stepup-Timestamp"]) - int(req["X-Stepup-Timestamp"])
    assert abs(skew) <= 300


def test_poll_signature():
    ex = examples()
    key = ex["key"].encode()
    request_id = json.loads(ex["request-body"])["request_id"]
    first, h = headers(ex["poll-headers"])
    method, path, _ = first.split(" ")
    assert (method, path) == ("GET", "/v1/requests/" + request_id)
    assert "Content-Type" not in h
    want = sign(key, method, h["Host"], path, h["X-Stepup-Timestamp"],
                h["X-Stepup-Nonce"])
    assert h["X-Stepup-Signature"] == "v1=1:" + want
