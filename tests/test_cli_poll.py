"""The ``--wait`` schedule (:mod:`minicloud.cli.poll`): fast first looks, backing off to one
a second, never past ``--timeout``; the same for servers, deletes, snapshots, volumes and
image imports. A fake clock: sleeping advances it, so the tests take no time."""
from __future__ import annotations

from itertools import islice

import pytest

from minicloud import errors
from minicloud.cli import compute, images, poll, volumes


class Clock:
    def __init__(self) -> None:
        self.start = self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(round(seconds, 6))
        self.now += seconds

    @property
    def elapsed(self) -> float:
        return round(self.now - self.start, 6)


@pytest.fixture
def clock(mocker) -> Clock:
    fake = Clock()
    mocker.patch.object(poll.time, "monotonic", fake.monotonic)
    mocker.patch.object(poll.time, "sleep", fake.sleep)
    return fake


class Resource:
    """A server, volume or image whose GET answers ``before`` until ``ready_at`` seconds
    have passed on the clock, then ``after`` (an exception is raised)."""

    def __init__(self, clock: Clock, ready_at: float, before: dict, after: dict | Exception
                 ) -> None:
        self.clock, self.ready_at, self.before, self.after = clock, ready_at, before, after
        self.looks = 0

    def get(self, _id: str) -> dict:
        self.looks += 1
        if self.clock.elapsed < self.ready_at:
            return self.before
        if isinstance(self.after, Exception):
            raise self.after
        return self.after

    get_server = get


BUILDING = {"id": "s-1", "name": "web1", "status": "BUILD", "OS-EXT-STS:task_state": "spawning"}
ACTIVE = {"id": "s-1", "name": "web1", "status": "ACTIVE", "OS-EXT-STS:task_state": None}


def test_intervals_start_at_a_tenth_and_double_up_to_a_second():
    assert list(islice(poll.intervals(), 7)) == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_a_server_is_seen_active_within_the_backed_off_interval(clock):
    server = Resource(clock, 2.05, BUILDING, ACTIVE)
    assert compute.wait_for_server(server, {"id": "s-1"}, 600)["status"] == "ACTIVE"
    # looks at 0, 0.1, 0.3, 0.7, 1.5 and 2.5 s: ACTIVE (at 2.05 s) is seen 0.45 s late,
    # where a poll every second would have looked at 3 s
    assert clock.slept == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert server.looks == 6


def test_a_long_wait_polls_once_a_second(clock):
    server = Resource(clock, 10, BUILDING, ACTIVE)
    compute.wait_for_server(server, {"id": "s-1"}, 600)
    assert clock.slept[:4] == [0.1, 0.2, 0.4, 0.8]
    assert set(clock.slept[4:]) == {1.0}
    assert 10 <= clock.elapsed < 11


def test_the_wait_ends_at_the_timeout_not_after_it(clock):
    server = Resource(clock, 1e9, BUILDING, ACTIVE)
    with pytest.raises(errors.ServiceUnavailable,
                       match=r"^server web1 is still BUILD \(spawning\) after 2s$"):
        compute.wait_for_server(server, {"id": "s-1", "name": "web1"}, 2)
    # the last sleep is cut short to the deadline, and one last look is made there
    assert clock.slept == [0.1, 0.2, 0.4, 0.8, 0.5]
    assert clock.elapsed == 2.0


def test_a_zero_timeout_looks_once(clock):
    server = Resource(clock, 1e9, BUILDING, ACTIVE)
    with pytest.raises(errors.ServiceUnavailable):
        compute.wait_for_server(server, {"id": "s-1", "name": "web1"}, 0)
    assert (server.looks, clock.slept) == (1, [])


def test_delete_is_seen_on_the_same_schedule(clock):
    deleting = {**ACTIVE, "OS-EXT-STS:task_state": "deleting"}
    server = Resource(clock, 0.5, deleting, errors.NotFound("gone"))
    compute.wait_for_delete(server, {"id": "s-1", "name": "web1"}, 600)
    assert clock.slept == [0.1, 0.2, 0.4]


def test_snapshot_image_on_the_same_schedule(clock):
    image = Resource(clock, 0.3, {"id": "i-1", "status": "saving"},
                     {"id": "i-1", "status": "active"})
    assert compute.wait_for_image(image, "i-1", 600)["status"] == "active"
    assert clock.slept == [0.1, 0.2]


def test_volume_on_the_same_schedule_from_the_create_answer(clock):
    volume = Resource(clock, 0.25, {"id": "v-1", "status": "creating"},
                      {"id": "v-1", "status": "available"})
    settled = volumes.wait_settled(volume, {"id": "v-1", "status": "creating"}, 600)
    assert settled["status"] == "available"
    assert clock.slept == [0.1, 0.2]  # no look before the first sleep: create answered it


def test_volume_timeout_and_error(clock):
    volume = Resource(clock, 1e9, {"id": "v-1", "name": "d", "status": "creating"}, {})
    with pytest.raises(errors.ServiceUnavailable, match="^volume d is still creating after 1s$"):
        volumes.wait_settled(volume, {"id": "v-1", "name": "d", "status": "creating"}, 1)
    assert clock.elapsed == 1.0
    failed = Resource(clock, 0, {}, {"id": "v-1", "name": "d", "status": "error"})
    with pytest.raises(errors.MinicloudError, match="^volume d went to error$"):
        volumes.wait_settled(failed, {"id": "v-1", "name": "d", "status": "creating"}, 60)


def test_image_import_on_the_same_schedule(clock):
    image = Resource(clock, 0.6, {"id": "i-1", "status": "importing"},
                     {"id": "i-1", "status": "active"})
    assert images.wait_active(image, "i-1", 600)["status"] == "active"
    assert clock.slept == [0.1, 0.2, 0.4]


def test_progress_shows_each_new_state_with_the_time_waited(clock, mocker, capsys):
    mocker.patch.object(poll.sys.stderr, "isatty", return_value=True)
    compute.wait_for_server(Resource(clock, 1.2, BUILDING, ACTIVE),
                            {"id": "s-1", "name": "web1"}, 600)
    assert capsys.readouterr().err == ("server web1: BUILD (spawning) [0.0s]\n"
                                       "server web1: ACTIVE [1.5s]\n")
