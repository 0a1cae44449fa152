"""Unit tests of the harness's pure parts (no cloud, no Tempest): ``.venv/bin/pytest conformance``.

The whole harness is exercised by ``make tempest`` itself.
"""
from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from conformance import features, report, results, selection, tempestconf
from conformance.cloud import CloudFacts, ThrowawayCloud
from conformance.webimage import WebImage

UUID1, UUID2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
LISTED = [
    f"tempest.api.compute.servers.test_a.A.test_x[id-{UUID1},smoke]",
    f"tempest.api.compute.servers.test_a.B.test_x[id-{UUID1}]",   # a subclass: same id
    f"tempest.api.image.v2.test_b.C.test_y[id-{UUID2}]",
    "tempest.api.identity.v3.test_c.D.test_z[id-33333333-3333-3333-3333-333333333333]",
    "tempest.scenario.test_s.E.test_w[id-44444444-4444-4444-4444-444444444444]",
]


def test_interop_file_has_the_164_non_network_tests() -> None:
    rows = selection.load_interop()
    assert len(rows) == 164
    assert {r.project for r in rows} == {"nova", "glance", "cinder", "keystone"}
    assert len({r.idempotent_id for r in rows}) == 164


def test_service_sets_select_by_module_and_regex_narrows() -> None:
    assert selection.select(LISTED, "compute").tests == sorted(LISTED[:2])
    assert len(selection.select(LISTED, "all").tests) == 4   # no scenario tests
    assert selection.select(LISTED, "all", regex=r"test_[yz]\b").tests == sorted(LISTED[2:4])
    with pytest.raises(ValueError):
        selection.select(LISTED, "network")


def test_interop_selects_by_id_and_names_the_missing(tmp_path: Path) -> None:
    tsv = tmp_path / "interop.tsv"
    tsv.write_text("project\ttest\tidempotent_id\tflagged\n"
                   f"nova\told.name\t{UUID1}\tFalse\n"
                   f"cinder\tgone\t{'5' * 8}-5555-5555-5555-{'5' * 12}\tTrue\n")
    chosen = selection.select(LISTED, "interop", interop_file=tsv)
    assert chosen.tests == sorted(LISTED[:2])
    assert [t.test for t in chosen.missing] == ["gone"]


def test_class_events_decide_their_tests_and_teardown_errors_are_kept() -> None:
    events = [
        {"id": LISTED[0], "status": "success"},
        {"id": "setUpClass (tempest.api.compute.servers.test_a.B)", "status": "fail",
         "traceback": "Traceback (most recent call last):\n  File \"x\", line 1\n    y\n"
                      "tempest.lib.exceptions.NotFound: Object not found\nDetails: {}\n"},
        {"id": "setUpClass (tempest.api.image.v2.test_b.C)", "status": "skip",
         "reason": "Neutron is not available"},
        {"id": "tearDownClass (tempest.api.compute.servers.test_a.A)", "status": "fail",
         "traceback": "tempest.lib.exceptions.Conflict: busy"},
    ]
    outcomes, class_errors = results.outcomes(LISTED[:4], events)
    by_name = {o.test.rsplit(".", 2)[1]: o for o in outcomes}
    assert by_name["A"].status == results.PASSED
    assert (by_name["B"].status, by_name["B"].via) == (results.FAILED, "setUpClass")
    assert by_name["B"].detail == "tempest.lib.exceptions.NotFound: Object not found Details: {}"
    assert (by_name["C"].status, by_name["C"].detail) == (results.SKIPPED,
                                                          "Neutron is not available")
    assert by_name["D"].status == results.NOT_RUN
    assert [e.detail for e in class_errors] == ["tempest.lib.exceptions.Conflict: busy"]

    rep = report.Report("interop", outcomes, class_errors)
    assert dict(rep.counts()["compute"]) == {"run": 2, "passed": 1, "failed": 1}
    guideline = rep.guideline_counts()
    assert (guideline["failed"], guideline["skipped"], guideline["not run"]) == (1, 1, 1)
    assert not rep.clean
    assert "1 x tempest.lib.exceptions.NotFound" in report.render(rep)


def test_tempest_conf_takes_the_cloud_and_every_feature() -> None:
    facts = CloudFacts({"auth_url": "http://127.0.0.1:5000/v3", "username": "admin",
                        "password": "p$w", "project_name": "admin"}, "RegionOne", "img",
                       "6", "7", ("2.1", "2.96"), ("3.0", "3.70"), "http://127.0.0.1:9/x")
    conf = tempestconf.sections(facts, Path("/ws"))
    assert conf["image"]["http_image"] == conf["image"]["http_qcow2_image"] == \
        "http://127.0.0.1:9/x"
    assert conf["compute"]["max_microversion"] == "2.96"
    assert conf["volume"]["min_microversion"] == "3.0"
    assert (conf["compute"]["flavor_ref"], conf["compute"]["flavor_ref_alt"]) == ("6", "7")
    assert conf["auth"]["use_dynamic_credentials"] == "True"
    for f in features.FEATURES:
        assert conf[f.section][f.option] == f.ini_value()
    assert "admin_password = p$$w\n" in tempestconf.render(conf)


def test_feature_table_has_one_line_per_option_and_a_reason_each() -> None:
    keys = [(f.section, f.option) for f in features.FEATURES]
    assert len(keys) == len(set(keys))
    assert all(f.reason for f in features.FEATURES)
    assert features.markdown_table().count("\n") == len(keys) + 2


def test_expected_tests_that_do_not_pass_are_regressions() -> None:
    def outcome(name: str, status: str) -> results.Outcome:
        return results.Outcome(test=name, service="identity", status=status, detail="")

    rep = report.Report("identity", [outcome("a", results.PASSED), outcome("b", results.FAILED),
                                     outcome("c", results.SKIPPED)])
    assert rep.passed() == ["a"]
    assert rep.regressions(["a"]) == []
    assert rep.regressions(["a", "b", "c", "gone"]) == ["b", "c", "gone"]
    assert not rep.clean


def test_docs_show_the_feature_table_as_it_is() -> None:
    """docs/conformance.md carries every row of ``--print-features`` unchanged."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "conformance.md").read_text()
    rows = [line for line in features.markdown_table().splitlines()
            if line.startswith("| `")]
    assert rows and [row for row in rows if row not in doc] == []


def test_web_image_serves_a_qcow2_the_cloud_may_fetch(tmp_path: Path) -> None:
    cloud = ThrowawayCloud(parent=tmp_path)
    try:
        cloud.web = WebImage(cloud.root / "web")
        with urllib.request.urlopen(cloud.web.url, timeout=10) as resp:
            assert resp.read(4) == b"QFI\xfb"          # a qcow2 header
        cloud.write_conf()
        conf = (cloud.state / "minicloud.conf").read_text()
        assert f"web_download_allowed_ports = 80,443,{cloud.web.port}\n" in conf
    finally:
        if cloud.web:
            cloud.web.stop()
        cloud.remove()
    with pytest.raises(OSError):
        urllib.request.urlopen(cloud.web.url, timeout=2)
