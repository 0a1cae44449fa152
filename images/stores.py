"""Several image stores (Glance's ``enabled_backends``): which exist, where each keeps its
data, and where an image's data is.

``[image] enabled_backends = central:file, edge1:file`` declares the stores (only the
``file`` type exists); ``[image] default_backend`` names the store that takes data when a
request names none (the first one otherwise). The store ``file`` - the only one when nothing
is configured - keeps its files in ``images/`` as minicloud always did; any other store ``id``
in ``images/stores/<id>/`` (0700). Descriptions (``store_descriptions``), read-only stores
(``read_only_stores``) and the test-only fault ``failing_stores`` are ``[image]`` options too
(minicloud's configuration has no per-store sections).

The stores' files are the truth about where an image's data is (:meth:`StoreSet.holding`):
every store writes through a temp file and a rename, so a store either has an image's
complete data or none of it, and nothing can disagree with a second record of it.

A :class:`StoreSet` is itself a :class:`~images.store.Store` (the code that predates
several stores uses it unchanged): ``add`` writes to the default store, ``get``/``size``/
``path`` read from the first store that holds the image, ``delete`` removes it everywhere.
"""
from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from images.store import DataIterator, FilesystemStore, Store
from minicloud.errors import BadRequest, ConfigError, Conflict, Forbidden, MinicloudError, NotFound

LOG = logging.getLogger(__name__)

#: The id of the one store a cloud has when ``enabled_backends`` is not changed.
LEGACY_ID = "file"
STORE_TYPES = ("file",)


class Gone(MinicloudError):
    """410: Glance's answer to an upload into a store that takes no data."""

    status, kind, title = 410, "gone", "Gone"


class StoreReadOnly(Conflict):
    """A write to a read-only store (fails that store of an import)."""


@dataclass(frozen=True)
class StoreInfo:
    id: str
    type: str
    description: str
    default: bool
    read_only: bool
    failing: bool
    data_dir: Path | None


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_backends(text: str) -> list[tuple[str, str]]:
    """``"central:file, edge1:file"`` -> ``[("central", "file"), ("edge1", "file")]``."""
    pairs: list[tuple[str, str]] = []
    for item in _ids(text):
        store_id, sep, kind = (p.strip() for p in item.partition(":"))
        if not sep or not store_id or kind not in STORE_TYPES:
            raise ConfigError(f"[image] enabled_backends: {item!r} is not `id:file`.")
        if not all(c.isalnum() or c in "-_" for c in store_id) or store_id.startswith(
                "os_glance_"):
            raise ConfigError(f"[image] enabled_backends: bad store id {store_id!r} "
                              "(letters, digits, - and _; no os_glance_ prefix).")
        if store_id in (s for s, _ in pairs):
            raise ConfigError(f"[image] enabled_backends: store {store_id!r} twice.")
        pairs.append((store_id, kind))
    if not pairs:
        raise ConfigError("[image] enabled_backends declares no store.")
    return pairs


def parse_descriptions(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split(";"):
        if item.strip():
            store_id, sep, description = item.partition(":")
            if not sep:
                raise ConfigError(f"[image] store_descriptions: {item.strip()!r} is not "
                                  "`id: text`.")
            out[store_id.strip()] = description.strip()
    return out


def store_dir(image_root: Path, store_id: str) -> Path:
    """Where store ``store_id`` keeps its files (``images/`` for ``file``)."""
    return image_root if store_id == LEGACY_ID else image_root / "stores" / store_id


class _Failing:
    """Chunks that raise an I/O error after the first one (the ``failing_stores`` fault)."""

    def __init__(self, chunks: Iterable[bytes], store_id: str) -> None:
        self._chunks, self._store = chunks, store_id

    def __iter__(self) -> Iterator[bytes]:
        for n, chunk in enumerate(self._chunks):
            if n:
                raise OSError(errno.EIO, f"store {self._store} failed (failing_stores)")
            yield chunk
        raise OSError(errno.EIO, f"store {self._store} failed (failing_stores)")


class StoreSet:
    """The configured stores; also a :class:`Store` over all of them (module docstring)."""

    def __init__(self, infos: list[StoreInfo], backends: dict[str, Store],
                 legacy_root: Path | None = None) -> None:
        self.infos = {i.id: i for i in infos}
        self.backends = backends
        self.default_id = next(i.id for i in infos if i.default)
        self.legacy_root = legacy_root

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_config(cls, image_conf: Any, image_root: Path) -> StoreSet:
        pairs = parse_backends(image_conf.enabled_backends)
        ids = [s for s, _ in pairs]
        default = image_conf.default_backend.strip() or ids[0]
        descriptions = parse_descriptions(image_conf.store_descriptions)
        read_only, failing = _ids(image_conf.read_only_stores), _ids(image_conf.failing_stores)
        for option, named in (("default_backend", [default]), ("read_only_stores", read_only),
                              ("failing_stores", failing),
                              ("store_descriptions", list(descriptions))):
            unknown = [s for s in named if s not in ids]
            if unknown:
                raise ConfigError(f"[image] {option}: {unknown[0]!r} is not a store of "
                                  f"enabled_backends ({', '.join(ids)}).")
        if default in read_only:
            raise ConfigError(f"[image] default_backend {default!r} is read-only.")
        infos, backends = [], {}
        for store_id, kind in pairs:
            root = store_dir(image_root, store_id)
            backends[store_id] = FilesystemStore(root, image_conf.chunk_size)
            root.chmod(0o700)
            infos.append(StoreInfo(store_id, kind, descriptions.get(store_id, ""),
                                   store_id == default, store_id in read_only,
                                   store_id in failing, root))
        return cls(infos, backends, image_root)

    @classmethod
    def single(cls, store: Store, store_id: str = LEGACY_ID) -> StoreSet:
        """One store handed in (tests hand in fakes)."""
        info = StoreInfo(store_id, "file", "", True, False, False, None)
        return cls([info], {store_id: store})

    # -- which stores ------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return list(self.infos)

    @property
    def writable_ids(self) -> list[str]:
        """Glance's "available stores" (``all_stores``): every store that takes data."""
        return [i for i, info in self.infos.items() if not info.read_only]

    def check_id(self, store_id: str) -> str:
        if store_id not in self.infos:
            raise BadRequest(f"Store for identifier {store_id} not found")
        return store_id

    def file_roots(self) -> list[Path]:
        """The directory of every store that keeps files (where its temp files are), in
        configuration order; a store handed in without one (a fake) has none."""
        roots = []
        for store_id, info in self.infos.items():
            root = info.data_dir or getattr(self.backends[store_id], "root", None)
            if root is not None:
                roots.append(Path(root))
        return roots

    def holding(self, image_id: str) -> list[str]:
        """The stores that have the image's data, sorted by id (the image's ``stores``)."""
        return sorted(i for i, b in self.backends.items() if b.size(image_id) is not None)

    # -- writing to one store -----------------------------------------------------------
    def add_to(self, store_id: str, image_id: str, chunks: Iterable[bytes]) -> int:
        """Store the bytes in ``store_id`` (atomic, as every store). A read-only store
        refuses (:class:`StoreReadOnly`); a ``failing_stores`` store fails mid-write."""
        info = self.infos[store_id]
        if info.read_only:
            raise StoreReadOnly(f"Store {store_id} is read-only: adding images to it is "
                                "disabled.")
        if info.failing:
            chunks = _Failing(chunks, store_id)
        return self.backends[store_id].add(image_id, chunks)

    def delete_from(self, store_id: str, image_id: str) -> None:
        self.backends[store_id].delete(image_id)

    def target(self, store_id: str | None) -> Store:
        """The :class:`Store` a plain upload writes to (``X-Image-Meta-Store``): 400 for an
        unknown store, 410 for a read-only one, as Glance."""
        store_id = self.check_id(store_id) if store_id else self.default_id
        if self.infos[store_id].read_only:
            raise Gone("Error in store configuration. Adding images to store is disabled.")
        return _OneStore(self, store_id)

    # -- the Store contract over all stores ---------------------------------------------
    def _first(self, image_id: str) -> Store | None:
        order = [self.default_id, *(i for i in self.backends if i != self.default_id)]
        for store_id in order:
            if self.backends[store_id].size(image_id) is not None:
                return self.backends[store_id]
        return None

    def add(self, image_id: str, chunks: Iterable[bytes]) -> int:
        return self.add_to(self.default_id, image_id, chunks)

    def get(self, image_id: str, offset: int = 0, length: int | None = None
            ) -> DataIterator:
        store = self._first(image_id)
        if store is None:
            raise NotFound(f"No data found for image {image_id}.")
        return store.get(image_id, offset, length)

    def delete(self, image_id: str) -> None:
        for store in self.backends.values():
            store.delete(image_id)

    def size(self, image_id: str) -> int | None:
        store = self._first(image_id)
        return None if store is None else store.size(image_id)

    def path(self, image_id: str) -> Path | None:
        store = self._first(image_id) or self.backends[self.default_id]
        return store.path(image_id)

    def cleanup(self) -> None:
        for store in self.backends.values():
            store.cleanup()

    # -- upgrades ------------------------------------------------------------------------
    def adopt_legacy(self, image_ids: Iterable[str]) -> None:
        """Images stored before ``enabled_backends`` named other stores keep their data: a
        file left in ``images/<id>`` that no configured store covers moves (a rename) into
        the default store."""
        if self.legacy_root is None or LEGACY_ID in self.infos:
            return
        default = self.backends[self.default_id]
        for image_id in image_ids:
            old = self.legacy_root / image_id
            new = default.path(image_id)
            if new is None or not old.is_file() or default.size(image_id) is not None:
                continue
            os.replace(old, new)
            LOG.warning("image %s: data moved from %s into store %s", image_id, old,
                        self.default_id)


class _OneStore:
    """One store of a :class:`StoreSet` seen as a :class:`Store` (uploads write to it)."""

    def __init__(self, stores: StoreSet, store_id: str) -> None:
        self.stores, self.store_id = stores, store_id

    def add(self, image_id: str, chunks: Iterable[bytes]) -> int:
        return self.stores.add_to(self.store_id, image_id, chunks)

    def delete(self, image_id: str) -> None:
        self.stores.delete_from(self.store_id, image_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stores.backends[self.store_id], name)


def delete_copy(stores: StoreSet, store_id: str, image_id: str, status: str) -> None:
    """``DELETE /v2/stores/{store}/{image}`` once policy passed: Glance's checks in its
    order (409 not active, 403 last copy, 404 not in that store), then the file goes."""
    if status != "active":
        raise Conflict("It's not allowed to remove image data from store if image status "
                       "is not 'active'")
    holding = stores.holding(image_id)
    if len(holding) == 1:
        raise Forbidden("Cannot delete image data from the only store containing it. "
                        "Consider deleting the image instead.")
    if store_id not in holding:
        raise NotFound(f"Image {image_id} is not stored in store {store_id}.")
    stores.delete_from(store_id, image_id)

