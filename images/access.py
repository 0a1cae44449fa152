"""Who may see and who may change an image (Glance v2 rules), in one place.

* Visible (what Glance's database layer lets a project find): to admins; to the owner
  project; to everybody when ``public`` or ``community``; when ``shared``, to projects that
  are members (whatever their member status). An image the caller cannot see does not exist
  for them: 404, never 403 (Tempest expects another project's private image to be a 404).
* Allowed: every operation is then a policy rule (``images.policies``) checked with the
  image as the target (:func:`target`), through :func:`authorize`: a denied rule is a 403,
  or a 404 when the caller may not even ``get_image`` it (as Glance's API policy layer).
  Ownership is part of the rules (``project_id`` is the owner), so there is no separate
  owner check: an operator's ``policy.yaml`` decides.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from images import states
from images.models import Image, ImageMember
from minicloud.errors import Forbidden, NotFound
from minicloud.identity.tokens import AuthContext
from minicloud.policy import Enforcer


def target(image: Image | None, ctx: AuthContext | None = None) -> dict[str, Any]:
    """The policy target of ``image``, as Glance's ``ImageTarget``: its core attributes and
    custom properties, ``project_id`` (= ``owner``) and ``member_id`` (the caller's project
    when it is a member of the image, else None)."""
    if image is None:
        return {}
    member = None
    if ctx is not None and any(m.member == ctx.project_id for m in image.members):
        member = ctx.project_id
    out: dict[str, Any] = {p.name: p.value for p in image.properties}
    out.update({"id": image.id, "name": image.name, "owner": image.owner,
                "project_id": image.owner, "member_id": member,
                "visibility": image.visibility, "status": image.status,
                "protected": image.protected, "os_hidden": image.os_hidden,
                "disk_format": image.disk_format,
                "container_format": image.container_format})
    return out


def new_image_target(owner: str, visibility: str | None) -> dict[str, Any]:
    """The target of ``add_image``: the image about to be created."""
    return {"project_id": owner, "owner": owner, "visibility": visibility or "private"}


def authorize(policy: Enforcer, rule: str, ctx: AuthContext, image: Image,
              tgt: Mapping[str, Any] | None = None) -> None:
    """Enforce ``rule`` on an existing ``image``: 403 when denied, 404 when the caller may
    not ``get_image`` it either (or when the denied rule is ``get_image``)."""
    creds = ctx.credentials()
    tgt = tgt if tgt is not None else target(image, ctx)
    if policy.check(rule, creds, tgt):
        return
    if rule == "get_image" or not policy.check("get_image", creds, tgt):
        raise NotFound(f"No image found with ID {image.id}.")
    raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError):
        return False


def load(session: Session, image_id: str) -> Image | None:
    """The image, or None when the id is malformed, unknown or deleted."""
    if not is_uuid(image_id):
        return None
    image = session.get(Image, image_id.lower())
    if image is None or image.status == states.DELETED:
        return None
    return image


def is_member(session: Session, image_id: str, project_id: str) -> bool:
    return session.scalar(select(ImageMember.member).where(
        ImageMember.image_id == image_id, ImageMember.member == project_id)) is not None


def can_see(session: Session, ctx: AuthContext, image: Image) -> bool:
    if ctx.is_admin or image.owner == ctx.project_id:
        return True
    if image.visibility in ("public", "community"):
        return True
    return image.visibility == "shared" and is_member(session, image.id, ctx.project_id)


def find_visible(session: Session, ctx: AuthContext, image_id: str) -> Image:
    """The image if the caller may see it; else 404 (unknown, deleted or hidden alike)."""
    image = load(session, image_id)
    if image is None or not can_see(session, ctx, image):
        raise NotFound(f"No image found with ID {image_id}.")
    return image


def find(session: Session, policy: Enforcer, ctx: AuthContext, image_id: str,
         rule: str) -> Image:
    """The visible image ``image_id`` on which the caller passes ``rule`` (see
    :func:`authorize`); the one lookup every operation on one image starts with."""
    image = find_visible(session, ctx, image_id)
    authorize(policy, rule, ctx, image)
    return image


def is_owner(ctx: AuthContext, image: Image) -> bool:
    """An admin or the owner project: who sees every membership of the image."""
    return ctx.is_admin or (image.owner is not None and image.owner == ctx.project_id)
