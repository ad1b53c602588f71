"""The admin's first hour (issue 23): what goes wrong on a first install,
and that each mistake fails closed and is named where the admin looks.
Full filesystems are small tmpfs mounts made (and removed) by the tests."""

import contextlib
import imaplib
import json
import os
import subprocess
import tempfile

import pytest

from dovecot_harness import built


def run_stepup(policy, *args, stdin=None, env=None):
    return subprocess.run([built("stepup"), "--policy", policy] +
                          list(args), input=stdin, capture_output=True,
                          text=True, timeout=60, env=env)


@contextlib.contextmanager
def small_fs(size="256k"):
    """A tmpfs of `size`, writable by everyone; unmounted at the end."""
    d = tempfile.mkdtemp(prefix="su-full-", dir="/tmp")
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%s,mode=0777" % size, "tmpfs", d], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d], check=False)
        os.rmdir(d)


def fill(d):
    """Fill the filesystem at d; returns the filler's path."""
    path = os.path.join(d, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    if os.write(fd, b"x" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return path


def verify(policy, log):
    return run_stepup(policy, "audit", "verify", log)


def records(log):
    with open(log) as f:
        return [json.loads(line) for line in f if line.strip()]


def imap_ok(dc, user, password):
    m = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
    try:
        m.login(user, password)
        m.logout()
        return True, ""
    except imaplib.IMAP4.error as e:
        return False, str(e)
    finally:
        with contextlib.suppress(Exception):
            m.shutdown()


POLICY_AT = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "AUDIT"; };
login = ( { name = "default"; require = "password"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""


# -- item 14: a full audit filesystem: no login, no change without record

def test_full_audit_fs_refuses_logins_and_keeps_the_chain(dovecot_factory):
    with small_fs() as d:
        log = os.path.join(d, "audit.jsonl")
        dc = dovecot_factory(policy=POLICY_AT.replace("AUDIT", log))
        ok, _ = imap_ok(dc, "alice", "alicepw")
        assert ok
        n = len(records(log))
        filler = fill(d)
        mark = dc.log_mark()
        # the log's last page may still hold a few records
        for _ in range(12):
            ok, err = imap_ok(dc, "alice", "alicepw")
            if not ok:
                break
        assert not ok and "Temporary authentication failure" in err
        n = len(records(log))
        assert dc.wait_log("its audit record could not be written", mark)
        # nothing partial was left behind
        with open(log, "rb") as f:
            assert f.read().endswith(b"\n")
        assert len(records(log)) == n
        os.unlink(filler)
        ok, _ = imap_ok(dc, "alice", "alicepw")
        assert ok
        r = verify(dc.policy_path, log)
        assert r.returncode == 0, r.stdout + r.stderr
        assert any(rec["event"] == "login" and rec["decision"] == "allow"
                   for rec in records(log)[n:])


def test_audit_not_required_lets_logins_through(dovecot_factory):
    with small_fs() as d:
        log = os.path.join(d, "audit.jsonl")
        policy = POLICY_AT.replace("AUDIT", log).replace(
            'audit = { path = "%s"; };' % log,
            'audit = { path = "%s"; required = false; };' % log)
        dc = dovecot_factory(policy=policy)
        assert dc.wait_log("audit.required = false")
        fill(d)
        ok, _ = imap_ok(dc, "alice", "alicepw")
        assert ok


@pytest.fixture
def cli_env(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    policy = tmp_path / "stepup.conf"

    def write(audit):
        policy.write_text(
            'version = 1;\n'
            'state = { path = "%s"; };\n'
            'audit = { path = "%s"; };\n'
            'login = ( { name = "default"; require = "totp"; } );\n'
            % (state, audit))
        os.chmod(policy, 0o644)
        return str(policy)
    return write


def test_full_audit_fs_no_cli_change_without_record(cli_env):
    with small_fs() as d:
        log = os.path.join(d, "audit.jsonl")
        policy = cli_env(log)
        r = run_stepup(policy, "app-password", "add", "bob", "--label",
                       "phone")
        assert r.returncode == 0, r.stderr
        filler = fill(d)
        # the log's last page may still hold a few records
        for i in range(12):
            r = run_stepup(policy, "app-password", "add", "bob", "--label",
                           "laptop%d" % i, "--json")
            if r.returncode != 0:
                break
        assert r.returncode != 0
        assert "not added" in r.stderr
        assert "password" not in json.loads(r.stdout)
        r = run_stepup(policy, "app-password", "revoke", "bob", "phone")
        assert r.returncode != 0 and "not revoked" in r.stderr
        r = run_stepup(policy, "reset", "bob")
        assert r.returncode != 0 and "not reset" in r.stderr
        st = json.loads(run_stepup(policy, "status", "bob",
                                   "--json").stdout)
        labels = [a["label"] for a in st["app_passwords"]]
        assert "phone" in labels and "laptop%d" % i not in labels
        os.unlink(filler)
        r = verify(policy, log)
        assert r.returncode == 0, r.stdout + r.stderr
        # the undone add can be made again once there is room
        r = run_stepup(policy, "app-password", "add", "bob", "--label",
                       "laptop%d" % i)
        assert r.returncode == 0, r.stderr
        assert verify(policy, log).returncode == 0


# -- item 1: import-oath with many users

def test_import_oath_many_users(cli_env, tmp_path):
    policy = cli_env(str(tmp_path / "audit.jsonl"))
    users = tmp_path / "users.oath"
    secret = "3132333435363738393031323334353637383930"
    users.write_text("".join("HOTP/T30 user%d - %s\n" % (i, secret)
                             for i in range(40)))
    r = run_stepup(policy, "import-oath", str(users))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("imported; recovery codes:") == 40
    assert "40 imported, 0 skipped, 0 refused" in r.stdout
    r = run_stepup(policy, "import-oath", str(users), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["skipped"] == 40
    (tmp_path / "more.oath").write_text(
        "".join("HOTP/T30 new%d - %s\n" % (i, secret) for i in range(12)))
    r = run_stepup(policy, "import-oath", str(tmp_path / "more.oath"),
                   "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["imported"]) == 12
    assert all(len(u["recovery_codes"]) == 10 for u in doc["imported"])


# -- item 5: the audit directory does not exist (Debian: /var/log/dovecot)

def test_missing_audit_dir_refuses_then_is_picked_up(dovecot_factory):
    d = tempfile.mkdtemp(prefix="su-noaudit-", dir="/tmp")
    os.rmdir(d)
    log = os.path.join(d, "audit.jsonl")
    try:
        dc = dovecot_factory(policy=POLICY_AT.replace("AUDIT", log).replace(
            "folders = ( ", 'folders = ( { name = "inbox"; mailbox = '
            '"INBOX"; require = "totp"; }, '))
        assert dc.wait_log("logins will be refused until it can be written")
        ok, err = imap_ok(dc, "alice", "alicepw")
        assert not ok and "Temporary authentication failure" in err
        # the admin creates it, writable by the auth process: no reload
        os.mkdir(d)
        os.chmod(d, 0o777)
        ok, err = imap_ok(dc, "alice", "alicepw")
        assert ok, err
        recs = records(log)
        assert recs and recs[-1]["event"] == "login" and \
            recs[-1]["decision"] == "allow"
        # and the stepup-audit service records folder decisions again
        m = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=10)
        m.login("alice", "alicepw")
        typ, _ = m.select("INBOX")
        m.logout()
        assert typ == "NO"
        assert any(r["event"] == "open" and r["decision"] == "deny"
                   for r in records(log))
    finally:
        subprocess.run(["rm", "-rf", d])
