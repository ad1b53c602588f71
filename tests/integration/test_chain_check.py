"""The auth process refuses to run with a passdb chain that could let a
login through without the second stage (doc/admin-guide.md), with 2.3's
and with 2.4's configuration: a mechanism filter on a stepup passdb, your
passdb without continue-ok, no verify stage, and (2.4) a stepup passdb in
an auth worker, which would not share the first stage's state (2.3 has
no workers per passdb: a skip on the first stage instead)."""

import pytest

from dovecot_harness import STEPUP_CHAIN, by_version

FIRST_END = "  result_failure = return-fail\n"


def with_first(line):
    return STEPUP_CHAIN.replace(FIRST_END, line + FIRST_END, 1)


def without_verify():
    third = STEPUP_CHAIN.index("passdb", STEPUP_CHAIN.index(
        "passdb", STEPUP_CHAIN.index("passdb") + 1) + 1)
    return STEPUP_CHAIN[:third]


CASES = {
    "mechanisms": (
        with_first(by_version("  mechanisms = plain\n",
                              "  mechanisms_filter = plain\n")),
        "and no skip, mechanisms or username_filter"),
    "continue-ok": (
        STEPUP_CHAIN.replace("  result_success = continue-ok\n", ""),
        "between the two stepup stages needs result_success = continue-ok"),
    "no-verify": (
        without_verify(),
        "the last passdb must be stepup with stage=verify"),
    "worker": (
        by_version(with_first("  skip = authenticated\n"),
                   STEPUP_CHAIN.replace(
                       "  skip = never\n",
                       "  skip = never\n  use_worker = yes\n")),
        by_version("and no skip, mechanisms or username_filter",
                   "cannot run in an auth worker: remove use_worker = yes "
                   "from passdb stepup_verify")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unsafe_chain_stops_the_auth_process(dovecot_factory, case):
    chain, error = CASES[case]
    assert chain != STEPUP_CHAIN
    dc = dovecot_factory(name="chain", passdbs=chain)
    # the login processes started by the harness's probes connect to
    # auth, which starts, reads the chain and stops
    assert dc.wait_log(error), dc.log_tail()
    assert "Fatal: passdb stepup: " in dc.log()
    # doveadm stop would wait for the throttled auth service
    dc.proc.terminate()
