"""Approvals against a real Dovecot and a real HTTPS endpoint on 127.0.0.1
(approval_endpoint.py: a throw-away CA, signatures checked with Python's
hmac): SELECT asks, the endpoint decides, the stepup-audit service runs
the one request per user, folder and scope, keeps the grants, and fails
closed on every fault."""

import imaplib
import json
import poplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pyotp
import pytest

from approval_endpoint import Endpoint
from dovecot_harness import built, by_version
from test_login import SourceIMAP4, enroll

KEY = b"approval-key-of-the-tests-0123456789abcdef"
# key rotation: the policy lists new, then old; the endpoint knows both
OLD_KEY = b"the-old-approval-key-of-the-tests-98765"
# a second pin that matches nothing (pins rotate too)
OTHER_PIN = "sha256//" + "A" * 43 + "="

POLICY = """\
version = 1;
totp = { issuer = "Test"; window = 1; reconnect = "1h"; reconnect_idle = "1h"; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
approval = {
  url = "URL";
  keys = ( { id = "new"; file = "KEYFILE"; }, { id = "old"; file = "OLDKEYFILE"; } );
  ca_file = "CAFILE";
  pin = "PIN";
  timeout = "2s";
  wait = "WAIT";
  failmode = "FAILMODE";
};
login = (
  { name = "totp"; users = [ "tot" ]; require = "totp"; },
  { name = "pw"; require = "password"; }
);
folders = (
  { name = "hr"; mailbox = "Confidentiel"; require = "approval"; grant = "15m"; },
  { name = "short"; mailbox = "Short"; require = "approval"; grant = "2s"; },
  { name = "shared"; mailbox = "Shared"; require = "approval"; grant = "15m"; grant_scope = "user"; },
  { name = "sess"; mailbox = "Sess"; require = "approval"; grant = "15m"; grant_scope = "session"; },
  { name = "both"; mailbox = "Both"; require = "totp_and_approval"; grant = "15m"; },
  { name = "either"; mailbox = "Either"; require = "totp_or_approval"; grant = "15m"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""

FOLDERS = ("Confidentiel", "Short", "Shared", "Sess", "Both", "Either",
           "Misc")
# the endpoint's faults and the failure kind each one is
FAULTS = {
    "slow": "timeout", "redirect": "redirect", "status500": "status",
    "malformed": "json", "big": "too_large", "bad_signature": "signature",
    "unknown_key": "unknown_key", "wrong_nonce": "echo",
    "stale_timestamp": "stale", "replay": "signature", "wrong_host": "tls",
    "unpinned": "pin",
}
USERS = ["u%d" % i for i in range(1, 31)] + ["tot"] + \
    ["f-" + f.replace("_", "-") for f in FAULTS]


def make_key(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data + b"\n")
    os.chmod(path, 0o600)
    return path


def policy_for(ep, keydir, failmode="closed", wait="6s"):
    return POLICY.replace("URL", ep.url).replace("CAFILE", ep.ca_file) \
        .replace("OLDKEYFILE", make_key(keydir, "old.key", OLD_KEY)) \
        .replace("KEYFILE", make_key(keydir, "approval.key", KEY)) \
        .replace("PIN", "%s;%s" % (OTHER_PIN, ep.pin)) \
        .replace("FAILMODE", failmode).replace("WAIT", wait)


def start(factory, ep, keydir, failmode="closed", wait="6s", name="appr"):
    policy = policy_for(ep, keydir, failmode, wait)
    dc = factory(name=name, users={u: u + "pw" for u in USERS},
                 policy=policy)
    for user in USERS:
        r = dc.doveadm("mailbox", "create", "-u", user, *FOLDERS)
        assert r.returncode == 0, r.stderr
    return dc


@pytest.fixture(scope="module")
def keydir():
    d = tempfile.mkdtemp(prefix="su-ep-", dir="/tmp")
    # the service reads the CA file after dropping privileges
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def ep(keydir):
    endpoint = Endpoint(os.path.join(keydir, "ca"),
                        {"new": KEY, "old": OLD_KEY})
    yield endpoint
    endpoint.stop()


@pytest.fixture(scope="module")
def dc(dovecot_factory, ep, keydir):
    inst = start(dovecot_factory, ep, keydir)
    inst.tot_secret, _ = enroll(inst, "tot")
    inst.tot_string = None
    return inst


_user_counter = iter(range(1, 1000))


@pytest.fixture
def user():
    """A user of its own for each test: no grant or request of an earlier
    test is in the way."""
    n = next(_user_counter)
    assert n <= 30, "more tests than users: add users"
    return "u%d" % n


def session(dc, user, source="127.0.0.1"):
    imap = SourceIMAP4(dc.imap_port, source)
    if user == "tot" and dc.tot_string is None:
        # one password+code string, then reused as a reconnect
        dc.tot_string = "totpw" + pyotp.TOTP(dc.tot_secret).now()
    imap.login(user, dc.tot_string if user == "tot" else user + "pw")
    return imap


def select(imap, mailbox):
    """(typ, text, [ALERT lines]) of a SELECT."""
    imap.untagged_responses.pop("OK", None)
    try:
        typ, data = imap.select(mailbox)
    except imaplib.IMAP4.error as e:
        return "NO", str(e), []
    alerts = [x.decode() for x in imap.untagged_responses.get("OK", [])
              if b"[ALERT]" in x]
    text = b" ".join(x for x in data if isinstance(x, bytes)).decode()
    return typ, text, alerts


def audit_records(dc):
    try:
        with open(dc.fmt("{t}/log/audit.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def approval_records(dc, user):
    return [r for r in audit_records(dc)
            if r["event"] == "approval" and r["user"] == user]


def stepup(dc, *args):
    return subprocess.run([built("stepup"), "--policy", dc.policy_path] +
                          list(args), capture_output=True, text=True,
                          timeout=60, env=dc.client_env())


def test_approved_select_opens_and_the_request_verifies(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    typ, text, alerts = select(imap, "Confidentiel")
    assert typ == "OK", text
    posts = ep.posts()
    assert len(posts) == 1
    req = posts[0]
    # signed with the policy's key, checked by the endpoint's own hmac
    assert req.sig_ok and req.key_id == "new"
    body = req.json
    assert body["version"] == 1
    assert body["user"] == user and body["mailbox"] == "Confidentiel"
    assert body["rule"] == "hr" and body["protocol"] == "imap"
    assert body["remote_ip"] == "127.0.0.1" and body["auth"] == "password"
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    assert re.fullmatch(r"[0-9]{2}", body["binding_code"])
    assert body["expires"] - body["created"] == 15 * 60
    # user data only in the body
    assert user not in req.path
    assert all(user not in v for v in req.headers.values())
    assert len(alerts) == 1
    assert 'Approval requested for "Confidentiel" (code %s)' % \
        body["binding_code"] in alerts[0]
    imap.logout()
    recs = approval_records(dc, user)
    assert [r["decision"] for r in recs] == ["pending", "allow"]
    assert "approved by boss@example.org" in recs[1]["reason"]


def test_denied_select_says_why(dc, ep, user):
    ep.reset("deny", message='Not today, "friend"')
    imap = session(dc, user)
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "NO"
    assert "[NOPERM]" in text and 'Not today, "friend"' in text
    assert imap.noop()[0] == "OK"
    imap.logout()
    recs = approval_records(dc, user)
    assert recs[-1]["decision"] == "deny"
    assert "denied by boss@example.org" in recs[-1]["reason"]


def test_pending_then_approved_opens_the_waiting_select(dc, ep, user):
    ep.reset("pending_then_approve", delay=2)
    imap = session(dc, user)
    typ, text, alerts = select(imap, "Confidentiel")
    assert typ == "OK", text
    assert len(alerts) == 1, alerts
    assert len(ep.posts()) == 1 and len(ep.gets()) >= 1
    assert all(r.sig_ok for r in ep.requests)
    rid = ep.posts()[0].json["request_id"]
    assert all(r.path.endswith("/" + rid) for r in ep.gets())
    imap.logout()


def test_still_pending_after_wait_then_a_later_select_gets_the_decision(
        dc, ep, user):
    ep.reset("pending")
    imap = session(dc, user)
    typ, text, alerts = select(imap, "Confidentiel")
    assert typ == "NO" and "not been decided yet" in text, text
    assert len(alerts) == 1
    # the session goes on
    assert imap.noop()[0] == "OK"
    ep.set_mode("approve")
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "OK", text
    # the same request (polled, or POSTed again as it was if the service
    # had let it go when the first SELECT gave up), never a second one
    posts = ep.posts()
    assert len({p.json["request_id"] for p in posts}) == 1
    assert len({p.body for p in posts}) == 1
    rid = posts[0].json["request_id"]
    assert all(g.path.endswith("/" + rid) for g in ep.gets())
    imap.logout()
    assert [r["decision"] for r in approval_records(dc, user)] == \
        ["pending", "allow"]


def test_status_and_list_status_make_no_request(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    for _ in range(25):
        typ, data = imap.status("Confidentiel", "(MESSAGES UNSEEN)")
        assert typ == "NO" and b"select it" in b" ".join(data)
        typ, data = imap._simple_command(
            "LIST", '""', '"*"', "RETURN", "(STATUS (MESSAGES))")
        assert typ == "OK"
    assert ep.posts() == []
    # once approved, STATUS is answered from the grant
    assert select(imap, "Confidentiel")[0] == "OK"
    assert imap.close()[0] == "OK"
    assert imap.status("Confidentiel", "(MESSAGES)")[0] == "OK"
    assert len(ep.posts()) == 1
    imap.logout()


def test_parallel_selects_make_one_request_and_all_open(dc, ep, user):
    ep.reset("pending_then_approve", delay=2)
    results = []
    lock = threading.Lock()

    def run():
        imap = session(dc, user)
        for _ in range(4):
            typ, text, _ = select(imap, "Confidentiel")
            with lock:
                results.append((typ, text))
        imap.logout()

    threads = [threading.Thread(target=run) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 20
    assert all(typ == "OK" for typ, _ in results), results
    assert len(ep.posts()) == 1


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_fault_refuses_with_failmode_closed(dc, ep, fault):
    user = "f-" + fault.replace("_", "-")
    if fault == "replay":
        # an approval the endpoint signed for another request earlier
        ep.reset("approve")
        imap = session(dc, "u30")
        assert select(imap, "Confidentiel")[0] == "OK"
        imap.logout()
        ep.set_mode("replay")
    else:
        ep.reset(fault, slow_secs=4)
    mark = dc.log_mark()
    imap = session(dc, user)
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "NO" and "cannot be obtained right now" in text, text
    # the session is still served
    assert imap.noop()[0] == "OK"
    imap.logout()
    kind = FAULTS[fault]
    rec = approval_records(dc, user)[-1]
    assert rec["decision"] == "deny"
    assert rec["reason"].endswith("failed: " + kind), rec
    assert dc.wait_log("failed: %s: access refused" % kind, mark)


def test_throttled_is_pending_then_approved(dc, ep, user):
    for mode in ("status429", "status503"):
        ep.reset(mode, then="approve", delay=1.5, retry_after="1")
        imap = session(dc, user)
        typ, text, _ = select(imap, "Short")
        assert typ == "OK", text
        # a throttled POST may not have been kept: POSTed again, the
        # same request, until it is answered
        posts = ep.posts()
        assert len(posts) >= 2 and not ep.gets()
        assert len({p.body for p in posts}) == 1
        imap.logout()
        time.sleep(2.1)   # the 2 s grant of "short" ends


def test_a_post_the_endpoint_did_not_keep_is_posted_again(dc, ep, user):
    # 503 to the first POST: the endpoint did not keep the request, a GET
    # of it would get 404
    ep.reset("unstored503", then="approve")
    imap = session(dc, user)
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "OK", text
    with ep.lock:
        sent = list(ep.requests)
    assert [r.method for r in sent] == ["POST", "POST"]
    assert sent[0].json["request_id"] == sent[1].json["request_id"]
    assert sent[0].body == sent[1].body
    imap.logout()


@pytest.fixture(scope="module")
def dc_open(dovecot_factory, ep, keydir):
    return start(dovecot_factory, ep, keydir, failmode="open",
                 name="apropen")


def test_restart_then_another_session_resumes_the_same_request(
        dc_open, ep, user):
    # failmode open: a 409 for the picked-up request must not open it
    ep.reset("pending_then_deny", delay=1.5, message="Not today")
    select_and_leave(dc_open, user, "Confidentiel")
    assert len(ep.wait_requests(1)) == 1
    stop_service(dc_open)
    # another session, the same address (grant_scope ip): the same
    # request, POSTed as its first asker sent it
    imap = session(dc_open, user)
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "NO" and "Not today" in text, text
    imap.logout()
    posts = ep.posts()
    assert len(posts) == 2
    assert posts[0].json["request_id"] == posts[1].json["request_id"]
    assert posts[0].body == posts[1].body
    recs = approval_records(dc_open, user)
    assert not [r for r in recs if r["decision"] == "allow"], recs


def test_failmode_open_allows_warns_and_audits(dc_open, ep):
    ep.reset("status500")
    mark = dc_open.log_mark()
    imap = session(dc_open, "u1")
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "OK", text
    imap.logout()
    rec = approval_records(dc_open, "u1")[-1]
    assert rec["decision"] == "allow"
    assert rec["reason"].endswith("failmode open: status")
    assert dc_open.wait_log("Warning: stepup-audit: approval: user u1", mark)
    assert dc_open.wait_log("allowed by failmode open", mark)


def test_grant_expires(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    assert select(imap, "Short")[0] == "OK"
    assert select(imap, "Short")[0] == "OK"
    assert len(ep.posts()) == 1
    # the rule's grant is 2 s
    time.sleep(2.5)
    ep.set_mode("deny")
    assert select(imap, "Short")[0] == "NO"
    assert len(ep.posts()) == 2
    imap.logout()


def test_ttl_shortens_the_grant(dc, ep, user):
    ep.reset("approve", ttl=1)
    imap = session(dc, user)
    assert select(imap, "Confidentiel")[0] == "OK"
    time.sleep(1.5)
    ep.set_mode("deny")
    assert select(imap, "Confidentiel")[0] == "NO"
    assert len(ep.posts()) == 2
    imap.logout()


def approvals_of(dc, user):
    r = stepup(dc, "status", user, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["approvals"]


def test_status_lists_and_revoke_ends_grants_and_requests(dc, ep, user):
    ep.reset("pending")
    imap = session(dc, user)
    assert select(imap, "Short")[0] == "NO"
    pending = approvals_of(dc, user)
    assert [(a["type"], a["mailbox"]) for a in pending] == \
        [("pending", "Short")]
    assert pending[0]["request_id"] == ep.posts()[0].json["request_id"]
    ep.set_mode("approve")
    assert select(imap, "Confidentiel")[0] == "OK"
    kinds = sorted((a["type"], a["mailbox"], a["scope"])
                   for a in approvals_of(dc, user))
    assert kinds == [("grant", "Confidentiel", "ip"),
                     ("pending", "Short", "ip")]
    text = stepup(dc, "status", user).stdout
    assert "approval grant: Confidentiel, scope ip 127.0.0.1" in text
    assert "approved by boss@example.org" in text

    r = stepup(dc, "approval", "revoke", user, "Confidentiel")
    assert r.returncode == 0 and "1 approval grant" in r.stdout, r.stdout
    assert [a["mailbox"] for a in approvals_of(dc, user)] == ["Short"]
    # the next open asks again
    ep.set_mode("deny")
    assert imap.close()[0] == "OK"
    assert select(imap, "Confidentiel")[0] == "NO"
    assert len(ep.posts()) == 3
    # reset ends the pending request too: the next open makes a new one
    r = stepup(dc, "reset", user)
    assert r.returncode == 0, r.stderr
    assert approvals_of(dc, user) == []
    assert stepup(dc, "approval", "revoke", user, "Short").returncode == 1
    ep.set_mode("approve")
    assert select(imap, "Short")[0] == "OK"
    assert len(ep.posts()) == 4
    imap.logout()


def service_pids(dc):
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"stepup-audit") and \
           dc.policy_path.encode() in cmd:
            pids.append(int(pid))
    return pids


def stop_service(dc):
    """Stop stepup-audit (Dovecot starts it again for the next client);
    its pids before."""
    pids = service_pids(dc)
    assert len(pids) == 1
    os.kill(pids[0], 15)
    deadline = time.time() + 10
    while time.time() < deadline and pids[0] in service_pids(dc):
        time.sleep(0.05)
    assert pids[0] not in service_pids(dc)
    return pids


def test_service_restart_keeps_the_grant(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    assert select(imap, "Confidentiel")[0] == "OK"
    pids = stop_service(dc)
    ep.set_mode("deny")
    assert imap.close()[0] == "OK"
    typ, text, _ = select(imap, "Confidentiel")
    assert typ == "OK", text
    assert len(ep.posts()) == 1
    assert service_pids(dc) and service_pids(dc) != pids
    imap.logout()


def test_totp_and_approval_asks_only_after_a_code(dc, ep):
    ep.reset("approve")
    imap = session(dc, "u29")
    typ, text, alerts = select(imap, "Both")
    assert typ == "NO" and "two-step login and then an approval" in text
    assert alerts == [] and ep.posts() == []
    imap.logout()
    imap = session(dc, "tot")
    typ, text, alerts = select(imap, "Both")
    assert typ == "OK", text
    assert len(ep.posts()) == 1 and ep.posts()[0].json["auth"] == "totp"
    imap.logout()


def test_totp_or_approval(dc, ep):
    ep.reset("deny", message="no")
    imap = session(dc, "tot")
    # a TOTP session opens at once
    assert select(imap, "Either")[0] == "OK"
    assert ep.posts() == []
    imap.logout()
    imap = session(dc, "u28")
    typ, text, _ = select(imap, "Either")
    assert typ == "NO" and "refused: no" in text and "one-time code" in text
    assert len(ep.posts()) == 1
    imap.logout()


def select_and_leave(dc, user, mailbox):
    """A session that SELECTs and closes its connection once the
    [ALERT] line says the request is pending."""
    sock = socket.create_connection(("127.0.0.1", dc.imap_port), timeout=10)
    f = sock.makefile("rwb")
    f.readline()
    f.write(b"a LOGIN %s %spw\r\nb SELECT %s\r\n" %
            (user.encode(), user.encode(), mailbox.encode()))
    f.flush()
    while b"[ALERT]" not in f.readline():
        pass
    f.close()
    sock.close()


def test_a_client_that_leaves_ends_its_wait(dc, ep, user):
    ep.reset("pending")
    mark = dc.log_mark()
    select_and_leave(dc, user, "Confidentiel")
    # the mail process notices at once, long before wait (6 s) ends
    assert dc.wait_log("imap(%s)" % user, mark)
    assert dc.wait_log("Disconnected", mark, timeout=3)
    assert "the client closed the connection" in dc.log_since(mark)


# passwd-file escapes quotes and backslashes in user names before its
# lookup (no such user can log in): those are in the folder names, and
# the core's unit tests escape them in user names too
ODD_USER = "o.d+x@example.org"
# (IMAP name as sent, the name the endpoint must get)
LONG = "Odd/" + "/".join(["L%03d" % i + "x" * 196 for i in range(20)])
ODD_FOLDERS = [
    ('"Odd/Quote\\"d"', 'Odd/Quote"d'),
    ('"Odd/Back\\\\slash"', "Odd/Back\\slash"),
    ("Odd/&AOk-t&AOk-", "Odd/\u00e9t\u00e9"),
    ('"%s"' % LONG, LONG),
]


@pytest.fixture(scope="module")
def dc_odd(dovecot_factory, ep, keydir):
    """Names as odd as IMAP allows: quotes and backslashes in folder names,
    modified UTF-7, a 4 KiB folder name (LAYOUT=fs: every level is a
    directory of its own)."""
    policy = policy_for(ep, keydir).replace('  { name = "rest";', '  { name = "odd"; mailbox = "Odd"; '
                 'require = "approval"; grant = "15m"; },\n'
                 '  { name = "rest";')
    dc = dovecot_factory(
        name="aprodd", users={ODD_USER: "oddpw", "plain": "plainpw"},
        policy=policy, extra=by_version(
            "mail_location = maildir:~/Maildir:LAYOUT=fs\n",
            "mailbox_list_layout = fs\n") + "auth_username_chars =\n")
    return dc


def test_odd_names_reach_the_endpoint_as_valid_json(dc_odd, ep):
    assert len(LONG) >= 4000
    ep.reset("approve")
    for user, pw in ((ODD_USER, "oddpw"), ("plain", "plainpw")):
        # below a protected folder only an admin creates folders
        r = dc_odd.doveadm("mailbox", "create", "-u", user,
                           *[name for _, name in ODD_FOLDERS])
        assert r.returncode == 0, r.stderr
        imap = SourceIMAP4(dc_odd.imap_port, "127.0.0.1")
        # imaplib quotes the password only
        imap.login(imap._quote(user), pw)
        for wire, name in ODD_FOLDERS:
            before = len(ep.posts())
            typ, data = imap.select(wire)
            assert typ == "OK", (name[:40], data)
            req = ep.posts()[before]
            assert req.json is not None, req.json_error
            assert req.sig_ok
            assert req.json["user"] == user
            assert req.json["mailbox"] == name
            assert imap.close()[0] == "OK"
        imap.logout()


def test_no_secret_in_the_logs(dc, dc_odd, ep):
    """After everything above: the key, the signatures, the passwords and
    the TOTP string appear in neither log."""
    secrets = [KEY.decode(), KEY.hex(), OLD_KEY.decode()] + \
        ([dc.tot_string] if dc.tot_string else [])
    secrets += [u + "pw" for u in USERS if u != "tot"] + ["oddpw"]
    for r in ep.requests:
        sig = r.headers.get("X-Stepup-Signature", "")
        if ":" in sig:
            secrets.append(sig.split(":", 1)[1])
    for inst in (dc, dc_odd):
        with open(inst.fmt("{t}/log/audit.jsonl")) as f:
            audit = f.read()
        log = inst.log()
        for s in secrets:
            assert s not in log, s
            assert s not in audit, s


def test_grant_scope_ip_and_user(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    assert select(imap, "Confidentiel")[0] == "OK"
    assert select(imap, "Shared")[0] == "OK"
    imap.logout()
    assert len(ep.posts()) == 2
    ep.set_mode("deny")
    other = session(dc, user, source="127.0.0.2")
    # scope ip (default): another address asks again
    typ, text, _ = select(other, "Confidentiel")
    assert typ == "NO"
    assert len(ep.posts()) == 3
    assert ep.posts()[-1].json["remote_ip"] == "127.0.0.2"
    # scope user: every session of the user, from any address
    typ, text, _ = select(other, "Shared")
    assert typ == "OK", text
    assert len(ep.posts()) == 3
    other.logout()


def test_grant_scope_session(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    assert select(imap, "Sess")[0] == "OK"
    assert select(imap, "Sess")[0] == "OK"
    assert len(ep.posts()) == 1
    ep.set_mode("deny")
    again = session(dc, user)
    assert select(again, "Sess")[0] == "NO"
    assert len(ep.posts()) == 2
    again.logout()
    imap.logout()


def test_key_rotation(dc, ep, user):
    """keys = new, old: requests are signed by new, answers signed by
    either verify, by a third key not."""
    imap = session(dc, user)
    for kid in ("old", "new"):
        ep.reset("approve")
        ep.sign_key_id = kid
        assert select(imap, "Short")[0] == "OK"
        assert ep.posts()[-1].key_id == "new" and ep.posts()[-1].sig_ok
        assert imap.close()[0] == "OK"
        time.sleep(2.1)
    ep.sign_key_id = "new"
    imap.logout()


def test_pop3_login_asks_for_an_inbox_rule(dc_pop, ep):
    ep.reset("pending_then_approve", delay=1)
    pop = poplib.POP3("127.0.0.1", dc_pop.pop3_port, timeout=20)
    pop.user("popper")
    pop.pass_("popperpw")
    assert pop.stat()[0] >= 0
    pop.quit()
    assert len(ep.posts()) == 1
    assert ep.posts()[0].json["protocol"] == "pop3"
    assert ep.posts()[0].json["mailbox"] == "INBOX"
    # denied: the session ends without a message listed
    ep.reset("deny")
    assert stepup(dc_pop, "approval", "revoke", "popper",
                  "INBOX").returncode == 0
    pop = poplib.POP3("127.0.0.1", dc_pop.pop3_port, timeout=20)
    pop.user("popper")
    with pytest.raises(poplib.error_proto):
        pop.pass_("popperpw")
        pop.stat()
    assert len(ep.posts()) == 1


@pytest.fixture(scope="module")
def dc_pop(dovecot_factory, ep, keydir):
    policy = policy_for(ep, keydir).replace(
        '  { name = "hr";', '  { name = "popinbox"; users = [ "popper" ]; '
        'mailbox = "INBOX"; require = "approval"; grant = "15m"; },\n'
        '  { name = "hr";')
    return dovecot_factory(name="aprpop", users={"popper": "popperpw"},
                           policy=policy)


def test_audit_report_shows_the_approval_and_the_open(dc, ep, user):
    ep.reset("approve")
    imap = session(dc, user)
    assert select(imap, "Confidentiel")[0] == "OK"
    imap.logout()
    r = stepup(dc, "audit", "report", "--user", user, "--json")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert text.count('"approval"') >= 2 and '"open"' in text, text
