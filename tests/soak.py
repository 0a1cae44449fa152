"""The soak (``make soak``; not in ``make test``, it is long): N cycles of create volume,
create server with it, detach, attach, delete server, delete volume on a throw-away real
cloud (QEMU guests, tgtd iSCSI), then ``minicloud audit`` must be clean.

    python tests/soak.py [--cycles N]      (default: $SOAK_CYCLES or 100)

Each cycle waits for the guest's boot report before the detach (a guest still booting
ignores a hot-unplug) and checks the server and volume states at each step; the first
failure (an unexpected state or an API refusal) stops the soak with exit 1. The audit's
table is printed either way.

A detach is over when the volume is ``available`` and the server no longer lists the
attachment, as Tempest waits: like Nova, the agent frees the volume first and then drops
the server's block device mapping, so a re-attach in between is refused (400, already
attached; seen once in 68 cycles before this wait).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minicloud.errors import MinicloudError  # noqa: E402
from tests.test_audit_real import _wait_gone  # noqa: E402
from tests.test_compute_real import (  # noqa: E402
    NOVA,
    _console_report,
    _image_id,
    _wait,
    lab_cloud,
)
from tests.test_volumes_attach_real import CINDER, _delete, _wait_volume  # noqa: E402


def _wait_detached(client, server_id: str, volume_id: str, timeout: float = 120) -> None:
    """Until the server's attachment list no longer has ``volume_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = client.request("compute", "GET", f"/servers/{server_id}/os-volume_attachments",
                                headers=NOVA).json()["volumeAttachments"]
        if all(a["volumeId"] != volume_id for a in listed):
            return
        time.sleep(0.5)
    raise AssertionError(f"volume {volume_id} still listed on server {server_id}")


def cycle(client, image_id: str, n: int) -> None:
    """One cycle; raises AssertionError (with what went wrong) on any unexpected state."""
    volume_id = client.request("volumev3", "POST", "/volumes", headers=CINDER, json={
        "volume": {"name": f"soak-vol-{n}", "size": 1}}).json()["volume"]["id"]
    _wait_volume(client, volume_id, "available")
    body = {"server": {"name": f"soak-vm-{n}", "imageRef": image_id, "flavorRef": "6",
                       "networks": "none", "block_device_mapping_v2": [
                           {"uuid": volume_id, "source_type": "volume",
                            "destination_type": "volume", "boot_index": -1,
                            "delete_on_termination": False}]}}
    server_id = client.request("compute", "POST", "/servers", headers=NOVA,
                               json=body).json()["server"]["id"]
    _wait(client, server_id, "ACTIVE")
    _wait_volume(client, volume_id, "in-use")
    _console_report(client, server_id)  # booted: it answers a hot-unplug now
    attachments = f"/servers/{server_id}/os-volume_attachments"
    client.request("compute", "DELETE", f"{attachments}/{volume_id}", headers=NOVA)
    _wait_volume(client, volume_id, "available", timeout=120)
    _wait_detached(client, server_id, volume_id)
    _wait(client, server_id, "ACTIVE")
    client.request("compute", "POST", attachments, headers=NOVA,
                   json={"volumeAttachment": {"volumeId": volume_id}})
    _wait_volume(client, volume_id, "in-use")
    _wait(client, server_id, "ACTIVE")
    _delete(client, server_id)
    _wait_volume(client, volume_id, "available")
    client.request("volumev3", "DELETE", f"/volumes/{volume_id}", headers=CINDER)
    _wait_gone(client, volume_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=int(os.environ.get("SOAK_CYCLES", 100)))
    args = parser.parse_args()
    cloud_gen = lab_cloud({"compute": {"driver": "libvirt", "shutdown_timeout": 5},
                           "volume": {"driver": "file", "target_helper": "tgtadm"}})
    cloud, client = next(cloud_gen)
    failed = False
    try:
        image_id = _image_id(client, "tiny")
        started = time.monotonic()
        for n in range(1, args.cycles + 1):
            t0 = time.monotonic()
            try:
                cycle(client, image_id, n)
            except (AssertionError, MinicloudError) as exc:
                print(f"cycle {n} failed: {exc}", flush=True)
                failed = True
                break
            print(f"cycle {n}/{args.cycles}: {time.monotonic() - t0:.1f}s", flush=True)
        print(f"{n} cycle(s) in {time.monotonic() - started:.0f}s", flush=True)
        audit = cloud.minicloud("audit", check=False)
        print(audit.stdout.decode(), audit.stderr.decode(), sep="", end="", flush=True)
        failed = failed or audit.returncode != 0
    finally:
        cloud_gen.close()  # down, guests removed, state deleted
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
