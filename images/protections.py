"""Property protections: who may create, read, update and delete which custom properties.

The file is INI, as Glance's ``property_protection_file``::

    [^x_billing_.*]
    create = admin
    read = admin,member
    update = admin
    delete = !

* Each section name is a regular expression. Sections are tried in file order; the first
  whose expression matches (``re.search``, as Glance) decides. A property that matches
  **no** section is denied to everybody, as in Glance, so a protections file normally ends
  with a catch-all ``[.*]`` section.
* Every section must give exactly ``create``, ``read``, ``update`` and ``delete``.
* With ``property_protection_rule_format = roles`` each value is a comma list of roles
  (case-insensitive); ``@`` allows everybody, ``!`` nobody; ``@``/``!`` cannot be combined
  with anything else.
* With ``policies`` each value is one policy rule name (or ``@``/``!``), checked with the
  service's policy enforcer against the image; the rule must exist.

Any problem (missing file, syntax, bad regular expression, missing or unknown key, empty or
mixed value, unknown format, unknown policy rule) is a :class:`ConfigError` raised while the
app is built, so the service refuses to start. A denied ``read`` hides the property; a denied
``create``/``update``/``delete`` is a 403 (raised by the service).
"""
from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minicloud.errors import ConfigError
from minicloud.policy import Enforcer

OPERATIONS = ("create", "read", "update", "delete")
FORMATS = ("roles", "policies")
EVERYBODY, NOBODY = "@", "!"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    allowed: Mapping[str, tuple[str, ...]]  # operation -> roles, (rule name,), ("@",), ("!",)


class PropertyProtections:
    """Parsed rules plus how to evaluate them (roles, or policy rules via ``enforcer``)."""

    def __init__(self, rules: list[Rule], rule_format: str = "roles",
                 enforcer: Enforcer | None = None) -> None:
        if rule_format not in FORMATS:
            raise ConfigError(f"property_protection_rule_format must be one of "
                              f"{', '.join(FORMATS)}, not {rule_format!r}.")
        if rule_format == "policies" and enforcer is None:
            raise ConfigError("policies-format property protections need a policy enforcer.")
        self.rules, self.rule_format, self.enforcer = rules, rule_format, enforcer

    @classmethod
    def load(cls, path: Path, rule_format: str = "roles",
             enforcer: Enforcer | None = None) -> PropertyProtections:
        text = _read(path)
        rules = parse(text, str(path), rule_format)
        if rule_format == "policies":
            known = set(enforcer.rules) if enforcer else set()
            for rule in rules:
                for names in rule.allowed.values():
                    missing = [n for n in names if n not in (EVERYBODY, NOBODY, *known)]
                    if missing:
                        raise ConfigError(f"{path}: section [{rule.pattern.pattern}] names "
                                          f"unknown policy rule {missing[0]!r}.")
        return cls(rules, rule_format, enforcer)

    def rule_for(self, name: str) -> Rule | None:
        for rule in self.rules:
            if rule.pattern.search(name):
                return rule
        return None

    def allows(self, operation: str, name: str, creds: Mapping[str, Any],
               target: Mapping[str, Any] | None = None) -> bool:
        """May the caller with ``creds`` perform ``operation`` on property ``name``?"""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        rule = self.rule_for(name)
        if rule is None:
            return False
        allowed = rule.allowed[operation]
        if allowed == (EVERYBODY,):
            return True
        if allowed == (NOBODY,):
            return False
        if self.rule_format == "policies":
            assert self.enforcer is not None
            return self.enforcer.check(allowed[0], creds, target or {})
        roles = {str(r).lower() for r in creds.get("roles", ())}
        return bool(roles & set(allowed))


def _read(path: Path) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"property protection file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"property protection file {path} cannot be read: {exc}") from None


def parse(text: str, origin: str = "<protections>", rule_format: str = "roles") -> list[Rule]:
    """Parse the INI text into rules, in file order; :class:`ConfigError` on any problem."""
    # No DEFAULT section: "[DEFAULT]" is an ordinary regular expression here.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none")
    try:
        parser.read_string(text, source=origin)
    except configparser.Error as exc:
        raise ConfigError(f"{origin}: malformed property protections: {exc}") from None
    return [_rule(parser[section], origin, rule_format) for section in parser.sections()]


def _rule(section: configparser.SectionProxy, origin: str, rule_format: str) -> Rule:
    where = f"{origin}: section [{section.name}]"
    try:
        pattern = re.compile(section.name)
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regular expression: {exc}") from None
    keys = set(section.keys())
    missing = [op for op in OPERATIONS if op not in keys]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}.")
    unknown = sorted(keys - set(OPERATIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected create, read, "
                          "update, delete).")
    allowed = {op: _value(section[op], f"{where} {op}", rule_format) for op in OPERATIONS}
    return Rule(pattern, allowed)


def _value(raw: str, where: str, rule_format: str) -> tuple[str, ...]:
    items = tuple(item.strip().lower() if rule_format == "roles" else item.strip()
                  for item in raw.split(",") if item.strip())
    if not items:
        raise ConfigError(f"{where}: empty; give roles, '@' (everybody) or '!' (nobody).")
    if len(items) > 1 and ({EVERYBODY, NOBODY} & set(items)):
        raise ConfigError(f"{where}: '@' and '!' cannot be combined with other entries.")
    if rule_format == "policies" and len(items) > 1:
        raise ConfigError(f"{where}: the policies format takes one policy rule name.")
    return items


def from_config(image_conf: Any, path_of, enforcer: Enforcer) -> PropertyProtections | None:
    """The protections configured in ``[image]``, or ``None`` when they are off."""
    name = (image_conf.property_protection_file or "").strip()
    rule_format = (image_conf.property_protection_rule_format or "roles").strip()
    if rule_format not in FORMATS:
        raise ConfigError(f"[image] property_protection_rule_format must be one of "
                          f"{', '.join(FORMATS)}, not {rule_format!r}.")
    if not name:
        return None
    return PropertyProtections.load(path_of(name), rule_format, enforcer)
