"""The stepup tool's enrollment commands, with codes from pyotp (an
independent TOTP implementation) and oathtool."""

import json
import os
import re
import subprocess
import time
import urllib.parse

import pyotp
import pytest

from dovecot_harness import built


@pytest.fixture
def env(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    policy = tmp_path / "stepup.conf"
    policy.write_text(
        'version = 1;\n'
        'totp = { issuer = "Example Ministry"; };\n'
        'state = { path = "%s"; };\n'
        'audit = { path = "%s"; };\n'
        'login = ( { name = "default"; require = "totp"; } );\n'
        % (state, tmp_path / "audit.jsonl"))
    os.chmod(policy, 0o644)
    return {"policy": str(policy), "state": state, "tmp": tmp_path}


def stepup(env, *args, stdin=None):
    return subprocess.run([built("stepup"), "--policy", env["policy"]] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=60)


def start_enroll(env, user, *extra):
    proc = subprocess.Popen([built("stepup"), "--policy", env["policy"],
                             "enroll", user] + list(extra),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc


def test_enroll_json_portal_flow(env):
    proc = start_enroll(env, "alice@example.org", "--json")
    first = json.loads(proc.stdout.readline())
    uri = first["uri"]
    assert uri.startswith("otpauth://totp/Example%20Ministry:"
                          "alice@example.org?secret=")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)
    assert q["issuer"] == ["Example Ministry"]
    assert q["algorithm"] == ["SHA1"] and q["digits"] == ["6"]
    assert q["period"] == ["30"]
    secret = q["secret"][0]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)   # 20 bytes, no padding
    assert "\u2588" in first["qr"]                  # drawn in the terminal
    out, err = proc.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["enrolled"] is True
    codes = result["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c)
               for c in codes)
    st = json.loads(stepup(env, "status", "alice@example.org",
                           "--json").stdout)
    assert st["enrolled"] is True and st["recovery_codes_left"] == 10
    # the secret is nowhere but in the enrollment output
    assert secret not in json.dumps(st)
    assert secret not in (env["tmp"] / "audit.jsonl").read_text()
    for f in env["state"].iterdir():
        assert oct(f.stat().st_mode & 0o777) == "0o600"
        assert "alice" not in f.name
    # already enrolled: refused, exit 1
    r = stepup(env, "enroll", "alice@example.org", "--json", stdin="")
    assert r.returncode == 1
    assert "already enrolled" in r.stderr


def test_enroll_wrong_code_does_not_activate(env):
    proc = start_enroll(env, "bob", "--json")
    secret = pyotp.parse_uri(json.loads(proc.stdout.readline())["uri"]).secret
    wrong = "%06d" % ((int(pyotp.TOTP(secret).now()) + 1) % 1000000)
    out, err = proc.communicate(wrong + "\n", timeout=60)
    assert proc.returncode == 1
    assert json.loads(out) == {"enrolled": False, "error": "wrong code"}
    st = json.loads(stepup(env, "status", "bob", "--json").stdout)
    assert st["enrolled"] is False


def test_enroll_interactive_with_oathtool(env):
    proc = start_enroll(env, "carol")
    text = ""
    while "otpauth://" not in text:
        text += proc.stdout.readline()
    secret = re.search(r"secret=([A-Z2-7]+)", text).group(1)
    code = subprocess.run(["oathtool", "--totp", "-b", secret],
                          capture_output=True, text=True).stdout.strip()
    out, err = proc.communicate(code + "\n", timeout=60)
    assert proc.returncode == 0, err
    assert "carol is enrolled" in out
    assert len(re.findall(r"^  [a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", out,
                          re.M)) == 10


def test_reset_and_recovery_codes(env):
    proc = start_enroll(env, "dave", "--json")
    secret = pyotp.parse_uri(json.loads(proc.stdout.readline())["uri"]).secret
    out, _ = proc.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    old = json.loads(out)["recovery_codes"]
    r = stepup(env, "recovery-codes", "dave", "--json")
    assert r.returncode == 0, r.stderr
    new = json.loads(r.stdout)["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    r = stepup(env, "reset", "dave")
    assert r.returncode == 0 and "removed" in r.stdout
    assert json.loads(stepup(env, "status", "dave", "--json").stdout)[
        "enrolled"] is False
    assert stepup(env, "recovery-codes", "dave").returncode == 1
    audit = (env["tmp"] / "audit.jsonl").read_text()
    assert '"event":"admin"' in audit and '"event":"enroll"' in audit
    assert stepup(env, "audit", "verify",
                  str(env["tmp"] / "audit.jsonl")).returncode == 0


def test_import_oath(env):
    users = env["tmp"] / "users.oath"
    users.write_text(
        "# pam_oath users\n"
        "HOTP/T30 erin - 3132333435363738393031323334353637383930\n"
        "HOTP/T60/8 frank + 3132333435363738393031323334353637383930 0 0\n"
        "HOTP gina - 3132333435363738393031323334353637383930\n"
        "HOTP/T30 hank - 31323334\n")
    r = stepup(env, "import-oath", str(users), "--json")
    assert r.returncode == 1                    # two lines refused
    doc = json.loads(r.stdout)
    assert [u["user"] for u in doc["imported"]] == ["erin", "frank"]
    assert doc["failed"] == 2
    assert "only time-based tokens" in r.stderr
    assert "16 to 64 bytes" in r.stderr
    st = json.loads(stepup(env, "status", "frank", "--json").stdout)
    assert st["enrolled"] and st["period"] == 60 and st["digits"] == 8
    # again: already enrolled users are skipped, not overwritten
    r = stepup(env, "import-oath", str(users), "--json")
    assert json.loads(r.stdout)["skipped"] == 2


def test_usage_errors(env):
    assert stepup(env, "enroll").returncode == 2
    assert stepup(env, "enroll", "bad\nname").returncode == 2
    assert stepup(env, "status").returncode == 2
    r = subprocess.run([built("stepup"), "--policy",
                        str(env["tmp"] / "missing.conf"), "status", "x"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "missing.conf" in r.stderr
