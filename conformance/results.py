"""What a run did to each selected test.

Tempest reports a class whose ``setUpClass`` fails or skips as one event,
``setUpClass (tempest.api.x.Class)``, and nothing for its tests. Here every selected test
gets an outcome: its own, else its class's, else ``not run`` (a worker died, or the run was
interrupted). A failing ``tearDownClass`` (cleanup) is kept apart as a class error: its
tests have their own outcomes, but the run is not clean.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from conformance.selection import base_name, idempotent_id, service_of

PASSED, FAILED, SKIPPED, NOT_RUN = "passed", "failed", "skipped", "not run"
STATUSES = (PASSED, FAILED, SKIPPED, NOT_RUN)
_BY_SUBUNIT = {"success": PASSED, "xfail": PASSED, "fail": FAILED, "uxsuccess": FAILED,
               "skip": SKIPPED, "inprogress": FAILED}
_CLASS_EVENT = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) "
                          r"\((.+)\)$")
_DETAIL_LIMIT = 400


@dataclass(frozen=True)
class Outcome:
    test: str            # the test's name, without Tempest's [attributes]
    service: str
    status: str          # one of STATUSES
    detail: str          # the skip reason, the failure's exception line, or why not run
    via: str = ""        # "setUpClass" when the class's event decided it
    seconds: float | None = None
    idempotent_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ClassError:
    event: str           # "tearDownClass (tempest.api.x.Class)"
    detail: str


_EXCEPTION_HEADER = re.compile(
    r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*(?::|$)"                    # dotted: tempest.lib...
    r"|^[A-Za-z_]\w*(?:Error|Exception|Failure|Warning|Exit|Interrupt)(?::|$)")


def failure_line(traceback: str) -> str:
    """The exception a traceback ends with: its header line and the lines after it up to the
    first blank one (Tempest's ``Details: ...``), joined and shortened."""
    lines = traceback.rstrip().splitlines()
    headers = [i for i, line in enumerate(lines) if _EXCEPTION_HEADER.match(line)]
    if not headers:
        return lines[-1].strip()[:_DETAIL_LIMIT] if lines else ""
    paragraph = []
    for line in lines[headers[-1]:]:
        if not line.strip():
            break
        paragraph.append(line.strip())
    text = " ".join(paragraph)
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT - 3] + "..."


def _detail(event: dict, status: str) -> str:
    if status == SKIPPED:
        return event.get("reason") or "(no reason given)"
    if event.get("status") == "inprogress":
        return "did not finish (its worker died or the test timed out)"
    if status == FAILED:
        return failure_line(event.get("traceback") or "") or "(no traceback)"
    return ""


def outcomes(selected: list[str], events: list[dict]) -> tuple[list[Outcome], list[ClassError]]:
    """One outcome per selected test (in ``selected``'s order), and the class errors."""
    by_test: dict[str, dict] = {}
    class_setup: dict[str, dict] = {}
    class_errors: list[ClassError] = []
    for event in events:
        match = _CLASS_EVENT.match(event["id"])
        if match is None:
            by_test[base_name(event["id"])] = event
            continue
        kind, owner = match.groups()
        status = _BY_SUBUNIT.get(event["status"], NOT_RUN)
        if kind.startswith("setUp"):
            class_setup[owner] = event
        elif status == FAILED:
            class_errors.append(ClassError(event["id"], _detail(event, FAILED)))
    result = []
    for test_id in selected:
        result.append(_outcome(test_id, by_test, class_setup))
    return result, class_errors


def _outcome(test_id: str, by_test: dict[str, dict], class_setup: dict[str, dict]) -> Outcome:
    name, uuid = base_name(test_id), idempotent_id(test_id)
    owner = name.rsplit(".", 1)[0]
    event, via = by_test.get(name), ""
    if event is None:
        event = class_setup.get(owner) or class_setup.get(owner.rsplit(".", 1)[0])
        via = "setUpClass" if event is not None else ""
    if event is None:
        return Outcome(name, service_of(name), NOT_RUN, "no result (the run stopped before it)",
                       idempotent_id=uuid)
    status = _BY_SUBUNIT.get(event["status"], NOT_RUN)
    if via and status not in (FAILED, SKIPPED):
        return Outcome(name, service_of(name), NOT_RUN,
                       f"no result ({event['id']}: {event['status']})", idempotent_id=uuid)
    return Outcome(name, service_of(name), status, _detail(event, status), via,
                   event.get("seconds") if not via else None, uuid)
