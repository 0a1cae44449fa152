"""The checks of one cloud on this host, built from its configuration.

The drivers are the agents' own (``[compute] driver``, ``[volume] driver`` and
``target_helper``), so a cloud on fake drivers is audited through its fakes. Tests hand in
their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from compute.driver import Driver
from compute.imagecache import ImageCache
from images.store import FilesystemStore
from images.stores import parse_backends, store_dir
from minicloud.audit import checks_catalog, checks_compute, checks_storage
from minicloud.audit.core import Check
from minicloud.config import Config
from minicloud.db import Database
from minicloud.errors import MinicloudError
from minicloud.paths import StatePaths
from volumes.backends import Backend
from volumes.targets import FakeTarget, TgtTarget

#: Seconds after which an unfinished task, download or write is reported (default).
MAX_AGE = 600.0


@dataclass
class HostAccess:
    """How the audit reaches the host: the virt driver, libvirt's secrets, the volume backend
    and target. None: not checked (a fake driver's state lives in its agent's memory)."""

    driver: Driver | None
    secrets: checks_compute.Secrets | None
    backend: Backend | None
    target: TgtTarget | FakeTarget | None


def _no_download():
    raise MinicloudError("the audit never downloads images")


def _cloud_id(conf: Config) -> str | None:
    """The cloud's id, None for a cloud never started (it owns no guest): never made here."""
    try:
        return (conf.state_dir / "cloud-id").read_text().strip() or None
    except FileNotFoundError:
        return None


def host_access(conf: Config) -> HostAccess:
    """The drivers the cloud's agents use on this host; fakes are left out (None)."""
    from compute.agent import make_driver
    from volumes.backends import make_backend
    from volumes.targets import make_target

    driver = None
    cloud_id = _cloud_id(conf)
    if conf.compute.driver != "fake" and cloud_id is not None:
        driver = make_driver(conf, cloud_id)
    secrets = getattr(driver, "host", None)  # the libvirt driver's Host
    backend = make_backend(conf) if conf.volume.driver != "fake" else None
    target = make_target(conf) if conf.volume.target_helper != "fake" else None
    return HostAccess(driver, secrets, backend, target)  # type: ignore[arg-type]


def checks(conf: Config, db: Database, access: HostAccess,
           max_age: float = MAX_AGE) -> list[Check]:
    """Every check, in the order the table shows them."""
    from compute.agent import host_name as compute_host
    from volumes.agent import host_name as volume_host

    paths = StatePaths(conf.state_dir)
    chost, vhost = compute_host(conf), volume_host(conf)
    instances = conf.path(conf.compute.instances_path)
    cache = ImageCache(instances / checks_compute.BASE_DIR, _no_download)
    chunk = conf.image.chunk_size
    store_roots = [store_dir(paths.image_store, i)
                   for i, _ in parse_backends(conf.image.enabled_backends)]
    staging = FilesystemStore(paths.image_store / "staging", chunk)
    found: list[Check] = []
    if access.driver is not None:
        found.append(checks_compute.Domains(db, chost, access.driver, instances))
    cloud_id = _cloud_id(conf)
    if access.secrets is not None and cloud_id is not None:
        found.append(checks_compute.ChapSecrets(db, chost, cloud_id, access.secrets))
    found += [checks_compute.InstanceDirs(db, chost, instances),
              checks_compute.BaseImages(db, chost, cache, max_age)]
    if access.backend is not None:
        found.append(checks_storage.VolumeFiles(db, vhost, access.backend))
        found.append(checks_storage.SnapshotFiles(db, vhost, access.backend))
        if access.target is not None:
            found.append(checks_storage.Targets(db, vhost, access.backend, access.target))
            found.append(checks_storage.ChapAccounts(access.target))
    found += [
        *(checks_storage.ImageFiles(db, FilesystemStore(root, chunk), root, staging=False,
                                    max_age=max_age,
                                    others=tuple(r for r in store_roots if r != root))
          for root in store_roots),
        checks_storage.ImageFiles(db, staging, staging.root, staging=True, max_age=max_age),
        checks_catalog.Tasks(db, max_age),
        checks_catalog.Claims(db),
    ]
    return found
