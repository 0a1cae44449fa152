"""The image status machine: the transition table and the compare-and-swap in SQLite."""
from __future__ import annotations

import threading

import pytest

from images import states
from images.models import Image
from minicloud.db import new_uuid
from minicloud.errors import Conflict
from tests.images_fixtures import *  # noqa: F403

ALLOWED = sorted((old, new) for old, news in states.TRANSITIONS.items() for new in news)
FORBIDDEN = [
    (states.QUEUED, states.ACTIVE), (states.QUEUED, states.KILLED),
    (states.ACTIVE, states.SAVING), (states.ACTIVE, states.QUEUED),
    (states.DEACTIVATED, states.SAVING), (states.KILLED, states.ACTIVE),
    (states.KILLED, states.QUEUED), (states.DELETED, states.ACTIVE),
    (states.DELETED, states.QUEUED), (states.SAVING, states.DEACTIVATED),
    (states.UPLOADING, states.ACTIVE), (states.IMPORTING, states.SAVING),
    (states.ACTIVE, states.ACTIVE), ("bogus", states.ACTIVE), (states.QUEUED, "bogus"),
]


def _image(db, status: str) -> str:
    image_id = new_uuid()
    with db.session() as s:
        s.add(Image(id=image_id, status=status, visibility="private", protected=False,
                    os_hidden=False, min_disk=0, min_ram=0))
    return image_id


def _status(db, image_id: str) -> str:
    with db.session() as s:
        return s.get(Image, image_id).status


def test_table_is_closed_over_known_statuses():
    for old, news in states.TRANSITIONS.items():
        assert news <= states.STATUSES, old
    assert states.TRANSITIONS[states.DELETED] == frozenset()
    # every status but deleted can be deleted; nothing leaves deleted
    assert all(states.DELETED in news for old, news in states.TRANSITIONS.items()
               if old != states.DELETED)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_every_allowed_move_passes(images_env, old, new):
    image_id = _image(images_env.db, old)
    with images_env.db.session() as s:
        states.transition(s, image_id, old, new)
    assert _status(images_env.db, image_id) == new


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_forbidden_moves_are_conflicts(images_env, old, new):
    assert not states.allowed(old, new)
    image_id = _image(images_env.db, old)
    with pytest.raises(Conflict, match="not allowed"), images_env.db.session() as s:
        states.transition(s, image_id, old, new)
    assert _status(images_env.db, image_id) == old


def test_transition_sets_values_in_the_same_update(images_env):
    image_id = _image(images_env.db, states.SAVING)
    with images_env.db.session() as s:
        states.transition(s, image_id, states.SAVING, states.ACTIVE, size=42, checksum="c")
    with images_env.db.session() as s:
        image = s.get(Image, image_id)
        assert (image.status, image.size, image.checksum) == (states.ACTIVE, 42, "c")


def test_stale_old_status_is_a_conflict(images_env):
    image_id = _image(images_env.db, states.ACTIVE)
    with pytest.raises(Conflict, match="no longer 'queued'"), images_env.db.session() as s:
        states.transition(s, image_id, states.QUEUED, states.SAVING)
    assert _status(images_env.db, image_id) == states.ACTIVE


def _race(db, image_id: str) -> list[str]:
    """Two threads move ``image_id`` out of queued at the same moment; their outcomes."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(new: str) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                states.transition(s, image_id, states.QUEUED, new)
            outcomes.append(new)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(new,))
               for new in (states.SAVING, states.UPLOADING)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return outcomes


@pytest.mark.timeout(30)
def test_cas_race_has_exactly_one_winner(images_env):
    """Two updates from the same old status, at the same moment: one wins, one gets 409."""
    db = images_env.db
    for _ in range(5):
        image_id = _image(db, states.QUEUED)
        outcomes = _race(db, image_id)
        assert len(outcomes) == 2 and outcomes.count("conflict") == 1, outcomes
        winner = next(o for o in outcomes if o != "conflict")
        assert _status(db, image_id) == winner
