"""A command that only speaks REST starts light: neither it nor ``--help`` of any command
imports the cloud's own code (SQLAlchemy, Flask, oslo.*, the services) nor requests.

Each check runs in a fresh interpreter (``sys.modules`` of this one holds everything) and
reads back the modules the command left loaded. The commands that run the cloud itself (up,
db upgrade, policy reference...) may import what they need, inside themselves: one of them is
checked to show the check sees it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

# Top-level packages and modules a REST command must not load (each costs 0.05-0.3 s).
HEAVY = ("sqlalchemy", "flask", "werkzeug", "alembic", "oslo_policy", "oslo_utils",
         "oslo_config", "requests", "urllib3", "tqdm", "jsonschema", "cryptography", "compute",
         "images", "volumes", "minicloud.db", "minicloud.models", "minicloud.runner",
         "minicloud.services", "minicloud.identity", "minicloud.policy", "minicloud.wsgi")

# Runs ARGS (every leaf command's --help when ARGS is null) and prints the modules loaded.
PROBE = """
import json, sys
import click
from minicloud.cli.main import cli

def leaves(group, path):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaves(command, [*path, name])
        else:
            yield [*path, name]

runs = [[*path, "--help"] for path in leaves(cli, [])] + [["--help"]]
runs = runs if ARGS is None else [ARGS]
for args in runs:
    try:
        cli.main(args=args, prog_name="minicloud", standalone_mode=False)
    except Exception:
        pass  # the command's own error (no cloud here): what was imported is the point
print(json.dumps({"runs": len(runs), "modules": sorted(sys.modules)}))
"""


def loaded(args: list[str] | None, tmp_path) -> tuple[int, set[str]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "HOME": str(tmp_path), "MINICLOUD_STATE_DIR": str(tmp_path),
           # a cloud that is not there: the command fails at its first call
           "OS_AUTH_URL": f"http://127.0.0.1:{free_port()}/v3", "OS_USERNAME": "u",
           "OS_PASSWORD": "p", "OS_PROJECT_NAME": "p"}
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("ARGS", repr(args))],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
                          check=True)
    out = json.loads(proc.stdout.splitlines()[-1])
    return out["runs"], set(out["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_of_every_command_is_light(tmp_path):
    runs, modules = loaded(None, tmp_path)
    assert runs > 40  # every leaf command of the tree was parsed
    assert heavy(modules) == []


@pytest.mark.parametrize("args", [
    ["server", "list"],
    ["server", "create", "vm", "--image", "tiny", "--flavor", "lab.nano", "--wait"],
    ["server", "delete", "vm", "--wait"],
    ["server", "console", "vm"],
    ["server", "event", "list", "vm"],
    ["keypair", "list"],
    ["flavor", "list"],
    ["volume", "create", "v", "--size", "1", "--wait"],
    ["image", "list"],
    ["image", "show", "tiny"],
    ["project", "list"],
])
def test_rest_commands_are_light(args, tmp_path):
    _, modules = loaded(args, tmp_path)
    assert "minicloud.cli.rest" in modules  # it did try to speak REST
    assert heavy(modules) == []


def test_the_check_sees_a_heavy_import(tmp_path):
    _, modules = loaded(["policy", "reference"], tmp_path)
    assert "oslo_policy" in heavy(modules)
