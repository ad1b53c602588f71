"""stepup audit verify, against a chain built here independently from the
documented format (doc/audit.md): hash = SHA-256(prev + body)."""

import hashlib
import json
import subprocess

from dovecot_harness import built

GENESIS = "0" * 64


def make_chain(n):
    lines, prev = [], GENESIS
    for i in range(n):
        body = json.dumps({
            "ts": "2026-11-25T02:40:%02d.000Z" % i, "event": "login",
            "user": "alice", "session": "s%d" % i, "service": "imap",
            "ip": "192.0.2.1", "mailbox": None, "rule": "default",
            "decision": "allow", "reason": "totp code verified",
            "auth": "totp", "prev": prev}, separators=(",", ":"))
        h = hashlib.sha256((prev + body).encode()).hexdigest()
        lines.append(body[:-1] + ',"hash":"%s"}' % h)
        prev = h
    return lines


def verify(path, *extra):
    return subprocess.run([built("stepup"), "audit", "verify", str(path)] +
                          list(extra), capture_output=True, text=True,
                          timeout=30)


def test_intact_chain(tmp_path):
    log = tmp_path / "audit.jsonl"
    log.write_text("\n".join(make_chain(5)) + "\n")
    r = verify(log)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 records, chain intact from the start of the log" in r.stdout
    r = verify(log, "--json")
    assert json.loads(r.stdout) == {
        "files": [str(log)], "intact": True, "records": 5,
        "from_start": True, "last_hash": json.loads(make_chain(5)[4])["hash"]}


def test_edited_record_named(tmp_path):
    lines = make_chain(5)
    lines[2] = lines[2].replace('"decision":"allow"', '"decision":"deny"')
    log = tmp_path / "audit.jsonl"
    log.write_text("\n".join(lines) + "\n")
    r = verify(log)
    assert r.returncode == 1
    assert "line 3: hash mismatch" in r.stdout


def test_deleted_record_named(tmp_path):
    lines = make_chain(5)
    del lines[1]
    log = tmp_path / "audit.jsonl"
    log.write_text("\n".join(lines) + "\n")
    r = verify(log)
    assert r.returncode == 1
    assert "line 2: chain broken" in r.stdout


def test_missing_file_is_usage_error(tmp_path):
    r = verify(tmp_path / "nope.jsonl")
    assert r.returncode == 2
