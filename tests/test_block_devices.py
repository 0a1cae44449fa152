"""Block device mapping v2 parsing: the bodies the openstack CLI and SDK send, and bad input."""
from __future__ import annotations

import pytest

from compute.block_devices import BootRequest, RootVolume, VolumeRequest, parse
from minicloud.errors import BadRequest

IMAGE_LOCAL = {"uuid": "img", "boot_index": 0, "source_type": "image",
               "destination_type": "local", "delete_on_termination": True}


def test_plain_image_boot_as_the_cli_sends_it():
    assert parse("img", [IMAGE_LOCAL]) == BootRequest("img", None, ())
    assert parse("img", []) == BootRequest("img", None, ())
    assert parse("", [IMAGE_LOCAL]).image_ref == "img"  # the mapping names the image


def test_cli_volume_boots_from_that_volume():
    bdm = {"uuid": "vol", "boot_index": 0, "source_type": "volume",
           "destination_type": "volume"}
    assert parse("", [bdm]) == BootRequest(None, RootVolume(volume_id="vol"), ())


def test_cli_boot_from_volume_makes_a_volume_from_the_image():
    bdm = {"uuid": "img", "source_type": "image", "destination_type": "volume",
           "volume_size": 2, "boot_index": 0, "delete_on_termination": False}
    assert parse("", [bdm]).root_volume == RootVolume(image_id="img", size=2)


def test_block_device_option_strings_are_accepted():
    # `--block-device` sends volume_size and flags as strings.
    bdm = {"uuid": "img", "source_type": "image", "destination_type": "volume",
           "volume_size": "3", "boot_index": "0", "delete_on_termination": "true"}
    assert parse("", [bdm]).root_volume == RootVolume(image_id="img", size=3,
                                                      delete_on_termination=True)


def test_data_volumes_keep_their_order_and_flags():
    bdms = [IMAGE_LOCAL,
            {"uuid": "v1", "source_type": "volume", "destination_type": "volume",
             "boot_index": -1},
            {"uuid": "v2", "source_type": "volume", "boot_index": None,
             "delete_on_termination": True}]
    assert parse("img", bdms).volumes == (VolumeRequest("v1"), VolumeRequest("v2", True))


@pytest.mark.parametrize("image_ref, bdms, message", [
    ("", [], "Missing imageRef"),
    ("other", [{"uuid": "vol", "boot_index": 0, "source_type": "volume"}], "not both"),
    ("", [{"uuid": "a", "boot_index": 0, "source_type": "volume"},
          {"uuid": "b", "boot_index": 0, "source_type": "volume"}], "only one device"),
    ("", [{"uuid": "img", "boot_index": 0, "source_type": "image",
           "destination_type": "volume"}], "volume_size"),
    ("", [{"uuid": "img", "boot_index": 0, "source_type": "image",
           "destination_type": "volume", "volume_size": 0}], "volume_size"),
    ("", [{"uuid": "img", "boot_index": 0, "source_type": "image",
           "destination_type": "volume", "volume_size": "big"}], "integer"),
    ("img", [{"uuid": "img", "boot_index": 1, "source_type": "image",
              "destination_type": "volume", "volume_size": 1}], "boot disk"),
    ("img", [{"source_type": "blank", "destination_type": "local", "volume_size": 1}],
     "not supported"),
    ("img", [{"source_type": "snapshot", "uuid": "s"}], "not supported"),
    ("img", [{"source_type": "volume", "destination_type": "volume"}], "needs a 'uuid'"),
    ("img", [{"source_type": "volume", "uuid": "v", "delete_on_termination": "maybe"}],
     "boolean"),
    ("img", "not a list", "list of objects"),
    ("img", [["nested"]], "list of objects"),
])
def test_bad_mappings_are_400_with_a_reason(image_ref, bdms, message):
    with pytest.raises(BadRequest, match=message):
        parse(image_ref, bdms)
