"""Server diagnostics (``GET /servers/{id}/diagnostics``) from the catalog.

Nova asks the hypervisor of the server's host; minicloud's compute API runs on the
controller and has no channel to a host's libvirt, so it answers from what the catalog
knows: the power state, the flavor (vCPUs, memory), the disks the domain has (root,
ephemeral, attached volumes), the time since launch. Counters only libvirt knows (CPU time,
disk I/O, memory in use) are ``null``, which Nova's standardized (2.48) body allows.
"""
from __future__ import annotations

import datetime as dt

from compute import states
from compute.models import Instance
from minicloud.errors import Conflict

#: Nova's power-state names (``nova.compute.power_state.STATE_MAP``).
STATE_NAMES = {states.NOSTATE: "pending", states.RUNNING: "running",
               states.PAUSED: "paused", states.SHUTDOWN: "shutdown",
               states.CRASHED: "crashed", states.SUSPENDED: "suspended"}
_DISK_COUNTERS = ("read_bytes", "read_requests", "write_bytes", "write_requests",
                  "errors_count")


def _disks(inst: Instance) -> int:
    """The domain's disks: the root (a local vda or the boot volume), the ephemeral vdb
    when the flavor has one, and every other volume."""
    volumes = [b for b in inst.block_devices if b.get("boot_index") != 0]
    return 1 + (1 if (inst.flavor or {}).get("ephemeral") else 0) + len(volumes)


def _checked(inst: Instance) -> None:
    if inst.host is None:  # never scheduled: no hypervisor to ask (Nova's 409)
        raise Conflict(f"Instance {inst.id} is not ready")


def standard(inst: Instance, virt_type: str, now: dt.datetime) -> dict:
    """The 2.48+ body: every field present, unknown counters ``null``."""
    _checked(inst)
    flavor = inst.flavor or {}
    vcpus, disks = flavor.get("vcpus", 0), _disks(inst)
    uptime = int((now - inst.launched_at).total_seconds()) if inst.launched_at else None
    return {"state": STATE_NAMES.get(inst.power_state, "pending"), "driver": "libvirt",
            "hypervisor": virt_type, "hypervisor_os": "linux", "uptime": uptime,
            "config_drive": False, "num_cpus": vcpus, "num_disks": disks, "num_nics": 0,
            "memory_details": {"maximum": flavor.get("ram", 0), "used": None},
            "cpu_details": [{"id": i, "time": None, "utilisation": None}
                            for i in range(vcpus)],
            "disk_details": [dict.fromkeys(_DISK_COUNTERS) for _ in range(disks)],
            "nic_details": []}


def legacy(inst: Instance) -> dict:
    """Before 2.48 the body was the driver's own dictionary; libvirt's reports the guest's
    memory in KiB (its counters are not known here)."""
    _checked(inst)
    return {"memory": (inst.flavor or {}).get("ram", 0) * 1024}
