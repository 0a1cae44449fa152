"""The libvirt side of pause and suspend on the simulated ``test:///default`` driver:
Guest.pause/unpause, the managed save (suspend) and its removal with the definition."""
from __future__ import annotations

from compute import states
from compute.virt.host import Host
from tests.test_virt_host import TEST_URI, designed


def test_pause_save_resume_and_undefine_with_a_saved_image() -> None:
    with Host(TEST_URI) as host:
        config = designed()
        guest = host.define(config)
        guest.start()
        guest.pause()
        assert guest.power_state() == states.PAUSED
        guest.unpause()
        assert guest.power_state() == states.RUNNING
        assert not guest.has_saved_state()
        guest.save()
        assert (guest.power_state(), guest.has_saved_state()) == (states.SHUTDOWN, True)
        guest.start()  # restored from the save image, which is then gone
        assert (guest.power_state(), guest.has_saved_state()) == (states.RUNNING, False)
        guest.save()
        guest.discard_saved_state()
        assert not guest.has_saved_state()
        guest.discard_saved_state()  # none: tolerated
        guest.start()
        guest.save()
        guest.undefine()  # the saved image goes with the definition
        assert host.lookup(config.uuid) is None
