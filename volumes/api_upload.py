"""The volume actions of issue 10's data paths: ``os-volume_upload_image``
(:mod:`volumes.upload`), ``os-retype`` (:mod:`volumes.retype`) and ``revert`` (3.40,
:mod:`volumes.revert`). Handlers of
:data:`volumes.api_volumes.ACTIONS`: each enforces its Cinder rule against the volume's
project before anything else."""
from __future__ import annotations

from flask import Response, current_app

from minicloud.wsgi import auth, json_response
from volumes import context, upload
from volumes.retype import RetypeService
from volumes.revert import RevertService
from volumes.types import Caller


def _uploads() -> upload.UploadService:
    return current_app.extensions["volume_upload"]


def _retypes() -> RetypeService:
    return current_app.extensions["volume_retype"]


def upload_image(volume_id: str, params: dict) -> Response:
    """202 with Cinder's ``os-volume_upload_image`` body; ``visibility: public`` also needs
    ``volume_extension:volume_actions:upload_public``."""
    context.volume(volume_id, "volume_extension:volume_actions:upload_image")
    req = upload.parse(params, context.version().minor)
    if req.visibility == "public":
        context.volume(volume_id, "volume_extension:volume_actions:upload_public")
    body = _uploads().start(auth(), volume_id, req)
    return json_response({"os-volume_upload_image": body}, 202)


def retype(volume_id: str, params: dict) -> Response:
    context.volume(volume_id, "volume:retype")
    new_type = context.types().for_volume(Caller(auth().project_id, context.is_admin()),
                                          params["new_type"])
    _retypes().retype(auth(), volume_id, new_type, params.get("migration_policy"))
    return Response(status=202)


REVERT = 40  # the revert action appears


def revert(volume_id: str, params: dict) -> Response:
    """202; the volume reverts to ``snapshot_id``, its latest snapshot (volumes.revert)."""
    context.need(REVERT, "the revert action")
    context.volume(volume_id, "volume:revert_to_snapshot")
    revert_service: RevertService = current_app.extensions["volume_revert"]
    revert_service.revert(auth(), volume_id, params["snapshot_id"])
    return Response(status=202)
