"""One user's state lock held by another process (a stopped `stepup`
command, a slow disk) delays only that user's login, and only for a
bounded time: the auth process serves every user from one event loop, so a
blocking wait there would freeze every login of the server."""

import hashlib
import imaplib
import os
import signal
import subprocess
import threading

import pyotp
import pytest

from dovecot_harness import by_version
from test_login import enroll

POLICY = """\
version = 1;
totp = { issuer = "Test"; digits = 6; period = 30; window = 1; };
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
login = ( { name = "default"; require = "totp"; } );
folders = ( { name = "rest"; mailbox = "*"; require = "none"; } );
"""

HOLD_SECS = 10


@pytest.fixture(scope="module")
def dc(dovecot_factory):
    inst = dovecot_factory(name="statelock", policy=POLICY,
                           users={"alice": "alicepw", "bob": "bobpw"})
    inst.secrets = {u: enroll(inst, u)[0] for u in ("alice", "bob")}
    return inst


def lock_path(dc, user):
    return os.path.join(dc.state_dir,
                        hashlib.sha256(user.encode()).hexdigest() + ".lock")


def login(dc, user, password, timeout):
    """(ok, text); a login that gets no answer within timeout fails."""
    imap = imaplib.IMAP4("127.0.0.1", dc.imap_port, timeout=timeout)
    try:
        imap.login(user, password)
        imap.logout()
        return True, "OK"
    except (imaplib.IMAP4.error, OSError) as e:
        imap.shutdown()
        return False, str(e)


def test_held_lock_delays_only_that_user(dc):
    alice = pyotp.TOTP(dc.secrets["alice"]).now()
    bob = pyotp.TOTP(dc.secrets["bob"]).now()
    # the enrollment made the persistent lock file; another process
    # holds it for HOLD_SECS
    path = lock_path(dc, "alice")
    assert os.path.exists(path)
    holder = subprocess.Popen(["flock", "-x", path, "sleep", str(HOLD_SECS)],
                              start_new_session=True)
    try:
        # flock(1) has the lock once a try without waiting fails
        for _ in range(200):
            if subprocess.run(["flock", "-n", "-x", path, "true"]).returncode:
                break
        else:
            pytest.fail("the helper never took the lock")

        result = {}
        mark = dc.log_mark()
        waiting = threading.Thread(target=lambda: result.update(
            alice=login(dc, "alice", "alicepw" + alice, HOLD_SECS - 2)))
        waiting.start()
        # once alice's password is checked (the code is next), another
        # user logs in, greeting included
        assert dc.wait_log(by_version("passwd-file(alice",
                                      "passwd-file: lookup: user=alice"),
                           mark)
        ok, text = login(dc, "bob", "bobpw" + bob, HOLD_SECS - 2)
        assert ok, text
        waiting.join(HOLD_SECS)
        assert not waiting.is_alive()
        # both answers came while the lock was still held
        assert holder.poll() is None
        ok, text = result["alice"]
        assert not ok
        assert "[UNAVAILABLE]" in text, text
    finally:
        # flock(1) and its sleep, which holds the descriptor too
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    assert dc.wait_log("locked by another process")
    # the refused attempt consumed nothing: the same code now works
    ok, text = login(dc, "alice", "alicepw" + alice, 10)
    assert ok, text
