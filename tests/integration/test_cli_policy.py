"""stepup policy check | explain | dump through the built binary."""

import json
import os
import subprocess

from dovecot_harness import built

GOOD = open(os.path.join(os.path.dirname(__file__), "..", "..", "doc",
                         "examples", "stepup.conf")).read()


def run(*args):
    return subprocess.run([built("stepup")] + list(args),
                          capture_output=True, text=True, timeout=30)


def write(tmp_path, text, name="p.conf", mode=0o644):
    path = tmp_path / name
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def test_check_good(tmp_path):
    path = write(tmp_path, GOOD)
    r = run("policy", "check", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "%s: OK\n" % path
    # --policy before or after the subcommand, or $STEPUP_POLICY
    assert run("--policy", path, "policy", "check").returncode == 0
    assert run("policy", "check", "--policy", path).returncode == 0


def test_check_warns_about_what_is_not_carried_out(tmp_path):
    path = write(tmp_path, 'version = 1;\n'
                 'approval = { url = "https://a.example/v1"; '
                 'key_file = "/etc/k"; };\n'
                 'login = ( { name = "d"; require = "password"; } );\n'
                 'folders = ( { name = "hr"; mailbox = "HR"; '
                 'require = "approval"; },\n'
                 '  { name = "dir"; mailbox = "D"; require = "totp"; '
                 'fetch_limit = { messages = 9; window = "1m"; }; } );\n')
    r = run("policy", "check", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "%s: OK" % path,
        "%s: warning: folder rule 'hr': approvals are not available in "
        "this release: access is refused" % path]
    r = run("policy", "check", "--json", path)
    out = json.loads(r.stdout)
    assert out["valid"] is True and len(out["warnings"]) == 1


def test_check_reports_every_error_with_lines(tmp_path):
    path = write(tmp_path, 'version = 1;\n'
                 'totp = { window = 5; digits = 7; };\n'
                 'login = ( { name = "x"; require = "maybe"; } );\n'
                 'colour = "red";\n')
    r = run("policy", "check", path)
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert lines == [
        "%s:2: window must be between 0 and 2 (not 5)" % path,
        "%s:2: totp.digits must be 6 or 8" % path,
        "%s:3: require must be one of password, totp, deny, not 'maybe'"
        % path,
        "%s:4: unknown setting colour" % path,
    ]
    r = run("policy", "check", path, "--json")
    doc = json.loads(r.stdout)
    assert doc["valid"] is False and len(doc["errors"]) == 4


def test_check_refuses_include_and_wrapping_integers(tmp_path):
    path = write(tmp_path, 'version = 1;\n@include "."\n'
                 'totp = { max_failures = 4294967596; };\n'
                 'login = ( { name = "d"; require = "totp"; } );\n')
    r = run("policy", "check", path)
    assert r.returncode == 1          # refused, and the process did not die
    assert ":2: @include" in r.stdout
    assert ":3: number 4294967596 is out of range" in r.stdout


def test_check_refuses_writable_file(tmp_path):
    path = write(tmp_path, GOOD, mode=0o666)
    r = run("policy", "check", path)
    assert r.returncode == 1
    assert "writable by group or others" in r.stdout


def test_dump_roundtrip(tmp_path):
    path = write(tmp_path, GOOD)
    d1 = run("policy", "dump", path)
    assert d1.returncode == 0, d1.stderr
    path2 = write(tmp_path, d1.stdout, name="dump.conf")
    d2 = run("policy", "dump", path2)
    assert d2.returncode == 0, d2.stderr
    assert d1.stdout == d2.stdout
    assert 'lockout = "900s";' in d1.stdout


def test_explain_login_and_folder(tmp_path):
    path = write(tmp_path, GOOD)
    r = run("policy", "explain", path, "--user", "alice@example.org",
            "--ip", "10.1.2.3", "--protocol", "imap", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "kind": "login", "decision": "totp", "require": "totp",
        "rule": "cabinet", "reason": "rule 'cabinet' requires totp",
        "mode": "enforce"}
    r = run("policy", "explain", path, "--user", "carol", "--ip",
            "fd00::5", "--protocol", "pop3", "--json")
    assert json.loads(r.stdout)["rule"] == "office"
    r = run("policy", "explain", path, "--user", "carol", "--ip",
            "192.0.2.1", "--protocol", "imap", "--mailbox",
            "Direction/2026", "--auth", "totp", "--mfa-age", "60", "--json")
    doc = json.loads(r.stdout)
    assert doc["decision"] == "allow" and doc["rule"] == "direction"
    r = run("policy", "explain", path, "--user", "carol", "--ip",
            "192.0.2.1", "--protocol", "imap", "--mailbox", "Direction",
            "--auth", "totp", "--mfa-age", "901", "--json")
    assert json.loads(r.stdout)["decision"] == "deny"


def test_usage_errors(tmp_path):
    assert run("policy", "explain", "--user", "x").returncode == 2
    assert run("policy", "frobnicate").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("--help").returncode == 0
