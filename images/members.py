"""Image members: sharing a ``shared`` image with other projects (Glance v2 rules).

* Members exist only on images whose visibility is ``shared``: on any other image, adding,
  listing, changing and removing members is a 403 and showing one a 404, as in Glance (the
  memberships of an image made private again are kept, hidden).
* Policy decides who adds and removes them (``add_member``/``delete_member``: members of
  the owner project, or an admin), who reads them (``get_member(s)``: readers of the owner
  or of a member project) and who changes a status (``modify_member``: members of a member
  project), with the image as the target (``images.access``).
* Only the member project itself changes its status among pending / accepted / rejected
  (403 for the owner, 404 for another member); the body schema refuses other statuses.
* The owner sees every member; a member sees only its own membership; anybody else gets
  the 404 of an image they cannot see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from images import access
from images.models import Image, ImageMember
from images.schema import MAX_NAME
from images.service import Dependencies
from minicloud.db import utcnow
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound, RequestTooLarge
from minicloud.identity.tokens import AuthContext

MAX_MEMBERS = 128


@dataclass(frozen=True)
class MemberRecord:
    image_id: str
    member_id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: ImageMember) -> MemberRecord:
    return MemberRecord(row.image_id, row.member, row.status, row.created_at, row.updated_at)


def _member_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise BadRequest(f"Invalid member {value!r}: must be a project id of 1 to {MAX_NAME} "
                         "characters.")
    return value.strip()


class MemberService:
    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps

    def _image(self, s: Session, ctx: AuthContext, image_id: str, rule: str) -> Image:
        """The image, once ``rule`` allows the caller; 403 unless it is ``shared``."""
        image = self.deps.find(s, ctx, image_id, rule)
        if image.visibility != "shared":
            raise Forbidden(f"Only shared images have members; image {image.id} is "
                            f"{image.visibility}.")
        return image

    @staticmethod
    def _row(image: Image, member_id: str) -> ImageMember:
        row = next((m for m in image.members if m.member == member_id), None)
        if row is None:
            raise NotFound(f"Project {member_id} is not a member of image {image.id}.")
        return row

    def list(self, ctx: AuthContext, image_id: str) -> list[MemberRecord]:
        with self.deps.db.session() as s:
            image = self._image(s, ctx, image_id, "get_members")
            rows = image.members if access.is_owner(ctx, image) else [
                m for m in image.members if m.member == ctx.project_id]
            return [_record(m) for m in sorted(rows, key=lambda m: m.created_at)]

    def get(self, ctx: AuthContext, image_id: str, member_id: str) -> MemberRecord:
        with self.deps.db.session() as s:
            try:
                image = self._image(s, ctx, image_id, "get_member")
            except Forbidden as exc:  # Glance hides what a refused caller asked about
                raise NotFound(exc.message) from None
            if not access.is_owner(ctx, image) and member_id != ctx.project_id:
                raise NotFound(f"Project {member_id} is not a member of image {image.id}.")
            return _record(self._row(image, member_id))

    def add(self, ctx: AuthContext, image_id: str, body: dict) -> MemberRecord:
        member_id = _member_id(body.get("member"))
        with self.deps.db.session() as s:
            image = self._image(s, ctx, image_id, "add_member")
            if any(m.member == member_id for m in image.members):
                raise Conflict(f"Project {member_id} is already a member of image "
                               f"{image.id}.")
            if len(image.members) >= MAX_MEMBERS:
                raise RequestTooLarge(f"Image member limit exceeded for image {image.id}: "
                                      f"it already has {MAX_MEMBERS} members.")
            row = ImageMember(member=member_id, status="pending")
            image.members.append(row)
            s.flush()
            return _record(row)

    def update(self, ctx: AuthContext, image_id: str, member_id: str,
               body: dict) -> MemberRecord:
        status = body["status"]  # one of MEMBER_STATUSES: checked by schema.MEMBER_UPDATE
        with self.deps.db.session() as s:
            image = self._image(s, ctx, image_id, "modify_member")
            if member_id != ctx.project_id:
                if not access.is_owner(ctx, image):
                    raise NotFound(f"Project {member_id} is not a member of image "
                                   f"{image.id}.")
                raise Forbidden("Only the member project itself can change its status.")
            row = self._row(image, member_id)
            row.status, row.updated_at = status, utcnow()
            s.flush()
            return _record(row)

    def remove(self, ctx: AuthContext, image_id: str, member_id: str) -> None:
        with self.deps.db.session() as s:
            image = self._image(s, ctx, image_id, "delete_member")
            image.members.remove(self._row(image, member_id))
