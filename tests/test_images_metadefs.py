"""Metadata definitions API (``/v2/metadefs``), in-process: every route, its refusals, who
sees which namespace, and the published schemas. alice is a member of ``demo``, bob of
``other``, ``reader`` has only the reader role on ``demo``; writes are admin-only."""
from __future__ import annotations

from typing import Any

import pytest

from tests.images_fixtures import *  # noqa: F403 - the fixtures
from tests.images_fixtures import Env, UserClient, err

NS = "/v2/metadefs/namespaces"
ENUM = ["xen", "qemu", "kvm", "lxc", "uml", "vmware", "hyperv"]


def make_ns(user: UserClient, name: str, expect: int = 201, **body: Any) -> dict:
    body = {"namespace": name, "visibility": "public", **body}
    resp = user.post(NS, json=body)
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp.json


def names(user: UserClient, query: str = "") -> list[str]:
    resp = user.get(f"{NS}{query}")
    assert resp.status_code == 200, resp.json
    return [n["namespace"] for n in resp.json["namespaces"]]


@pytest.mark.parametrize("doc,name", [
    ("namespace", "namespace"), ("namespaces", "namespaces"), ("object", "object"),
    ("objects", "objects"), ("property", "property"), ("properties", "properties"),
    ("tag", "tag"), ("tags", "tags"), ("resource_type", "resource_type_association"),
    ("resource_types", "resource_type_associations")])
def test_the_schemas_are_published_to_readers(images_env, doc, name):
    resp = images_env.reader.get(f"/v2/schemas/metadefs/{doc}")
    assert resp.status_code == 200 and resp.json["name"] == name
    err(images_env.reader.get("/v2/schemas/metadefs/nope"), 404, "No schema")


def test_namespace_lifecycle_as_tempest_drives_it(images_env):
    admin = images_env.admin
    body = make_ns(admin, "ns-a", description="Tempest", display_name="ns-a", protected=True,
                   resource_type_associations=[{"name": "OS::Glance::Image"}])
    assert body["self"] == f"{NS}/ns-a" and body["schema"] == "/v2/schemas/metadefs/namespace"
    assert body["owner"] == admin.project_id and body["protected"] is True
    assert [a["name"] for a in body["resource_type_associations"]] == ["OS::Glance::Image"]
    assert "ns-a" in names(admin)
    shown = admin.get(f"{NS}/ns-a").json
    assert shown["visibility"] == "public" and shown["description"] == "Tempest"
    err(admin.delete(f"{NS}/ns-a"), 403, "protected")
    resp = admin.put(f"{NS}/ns-a", json={"namespace": "ns-a", "description": "Tempest",
                                         "visibility": "private", "display_name": "ns-a",
                                         "protected": False})
    assert resp.status_code == 200, resp.json
    assert resp.json["visibility"] == "private" and resp.json["protected"] is False
    assert admin.delete(f"{NS}/ns-a").status_code == 204
    err(admin.get(f"{NS}/ns-a"), 404, "namespace=ns-a was not found")
    err(admin.delete(f"{NS}/ns-a"), 404, "was not found")


def test_create_refusals(images_env):
    admin = images_env.admin
    make_ns(admin, "dup")
    err(admin.post(NS, json={"namespace": "dup"}), 409, "already exists")
    err(admin.post(NS, json={"namespace": "x", "created_at": "2020"}), 403, "read-only")
    err(admin.post(NS, json={"namespace": "x", "visibility": "shared"}), 400, "visibility")
    err(admin.post(NS, json={"display_name": "no name"}), 400, "namespace")
    err(admin.post(NS, json={"namespace": "a" * 81}), 400, "namespace")
    err(admin.post(NS, json={"namespace": " "}), 400, "blank")
    for name in ("a/b", "line\nbreak", "bell\x07", "c1\x85"):
        err(admin.post(NS, json={"namespace": name}), 400, "control characters")
    err(admin.post(f"{NS}/dup/tags", json={"tags": [{"name": "t\r"}]}), 400, "control")
    err(admin.post(NS, json={"namespace": "x", "bogus": 1}), 400, "bogus")
    # a bad nested property definition refuses the whole namespace
    err(admin.post(NS, json={"namespace": "nested", "properties": {
        "p": {"title": "P", "type": "integer", "enum": ["a"]}}}), 400, "'p'")
    err(admin.get(f"{NS}/nested"), 404, "not found")


def test_rename_and_replace_semantics(images_env):
    admin = images_env.admin
    make_ns(admin, "old", description="d", display_name="Old")
    make_ns(admin, "taken")
    err(admin.put(f"{NS}/old", json={"namespace": "taken"}), 409, "already exists")
    resp = admin.put(f"{NS}/old", json={"namespace": "new"})
    assert resp.status_code == 200
    # PUT replaces: what was omitted is reset as Glance does (the owner is kept)
    assert resp.json["visibility"] == "private" and "description" not in resp.json
    assert resp.json["owner"] == admin.project_id
    err(admin.get(f"{NS}/old"), 404, "not found")
    assert admin.get(f"{NS}/new").status_code == 200


def test_nested_create_shows_everything(images_env):
    admin = images_env.admin
    body = make_ns(admin, "full", properties={
        "cores": {"title": "Cores", "type": "integer", "minimum": 1}},
        objects=[{"name": "CPU", "required": ["cores"], "properties": {
            "threads": {"title": "Threads", "type": "integer"}}}],
        tags=[{"name": "t1"}, {"name": "t2"}],
        resource_type_associations=[{"name": "OS::Nova::Flavor", "prefix": "hw:"}])
    assert body["properties"]["cores"]["minimum"] == 1
    shown = admin.get(f"{NS}/full").json
    assert shown["objects"][0]["name"] == "CPU" and shown["tags"] == [
        {"name": "t1"}, {"name": "t2"}]
    as_flavor = admin.get(f"{NS}/full?resource_type=OS::Nova::Flavor").json
    assert list(as_flavor["properties"]) == ["hw:cores"]
    assert list(as_flavor["objects"][0]["properties"]) == ["hw:threads"]
    # listed namespaces carry their associations, not their content
    listed = admin.get(NS).json["namespaces"]
    full = next(n for n in listed if n["namespace"] == "full")
    assert "properties" not in full and full["resource_type_associations"][0]["prefix"] == "hw:"


def test_private_namespaces_are_seen_by_their_owner_project_and_admins(images_env):
    env = images_env
    demo = env.alice.project_id
    make_ns(env.admin, "demo-private", visibility="private", owner=demo,
            properties={"p": {"title": "P", "type": "string"}})
    make_ns(env.admin, "admin-private", visibility="private")
    make_ns(env.admin, "everyone")
    for user in (env.alice, env.reader):
        assert {"demo-private", "everyone"} <= set(names(user))
        assert "admin-private" not in names(user)
        assert user.get(f"{NS}/demo-private/properties/p").status_code == 200
        err(user.get(f"{NS}/admin-private"), 404, "not found")
    assert "demo-private" not in names(env.bob)
    for path in ("", "/properties", "/properties/p", "/objects", "/tags",
                 "/resource_types"):
        err(env.bob.get(f"{NS}/demo-private{path}"), 404, "namespace=demo-private")
    assert {"demo-private", "admin-private", "everyone"} <= set(names(env.admin))
    # a write on an invisible namespace is a 404, on a visible one a 403
    err(env.bob.delete(f"{NS}/demo-private"), 404, "not found")
    err(env.alice.delete(f"{NS}/demo-private"), 403, "delete_metadef_namespace")


def test_list_filters_sorting_and_paging(images_env):
    admin = images_env.admin
    for name, vis in (("b-ns", "public"), ("a-ns", "private"), ("c-ns", "public")):
        make_ns(admin, name, visibility=vis)
    admin.post(f"{NS}/c-ns/resource_types", json={"name": "OS::Nova::Aggregate"})
    assert names(admin, "?sort_key=namespace&sort_dir=asc") == ["a-ns", "b-ns", "c-ns"]
    assert names(admin) == ["c-ns", "a-ns", "b-ns"]  # newest first by default
    assert names(admin, "?visibility=private") == ["a-ns"]
    assert names(admin, "?resource_types=OS::Nova::Aggregate,OS::X") == ["c-ns"]
    first = admin.get(f"{NS}?sort_key=namespace&sort_dir=asc&limit=2").json
    assert [n["namespace"] for n in first["namespaces"]] == ["a-ns", "b-ns"]
    assert first["first"] == NS and "marker=b-ns" in first["next"]
    rest = admin.get(first["next"]).json
    assert [n["namespace"] for n in rest["namespaces"]] == ["c-ns"] and "next" not in rest
    err(admin.get(f"{NS}?sort_key=owner"), 400, "sort key")
    err(admin.get(f"{NS}?sort_dir=up"), 400, "sort direction")
    err(admin.get(f"{NS}?marker=nope"), 400, "marker")
    err(admin.get(f"{NS}?limit=-1"), 400, "limit")
    err(admin.get(f"{NS}?visibility=shared"), 400, "visibility")


def test_objects(images_env):
    admin = images_env.admin
    make_ns(admin, "objs")
    url = f"{NS}/objs/objects"
    resp = admin.post(url, json={"name": "CPU Limits", "description": "d",
                                 "properties": {"quota:cpu_period": {
                                     "title": "Period", "type": "integer",
                                     "minimum": 1000, "maximum": 1000000}}})
    assert resp.status_code == 201, resp.json
    assert resp.json["self"] == f"{url}/CPU Limits" and resp.json["required"] == []
    err(admin.post(url, json={"name": "CPU Limits"}), 409, "already exists")
    err(admin.post(url, json={"name": "bad", "properties": {
        "x": {"title": "X", "type": "string", "pattern": "("}}}), 400, "regex")
    assert admin.post(url, json={"name": "other"}).status_code == 201
    err(admin.put(f"{url}/CPU Limits", json={"name": "other"}), 409, "already exists")
    resp = admin.put(f"{url}/CPU Limits", json={"name": "renamed"})
    assert resp.status_code == 200 and resp.json["name"] == "renamed"
    assert "properties" in resp.json and resp.json["properties"] == {}  # PUT replaces
    listed = admin.get(url).json
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    assert sorted(o["name"] for o in listed["objects"]) == ["other", "renamed"]
    assert admin.get(f"{url}/renamed").json["name"] == "renamed"
    assert admin.delete(f"{url}/renamed").status_code == 204
    err(admin.get(f"{url}/renamed"), 404, "name=renamed was not found")
    err(admin.delete(f"{url}/renamed"), 404, "was not found")
    assert admin.delete(url).status_code == 204
    assert admin.get(url).json["objects"] == []


def test_properties_and_their_validation(images_env):
    admin = images_env.admin
    make_ns(admin, "props", resource_type_associations=[
        {"name": "OS::Glance::Image", "prefix": "hw_"}])
    url = f"{NS}/props/properties"
    resp = admin.post(url, json={"name": "OS::Glance::Image", "title": "T",
                                 "type": "string", "enum": ENUM})
    assert resp.status_code == 201 and resp.json["enum"] == ENUM
    assert admin.get(f"{url}/OS::Glance::Image").json["name"] == "OS::Glance::Image"
    err(admin.post(url, json={"name": "OS::Glance::Image", "title": "T", "type": "string"}),
        409, "already exists")
    for bad, text in (({"title": "T"}, "type"), ({"type": "string"}, "title"),
                      ({"title": "T", "type": "text"}, "type"),
                      ({"title": "T", "type": "integer", "default": "x"}, "does not match"),
                      ({"title": "T", "type": "string", "minLength": 5, "maxLength": 1},
                       "minLength is greater"),
                      ({"title": "T", "type": "string", "unknown": 1}, "unknown")):
        err(admin.post(url, json={"name": "bad", **bad}), 400, text)
    err(admin.post(url, json={"name": "x", "title": "T", "type": "string",
                              "updated_at": "now"}), 403, "read-only")
    resp = admin.put(f"{url}/OS::Glance::Image", json={
        "name": "OS::Glance::Image", "title": "New", "type": "string", "enum": ENUM})
    assert resp.status_code == 200 and resp.json["title"] == "New"
    assert admin.post(url, json={"name": "cpu_cores", "title": "Cores",
                                 "type": "integer"}).status_code == 201
    # shown as applied to a resource type: with the association's prefix
    shown = admin.get(f"{url}/hw_cpu_cores?resource_type=OS::Glance::Image")
    assert shown.status_code == 200 and shown.json["name"] == "hw_cpu_cores"
    err(admin.get(f"{url}/cpu_cores?resource_type=OS::Glance::Image"), 404, "prefix")
    listed = admin.get(url).json["properties"]
    assert sorted(listed) == ["OS::Glance::Image", "cpu_cores"]
    assert admin.delete(f"{url}/OS::Glance::Image").status_code == 204
    assert "OS::Glance::Image" not in admin.get(url).json["properties"]
    assert admin.delete(url).status_code == 204
    assert admin.get(url).json["properties"] == {}


def test_tags(images_env):
    admin = images_env.admin
    make_ns(admin, "tagged")
    url = f"{NS}/tagged/tags"
    three = {"tags": [{"name": "sample-tag1"}, {"name": "sample-tag2"},
                      {"name": "sample-tag3"}]}
    resp = admin.post(url, json=three)
    assert resp.status_code == 201 and resp.json == three
    assert len(admin.get(url).json["tags"]) == 3
    resp = admin.post(f"{url}/single")
    assert resp.status_code == 201 and resp.json["name"] == "single"
    err(admin.post(f"{url}/single"), 409, "already exists")
    assert admin.get(f"{url}/single").json["name"] == "single"
    resp = admin.put(f"{url}/single", json={"name": "renamed"})
    assert resp.status_code == 200 and resp.json["name"] == "renamed"
    err(admin.put(f"{url}/renamed", json={"name": "sample-tag1"}), 409, "already exists")
    # bulk without X-Openstack-Append replaces, with it appends
    assert admin.post(url, json={"tags": [{"name": "only"}]}).status_code == 201
    assert [t["name"] for t in admin.get(url).json["tags"]] == ["only"]
    resp = admin.post(url, json={"tags": [{"name": "more"}]},
                      headers={"X-Openstack-Append": "True"})
    assert resp.status_code == 201
    assert sorted(t["name"] for t in admin.get(url).json["tags"]) == ["more", "only"]
    err(admin.post(url, json={"tags": [{"name": "only"}]},
                   headers={"X-Openstack-Append": "true"}), 409, "already exists")
    err(admin.post(url, json={"tags": [{"name": "a"}, {"name": "a"}]}), 409, "Duplicate")
    assert [t["name"] for t in admin.get(f"{url}?limit=1&sort_key=name&sort_dir=asc")
            .json["tags"]] == ["more"]
    assert admin.delete(f"{url}/more").status_code == 204
    err(admin.get(f"{url}/more"), 404, "was not found")
    assert admin.delete(url).status_code == 204
    assert admin.get(url).json["tags"] == []


def test_resource_types_and_associations(images_env):
    admin = images_env.admin
    make_ns(admin, "assoc")
    url = f"{NS}/assoc/resource_types"
    resp = admin.post(url, json={"name": "OS::Cinder::Volume", "prefix": "hw_",
                                 "properties_target": "image"})
    assert resp.status_code == 201
    assert resp.json["name"] == "OS::Cinder::Volume" and resp.json["prefix"] == "hw_"
    assert resp.json["properties_target"] == "image" and "created_at" in resp.json
    # associating an unknown resource type creates it, as Glance
    rts = images_env.reader.get("/v2/metadefs/resource_types").json["resource_types"]
    assert "OS::Cinder::Volume" in [r["name"] for r in rts]
    err(admin.post(url, json={"name": "OS::Cinder::Volume"}), 409, "already exists")
    assert [a["name"] for a in admin.get(url).json["resource_type_associations"]] == [
        "OS::Cinder::Volume"]
    assert admin.delete(f"{url}/OS::Cinder::Volume").status_code == 204
    assert admin.get(url).json["resource_type_associations"] == []
    err(admin.delete(f"{url}/OS::Cinder::Volume"), 404, "was not found")


def test_nothing_in_a_protected_namespace_is_deleted(images_env):
    admin = images_env.admin
    make_ns(admin, "locked", protected=True, properties={
        "p": {"title": "P", "type": "string"}}, objects=[{"name": "o"}],
        tags=[{"name": "t"}], resource_type_associations=[{"name": "OS::Nova::Server"}])
    base = f"{NS}/locked"
    for path in ("/properties/p", "/properties", "/objects/o", "/objects", "/tags/t",
                 "/tags", "/resource_types/OS::Nova::Server", ""):
        err(admin.delete(base + path), 403, "protected")
    shown = admin.get(base).json
    assert shown["properties"] and shown["objects"] and shown["tags"]
    assert shown["resource_type_associations"]


def test_operators_open_the_writes_in_policy_yaml(make_images_env, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"add_metadef_namespace": "rule:metadef_default"\n'
                      '"add_metadef_tag": "role:member"\n')
    env: Env = make_images_env(**{"policy.file": str(policy)})
    body = make_ns(env.alice, "alices", visibility="private")
    assert body["owner"] == env.alice.project_id
    assert env.alice.post(f"{NS}/alices/tags/mine").status_code == 201
    err(env.alice.delete(f"{NS}/alices"), 403, "delete_metadef_namespace")
    err(env.bob.post(f"{NS}/alices/tags/x"), 404, "not found")
    # an opened rule still lets nobody but admins give a namespace to another project
    err(env.alice.post(NS, json={"namespace": "for-bob", "owner": env.bob.project_id}),
        403, "owned by")
