"""``minicloud audit``: each check against a real catalog and fakes (libvirt's
``test:///default``, FakeTarget/FakeBackend, tmp directories), then the command itself."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from compute.imagecache import ImageCache
from compute.models import Allocation
from compute.virt.designer import design_domain
from compute.virt.driver import LibvirtDriver, secret_usage
from images.store import FilesystemStore
from minicloud.audit import core
from minicloud.audit.checks_catalog import Claims, Tasks
from minicloud.audit.checks_compute import BaseImages, ChapSecrets, Domains, InstanceDirs
from minicloud.audit.checks_storage import (
    ChapAccounts,
    ImageFiles,
    SnapshotFiles,
    Targets,
    VolumeFiles,
)
from minicloud.cli.main import cli
from tests.audit_fixtures import HOST, Catalog, FakeSecrets, make_catalog, new_id
from volumes.backends import FakeBackend, FileBackend
from volumes.connection import Chap
from volumes.targets import FakeTarget

CLOUD = "cloud-a"


@pytest.fixture
def cat(tmp_path: Path) -> Iterator[Catalog]:
    catalog = make_catalog(tmp_path, "connection_uri = test:///default\n")
    yield catalog
    catalog.db.dispose()


def by_kind(findings: list[core.Finding]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for f in findings:
        found.setdefault(f.kind, set()).add(f.item)
    return found


def fix_and_rerun(check) -> list[core.Finding]:
    removed, failed = core.fix(check.findings())
    assert failed == []
    return check.findings()


# -- domains: libvirt's test driver, two clouds on it -----------------------------------------
@pytest.fixture
def libvirt(cat: Catalog) -> Iterator[LibvirtDriver]:
    driver = LibvirtDriver(cat.conf, CLOUD)
    yield driver
    driver.host.close()


def define(driver: LibvirtDriver, server_id: str, cloud_id: str = CLOUD) -> None:
    driver.host.define(design_domain(
        instance_uuid=server_id, name="vm", cloud_id=cloud_id, vcpus=1, memory_mib=64,
        image_properties={}, instance_dir="/var/tmp/none", root_disk="/var/tmp/none/disk"))


def test_domains(cat: Catalog, libvirt: LibvirtDriver) -> None:
    owned, stopped_gone = cat.server(), cat.server("stopped")
    deleting = cat.server(task_state="deleting")   # its guest may go before its row
    building = cat.server("building")              # no guest yet: fine
    stray, other_cloud = new_id(), new_id()
    for server_id in (owned, stray):
        define(libvirt, server_id)
    define(libvirt, other_cloud, cloud_id="cloud-b")
    check = Domains(cat.db, HOST, libvirt, cat.instances)
    assert by_kind(check.findings()) == {"orphan": {stray}, "missing": {stopped_gone}}
    assert deleting and building  # neither reported
    remaining = fix_and_rerun(check)
    assert by_kind(remaining) == {"missing": {stopped_gone}}  # a missing piece stays shown
    assert libvirt.host.lookup(owned) is not None           # the owned guest is kept
    assert libvirt.host.lookup(other_cloud) is not None     # another cloud's is not ours
    assert libvirt.host.lookup(stray) is None


def test_domains_of_a_busy_server_are_never_missing(cat: Catalog, libvirt) -> None:
    server = cat.server()
    cat.task("compute", server, "running")
    assert Domains(cat.db, HOST, libvirt, cat.instances).findings() == []


# -- CHAP secrets ---------------------------------------------------------------------------
def test_secrets(cat: Catalog) -> None:
    attached, leaked, foreign, lost = new_id(), new_id(), new_id(), new_id()
    cat.server(bdms=[{"volume_id": "v1", "attachment_id": attached, "status": "attached"},
                     {"volume_id": "v2", "attachment_id": lost, "status": "attached"}])
    libvirt = FakeSecrets({attached: secret_usage(CLOUD, attached),
                           leaked: secret_usage(CLOUD, leaked),
                           foreign: secret_usage("cloud-b", foreign)})
    check = ChapSecrets(cat.db, HOST, CLOUD, libvirt)
    assert by_kind(check.findings()) == {"orphan": {leaked}, "missing": {lost}}
    assert by_kind(fix_and_rerun(check)) == {"missing": {lost}}
    assert set(libvirt.usages) == {attached, foreign}


# -- instance directories --------------------------------------------------------------------
def test_instance_dirs(cat: Catalog) -> None:
    owned, soft, gone_dir = cat.server(), cat.server("soft-delete"), cat.server()
    deleted, stray = cat.server("deleted", claim=False), new_id()
    for name in (owned, soft, deleted, stray, "_base", "not-an-id"):
        (cat.instances / name).mkdir(parents=True)
        (cat.instances / name / "disk").write_bytes(b"x")
    check = InstanceDirs(cat.db, HOST, cat.instances)
    assert by_kind(check.findings()) == {
        "orphan": {str(cat.instances / deleted), str(cat.instances / stray)},
        "missing": {str(cat.instances / gone_dir)}}
    fix_and_rerun(check)
    assert sorted(p.name for p in cat.instances.iterdir()) == sorted(
        [owned, soft, "_base", "not-an-id"])
    assert (cat.instances / owned / "disk").read_bytes() == b"x"


# -- base images -----------------------------------------------------------------------------
def test_base_images(cat: Catalog) -> None:
    used_deleted, live, dead, unknown, needed = (cat.image("deleted"), cat.image(),
                                                 cat.image("deleted"), new_id(), cat.image())
    cat.server(image_id=used_deleted)   # its image is gone but its overlay needs the base
    cat.server(image_id=needed)         # ... and this one's base is gone
    cat.server(image_id=new_id(), bdms=[{"volume_id": "v", "boot_index": 0}])  # from volume
    base = cat.instances / "_base"
    base.mkdir(parents=True)
    for name in (used_deleted, live, dead, unknown):
        (base / name).write_bytes(b"base")
    old, young = base / f".{live}.part", base / f".{dead}.part"
    old.write_bytes(b"")
    young.write_bytes(b"")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    check = BaseImages(cat.db, HOST, ImageCache(base, lambda: None), max_age=600)
    assert by_kind(check.findings()) == {
        "orphan": {str(base / dead), str(base / unknown), str(old)},
        "missing": {str(base / needed)}}
    fix_and_rerun(check)
    assert sorted(p.name for p in base.iterdir() if p.is_file()) == sorted(
        [used_deleted, live, young.name])


# -- volume files ----------------------------------------------------------------------------
def test_volume_files_fake_backend(cat: Catalog) -> None:
    backend = FakeBackend()
    owned, in_use, lost, creating = (cat.volume(), cat.volume("in-use"), cat.volume(),
                                     cat.volume("creating"))
    deleted, stray = cat.volume("deleted"), new_id()
    for volume_id in (owned, in_use, deleted, stray):
        backend.create(volume_id, 1)
    check = VolumeFiles(cat.db, HOST, backend)
    assert by_kind(check.findings()) == {
        "orphan": {backend.path(deleted), backend.path(stray)}, "missing": {backend.path(lost)}}
    assert creating
    fix_and_rerun(check)
    assert sorted(backend.list_volumes()) == sorted([owned, in_use])


def test_volume_files_partial_conversions(cat: Catalog, tmp_path: Path) -> None:
    backend = FileBackend(tmp_path / "vols")
    creating, failed = cat.volume("creating"), cat.volume("error")
    backend.create(failed, 1)
    parts = {v: backend.root / f".volume-{v}.part" for v in (creating, failed, new_id())}
    for part in parts.values():
        part.write_bytes(b"")
    check = VolumeFiles(cat.db, HOST, backend)
    assert by_kind(check.findings()) == {"orphan": {str(parts[failed]),
                                                    *(str(p) for v, p in parts.items()
                                                      if v not in (creating, failed))}}
    assert fix_and_rerun(check) == []
    assert parts[creating].exists() and backend.exists(failed)  # owned: kept


def test_volume_files_a_revert_being_staged_is_not_an_orphan(cat: Catalog, tmp_path: Path
                                                              ) -> None:
    """A revert stages the volume's ``.volume-ID.part`` as a fill does: kept while the volume
    is ``reverting``, an orphan once it is not (the agent was killed; it failed it)."""
    backend = FileBackend(tmp_path / "vols")
    reverting, reverted = cat.volume("reverting"), cat.volume("error")
    for volume_id in (reverting, reverted):
        backend.create(volume_id, 1)
        (backend.root / f".volume-{volume_id}.part").write_bytes(b"staged")
    check = VolumeFiles(cat.db, HOST, backend)
    assert by_kind(check.findings()) == {
        "orphan": {str(backend.root / f".volume-{reverted}.part")}}
    assert fix_and_rerun(check) == []
    assert (backend.root / f".volume-{reverting}.part").exists()
    assert backend.exists(reverting) and backend.exists(reverted)


# -- snapshot files --------------------------------------------------------------------------
def test_snapshot_files_fake_backend(cat: Catalog) -> None:
    """A snapshot file with no live snapshot is an orphan (its row deleted or absent); one
    whose status says its bytes exist and that has none is missing, unless its volume has a
    task queued; a creating, error or deleting snapshot's file may or may not be there."""
    backend = FakeBackend()
    volume = cat.volume()
    backend.create(volume, 1)
    owned, backing_up = cat.snapshot(volume), cat.snapshot(volume, "backing-up")
    deleted, stray = cat.snapshot(volume, "deleted"), new_id()
    for snapshot_id in (owned, backing_up, deleted, stray):
        backend.create_snapshot(snapshot_id, volume)
    lost, restoring = cat.snapshot(volume), cat.snapshot(volume, "restoring")
    for status in ("creating", "error", "deleting", "error_deleting"):
        cat.snapshot(volume, status)                  # no file, never missing
    busy_volume = cat.volume()
    cat.snapshot(busy_volume)                         # its volume is in flux: never missing
    cat.task("volume", busy_volume)
    check = SnapshotFiles(cat.db, HOST, backend)
    assert by_kind(check.findings()) == {
        "orphan": {backend.snapshot_path(deleted), backend.snapshot_path(stray)},
        "missing": {backend.snapshot_path(lost), backend.snapshot_path(restoring)}}
    assert [f.detail for f in check.findings() if f.item == backend.snapshot_path(stray)] \
        == ["no live snapshot of that id"]
    assert by_kind(fix_and_rerun(check)) == {
        "missing": {backend.snapshot_path(lost), backend.snapshot_path(restoring)}}
    assert backend.list_snapshots() == sorted([owned, backing_up])
    assert backend.list_volumes() == [volume]         # never a volume's file


def test_snapshot_files_partial_copies(cat: Catalog, tmp_path: Path) -> None:
    """A killed agent's ``.snapshot-ID.part`` is an orphan unless its snapshot is still
    being created; the file backend's own snapshot files are compared as the fake's."""
    backend = FileBackend(tmp_path / "vols")
    volume = cat.volume()
    backend.create(volume, 1)
    owned, creating, failed, gone = (cat.snapshot(volume), cat.snapshot(volume, "creating"),
                                     cat.snapshot(volume, "error"),
                                     cat.snapshot(volume, "deleted"))
    lost = cat.snapshot(volume)
    for snapshot_id in (owned, gone):
        backend.create_snapshot(snapshot_id, volume)
    parts = {s: backend.root / f".snapshot-{s}.part" for s in (creating, failed, new_id())}
    for part in parts.values():
        part.write_bytes(b"staged")
    (backend.root / f".volume-{new_id()}.part").write_bytes(b"")  # VolumeFiles' business
    check = SnapshotFiles(cat.db, HOST, backend)
    assert by_kind(check.findings()) == {
        "orphan": {backend.snapshot_path(gone),
                   *(str(p) for s, p in parts.items() if s != creating)},
        "missing": {backend.snapshot_path(lost)}}
    assert by_kind(fix_and_rerun(check)) == {"missing": {backend.snapshot_path(lost)}}
    assert sorted(p.name for p in backend.root.iterdir() if "snapshot" in p.name) == sorted(
        [f"snapshot-{owned}", parts[creating].name])     # exactly the owned ones
    assert backend.exists(volume)


# -- targets ---------------------------------------------------------------------------------
def test_targets(cat: Catalog) -> None:
    backend, target = FakeBackend(), FakeTarget()
    exported = cat.volume("in-use", exported=True, attachment="attached")
    lost = cat.volume("in-use", exported=True, attachment="attached")
    detached, stray = cat.volume(), new_id()
    for volume_id in (exported, detached, stray):
        target.ensure_export(volume_id, backend.path(volume_id), Chap(f"u{volume_id[:4]}", "p"))
    target.ensure_export(new_id(), f"/other-cloud/volume-{stray}", Chap("other", "p"))
    check = Targets(cat.db, HOST, backend, target)
    found = check.findings()
    iqn = "iqn.2010-10.org.openstack:volume-"
    assert by_kind(found) == {"orphan": {iqn + detached, iqn + stray}, "missing": {lost}}
    assert all("CHAP account u" in f.detail for f in found if f.kind == "orphan")
    assert by_kind(fix_and_rerun(check)) == {"missing": {lost}}
    assert len(target.exports) == 2 and exported in target.exports


def test_chap_accounts_bound_to_no_target(cat: Catalog) -> None:
    backend, target = FakeBackend(), FakeTarget()
    bound = Chap.generate()
    target.ensure_export(new_id(), backend.path("v"), bound)
    loose, foreign = Chap.generate().username, "someone-elses"
    target.loose_accounts |= {loose, foreign}
    check = ChapAccounts(target, settle=0)
    found = check.findings()
    assert [(f.kind, f.item) for f in found] == [("orphan", loose)]
    assert fix_and_rerun(check) == []
    assert set(target.accounts()) == {bound.username, foreign}


def test_parse_accounts() -> None:
    from volumes.targets import parse_accounts

    assert parse_accounts("Account list:\n    abc\n    out (outgoing)\n") == ["abc", "out"]
    assert parse_accounts("") == []


# -- image store and staging -----------------------------------------------------------------
def test_image_files(cat: Catalog, tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "images", 65536)
    active, deactivated, saving = cat.image(), cat.image("deactivated"), cat.image("saving")
    deleted, killed, unknown, lost = cat.image("deleted"), cat.image("killed"), new_id(), \
        cat.image()
    for image_id in (active, deactivated, saving, deleted, killed, unknown):
        store.add(image_id, [b"data"])
    old_tmp, young_tmp = store.root / f".{active}.a.tmp", store.root / f".{saving}.b.tmp"
    for tmp in (old_tmp, young_tmp):
        tmp.write_bytes(b"")
    os.utime(old_tmp, (time.time() - 3600, time.time() - 3600))
    check = ImageFiles(cat.db, store, store.root, staging=False, max_age=600)
    assert by_kind(check.findings()) == {
        "orphan": {str(store.root / i) for i in (deleted, killed, unknown)} | {str(old_tmp)},
        "missing": {str(store.root / lost)}}
    fix_and_rerun(check)
    for image_id in (active, deactivated, saving):
        assert store.size(image_id) == 4
    assert young_tmp.exists()


def test_staged_uploads(cat: Catalog, tmp_path: Path) -> None:
    staging = FilesystemStore(tmp_path / "staging", 65536)
    uploading, importing, queued, active = (cat.image("uploading"), cat.image("importing"),
                                            cat.image("queued"), cat.image())
    for image_id in (uploading, importing, queued, active):
        staging.add(image_id, [b"staged"])
    check = ImageFiles(cat.db, staging, staging.root, staging=True, max_age=600)
    assert by_kind(check.findings()) == {"orphan": {str(staging.root / queued),
                                                    str(staging.root / active)}}
    assert fix_and_rerun(check) == []
    assert staging.size(uploading) == staging.size(importing) == 6


# -- tasks and claims ------------------------------------------------------------------------
def test_stale_tasks_are_reported_never_fixed(cat: Catalog) -> None:
    server, volume = cat.server(), cat.volume()
    cat.task("compute", server, "running", age=3600)
    cat.task("volume", volume, "pending", age=3600)
    cat.task("compute", server, "pending", age=5)        # young: an agent is on it
    cat.task("volume", volume, "done", age=3600)         # finished
    check = Tasks(cat.db, max_age=600)
    found = check.findings()
    assert [(f.kind, f.item.split()[0]) for f in found] == [("stale", "compute"),
                                                           ("stale", "volume")]
    assert all(f.fix is None for f in found)
    assert core.fix(found) == ([], [])
    assert len(check.findings()) == 2


def test_claims(cat: Catalog) -> None:
    owned = cat.server()
    unclaimed = cat.server(claim=False)
    cat.server("building", claim=False)    # not placed yet: no claim expected
    gone = cat.server("deleted")           # deleted, its claim left behind
    check = Claims(cat.db)
    assert by_kind(check.findings()) == {"orphan": {gone}, "missing": {unclaimed}}
    assert by_kind(fix_and_rerun(check)) == {"missing": {unclaimed}}
    with cat.db.session() as s:
        assert set(s.scalars(select(Allocation.instance_id))) == {owned}


def test_a_check_that_cannot_look_is_never_clean() -> None:
    class Broken:
        name = "broken"

        def findings(self):
            raise OSError("permission denied")

    [finding] = core.run([Broken()])
    assert (finding.check, finding.kind) == ("broken", core.UNCHECKED)
    assert "permission denied" in finding.detail


# -- the command -----------------------------------------------------------------------------
def audit(state_dir: Path, *args: str):
    return CliRunner().invoke(cli, ["--state-dir", str(state_dir), "audit", *args])


def test_command_exit_codes_table_json_and_fix(tmp_path: Path) -> None:
    """A cloud on fake drivers: the checks of real files and of the catalog run."""
    cat = make_catalog(tmp_path, "driver = fake\n", "driver = fake\ntarget_helper = fake\n")
    owned = cat.server()
    (cat.instances / owned).mkdir(parents=True)
    clean = audit(tmp_path)
    assert clean.exit_code == 0, clean.output
    assert "clean: 6 checks" in clean.output

    stray = cat.instances / new_id()
    stray.mkdir()
    image_file = tmp_path / "images" / new_id()
    image_file.write_bytes(b"leaked")
    table = audit(tmp_path)
    assert table.exit_code == 1
    assert str(stray) in table.output and str(image_file) in table.output
    assert "| instance-dir | orphan |" in table.output
    rows = json.loads(audit(tmp_path, "-f", "json").output)
    assert {(r["Check"], r["Kind"], r["Item"]) for r in rows} == {
        ("instance-dir", "orphan", str(stray)), ("image-file", "orphan", str(image_file))}

    fixed = audit(tmp_path, "--fix", "-f", "json")
    assert fixed.exit_code == 0, fixed.output
    assert {r["Fixed"] for r in json.loads(fixed.output)} == {"removed"}
    assert not stray.exists() and not image_file.exists() and (cat.instances / owned).is_dir()
    assert audit(tmp_path).exit_code == 0

    cat.server("stopped")                  # missing its directory: --fix leaves it shown
    still = audit(tmp_path, "--fix")
    assert still.exit_code == 1
    assert "| instance-dir | missing |" in still.output and "still found" in still.output
    cat.db.dispose()


def test_command_audits_the_file_backends_snapshots(tmp_path: Path) -> None:
    """``[volume] driver = file``: the command compares the volume directory's snapshot
    files too, and ``--fix`` removes the stray one, keeping the owned one."""
    cat = make_catalog(tmp_path, "driver = fake\n", "target_helper = fake\n")
    backend = FileBackend(cat.conf.path(cat.conf.volume.volumes_path))
    volume = cat.volume()
    backend.create(volume, 1)
    owned, stray = cat.snapshot(volume), new_id()
    for snapshot_id in (owned, stray):
        backend.create_snapshot(snapshot_id, volume)
    rows = json.loads(audit(tmp_path, "-f", "json").output)
    assert {(r["Check"], r["Kind"], r["Item"]) for r in rows} == {
        ("snapshot-file", "orphan", backend.snapshot_path(stray))}
    assert audit(tmp_path, "--fix").exit_code == 0
    assert backend.list_snapshots() == [owned] and backend.list_volumes() == [volume]
    cat.db.dispose()


def test_command_without_a_catalog(tmp_path: Path) -> None:
    result = audit(tmp_path / "nowhere")
    assert result.exit_code == 1 and "no catalog" in result.output
