"""Policy: oslo.policy with policy-in-code defaults per service, overridable in ``policy.yaml``.

Every service declares its rules as oslo.policy ``RuleDefault``/``DocumentedRuleDefault``
objects in its ``policies`` module (registered in :mod:`minicloud.services`); the
:class:`Enforcer` registers them plus the shared personas below, then lets the operator's
``policy.yaml`` override any rule by name. Rules follow OpenStack's secure defaults (Yoga and
later): ``reader`` reads, ``member`` writes in its project, ``admin`` administers, with
``system_scope:all`` for system-scoped tokens. Keystone's implied roles (admin implies
manager implies member implies reader) are expanded into the token's roles, so
``role:reader`` also admits members.

Credentials are a plain mapping (see ``AuthContext.credentials``): ``user_id``, ``roles``,
``project_id``, ``project_domain_id``, ``user_domain_id``, and for other scopes
``system_scope`` or ``domain_id`` (oslo.policy takes a ``domain_id`` for a domain-scoped token,
so project-scoped credentials never carry one). Operators get oslo.policy's own tools through
the ``oslo.policy.policies`` entry points: ``oslopolicy-sample-generator --namespace
minicloud.compute`` and ``oslopolicy-checker``.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from minicloud.errors import ConfigError, Forbidden

RuleDefault = oslo_policy.RuleDefault
DocumentedRuleDefault = oslo_policy.DocumentedRuleDefault


def documented(name: str, check: str, description: str,
               operations: Sequence[tuple[str, str]],
               scopes: Sequence[str] | None = ("project",)) -> DocumentedRuleDefault:
    """A rule with the operations it guards, as ``(method, path)`` pairs: what the policy
    reference (``minicloud policy reference``) prints for it (``scopes`` None: any)."""
    return DocumentedRuleDefault(
        name=name, check_str=check, description=description,
        operations=[{"method": method, "path": path} for method, path in operations],
        scope_types=None if scopes is None else list(scopes))

ADMIN = "role:admin"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"

#: The personas every service's rules are written with (as Nova's and Cinder's base rules).
BASE_RULES: tuple[RuleDefault, ...] = (
    RuleDefault("context_is_admin", ADMIN, "Administrators of the cloud."),
    RuleDefault("admin_api", ADMIN, "Default rule for administrative APIs."),
    RuleDefault("project_reader_api", PROJECT_READER,
                "Readers of the project that owns the resource."),
    RuleDefault("project_member_api", PROJECT_MEMBER,
                "Members of the project that owns the resource."),
    RuleDefault("project_reader_or_admin", "rule:project_reader_api or rule:context_is_admin",
                "Readers of the owning project, or an administrator."),
    RuleDefault("project_member_or_admin", "rule:project_member_api or rule:context_is_admin",
                "Members of the owning project, or an administrator."),
)


class _ParseErrors(logging.Handler):
    """Collects the rules oslo.policy's parser could not understand while it is active."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.rules: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.args:
            self.rules.append(str(record.args[0] if isinstance(record.args, tuple)
                                  else record.args))

    def __enter__(self) -> _ParseErrors:
        logging.getLogger("oslo_policy._parser").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("oslo_policy._parser").removeHandler(self)


def _defaults(rules: Sequence[RuleDefault] | Mapping[str, str]) -> list[RuleDefault]:
    if isinstance(rules, Mapping):
        return [RuleDefault(name, text) for name, text in rules.items()]
    return list(rules)


class Enforcer:
    """The rules of one service; ``enforce`` raises :class:`Forbidden` when a rule denies.

    ``rules`` are the service's defaults (a mapping of name to rule text is accepted too);
    ``path`` an optional YAML or JSON file overriding rules by name (read when the enforcer
    is built; a file that does not parse is a :class:`ConfigError`).
    """

    def __init__(self, rules: Sequence[RuleDefault] | Mapping[str, str],
                 path: Path | None = None) -> None:
        conf = cfg.ConfigOpts()
        conf([], project="minicloud", default_config_files=[], default_config_dirs=[])
        policy_file = str(path) if path is not None else None
        self._oslo = oslo_policy.Enforcer(conf, policy_file=policy_file)
        conf.set_override("policy_dirs", [], "oslo_policy")
        own = _defaults(rules)
        names = {r.name for r in own}
        self._oslo.register_defaults(own + [r for r in BASE_RULES if r.name not in names])
        with _ParseErrors() as errors:
            try:
                self._oslo.load_rules()
            except (ValueError, TypeError, AttributeError, cfg.Error) as exc:
                raise ConfigError(f"{path}: invalid policy file: {exc}") from None
        if errors.rules:  # oslo.policy turns a rule it cannot parse into "never": say so
            raise ConfigError(f"{path}: invalid policy rule {errors.rules[0]!r}")

    @property
    def rules(self) -> Mapping[str, Any]:
        """Every rule in force, by name."""
        return self._oslo.rules

    def check(self, name: str, creds: Mapping[str, Any], target: Mapping[str, Any]) -> bool:
        """True when ``name`` allows ``creds`` on ``target`` (an unknown rule never does)."""
        try:
            return bool(self._oslo.enforce(name, dict(target), dict(creds)))
        except oslo_policy.InvalidScope:
            return False

    def enforce(self, name: str, creds: Mapping[str, Any], target: Mapping[str, Any],
                message: str | None = None) -> None:
        if not self.check(name, creds, target):
            raise Forbidden(message or f"Policy doesn't allow {name} to be performed.")


def service_rules(name: str) -> list[RuleDefault]:
    """The defaults of one service (by its registry name), base personas included."""
    from minicloud import services

    own = services.by_name(name).policy_rules()
    names = {r.name for r in own}
    return own + [r for r in BASE_RULES if r.name not in names]


def list_rules() -> list[RuleDefault]:
    """Every service's rules, for ``oslopolicy-sample-generator --namespace minicloud``."""
    from minicloud import services

    seen: dict[str, RuleDefault] = {}
    for svc in services.SERVICES:
        for rule in service_rules(svc.name):
            seen.setdefault(rule.name, rule)
    return list(seen.values())


def oslo_enforcer() -> oslo_policy.Enforcer:
    """The rules in force for this cloud (defaults and its ``policy.yaml``), as oslo.policy's
    enforcer, for ``oslopolicy-policy-generator --namespace minicloud``."""
    from minicloud.config import Config

    conf = Config.load()
    return Enforcer(list_rules(), conf.path(conf.policy.file))._oslo


def reference_markdown() -> str:
    """The policy reference of ``docs/policy.md``: every rule of every service with its
    default (a test keeps them equal)."""
    from minicloud import services

    lines = ["# Policy reference", "",
             "<!-- Generated from each service's policies.py by `minicloud policy reference`; "
             "a test checks it is current. -->", "",
             "Each service enforces these rules with oslo.policy. Override any of them by name "
             "in `policy.yaml` in the state directory (YAML, `\"rule\": \"check\"`); "
             "`oslopolicy-sample-generator --namespace minicloud` prints them all as a sample "
             "file. Roles: `reader` reads, `member` writes in its project, `admin` "
             "administers; admin implies manager, manager implies member, member implies "
             "reader (`manager` and `service` exist as Keystone's bootstrap makes them).", ""]
    for svc in services.SERVICES:
        lines += [f"## {svc.name} ({svc.catalog_name})", "",
                  "| rule | default | scope | operations | description |",
                  "| --- | --- | --- | --- | --- |"]
        for rule in service_rules(svc.name):
            ops = ", ".join(f"`{op['method']} {op['path']}`"
                            for op in getattr(rule, "operations", None) or [])
            scope = ", ".join(rule.scope_types or [])
            check = rule.check_str.replace("|", "\\|")
            desc = " ".join((rule.description or "").split()).replace("|", "\\|")
            lines.append(f"| `{rule.name}` | `{check}` | {scope} | {ops} | {desc} |")
        lines.append("")
    return "\n".join(lines)
