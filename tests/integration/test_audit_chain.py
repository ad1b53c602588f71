"""stepup audit verify/anchor/report over rotated files, against chains
built here from the documented format (doc/audit.md): every file begins
with a start record, whose prev is the last hash of the file before."""

import hashlib
import json
import subprocess

import pytest

from dovecot_harness import built

GENESIS = "0" * 64


def record(prev, i, event="login", reason="totp code verified"):
    body = json.dumps({
        "ts": "2026-11-25T02:%02d:%02d.000Z" % (i // 60, i % 60),
        "event": event, "user": "alice", "session": "s%d" % i,
        "service": "imap" if event != "start" else None,
        "ip": "192.0.2.1" if event != "start" else None, "mailbox": None,
        "rule": None, "decision": "allow" if event != "start" else None,
        "reason": reason, "auth": None, "prev": prev},
        separators=(",", ":"))
    h = hashlib.sha256((prev + body).encode()).hexdigest()
    return body[:-1] + ',"hash":"%s"}' % h, h


def make_files(tmp_path, sizes):
    """files of sizes[i] records each (after their start record)"""
    prev, n, paths = GENESIS, 0, []
    for f, size in enumerate(sizes):
        lines = []
        line, prev = record(prev, n, "start", "new file")
        lines.append(line)
        for _ in range(size):
            n += 1
            line, prev = record(prev, n)
            lines.append(line)
        path = tmp_path / ("audit.jsonl.%d" % (len(sizes) - f))
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def stepup(*args):
    return subprocess.run([built("stepup")] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60)


def test_rotated_files_are_one_chain(tmp_path):
    a, b, c = make_files(tmp_path, [3, 4, 5])
    r = stepup("audit", "verify", a, b, c)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "15 records, chain intact from the start of the log" in r.stdout
    # the newer files alone continue an earlier file
    r = stepup("audit", "verify", b, c)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "continues an earlier file not given" in r.stdout
    # a missing middle file is named, with the line
    r = stepup("audit", "verify", a, c)
    assert r.returncode == 1
    assert ("%s line 1: does not continue %s: a file between them is "
            "missing" % (c, a)) in r.stdout, r.stdout
    # files given out of order
    r = stepup("audit", "verify", b, a, c)
    assert r.returncode == 1 and "%s line 1" % a in r.stdout, r.stdout
    r = stepup("audit", "verify", "--json", a, b, c)
    out = json.loads(r.stdout)
    assert out["intact"] and out["records"] == 15 and out["from_start"]
    assert out["files"] == [str(a), str(b), str(c)]


TAMPER = ["edit", "delete", "reorder", "truncate", "cut"]


@pytest.mark.parametrize("how", TAMPER)
@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_tampering_detected_with_the_line(tmp_path, how, which, where):
    paths = make_files(tmp_path, [3, 4, 5])
    path = paths[which]
    lines = path.read_text().splitlines()
    # the writers' head file next to the live log names its last record
    (tmp_path / (paths[2].name + ".head")).write_text(
        json.loads(paths[2].read_text().splitlines()[-1])["hash"] + "\n")
    i = {"first": 0, "middle": len(lines) // 2,
         "last": len(lines) - 1}[where]
    if how == "edit":
        lines[i] = lines[i].replace('"user":"alice"', '"user":"mallory"')
        line = i + 1
    elif how == "delete":
        del lines[i]
        line = i + 1
    elif how == "reorder":
        j = i + 1 if i + 1 < len(lines) else i - 1
        lines[i], lines[j] = lines[j], lines[i]
        line = min(i, j) + 1
    elif how == "truncate":
        # every record from i on
        del lines[i:]
        line = 1
    else:
        # a record cut mid-line
        lines[i] = lines[i][:len(lines[i]) // 2]
        line = i + 1
    text = "\n".join(lines) + ("\n" if lines and how != "cut" else "")
    if how == "cut" and i < len(lines) - 1:
        text += "\n"
    path.write_text(text)
    r = stepup("audit", "verify", *paths)
    assert r.returncode == 1, (how, which, where, r.stdout)
    if how == "delete" and where == "last":
        how = "truncate"  # the same: records gone from the end
    if how == "truncate" and which == 2:
        # the end of the live log: its head file tells
        assert "records were removed from the end of %s" % path in r.stdout
        return
    if how == "truncate":
        # the next file no longer links to this one
        assert "%s line 1: does not continue %s" % (
            paths[which + 1], path) in r.stdout, r.stdout
        return
    assert "%s line %d: " % (path, line) in r.stdout, (how, r.stdout)


def test_truncated_end_of_live_log(tmp_path):
    """the writers' head file names the last record written: records cut
    from the end of the live log are found"""
    a, b = make_files(tmp_path, [3, 4])
    last = json.loads(b.read_text().splitlines()[-1])["hash"]
    head = tmp_path / (b.name + ".head")
    head.write_text(last + "\n")
    assert stepup("audit", "verify", a, b).returncode == 0
    b.write_text("\n".join(b.read_text().splitlines()[:-2]) + "\n")
    r = stepup("audit", "verify", a, b)
    assert r.returncode == 1
    assert "records were removed from the end of %s" % b in r.stdout


def test_anchor(tmp_path):
    a, b, c = make_files(tmp_path, [3, 4, 5])
    r = stepup("audit", "anchor", b)
    assert r.returncode == 0, r.stderr
    anchor, ts = r.stdout.split()
    assert anchor == json.loads(b.read_text().splitlines()[-1])["hash"]
    assert ts == json.loads(b.read_text().splitlines()[-1])["ts"]
    out = json.loads(stepup("audit", "anchor", "--json", b).stdout)
    assert out == {"file": str(b), "hash": anchor, "ts": ts}
    r = stepup("audit", "verify", "--anchor", anchor, a, b, c)
    assert r.returncode == 0, r.stdout
    assert "anchor %s found at %s line 5: the log up to it is intact" % (
        anchor, b) in r.stdout
    # an anchor the files do not hold
    r = stepup("audit", "verify", "--anchor", "ab" * 32, a, b, c)
    assert r.returncode == 1 and "not found" in r.stdout
    # the whole chain rewritten from a record on: the anchor is lost
    lines = a.read_text().splitlines()
    prev, rebuilt = json.loads(lines[1])["hash"], lines[:2]
    for i in range(2, len(lines)):
        line, prev = record(prev, 100 + i)
        rebuilt.append(line)
    a.write_text("\n".join(rebuilt) + "\n")
    for f in (b, c):
        lines = f.read_text().splitlines()
        rebuilt = []
        for i, old in enumerate(lines):
            line, prev = record(prev, 200 + i, json.loads(old)["event"])
            rebuilt.append(line)
        f.write_text("\n".join(rebuilt) + "\n")
    assert stepup("audit", "verify", a, b, c).returncode == 0
    r = stepup("audit", "verify", "--anchor", anchor, a, b, c)
    assert r.returncode == 1 and "anchor %s not found" % anchor in r.stdout


def test_report_reads_rotated_files(tmp_path):
    a, b = make_files(tmp_path, [2, 3])
    r = stepup("audit", "report", "--all", "--json", a, b)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["intact"] is True
    assert [x["session"] for x in out["records"]
            if x["event"] == "login"] == ["s1", "s2", "s3", "s4", "s5"]
    r = stepup("audit", "report", "--all", "--json", b)
    assert json.loads(r.stdout)["intact"] is True
