"""pytest glue for the integration suite: a Dovecot per test module, the
Dovecot log tail on every failure, and a failure on any sanitizer report."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dovecot_harness import Dovecot, build_dir  # noqa: E402

_running = []


@pytest.fixture(scope="session")
def stepup_bin():
    return os.path.join(build_dir(), "stepup")


@pytest.fixture(scope="module")
def dovecot_factory(request):
    """Start Dovecot instances for one test module; all are stopped and
    checked for sanitizer reports when the module ends."""
    started = []

    def start(cls=Dovecot, **kwargs):
        inst = cls(**kwargs)
        _running.append(inst)
        started.append(inst)
        return inst.start()

    yield start
    reports = []
    for inst in started:
        inst.stop()
        reports += inst.sanitizer_reports()
        _running.remove(inst)
    try:
        if reports:
            pytest.fail("sanitizer or crash reports from Dovecot:\n" +
                        "\n".join(reports), pytrace=False)
    finally:
        for inst in started:
            inst.cleanup()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for inst in _running:
            if inst.t:
                report.sections.append(
                    ("dovecot log tail (%s)" % inst.t, inst.log_tail()))
