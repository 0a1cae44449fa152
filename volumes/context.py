"""What every view of the volume API shares within one request: the services, the
negotiated microversion, policy checks against a volume's owner, and the caller's view.

Order of refusals, as Cinder: a volume the caller may not see (another project's, or none)
is a 404 before any policy is asked; then the rule is checked against the volume's owning
project, so a reader of that project gets a 403 for every write.
"""
from __future__ import annotations

from flask import current_app, g, request

from minicloud import errors
from minicloud.errors import NotFound
from minicloud.microversion import Version
from minicloud.wsgi import auth, authorize, current_service
from volumes.actions import VolumeActions
from volumes.attachments import AttachmentService
from volumes.backups import BackupService
from volumes.models import Volume
from volumes.qos import QosService
from volumes.service import VolumeService
from volumes.transfers import TransferService
from volumes.types import TypeService
from volumes.views import Viewer


def volumes() -> VolumeService:
    return current_app.extensions["volumes"]


def attachments() -> AttachmentService:
    return current_app.extensions["volume_attachments"]


def actions() -> VolumeActions:
    return current_app.extensions["volume_actions"]


def qos() -> QosService:
    return current_app.extensions["volume_qos"]


def types() -> TypeService:
    return current_app.extensions["volume_types"]


def transfers() -> TransferService:
    return current_app.extensions["volume_transfers"]


def backups() -> BackupService:
    return current_app.extensions["volume_backups"]


def version() -> Version:
    return g.mv


def need(minor: int, what: str) -> None:
    """404 below 3.``minor``, as Cinder answers for a resource a version does not have."""
    if not version().at_least(minor):
        raise NotFound(f"The resource could not be found: {what} needs "
                       f"OpenStack-API-Version: volume 3.{minor} or later (got {version()}).")


def owner_target(project_id: str, user_id: str | None = None) -> dict:
    return {"project_id": project_id, "user_id": user_id or auth().user_id}


def allowed(rule: str, project_id: str | None = None) -> bool:
    """Whether ``rule`` admits the caller on ``project_id`` (default: its own project)."""
    ctx = auth()
    return current_service().policy.check(
        rule, ctx.credentials(), owner_target(project_id or ctx.project_id))


def authorize_project(rule: str, project_id: str | None = None) -> None:
    """403 unless ``rule`` admits the caller on ``project_id`` (default: its own)."""
    authorize(rule, owner_target(project_id or auth().project_id))


def volume(volume_id: str, rule: str) -> Volume:
    """The volume, if the caller may see it (else 404) and ``rule`` admits the caller on the
    volume's project (else 403)."""
    vol = volumes().get(auth(), volume_id)
    authorize(rule, owner_target(vol.project_id, vol.user_id))
    return vol


def is_admin() -> bool:
    """Cinder's ``context.is_admin``: the ``context_is_admin`` rule."""
    return allowed("context_is_admin")


def viewer() -> Viewer:
    """The caller's view of volumes in this request (computed once)."""
    if "volume_viewer" not in g:
        host_attr = allowed("volume_extension:volume_host_attribute")
        g.volume_viewer = Viewer(
            version=version(), base=request.host_url.rstrip("/"), admin=is_admin(),
            host_attr=host_attr,
            tenant_attr=allowed("volume_extension:volume_tenant_attribute"),
            mig_attr=allowed("volume_extension:volume_mig_status_attribute"),
            image_meta=allowed("volume_extension:volume_image_metadata:show"),
            backends=volumes().backends() if host_attr else {},
            type_names=types().names(),
            encrypted_types=current_app.extensions["volume_encryption"].encrypted_types())
    return g.volume_viewer


def privileged() -> bool:
    """The compute service user or an admin: the caller's token, or an ``X-Service-Token``
    (as Nova sends with the user's token) that carries the admin role."""
    if auth().is_admin:
        return True
    service_token = request.headers.get("X-Service-Token")
    if not service_token:
        return False
    try:
        return current_service().tokens.validate(service_token).is_admin
    except errors.Unauthorized:
        return False


def flag(name: str, minimum: int = 0) -> bool:
    """A boolean query flag (``?force=True``), honoured from 3.``minimum``."""
    value = request.args.get(name)
    return version().at_least(minimum) and value is not None and \
        value.strip().lower() in ("", "1", "true", "yes", "on", "t", "y")
