"""Property protections: the parser and evaluator, then their effect through the API."""
from __future__ import annotations

import textwrap

import pytest

from images.protections import PropertyProtections, parse
from minicloud.errors import ConfigError
from minicloud.policy import Enforcer
from tests.images_fixtures import *  # noqa: F403

ADMIN = {"roles": ("admin",), "project_id": "p-admin"}
MEMBER = {"roles": ("member", "reader"), "project_id": "p-demo"}
READER = {"roles": ("reader",), "project_id": "p-demo"}


def _prot(text: str, rule_format: str = "roles", enforcer: Enforcer | None = None
          ) -> PropertyProtections:
    return PropertyProtections(parse(textwrap.dedent(text), "test", rule_format),
                               rule_format, enforcer)


def _section(name: str, create="@", read="@", update="@", delete="@") -> str:
    return (f"[{name}]\ncreate = {create}\nread = {read}\nupdate = {update}\n"
            f"delete = {delete}\n\n")


def test_first_match_wins_in_file_order():
    prot = _prot(_section("^x_billing_", create="admin", update="admin")
                 + _section("^x_", create="!", update="!")
                 + _section(".*"))
    assert prot.allows("create", "x_billing_code", ADMIN)
    assert not prot.allows("create", "x_billing_code", MEMBER)
    assert not prot.allows("create", "x_other", ADMIN)       # second section, '!'
    assert prot.allows("create", "anything", MEMBER)          # catch-all, '@'
    assert prot.rule_for("x_billing_code").pattern.pattern == "^x_billing_"


def test_at_and_bang_and_roles():
    prot = _prot(_section("^p$", create="@", read="!", update="admin,Member", delete="reader"))
    assert prot.allows("create", "p", READER) and prot.allows("create", "p", ADMIN)
    assert not prot.allows("read", "p", ADMIN)                # nobody, admins included
    assert prot.allows("update", "p", MEMBER)                 # roles are case-insensitive
    assert not prot.allows("update", "p", READER)
    assert prot.allows("delete", "p", READER) and not prot.allows("delete", "p", ADMIN)


def test_search_not_fullmatch_and_no_match_is_denied():
    prot = _prot(_section("billing"))
    assert prot.allows("read", "x_billing_code", MEMBER)      # re.search, as Glance
    assert not prot.allows("read", "unrelated", ADMIN)        # no section: denied


@pytest.mark.parametrize(("text", "message"), [
    ("[p]\ncreate = @\nread = @\nupdate = @\n", "missing delete"),
    ("[(unclosed]\ncreate = @\nread = @\nupdate = @\ndelete = @\n", "regular expression"),
    ("[p]\ncreate = @,admin\nread = @\nupdate = @\ndelete = @\n", "cannot be combined"),
    ("[p]\ncreate = !,member\nread = @\nupdate = @\ndelete = @\n", "cannot be combined"),
    ("[p]\ncreate =\nread = @\nupdate = @\ndelete = @\n", "empty"),
    ("[p]\ncreate = @\nread = @\nupdate = @\ndelete = @\ncraete = @\n", "unknown key"),
    ("create = @\n", "malformed"),
    ("[p]\ncreate = @\n[p]\nread = @\n", "malformed"),
])
def test_malformed_files_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse(text, "test")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        PropertyProtections.load(tmp_path / "nope.conf")


def test_unknown_rule_format_is_a_config_error():
    with pytest.raises(ConfigError, match="rule_format"):
        PropertyProtections([], "acl")


def test_policies_format_uses_policy_rules(tmp_path):
    enforcer = Enforcer({"context_is_admin": "role:admin", "owner": "project_id:%(owner)s"})
    path = tmp_path / "prot.conf"
    path.write_text(_section("^x_", create="context_is_admin", read="@", update="owner",
                             delete="!"))
    prot = PropertyProtections.load(path, "policies", enforcer)
    assert prot.allows("create", "x_a", ADMIN) and not prot.allows("create", "x_a", MEMBER)
    assert prot.allows("update", "x_a", MEMBER, {"owner": "p-demo"})
    assert not prot.allows("update", "x_a", MEMBER, {"owner": "p-other"})
    path.write_text(_section("^x_", create="no_such_rule"))
    with pytest.raises(ConfigError, match="unknown policy rule"):
        PropertyProtections.load(path, "policies", enforcer)
    path.write_text(_section("^x_", create="context_is_admin,owner"))
    with pytest.raises(ConfigError, match="one policy rule"):
        PropertyProtections.load(path, "policies", enforcer)


# -- through the API ---------------------------------------------------------------------
PROTECTIONS = (_section("^x_admin_", create="admin", read="admin", update="admin",
                        delete="admin")
               + _section("^x_secret$", create="@", read="!", update="@", delete="@")
               + _section("^x_frozen$", create="@", read="@", update="!", delete="!")
               + _section(".*"))


@pytest.fixture
def protected_env(make_images_env, tmp_path):
    path = tmp_path / "protections.conf"
    path.write_text(PROTECTIONS)
    return make_images_env(**{"image.property_protection_file": str(path)})


def test_denied_create_is_403(protected_env):
    resp = protected_env.alice.post("/v2/images", json={"name": "a", "x_admin_cost": "1"})
    assert resp.status_code == 403
    assert "x_admin_cost" in resp.json["forbidden"]["message"]


def test_denied_read_hides_and_denied_write_is_403(protected_env):
    env = protected_env
    img = env.admin.create(name="a", owner=env.alice.project_id, x_admin_cost="9",
                           x_frozen="ice", x_secret="s", plain="p")
    assert img["x_admin_cost"] == "9" and "x_secret" not in img
    seen = env.alice.show(img["id"])
    assert "x_admin_cost" not in seen and "x_secret" not in seen
    assert seen["x_frozen"] == "ice" and seen["plain"] == "p"
    listed = env.alice.get("/v2/images").json["images"]
    assert [i for i in listed if i["id"] == img["id"]][0].get("x_admin_cost") is None
    for ops in ([{"op": "replace", "path": "/x_admin_cost", "value": "0"}],
                [{"op": "remove", "path": "/x_admin_cost"}],
                [{"op": "add", "path": "/x_frozen", "value": "melted"}],
                [{"op": "remove", "path": "/x_frozen"}],
                [{"op": "add", "path": "/x_admin_new", "value": "1"}]):
        resp = env.alice.patch(f"/v2/images/{img['id']}", ops)
        assert resp.status_code == 403, ops
        assert "protected" in resp.json["forbidden"]["message"]
    ok = env.alice.patch(f"/v2/images/{img['id']}",
                         [{"op": "add", "path": "/plain", "value": "q"}])
    assert ok.status_code == 200 and ok.json["plain"] == "q"
    assert env.admin.show(img["id"])["x_admin_cost"] == "9"


def test_missing_configured_file_refuses_to_start(make_images_env, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        make_images_env(**{"image.property_protection_file": str(tmp_path / "missing.conf")})


def test_malformed_file_refuses_to_start(make_images_env, tmp_path):
    path = tmp_path / "bad.conf"
    path.write_text("[x_(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n")
    with pytest.raises(ConfigError, match="regular expression"):
        make_images_env(**{"image.property_protection_file": str(path)})
    path.write_text(_section(".*"))
    with pytest.raises(ConfigError, match="rule_format"):
        make_images_env(**{"image.property_protection_file": str(path),
                           "image.property_protection_rule_format": "acl"})
