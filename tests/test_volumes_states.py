"""The status machines as data, and their compare-and-swap under real concurrency (threads
against the real SQLite catalog): one winner per race, quotas never overshoot."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from minicloud.errors import BadRequest, RequestTooLarge
from tests.volumes_fixtures import *  # noqa: F403
from volumes import states
from volumes.attachments import AttachmentService
from volumes.service import VolumeRequest


def test_every_target_status_is_known_and_terminal_states_are_terminal():
    for old, targets in states.TRANSITIONS.items():
        assert targets <= set(states.TRANSITIONS), old
    assert states.TRANSITIONS[states.DELETED] == frozenset()
    assert states.DELETABLE <= {s for s, t in states.TRANSITIONS.items() if states.DELETING in t}
    for old, targets in states.ATTACHMENT_TRANSITIONS.items():
        assert targets <= set(states.ATTACHMENT_TRANSITIONS), old


@pytest.mark.parametrize("old, new, ok", [
    ("available", "reserved", True), ("reserved", "attaching", True),
    ("attaching", "in-use", True), ("in-use", "detaching", True),
    ("detaching", "available", True), ("creating", "available", True),
    ("in-use", "deleting", False), ("creating", "in-use", False),
    ("available", "detaching", False), ("deleted", "available", False),
    ("available", "awaiting-transfer", True), ("maintenance", "available", False),
    ("extending", "available", True), ("error_deleting", "deleting", True)])
def test_transition_table(old, new, ok):
    assert states.allowed(old, new) is ok


@pytest.mark.parametrize("attachments, status", [
    ([], "available"), (["reserved"], "reserved"), (["attaching"], "attaching"),
    (["attached"], "in-use"), (["detaching"], "detaching"), (["error"], "error"),
    (["attached", "reserved"], "in-use")])
def test_volume_status_follows_its_attachments(attachments, status):
    assert states.status_for_attachments(attachments) == status


def test_transition_outside_the_table_is_a_programming_error(volenv):
    vid = volenv.create(name="x")["id"]
    with volenv.db.session() as s, pytest.raises(ValueError, match="not in the table"):
        states.transition(s, vid, {"available"}, "detaching")


def test_cas_loser_gets_invalid_volume(volenv):
    vid = volenv.create(name="x")["id"]
    volenv.wait(vid, "available")
    with volenv.db.session() as s:
        states.transition(s, vid, {"available"}, "reserved")
    with volenv.db.session() as s, pytest.raises(BadRequest, match="current status is: "
                                                                    "reserved"):
        states.transition(s, vid, {"available"}, "reserved", "reserve it")


def _race(n: int, func) -> list:
    barrier = threading.Barrier(n)

    def attempt(i: int):
        barrier.wait()
        try:
            return func(i)
        except (BadRequest, RequestTooLarge) as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(attempt, range(n)))


def test_concurrent_reserves_of_one_volume_have_exactly_one_winner(volenv):
    vid = volenv.create(name="contested")["id"]
    volenv.wait(vid, "available")
    atts = AttachmentService(volenv.app.extensions["volumes"])
    ctx = volenv.app.extensions["minicloud"].tokens.validate(volenv.alice.token)
    for _ in range(3):  # a few rounds: the race must never produce two winners
        results = _race(8, lambda i: atts.create(ctx, vid, f"server-{i}"))
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, BadRequest)]
        assert len(winners) == 1 and len(losers) == 7
        assert all(r.status == 400 and "must be available" in r.message for r in losers)
        assert [a.id for a in atts.list(ctx, {"volume_id": vid})] == winners
        atts.delete(ctx, winners[0], privileged=False)


def test_concurrent_creates_never_overshoot_the_quota(make_volenv):
    env = make_volenv(agent=False, **{"volume.quota_volumes": 3})
    svc = env.app.extensions["volumes"]
    ctx = env.app.extensions["minicloud"].tokens.validate(env.alice.token)
    results = _race(10, lambda i: svc.create(ctx, VolumeRequest(size=1, name=f"q{i}")))
    made = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, RequestTooLarge)]
    assert len(made) == 3 and len(refused) == 7
    assert svc.usage(ctx.project_id) == (3, 3)
    assert len(svc.list(ctx)) == 3
