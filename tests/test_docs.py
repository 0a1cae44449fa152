"""The docs stay true to the code: configuration reference and command list."""
from __future__ import annotations

from pathlib import Path

import click

from minicloud.cli.main import cli
from minicloud.config import reference_markdown
from minicloud.policy import reference_markdown as policy_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert doc.strip() == reference_markdown().strip(), \
        "regenerate with: minicloud config reference > docs/configuration.md"


def test_policy_reference_is_current():
    doc = (ROOT / "docs" / "policy.md").read_text()
    assert doc.strip() == policy_markdown().strip(), \
        "regenerate with: minicloud policy reference > docs/policy.md"


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, full + " ")
        else:
            yield full


def test_every_command_is_documented():
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md"))
    missing = [c for c in _commands(cli) if f"minicloud {c}" not in docs]
    assert not missing, f"undocumented commands: {missing}"
