"""A volume whose data file was removed behind the cloud's back: an attach fails with a
reason the owner can read (the connect answers an error naming it, the volume is ``error``,
the attachment is gone), never a silent roll-back to ``available``; the volume can then be
deleted."""
from __future__ import annotations

from tests.test_volumes_attachments import _available, _connect, _reserve
from tests.volumes_fixtures import *  # noqa: F403
from tests.volumes_fixtures import MV


def test_attach_of_a_volume_whose_data_is_gone_ends_in_error(volenv):
    vid = _available(volenv)
    att = _reserve(volenv, vid)
    volenv.backend.delete(vid)  # removed outside the cloud
    resp = _connect(volenv, att["id"])
    assert resp.status_code >= 400
    assert "missing from its host" in str(resp.json)
    assert volenv.show(vid)["status"] == "error"
    assert volenv.alice.get(f"/v3/attachments/{att['id']}",
                            headers=MV).status_code == 404
    assert vid not in volenv.target.exports
    assert volenv.alice.delete(f"/v3/volumes/{vid}").status_code == 202
