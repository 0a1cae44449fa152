"""Checking bodies against Tempest's own response schemas, with Tempest's own validator.

Tempest lives in its own virtualenv (``.venv-tempest``), so the check runs there: the cases
are written to a file and a small script validates each one with
``RestClient.validate_response``. A case names its schema either by a service client
(``"client": "tempest.lib.services.compute.servers_client.ServersClient"``: the schema
module picked by the case's microversion from the client's ``schema_versions_info``) or by
a schema module (``"module": "tempest.lib.api_schema.response.compute.v2_1.images"``), plus
``op`` (the schema's name in that module), ``version``, ``status``, ``body`` and, where
the schema checks them, ``headers`` (a dict).
"""
from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPEST_PY = ROOT / ".venv-tempest" / "bin" / "python"
COMPUTE_CLIENTS = "tempest.lib.services.compute"
COMPUTE_SCHEMAS = "tempest.lib.api_schema.response.compute.v2_1"

_SCRIPT = textwrap.dedent('''
    import importlib, json, sys
    from tempest.lib.common.rest_client import RestClient

    def pick(infos, version):
        minor = int(version.split(".")[1])
        for info in infos:
            low = int(info["min"].split(".")[1]) if info["min"] else 0
            high = int(info["max"].split(".")[1]) if info["max"] else 10 ** 6
            if low <= minor <= high:
                return info["schema"]
        raise SystemExit(f"no schema for {version}")

    class Resp(dict):
        def __init__(self, status, headers):
            super().__init__(headers)
            self.status = status

    failures = []
    for case in json.load(open(sys.argv[1])):
        if "client" in case:
            module, cls = case["client"].rsplit(".", 1)
            infos = getattr(importlib.import_module(module), cls).schema_versions_info
            schema = pick(infos, case["version"])
        else:
            schema = importlib.import_module(case["module"])
        try:
            RestClient.validate_response(getattr(schema, case["op"]), Resp(case["status"],
                                         case.get("headers") or {}), case["body"])
        except Exception as exc:
            failures.append(f"{case['op']} at {case['version']}: {str(exc)[:600]}")
    print("\\n".join(failures))
    sys.exit(1 if failures else 0)
''')


def assert_valid(cases: list[dict], tmp_path: Path) -> None:
    """Every case's body passes its Tempest schema (the failures are the message)."""
    if not TEMPEST_PY.exists():
        pytest.fail("Tempest is not installed: run make setup (it builds .venv-tempest)")
    assert cases, "no case to check"
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "validate.py").write_text(_SCRIPT)
    proc = subprocess.run([str(TEMPEST_PY), str(tmp_path / "validate.py"),
                           str(tmp_path / "cases.json")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
