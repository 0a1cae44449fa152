"""Policy rules in OpenStack's syntax."""
from __future__ import annotations

import pytest

from minicloud.errors import ConfigError, Forbidden
from minicloud.policy import Enforcer

ADMIN = {"roles": ("admin",), "project_id": "p1", "user_id": "u1"}
MEMBER = {"roles": ("member",), "project_id": "p2", "user_id": "u2"}
RULES = {
    "context_is_admin": "role:admin",
    "owner": "project_id:%(owner)s",
    "admin_or_owner": "rule:context_is_admin or rule:owner",
    "publicize_image": "role:admin",
    "anyone": "",
    "nobody": "!",
    "everybody": "@",
    "complex": "(role:member and not role:admin) or user_id:u1",
    "constant": "True:%(is_public)s",
}


@pytest.mark.parametrize("rule, creds, target, allowed", [
    ("context_is_admin", ADMIN, {}, True),
    ("context_is_admin", MEMBER, {}, False),
    ("admin_or_owner", MEMBER, {"owner": "p2"}, True),
    ("admin_or_owner", MEMBER, {"owner": "p1"}, False),
    ("admin_or_owner", ADMIN, {"owner": "p9"}, True),
    ("owner", MEMBER, {}, False),
    ("anyone", MEMBER, {}, True),
    ("nobody", ADMIN, {}, False),
    ("everybody", MEMBER, {}, True),
    ("complex", MEMBER, {}, True),
    ("complex", ADMIN, {}, True),
    ("complex", {"roles": ("admin",), "user_id": "x"}, {}, False),
    ("constant", MEMBER, {"is_public": True}, True),
    ("constant", MEMBER, {"is_public": False}, False),
    ("undefined_rule_uses_default", MEMBER, {}, False),
])
def test_rules(rule, creds, target, allowed):
    assert Enforcer(RULES).check(rule, creds, target) is allowed


def test_enforce_raises_forbidden_with_rule_name():
    with pytest.raises(Forbidden, match="publicize_image"):
        Enforcer(RULES).enforce("publicize_image", MEMBER, {})


def test_operator_file_overrides_defaults(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('publicize_image: "role:member"\n')
    assert Enforcer(RULES, path).check("publicize_image", MEMBER, {})
    assert Enforcer(RULES, tmp_path / "missing.yaml").check("publicize_image", ADMIN, {})


@pytest.mark.parametrize("text", ["a: [1, 2]\n", "a: 'role:admin and'\n", "a: '(role:x'\n",
                                  ": :\n  - ]"])
def test_malformed_policy_file_is_a_config_error(tmp_path, text):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        Enforcer(RULES, path)
