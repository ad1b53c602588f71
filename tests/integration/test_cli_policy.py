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


APPROVAL_POLICY = (
    'version = 1;\n'
    'approval = {{ url = "{url}"; {keys} }};\n'
    'login = ( {{ name = "d"; require = "password"; }} );\n'
    'folders = ( {{ name = "hr"; mailbox = "HR"; require = "approval"; '
    'grant = "15m"; grant_scope = "user"; }},\n'
    '  {{ name = "dir"; mailbox = "D"; require = "totp_or_approval"; }} );\n')

CERT = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n"
        "-----END CERTIFICATE-----\n")


def approval_policy(tmp_path, keys, url="https://a.example/v1"):
    return write(tmp_path, APPROVAL_POLICY.format(url=url, keys=keys))


def key_file(tmp_path, name, data=b"k" * 32 + b"\n", mode=0o600):
    path = tmp_path / name
    path.write_bytes(data)
    os.chmod(path, mode)
    return str(path)


def test_check_approval_block(tmp_path):
    key = key_file(tmp_path, "new.key")
    old = key_file(tmp_path, "old.key", b"o" * 40, 0o640)
    ca = tmp_path / "ca.pem"
    ca.write_text(CERT)
    path = approval_policy(
        tmp_path, 'keys = ( { id = "new"; file = "%s"; }, '
        '{ id = "old"; file = "%s"; } ); ca_file = "%s"; '
        'pin = "sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";'
        % (key, old, ca))
    # approval rules are carried out: no warning any more
    r = run("policy", "check", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "%s: OK\n" % path
    r = run("policy", "check", "--json", path)
    out = json.loads(r.stdout)
    assert out["valid"] is True and out["warnings"] == []
    # the dump shows the keys and the scope
    dump = run("policy", "dump", path).stdout
    assert 'keys = ( { id = "new"; file = "%s"; }, { id = "old"; ' \
        'file = "%s"; } );' % (key, old) in dump
    assert 'grant_scope = "user";' in dump


def test_check_approval_key_files(tmp_path):
    cases = [
        (dict(mode=0o644), "must not be writable by group or readable "
         "by others"),
        (dict(mode=0o660), "must not be writable by group"),
        (dict(data=b"k" * 31 + b"\n"), "needs at least 32 bytes (has 31)"),
        (dict(data=b"k" * 4097), "at most 4096 bytes"),
    ]
    for i, (kw, message) in enumerate(cases):
        key = key_file(tmp_path, "k%d.key" % i, **kw)
        path = approval_policy(tmp_path, 'key_file = "%s";' % key)
        r = run("policy", "check", path)
        assert r.returncode == 1, (kw, r.stdout)
        assert r.stdout.startswith('%s: approval key "1": %s' % (path, key))
        assert message in r.stdout, r.stdout
    # a key someone else owns, a missing key, a symlink
    key = key_file(tmp_path, "nobody.key")
    os.chown(key, 65534, 65534)
    link = tmp_path / "link.key"
    link.symlink_to(key_file(tmp_path, "target.key"))
    for k, message in [(key, "must be owned by root"),
                       (str(tmp_path / "none.key"), "No such file"),
                       (str(link), "open(")]:
        path = approval_policy(tmp_path, 'key_file = "%s";' % k)
        r = run("policy", "check", path)
        assert r.returncode == 1 and message in r.stdout, r.stdout
    r = run("policy", "check", "--json", path)
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["valid"] is False
    assert out["errors"][0].startswith('approval key "1": open(')


def test_check_approval_ca_and_client_files(tmp_path):
    key = key_file(tmp_path, "k.key")
    notpem = tmp_path / "ca.txt"
    notpem.write_text("not a certificate\n")
    cert = tmp_path / "c.pem"
    cert.write_text(CERT)
    ckey = tmp_path / "c.key"
    ckey.write_text("-----BEGIN PRIVATE KEY-----\nMII\n")
    os.chmod(ckey, 0o644)
    path = approval_policy(
        tmp_path, 'key_file = "%s"; ca_file = "%s"; client_cert = "%s"; '
        'client_key = "%s";' % (key, notpem, cert, ckey))
    r = run("policy", "check", path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "%s: approval.ca_file: %s holds no PEM CERTIFICATE" % (path, notpem),
        "%s: approval.client_key: %s has mode 0644 (must not be writable "
        "by group or readable by others: use 0600 or 0640)" % (path, ckey)]


def test_check_approval_syntax(tmp_path):
    key = key_file(tmp_path, "k.key")
    for keys, url, message in [
            ('key_file = "%s";' % key, "http://a.example/v1",
             "approval.url: URL must be https://"),
            ('key_file = "%s"; pin = "sha256//abc";' % key,
             "https://a.example/v1", "approval.pin: pin value 1 is not"),
            ('key_file = "%s"; keys = ( { id = "a"; file = "%s"; } );'
             % (key, key), "https://a.example/v1",
             "key_file and keys exclude each other")]:
        path = approval_policy(tmp_path, keys, url)
        r = run("policy", "check", path)
        assert r.returncode == 1
        assert r.stdout.startswith("%s:2: " % path) and message in r.stdout


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
