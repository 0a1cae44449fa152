"""Compute's side of read-only and qos-limited volumes: the connection info's
``access_mode`` and ``qos_specs`` become ``<readonly/>`` and ``<iotune>`` on the volume's
libvirt disk, with Nova's key mapping."""
from __future__ import annotations

import textwrap

from compute.virt.config import NetworkDisk
from compute.virt.designer import iotune_from_qos, volume_disk
from compute.virt.driver import _connection
from volumes.connection import ConnectionInfo

IQN = "iqn.2010-10.org.openstack:volume-0b5e0b55"


def _info(**data: object) -> ConnectionInfo:
    return ConnectionInfo.from_dict({"driver_volume_type": "iscsi", "data": {
        "target_iqn": IQN, "target_portal": "127.0.0.1:3260", "target_lun": 1,
        "volume_id": "vol-1", "auth_username": "u", "auth_password": "p", **data}})


def test_readonly_disk_with_iotune_xml() -> None:
    disk = NetworkDisk(name=f"{IQN}/1", host="127.0.0.1", target_dev="vdc", serial="vol-1",
                       readonly=True, iotune={"total_bytes_sec": 1048576,
                                              "read_iops_sec": 200})
    assert disk.to_xml() == textwrap.dedent(f"""\
        <disk type="network" device="disk">
          <driver name="qemu" type="raw" cache="none" />
          <source protocol="iscsi" name="{IQN}/1">
            <host name="127.0.0.1" port="3260" />
          </source>
          <target dev="vdc" bus="virtio" />
          <iotune>
            <total_bytes_sec>1048576</total_bytes_sec>
            <read_iops_sec>200</read_iops_sec>
          </iotune>
          <serial>vol-1</serial>
          <readonly />
        </disk>""")


def test_iotune_takes_novas_keys_with_integer_values_only() -> None:
    assert iotune_from_qos({
        "total_bytes_sec": "1048576", "read_iops_sec": 200, "write_iops_sec": " 50 ",
        "size_iops_sec": "4096", "read_bytes_sec": "fast", "write_bytes_sec": True,
        "total_iops_sec": "-1", "total_bytes_sec_max": "9", "minIOPS": "10"}) == {
        "total_bytes_sec": 1048576, "write_iops_sec": 50, "read_iops_sec": 200,
        "size_iops_sec": 4096}
    assert iotune_from_qos(None) == {}


def test_connection_info_to_disk() -> None:
    conn = _connection(_info(access_mode="ro", qos_specs={"read_iops_sec": "100",
                                                            "consumer_note": "x"}), "sec")
    disk = volume_disk(conn, "virtio", "vdc")
    assert (disk.readonly, disk.iotune, disk.secret_uuid) == (True, {"read_iops_sec": 100},
                                                              "sec")
    plain = volume_disk(_connection(_info(), "sec"), "virtio", "vdc")
    assert (plain.readonly, plain.iotune) == (False, {})
    assert "<iotune" not in plain.to_xml() and "<readonly" not in plain.to_xml()
