"""Who may see and who may change an image (Glance v2 rules), in one place.

* Visible: to admins; to the owner project; to everybody when ``public`` or ``community``;
  when ``shared``, to projects that are members (whatever their member status).
  An image the caller cannot see does not exist for them: 404, never 403 (Tempest expects
  another project's private image to be a 404).
* Changeable (metadata, data, tags, members, delete): by admins and the owner project only;
  a visible image that is not the caller's is a 403.
* Policy rules (``images.policies``) are checked on top, with the image as the target.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from images import states
from images.models import Image, ImageMember
from minicloud.errors import Forbidden, NotFound
from minicloud.identity.tokens import AuthContext


def target(image: Image | None) -> dict[str, Any]:
    """The policy target of ``image`` (``project_id:%(owner)s`` style rules can use it)."""
    if image is None:
        return {}
    return {"id": image.id, "owner": image.owner, "project_id": image.owner,
            "visibility": image.visibility, "status": image.status,
            "protected": image.protected}


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


def is_owner(ctx: AuthContext, image: Image) -> bool:
    return ctx.is_admin or (image.owner is not None and image.owner == ctx.project_id)


def require_owner(ctx: AuthContext, image: Image, action: str) -> None:
    if not is_owner(ctx, image):
        raise Forbidden(f"You are not permitted to {action} image {image.id}: it belongs "
                        "to another project.")
