"""Policy rules in OpenStack's syntax, evaluated against a request context and a target.

Grammar (as oslo.policy): ``@`` / empty (always), ``!`` (never), ``role:NAME``,
``rule:NAME``, ``KEY:%(target_key)s`` or ``KEY:literal`` (compared with the credentials),
``True:%(target_key)s`` style constants, combined with ``and``, ``or``, ``not`` and parentheses.
Defaults come from each service; an operator ``policy.yaml`` overrides rules by name.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from minicloud.errors import ConfigError, Forbidden

Check = Callable[[Mapping[str, Any], Mapping[str, Any], "Enforcer"], bool]

def _tokens(text: str) -> list[str]:
    """Split on whitespace, then peel parentheses off the ends (as oslo.policy does), so that
    ``%(owner)s`` inside a check survives."""
    out: list[str] = []
    for chunk in text.split():
        lead = len(chunk) - len(chunk.lstrip("("))
        core = chunk.lstrip("(")
        trail = len(core) - len(core.rstrip(")"))
        core = core.rstrip(")")
        out += ["("] * lead + ([core] if core else []) + [")"] * trail
    return out


class _Parser:
    """Recursive descent: expr := term ('or' term)*; term := factor ('and' factor)*."""

    def __init__(self, text: str) -> None:
        self.text, self.toks, self.pos = text, _tokens(text), 0

    def parse(self) -> Check:
        if not self.toks:
            return lambda creds, target, enf: True
        check = self._expr()
        if self.pos != len(self.toks):
            raise ValueError(f"unexpected {self.toks[self.pos]!r}")
        return check

    def _peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _next(self) -> str:
        tok = self._peek()
        if tok is None:
            raise ValueError("unexpected end of rule")
        self.pos += 1
        return tok

    def _expr(self) -> Check:
        checks = [self._term()]
        while self._peek() == "or":
            self._next()
            checks.append(self._term())
        return checks[0] if len(checks) == 1 else (
            lambda c, t, e: any(ch(c, t, e) for ch in checks))

    def _term(self) -> Check:
        checks = [self._factor()]
        while self._peek() == "and":
            self._next()
            checks.append(self._factor())
        return checks[0] if len(checks) == 1 else (
            lambda c, t, e: all(ch(c, t, e) for ch in checks))

    def _factor(self) -> Check:
        tok = self._next()
        if tok == "not":
            inner = self._factor()
            return lambda c, t, e: not inner(c, t, e)
        if tok == "(":
            inner = self._expr()
            if self._next() != ")":
                raise ValueError("missing ')'")
            return inner
        return _atom(tok)


def _atom(tok: str) -> Check:
    if tok == "@":
        return lambda c, t, e: True
    if tok == "!":
        return lambda c, t, e: False
    kind, sep, match = tok.partition(":")
    if not sep:
        raise ValueError(f"not a check: {tok!r}")
    if kind == "rule":
        return lambda c, t, e: e.check(match, c, t)
    if kind == "role":
        return lambda c, t, e: match.lower() in {r.lower() for r in c.get("roles", ())}

    def generic(creds: Mapping[str, Any], target: Mapping[str, Any], _e: Enforcer) -> bool:
        try:
            expected = match % target if "%(" in match else match
        except (KeyError, TypeError, ValueError):
            return False
        if kind in ("True", "False"):
            return str(kind == "True") == str(expected)
        actual = creds.get(kind)
        return actual is not None and str(actual) == str(expected)

    return generic


def parse_rule(text: str) -> Check:
    try:
        return _Parser(text).parse()
    except ValueError as exc:
        raise ConfigError(f"invalid policy rule {text!r}: {exc}") from None


class Enforcer:
    """Holds named rules; ``enforce`` raises :class:`Forbidden` when a rule denies."""

    def __init__(self, defaults: Mapping[str, str], path: Path | None = None) -> None:
        rules = dict(defaults)
        if path is not None and path.exists():
            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(loaded, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
                raise ConfigError(f"{path}: must map rule names to rule strings")
            rules.update(loaded)
        self.texts = rules
        self.rules = {name: parse_rule(text) for name, text in rules.items()}

    def check(self, name: str, creds: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
        rule = self.rules.get(name)
        if rule is None:
            rule = self.rules.get("default")
        if rule is None:
            return False
        return rule(creds, target, self)

    def enforce(self, name: str, creds: Mapping[str, Any], target: Mapping[str, Any],
                message: str | None = None) -> None:
        if not self.check(name, creds, target):
            raise Forbidden(message or f"Policy doesn't allow {name} to be performed.")
