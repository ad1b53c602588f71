"""stepup-approval, the reference approval endpoint, against a real Dovecot:
protocol v1 over HTTPS from an independent client (Python's hmac), and
its store surviving a restart of the service."""

import secrets

import pytest

import approval_service as asvc

POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
APPROVAL
login = ( { name = "default"; require = "password"; } );
folders = (
  { name = "hr"; mailbox = "Confidentiel"; require = "approval";
    grant = "15m"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    asvc.require_service()
    port = asvc.new_port()
    inst = dovecot_factory(
        name="approval",
        policy=POLICY.replace("APPROVAL", asvc.approval_block(port)),
        extra=asvc.service_extra(port, asvc.SERVICE_ARGS),
        setup_hook=asvc.setup_files)
    inst.approval_port = port
    inst.client = asvc.Client(port, inst.approval_ca)
    inst.client.wait_up()
    return inst


def new_id():
    return secrets.token_hex(16)


def test_post_is_pending_and_verifies(dc):
    rid = new_id()
    status, doc = dc.client.post(asvc.request_body(rid))
    assert status == 200
    assert doc["decision"] == "pending"
    assert doc["request_id"] == rid
    assert doc["poll_after"] >= 1
    status, doc = dc.client.poll(rid)
    assert status == 200 and doc["decision"] == "pending"
    assert dc.wait_log("new request %s" % rid)


def test_wrongly_signed_post_refused(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    status, _ = dc.client.post(body, key=b"x" * 32)
    assert status == 401
    # signed over another body
    status, _ = dc.client.post(body, signature=dc.client.sign(
        "POST", "/v1/requests", 0, "0" * 32, b"{}"))
    assert status == 401
    # nothing was stored: a poll does not know it
    status, _ = dc.client.poll(rid)
    assert status == 404
    assert dc.wait_log("refused: bad signature")


def test_replayed_nonce_refused(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    nonce = secrets.token_hex(16)
    status, _ = dc.client.post(body, nonce=nonce)
    assert status == 200
    # the very same signed bytes again
    status, data = dc.client.post(body, nonce=nonce)
    assert status == 409 and b"replayed nonce" in data


def test_stale_timestamp_refused(dc):
    import time
    status, _ = dc.client.post(asvc.request_body(new_id()),
                               ts=int(time.time()) - 400)
    assert status == 401


def test_retried_post_is_the_same_request(dc):
    rid = new_id()
    body = asvc.request_body(rid)
    assert dc.client.post(body)[0] == 200
    status, doc = dc.client.post(body)
    assert status == 200
    assert doc["request_id"] == rid and doc["decision"] == "pending"
    # the same id for another request
    status, _ = dc.client.post(asvc.request_body(rid, mailbox="Other"))
    assert status == 409


def test_malformed_request_refused(dc):
    body = b'{"version":1,"request_id":"nothex","user":"alice"}'
    status, _ = dc.client.post(body)
    assert status == 400


def test_pending_request_survives_restart(dc):
    rid = new_id()
    assert dc.client.post(asvc.request_body(rid))[0] == 200
    asvc.restart_service(dc)
    dc.client.wait_up()
    status, doc = dc.client.poll(rid)
    assert status == 200
    assert doc["decision"] == "pending" and doc["request_id"] == rid
