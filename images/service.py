"""Image domain logic: create, show, list, update (JSON patch), delete, tags, deactivation.

Every public method takes the caller's :class:`AuthContext`, checks visibility and the
policy rule with the image as target (``images.access``), then the property protections,
and runs in one database transaction. Results are :class:`ImageRecord` snapshots, detached
from the database, with the properties the caller may not read already removed. Data
transfer lives in ``images.data``, members in ``images.members``, imports in
``images.imports``.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from images import access, formats, schema, states
from images.models import Image, ImageMember, ImageProperty, ImageTag
from images.protections import PropertyProtections
from images.query import ListQuery, statement
from images.store import Store
from images.stores import LEGACY_ID, StoreSet
from minicloud.config import Config
from minicloud.db import Database, new_uuid, utcnow
from minicloud.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    MinicloudError,
    NotFound,
    RequestTooLarge,
)
from minicloud.identity.tokens import AuthContext
from minicloud.policy import Enforcer

LOG = logging.getLogger(__name__)
#: What a failed legacy task's image may be to be removed with it: still without data.
DISCARDABLE = frozenset({states.QUEUED, states.KILLED})

#: The store's name when only one is configured (``[image] enabled_backends`` unchanged).
STORE_ID = LEGACY_ID


@dataclass
class Dependencies:
    """Everything the image services need, handed in (tests hand in fakes)."""

    conf: Config
    db: Database
    #: Every configured store (``images.stores``); also a Store over all of them.
    store: StoreSet
    staging: Store
    policy: Enforcer
    protections: PropertyProtections | None = None
    #: ``[image] validate_properties_with_metadefs``: checks new property values (400).
    property_rules: Callable[[Session, Mapping[str, str]], None] | None = None
    #: Certificates of signed images, fetched as the caller (``images.signing``); None: no
    #: key manager, signed images are not verified.
    certificates: Callable[[AuthContext], Any] | None = None

    def find(self, session: Session, ctx: AuthContext, image_id: str, rule: str) -> Image:
        """The visible image ``image_id`` on which the caller passes policy ``rule``."""
        return access.find(session, self.policy, ctx, image_id, rule)


@dataclass(frozen=True)
class ImageRecord:
    """What the API shows of one image (properties already filtered for the caller)."""

    id: str
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    size: int | None
    virtual_size: int | None
    min_disk: int
    min_ram: int
    disk_format: str | None
    container_format: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    direct_path: Path | None = None
    #: The stores holding the image's data (Glance's ``stores``), sorted.
    stores: tuple[str, ...] = ()


def readable_properties(deps: Dependencies, ctx: AuthContext, image: Image) -> dict[str, str]:
    props = {p.name: p.value for p in image.properties}
    if deps.protections is None:
        return props
    creds, target = ctx.credentials(), access.target(image, ctx)
    return {k: v for k, v in props.items()
            if deps.protections.allows("read", k, creds, target)}


def to_record(deps: Dependencies, ctx: AuthContext, image: Image) -> ImageRecord:
    show_path = (ctx.is_admin and deps.conf.image.show_direct_url
                 and image.status in states.WITH_DATA)
    return ImageRecord(
        id=image.id, name=image.name, status=image.status, visibility=image.visibility,
        protected=image.protected, os_hidden=image.os_hidden, owner=image.owner,
        checksum=image.checksum, os_hash_algo=image.os_hash_algo,
        os_hash_value=image.os_hash_value, size=image.size, virtual_size=image.virtual_size,
        min_disk=image.min_disk, min_ram=image.min_ram, disk_format=image.disk_format,
        container_format=image.container_format, created_at=image.created_at,
        updated_at=image.updated_at, tags=tuple(sorted(t.value for t in image.tags)),
        properties=readable_properties(deps, ctx, image),
        direct_path=deps.store.path(image.id) if show_path else None,
        stores=(tuple(deps.store.holding(image.id))
                if image.status not in (states.QUEUED, states.DELETED) else ()))


def set_properties(image: Image, props: dict[str, str]) -> None:
    """Replace the image's custom properties by ``props`` (rows added, changed, deleted)."""
    current = {p.name: p for p in image.properties}
    for name, row in current.items():
        if name not in props:
            image.properties.remove(row)  # delete-orphan cascade deletes the row
        elif row.value != props[name]:
            row.value = props[name]
    for name, value in props.items():
        if name not in current:
            image.properties.append(ImageProperty(name=name, value=value))


@dataclass
class _Draft:
    """The image being patched: core attributes, properties and tags, validated as we go."""

    core: dict[str, Any]
    props: dict[str, str]
    tags: list[str]


_PATCHABLE = ("name", "disk_format", "container_format", "visibility", "protected",
              "os_hidden", "min_disk", "min_ram", "owner")
_QUEUED_ONLY = ("disk_format", "container_format")


class ImageService:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    # -- protections -------------------------------------------------------------------
    def _protect(self, ctx: AuthContext, operation: str, names: Any,
                 image: Image | None = None) -> None:
        prot = self.deps.protections
        if prot is None:
            return
        creds, target = ctx.credentials(), access.target(image, ctx)
        for name in names:
            if not prot.allows(operation, name, creds, target):
                raise Forbidden(f"Property '{name}' is protected: you may not {operation} it.")

    def _check_visibility(self, ctx: AuthContext, value: str, target: dict[str, Any]) -> None:
        """Glance's extra rules for making an image public or community (plain 403)."""
        rule = {"public": "publicize_image", "community": "communitize_image"}.get(value)
        if rule is not None:
            self.deps.policy.enforce(rule, ctx.credentials(), target)

    # -- create / show / list ----------------------------------------------------------
    def create(self, ctx: AuthContext, body: dict) -> ImageRecord:
        """A new ``queued`` image from a body valid against ``schema.CREATE``."""
        core, props = schema.parse_create(body)
        formats.check(self.deps.conf.image, core)
        owner = core.pop("owner", None) or ctx.project_id
        target = access.new_image_target(owner, core.get("visibility"))
        if not self.deps.policy.check("add_image", ctx.credentials(), target):
            if owner != ctx.project_id:
                raise Forbidden(f"You are not permitted to create images owned by "
                                f"'{owner}'.")
            raise Forbidden("Policy doesn't allow add_image to be performed.")
        visibility = core.setdefault("visibility", "shared")
        self._check_visibility(ctx, visibility, target)
        self._protect(ctx, "create", props)
        image_id = core.pop("id", None) or new_uuid()
        tags = core.pop("tags", [])
        with self.deps.db.session() as s:
            if s.get(Image, image_id) is not None:
                raise Conflict(f"An image with ID {image_id} already exists.")
            if self.deps.property_rules is not None:
                self.deps.property_rules(s, props)
            attrs = {"protected": False, "os_hidden": False, "min_disk": 0, "min_ram": 0,
                     **core}
            image = Image(id=image_id, status=states.QUEUED, owner=owner, **attrs)
            image.properties = [ImageProperty(name=k, value=v) for k, v in props.items()]
            image.tags = [ImageTag(value=t) for t in tags]
            s.add(image)
            s.flush()
            return to_record(self.deps, ctx, image)

    def get(self, ctx: AuthContext, image_id: str) -> ImageRecord:
        with self.deps.db.session() as s:
            return to_record(self.deps, ctx, self.deps.find(s, ctx, image_id, "get_image"))

    def list(self, ctx: AuthContext, query: ListQuery) -> tuple[list[ImageRecord], str | None]:
        """One page of images and the marker of the next page (None on the last)."""
        self.deps.policy.enforce("get_images", ctx.credentials(),
                                 {"project_id": ctx.project_id, "user_id": ctx.user_id})
        with self.deps.db.session() as s:
            ids = list(s.scalars(statement(query, ctx)))
            start = 0
            if query.marker is not None:
                try:
                    start = ids.index(query.marker.lower()) + 1
                except ValueError:
                    raise BadRequest(f"Invalid marker: image {query.marker} was not found "
                                     "in this listing.") from None
            page = ids[start:start + query.limit]
            rows = {i.id: i for i in s.scalars(select(Image).where(Image.id.in_(page)))}
            records = [to_record(self.deps, ctx, rows[i]) for i in page]
        more = bool(page) and start + query.limit < len(ids)
        return records, (page[-1] if more else None)

    # -- update ------------------------------------------------------------------------
    def update(self, ctx: AuthContext, image_id: str, changes: list[schema.Change],
               add_must_be_new: bool = False) -> ImageRecord:
        """Apply JSON-patch ``changes`` in order, all or nothing."""
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            draft = _Draft({k: getattr(image, k) for k in _PATCHABLE},
                           {p.name: p.value for p in image.properties},
                           sorted(t.value for t in image.tags))
            for change in changes:
                self._apply(ctx, image, draft, change, add_must_be_new)
            if len(draft.props) > schema.MAX_PROPERTIES:
                raise RequestTooLarge(f"Maximum number of image properties "
                                      f"({schema.MAX_PROPERTIES}) exceeded.")
            formats.check(self.deps.conf.image, {
                k: v for k, v in draft.core.items() if v != getattr(image, k)})
            for key, value in draft.core.items():
                setattr(image, key, value)
            if self.deps.property_rules is not None:
                old = {p.name: p.value for p in image.properties}
                self.deps.property_rules(s, {k: v for k, v in draft.props.items()
                                             if old.get(k) != v})
            set_properties(image, draft.props)
            self._set_tags(image, draft.tags)
            image.updated_at = utcnow()
            s.flush()
            return to_record(self.deps, ctx, image)

    def _apply(self, ctx: AuthContext, image: Image, draft: _Draft, change: schema.Change,
               add_must_be_new: bool) -> None:
        key = change.key
        if key == "tags":
            self._apply_tags(draft, change)
        elif key in schema.CORE:
            if change.op == "remove":
                raise Forbidden(f"Attribute '{key}' is a core attribute and may not be "
                                "removed.")
            if change.op == "add" and add_must_be_new:
                raise Conflict(f"Property {key} already present.")
            value = schema.validate_core(key, change.value)
            self._check_core(ctx, image, key, value)
            draft.core[key] = value
        else:
            self._apply_property(ctx, image, draft, change, add_must_be_new)

    def _check_core(self, ctx: AuthContext, image: Image, key: str, value: Any) -> None:
        if key == "visibility" and value != image.visibility:
            self._check_visibility(ctx, value, access.target(image, ctx))
        elif key == "owner" and value != image.owner and not ctx.is_admin:
            raise Forbidden("Attribute 'owner' may only be changed by an administrator.")
        elif (key in _QUEUED_ONLY and value != getattr(image, key)
              and image.status != states.QUEUED):
            raise Forbidden(f"Attribute '{key}' can be only replaced for a queued image.")

    @staticmethod
    def _apply_tags(draft: _Draft, change: schema.Change) -> None:
        if change.index is None:
            if change.op == "remove":
                raise Forbidden("Attribute 'tags' may not be removed; replace it with [].")
            draft.tags = schema.validate_core("tags", change.value)
            return
        if change.op == "add":
            tag = schema.validate_tag(change.value)
            if change.index == "-" or int(change.index) >= len(draft.tags):
                draft.tags.append(tag)
            else:
                draft.tags.insert(int(change.index), tag)
            draft.tags = schema.validate_core("tags", draft.tags)
            return
        if change.index == "-" or int(change.index) >= len(draft.tags):
            raise BadRequest(f"JSON-patch path /tags/{change.index} does not exist.")
        if change.op == "remove":
            del draft.tags[int(change.index)]
        else:
            draft.tags[int(change.index)] = schema.validate_tag(change.value)

    def _apply_property(self, ctx: AuthContext, image: Image, draft: _Draft,
                        change: schema.Change, add_must_be_new: bool) -> None:
        key, exists = change.key, change.key in draft.props
        if change.op == "remove" or (change.op == "replace" and not exists):
            if not exists:
                raise Conflict(f"Property {key} does not exist.")
            self._protect(ctx, "delete", [key], image)
            del draft.props[key]
            return
        if exists and add_must_be_new and change.op == "add":
            raise Conflict(f"Property {key} already present.")
        self._protect(ctx, "update" if exists else "create", [key], image)
        draft.props[key] = schema.validate_property(key, change.value)

    @staticmethod
    def _set_tags(image: Image, tags: list[str]) -> None:
        current = {t.value: t for t in image.tags}
        for value, row in current.items():
            if value not in tags:
                image.tags.remove(row)
        for value in tags:
            if value not in current:
                image.tags.append(ImageTag(value=value))

    # -- delete ------------------------------------------------------------------------
    def delete(self, ctx: AuthContext, image_id: str) -> None:
        with self.deps.db.session() as s:
            image_id = self._mark_deleted(s, self.deps.find(s, ctx, image_id, "delete_image"))
        self._remove_data(image_id)

    def discard_failed(self, image_ids: Iterable[str]) -> None:
        """Delete, for the service itself, the images of failed legacy ``POST /v2/tasks``
        imports (Glance's task flow reverts the image it made; the caller is gone). Only an
        image still without data goes (``queued``, or ``killed`` by a bad signature); one
        that went ``active``, was deleted, is protected or changes meanwhile stays, logged.
        Never raises: it runs in a worker's start hook and at start-up."""
        for image_id in image_ids:
            try:
                with self.deps.db.session() as s:
                    image = s.get(Image, image_id)
                    if image is None or image.status == states.DELETED:
                        LOG.info("image %s of a failed task is already gone", image_id)
                        continue
                    if image.status not in DISCARDABLE:
                        raise Conflict(f"Image {image_id} is {image.status}.")
                    self._mark_deleted(s, image)
                self._remove_data(image_id)
            except MinicloudError as exc:
                LOG.warning("image %s of a failed task not removed: %s", image_id,
                            exc.message)
            except Exception:  # noqa: BLE001 - the next image still gets its turn
                LOG.exception("image %s of a failed task not removed", image_id)

    @staticmethod
    def _mark_deleted(s: Session, image: Image) -> str:
        if image.protected:
            raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        image_id = image.id
        states.transition(s, image_id, image.status, states.DELETED, deleted_at=utcnow())
        for table in (ImageProperty, ImageTag, ImageMember):
            s.execute(delete(table).where(table.image_id == image_id))
        return image_id

    def _remove_data(self, image_id: str) -> None:
        """After the commit: an upload still running loses its final compare-and-swap and
        removes what it wrote; this removes what is already there."""
        self.deps.store.delete(image_id)
        self.deps.staging.delete(image_id)

    # -- tags --------------------------------------------------------------------------
    def add_tag(self, ctx: AuthContext, image_id: str, tag: str) -> None:
        tag = schema.validate_tag(tag)
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            if tag in {t.value for t in image.tags}:
                return
            if len(image.tags) >= schema.MAX_TAGS:
                raise RequestTooLarge(f"Maximum number of tags ({schema.MAX_TAGS}) exceeded.")
            image.tags.append(ImageTag(value=tag))
            image.updated_at = utcnow()

    def remove_tag(self, ctx: AuthContext, image_id: str, tag: str) -> None:
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, "modify_image")
            row = next((t for t in image.tags if t.value == tag), None)
            if row is None:
                raise NotFound(f"Tag {tag} not found on image {image.id}.")
            image.tags.remove(row)
            image.updated_at = utcnow()

    # -- deactivate / reactivate -------------------------------------------------------
    def deactivate(self, ctx: AuthContext, image_id: str) -> None:
        self._toggle(ctx, image_id, "deactivate", states.ACTIVE, states.DEACTIVATED)

    def reactivate(self, ctx: AuthContext, image_id: str) -> None:
        self._toggle(ctx, image_id, "reactivate", states.DEACTIVATED, states.ACTIVE)

    def _toggle(self, ctx: AuthContext, image_id: str, rule: str, old: str, new: str) -> None:
        with self.deps.db.session() as s:
            image = self.deps.find(s, ctx, image_id, rule)
            if image.status == new:
                return  # idempotent, as Glance
            if image.status != old:
                raise Forbidden(f"Not allowed to {rule} an image in status "
                                f"'{image.status}'.")
            states.transition(s, image.id, old, new)

    # -- restart -----------------------------------------------------------------------
    def recover(self) -> None:
        """Make the catalog and the store agree after a restart (idempotent).

        Uploads and imports cannot survive their process: ``saving`` and ``importing``
        images go back to ``queued`` (an import is recorded as failed), ``uploading`` ones
        too unless their staged data is complete; temp files and data of deleted images go.
        """
        self.deps.store.cleanup()
        self.deps.staging.cleanup()
        with self.deps.db.session() as s:
            self.deps.store.adopt_legacy(s.scalars(select(Image.id).where(
                Image.status.in_(states.WITH_DATA))).all())
        with self.deps.db.session() as s:
            rows = s.execute(select(Image.id, Image.status).where(Image.status.in_(
                (states.SAVING, states.IMPORTING, states.UPLOADING, states.DELETED)))).all()
        for image_id, status in rows:
            if status == states.DELETED:
                self.deps.store.delete(image_id)
                self.deps.staging.delete(image_id)
            elif status != states.UPLOADING or self.deps.staging.size(image_id) is None:
                self._requeue(image_id, status, failed_import=status == states.IMPORTING)

    def _requeue(self, image_id: str, status: str, failed_import: bool) -> None:
        LOG.warning("image %s was left %s by a previous process; back to queued",
                    image_id, status)
        with self.deps.db.session() as s:
            states.transition(s, image_id, status, states.QUEUED)
            image = s.get(Image, image_id)
            if image is not None and failed_import:
                props = {p.name: p.value for p in image.properties}
                props.pop("os_glance_import_task", None)
                # the stores it was importing to failed (at least the default one)
                failed = (props.get("os_glance_importing_to_stores")
                          or self.deps.store.default_id)
                props.update(os_glance_importing_to_stores="", os_glance_failed_import=failed)
                set_properties(image, props)
        if status != states.UPLOADING:
            self.deps.store.delete(image_id)
        if failed_import:
            self.deps.staging.delete(image_id)
