"""Invitations (stepup invite) and self-service enrollment through the
enrollment core (stepup enroll --self, as the enrollment page and
portals acting for the user use it), codes from pyotp."""

import hashlib
import json
import os
import re
import subprocess

import pyotp
import pytest

from dovecot_harness import built


def write_policy(tmp, enrollment=""):
    policy = tmp / "stepup.conf"
    policy.write_text(
        'version = 1;\n'
        'state = { path = "%s"; };\n'
        'audit = { path = "%s"; };\n'
        'networks = { internal = [ "10.0.0.0/8" ]; };\n'
        '%s\n'
        'login = ( { name = "default"; require = "totp"; } );\n'
        % (tmp / "state", tmp / "audit.jsonl", enrollment))
    os.chmod(policy, 0o644)
    return str(policy)


@pytest.fixture
def env(tmp_path):
    (tmp_path / "state").mkdir(mode=0o700)
    return {"policy": write_policy(tmp_path), "tmp": tmp_path}


def stepup(env, *args, stdin=None):
    return subprocess.run([built("stepup"), "--policy", env["policy"]] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=60)


def audit(env):
    return [json.loads(line) for line in
            (env["tmp"] / "audit.jsonl").read_text().splitlines()]


def invite(env, user, *extra):
    r = stepup(env, "invite", user, "--json", *extra)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", doc["invite"])
    return doc["invite"]


def self_enroll(env, user, first_line, *extra):
    """stepup enroll USER --self --json: first_line (invitation or
    current code), then the code of the new secret. Returns (exit status,
    the result line, the secret or None)."""
    proc = subprocess.Popen([built("stepup"), "--policy", env["policy"],
                             "enroll", user, "--self", "--json"] +
                            list(extra), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    proc.stdin.write(first_line + "\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())
    if "uri" not in first:
        proc.communicate(timeout=60)
        return proc.returncode, first, None
    secret = pyotp.parse_uri(first["uri"]).secret
    out, _ = proc.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    return proc.returncode, json.loads(out), secret


def state_text(env):
    return "".join(f.read_text() for f in (env["tmp"] / "state").iterdir()
                   if f.is_file())


def test_invite_enroll_once(env):
    code = invite(env, "alice@example.org", "--expires", "2d")
    # hashed at rest, shown once, audited without the code
    assert code not in state_text(env)
    recs = audit(env)
    assert recs[-1]["event"] == "admin" and recs[-1]["decision"] == "allow"
    assert recs[-1]["reason"].startswith("invitation issued, valid until ")
    assert code not in (env["tmp"] / "audit.jsonl").read_text()

    rc, result, secret = self_enroll(env, "alice@example.org", code)
    assert rc == 0 and result["enrolled"] is True
    assert len(result["recovery_codes"]) == 10
    rec = audit(env)[-1]
    assert rec["event"] == "enroll" and rec["decision"] == "allow"
    assert rec["reason"] == "TOTP enrolled" and rec["by"] == "self"
    assert secret not in (env["tmp"] / "audit.jsonl").read_text()

    # replayed after a reset: refused and audited
    assert stepup(env, "reset", "alice@example.org").returncode == 0
    rc, result, _ = self_enroll(env, "alice@example.org", code)
    assert rc == 1
    assert result == {"enrolled": False,
                      "error": "invitation code already used"}
    rec = audit(env)[-1]
    assert (rec["event"], rec["decision"], rec["reason"]) == (
        "enroll", "deny", "invitation code already used")
    assert rec["by"] == "self"
    assert stepup(env, "audit", "verify",
                  str(env["tmp"] / "audit.jsonl")).returncode == 0


def test_invite_refusals(env):
    bob = invite(env, "bob")
    # none, another user's, a made-up one
    for user, line, reason in (
            ("carol", "", "an invitation code is needed"),
            ("carol", bob, "no invitation for this user"),
            ("alice", "abcd-efgh-jkmn-pqrs", "no invitation for this user")):
        rc, result, secret = self_enroll(env, user, line)
        assert rc == 1 and secret is None
        assert result["error"] == reason
        assert audit(env)[-1]["reason"] == reason
        assert audit(env)[-1]["by"] == "self"
    invite(env, "carol")
    rc, result, _ = self_enroll(env, "carol", bob)
    assert rc == 1 and result["error"] == "wrong invitation code"
    assert json.loads(stepup(env, "status", "carol", "--json").stdout)[
        "enrolled"] is False


def test_invite_expired(env):
    code = invite(env, "dave", "--expires", "1d")
    # a day later: the record's expiry moved into the past
    path = env["tmp"] / "state" / hashlib.sha256(b"dave").hexdigest()
    if not path.exists():
        path = next(p for p in (env["tmp"] / "state").iterdir()
                    if "invite\t" in p.read_text())
    text = path.read_text()
    fields = re.search(r"^invite\t(\w+)\t(\d+)\t(\d+)\t0$", text, re.M)
    assert fields, text
    path.write_text(text.replace(fields.group(0), "invite\t%s\t%s\t%d\t0" % (
        fields.group(1), fields.group(2), int(fields.group(2)) - 1)))
    rc, result, _ = self_enroll(env, "dave", code)
    assert rc == 1 and result["error"] == "invitation code expired"
    assert audit(env)[-1]["reason"] == "invitation code expired"


def test_invite_usage(env):
    assert stepup(env, "invite").returncode == 2
    assert stepup(env, "invite", "x", "--expires", "7h").returncode == 2
    assert stepup(env, "invite", "x", "--expires", "0d").returncode == 2
    assert stepup(env, "invite", "bad\nname").returncode == 2
    assert stepup(env, "enroll", "x", "--ip", "10.0.0.1").returncode == 2
    assert stepup(env, "enroll", "x", "--self", "--ip", "nope"
                  ).returncode == 2
    r = stepup(env, "invite", "erin")
    assert r.returncode == 0 and "shown only now" in r.stdout
    assert re.search(r"^  [a-z2-9]{4}(-[a-z2-9]{4}){3}$", r.stdout, re.M)


def test_self_networks_and_reenroll(env):
    env["policy"] = write_policy(
        env["tmp"], 'enrollment = { invite = false; networks = '
        '[ "internal" ]; };')
    # from outside the networks, or from nowhere said: refused
    for extra in ((), ("--ip", "192.0.2.7")):
        rc, result, _ = self_enroll(env, "frank", "", *extra)
        assert rc == 1
        assert result["error"] == ("enrollment is not allowed from this "
                                   "network")
    assert audit(env)[-1]["ip"] == "192.0.2.7"
    rc, result, old = self_enroll(env, "frank", "", "--ip", "10.1.2.3")
    assert rc == 0, result
    old_codes = result["recovery_codes"]

    # enrolled: without a current code, refused; the old secret's code
    # already used: refused
    rc, result, _ = self_enroll(env, "frank", "", "--ip", "10.1.2.3")
    assert rc == 1 and "needs a current code" in result["error"]
    rc, result, _ = self_enroll(env, "frank", pyotp.TOTP(old).now(),
                                "--ip", "10.1.2.3")
    assert rc == 1 and result["error"] == "re-enrollment: code already used"
    # a recovery code of the old enrollment: a new secret
    rc, result, new = self_enroll(env, "frank", old_codes[0],
                                  "--ip", "10.1.2.3")
    assert rc == 0, result and new != old
    assert not set(result["recovery_codes"]) & set(old_codes)
    assert audit(env)[-1]["reason"].startswith("TOTP re-enrolled")
    # an admin still enrolls only users who are not enrolled
    r = stepup(env, "enroll", "frank", stdin="")
    assert r.returncode == 1 and "already enrolled" in r.stderr
