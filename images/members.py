"""Image members: sharing a ``shared`` image with other projects (Glance v2 rules).

* Only the image owner (or an admin) adds and removes members, and only on images whose
  visibility is ``shared`` (403 otherwise).
* Only the member project itself changes its status among pending / accepted / rejected
  (403 for anybody else, 400 for another status).
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
from images.schema import MAX_NAME, MEMBER_STATUSES
from images.service import Dependencies
from minicloud.db import utcnow
from minicloud.errors import BadRequest, Conflict, Forbidden, NotFound
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
        image = access.find_visible(s, ctx, image_id)
        self.deps.enforce(rule, ctx, image)
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
            image = self._image(s, ctx, image_id, "get_member")
            if not access.is_owner(ctx, image) and member_id != ctx.project_id:
                raise NotFound(f"Project {member_id} is not a member of image {image.id}.")
            return _record(self._row(image, member_id))

    def add(self, ctx: AuthContext, image_id: str, body: dict) -> MemberRecord:
        member_id = _member_id(body.get("member"))
        with self.deps.db.session() as s:
            image = self._image(s, ctx, image_id, "add_member")
            access.require_owner(ctx, image, "share")
            if image.visibility != "shared":
                raise Forbidden(f"Only shared images have members; image {image.id} is "
                                f"{image.visibility}.")
            if any(m.member == member_id for m in image.members):
                raise Conflict(f"Project {member_id} is already a member of image "
                               f"{image.id}.")
            if len(image.members) >= MAX_MEMBERS:
                raise Forbidden(f"Image {image.id} already has {MAX_MEMBERS} members.")
            row = ImageMember(member=member_id, status="pending")
            image.members.append(row)
            s.flush()
            return _record(row)

    def update(self, ctx: AuthContext, image_id: str, member_id: str,
               body: dict) -> MemberRecord:
        status = body.get("status")
        if status not in MEMBER_STATUSES:
            raise BadRequest(f"Invalid member status {status!r}: must be one of "
                             f"{', '.join(MEMBER_STATUSES)}.")
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
            access.require_owner(ctx, image, "unshare")
            image.members.remove(self._row(image, member_id))
