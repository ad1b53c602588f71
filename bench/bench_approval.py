#!/usr/bin/env python3
"""Approvals, measured against a real Dovecot and the test suite's HTTPS
endpoint (prints numbers, never passes or fails on time):

1. the cost of opening a folder with a live approval grant against an
   unprotected folder (SELECT + CLOSE, one session): the ratio
   unprotected/granted (target >= 0.95);
2. 200 parallel SELECTs of one approval folder by one user (200 sessions),
   the endpoint deciding after 1 s: how many requests it got, and the
   SELECTs' latency.

  STEPUP_BUILD_DIR=build python3 bench/bench_approval.py [ROUNDS]
"""

import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from approval_endpoint import Endpoint  # noqa: E402
from dovecot_harness import Dovecot  # noqa: E402
from test_login import SourceIMAP4  # noqa: E402

KEY = b"bench-approval-key-0123456789abcdef0123"
POLICY = """\
version = 1;
state = { path = "{t}/state"; };
audit = { path = "{t}/log/audit.jsonl"; };
approval = { url = "URL"; key_file = "KEYFILE"; ca_file = "CAFILE";
             timeout = "5s"; wait = "20s"; };
login = ( { name = "pw"; require = "password"; } );
folders = (
  { name = "hr"; mailbox = "Confidentiel"; require = "approval"; grant = "1h"; },
  { name = "rest"; mailbox = "*"; require = "none"; }
);
"""
EXTRA = """\
mail_max_userip_connections = 1000
mail_debug = no
auth_debug = no
service imap {
  process_limit = 1024
}
"""


def open_loop(imap, box, rounds):
    t0 = time.perf_counter()
    for _ in range(rounds):
        typ, _ = imap.select(box)
        assert typ == "OK", box
        imap.close()
    return (time.perf_counter() - t0) / rounds


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    d = tempfile.mkdtemp(prefix="su-bench-", dir="/tmp")
    os.chmod(d, 0o755)
    keyfile = os.path.join(d, "approval.key")
    with open(keyfile, "wb") as f:
        f.write(KEY)
    os.chmod(keyfile, 0o600)
    ep = Endpoint(os.path.join(d, "ca"), {"1": KEY})
    policy = POLICY.replace("URL", ep.url).replace("KEYFILE", keyfile) \
        .replace("CAFILE", ep.ca_file)
    dc = Dovecot(name="bench", users={"alice": "alicepw"}, policy=policy,
                 extra=EXTRA)
    try:
        dc.start()
        dc.doveadm("mailbox", "create", "-u", "alice", "Confidentiel",
                   "Plain", check=True)
        imap = SourceIMAP4(dc.imap_port, "127.0.0.1")
        imap.login("alice", "alicepw")
        ep.reset("approve")
        assert imap.select("Confidentiel")[0] == "OK"
        imap.close()
        open_loop(imap, "Plain", 20)          # warm up
        plain = open_loop(imap, "Plain", rounds)
        granted = open_loop(imap, "Confidentiel", rounds)
        imap.logout()
        print("open (SELECT+CLOSE), %d rounds: unprotected %.0f us, "
              "with a live grant %.0f us, ratio %.2f (target >= 0.95)" %
              (rounds, plain * 1e6, granted * 1e6, plain / granted))

        # 200 parallel SELECTs; a fresh request (the grant revoked)
        dc.doveadm("mailbox", "create", "-u", "alice", "Confidentiel/Sub",
                   check=True)
        ep.reset("pending_then_approve", delay=1)
        n = 200
        sessions = []
        for _ in range(n):
            s = SourceIMAP4(dc.imap_port, "127.0.0.1")
            s.login("alice", "alicepw")
            sessions.append(s)
        lat, lock, start = [], threading.Lock(), threading.Event()

        def run(s):
            start.wait()
            t0 = time.perf_counter()
            typ, _ = s.select("Confidentiel/Sub")
            with lock:
                lat.append((typ, time.perf_counter() - t0))

        threads = [threading.Thread(target=run, args=(s,))
                   for s in sessions]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(60)
        for s in sessions:
            s.logout()
        ok = sum(1 for typ, _ in lat if typ == "OK")
        times = sorted(x for _, x in lat)
        print("%d parallel SELECTs (endpoint decides after 1 s): %d opened, "
              "%d request(s) to the endpoint (%d polls), latency min %.2f s, "
              "median %.2f s, max %.2f s" %
              (n, ok, len(ep.posts()), len(ep.gets()), times[0],
               statistics.median(times), times[-1]))
    finally:
        dc.cleanup()
        ep.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
