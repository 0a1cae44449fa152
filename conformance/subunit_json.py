"""Read a subunit v2 stream on stdin (``stestr last --subunit``); write its tests as JSON.

Runs in Tempest's venv (it needs python-subunit and testtools, which minicloud's venv does
not have): ``.venv-tempest/bin/python conformance/subunit_json.py < stream > tests.json``.

Output: a JSON list, one object per test id in the stream (class-level events such as
``setUpClass (tempest.api.x.Class)`` included), with ``id``, ``status`` (subunit's:
``success``, ``fail``, ``skip``, ``xfail``, ``uxsuccess``, ``exists``, ``inprogress``),
``reason`` (the skip reason, "" otherwise), ``traceback`` ("" when none) and ``seconds``.
"""
from __future__ import annotations

import json
import sys

import subunit
import testtools


def _text(details: dict, name: str) -> str:
    content = details.get(name)
    if content is None:
        return ""
    return "".join(content.iter_text()) if content.content_type.type == "text" else ""


def read(stream) -> list[dict]:
    tests: list[dict] = []

    def on_test(test: dict) -> None:
        start, stop = test["timestamps"]
        details = test["details"]
        tests.append({
            "id": test["id"],
            "status": test["status"],
            "reason": _text(details, "reason").strip(),
            "traceback": _text(details, "traceback"),
            "seconds": round((stop - start).total_seconds(), 3) if start and stop else None,
        })

    case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
    return tests


if __name__ == "__main__":
    json.dump(read(sys.stdin.buffer), sys.stdout)
