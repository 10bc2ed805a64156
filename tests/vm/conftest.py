"""On a failed VM test, the end of each lab VM's serial console goes into the report: a guest that
hung or panicked says so there, and `lab down` removes the log afterwards."""

import pytest

from swarmlab import paths

TAIL = 40
STATES = paths.lab_state("any").parent  # every lab's state directory


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for log in sorted(STATES.glob("*/vms/*/console.log")):
            try:
                lines = log.read_text(errors="replace").splitlines()[-TAIL:]
            except OSError:  # removed meanwhile
                continue
            report.sections.append((f"console of {log.parent.name} ({log.parts[-4]})", "\n".join(lines)))
    return report
