"""Boot latency: minicloud against the bare hypervisor, in one run, side by side.

(a) minicloud: ``POST /servers`` -> the guest's MINICLOUD-READY on the console ->
    ``DELETE`` -> the server is gone (404) and its instance directory removed; the tiny lab
    image, flavor lab.nano, image already cached on the host.
(b) bare: the same overlay and ephemeral disk made with qemu-img, the same domain XML
    (from minicloud's own designer) defined and started with virsh, the same report waited
    for in the console log, then destroyed, undefined and cleaned.

Prints the medians and their ratio (target: minicloud within 1.15x of bare), the first boot
with an empty image cache against a cached one, and whether 10 servers created at once all
reach ACTIVE.

Usage: ``.venv/bin/python benchmarks/boot.py [--runs 3] [--burst 10]``
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import time
import uuid
from pathlib import Path

from benchcloud import BenchCloud, throwaway_cloud
from compute.guest_image import parse_report
from compute.virt.designer import design_domain
from minicloud import process

VIRSH = ["virsh", "-q", "-c", "qemu:///system"]


class Cloud:
    def __init__(self, bench: BenchCloud) -> None:
        self.call = bench.compute

    def create(self, name: str, image_id: str) -> str:
        body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "6",
                           "networks": "none"}}
        return self.call("POST", "/servers", json=body).json()["server"]["id"]

    def status(self, server_id: str) -> str:
        return self.call("GET", f"/servers/{server_id}").json()["server"]["status"]

    def wait_ready(self, server_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(server_id) == "ACTIVE":
                out = self.call("POST", f"/servers/{server_id}/action",
                                json={"os-getConsoleOutput": {}}).json()["output"]
                if parse_report(out).ready:
                    return
            time.sleep(0.1)
        raise SystemExit(f"server {server_id} never reported READY")

    def delete(self, server_id: str, instances: Path) -> None:
        self.call("DELETE", f"/servers/{server_id}")
        while True:
            try:
                self.call("GET", f"/servers/{server_id}")
            except Exception:  # noqa: BLE001 - the 404 we wait for
                break
            time.sleep(0.1)
        while (instances / server_id).exists():
            time.sleep(0.05)


def minicloud_cycle(cloud: Cloud, image_id: str, instances: Path) -> float:
    start = time.perf_counter()
    server_id = cloud.create(f"bench-{uuid.uuid4().hex[:6]}", image_id)
    cloud.wait_ready(server_id)
    cloud.delete(server_id, instances)
    return time.perf_counter() - start


def bare_cycle(base: Path, workdir: Path) -> float:
    start = time.perf_counter()
    inst_id = str(uuid.uuid4())
    inst_dir = workdir / inst_id
    inst_dir.mkdir(mode=0o711)
    root, eph = inst_dir / "disk", inst_dir / "disk.eph0"
    process.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", root,
                 str(1 << 30)])
    process.run(["qemu-img", "create", "-q", "-f", "qcow2", eph, str(1 << 30)])
    xml = design_domain(instance_uuid=inst_id, name="bare", cloud_id="bare-benchmark",
                        vcpus=1, memory_mib=256, image_properties={}, instance_dir=inst_dir,
                        root_disk=str(root), ephemeral_disk=str(eph)).to_xml()
    (inst_dir / "domain.xml").write_text(xml)
    process.run([*VIRSH, "define", inst_dir / "domain.xml"])
    name = f"minicloud-{inst_id}"
    process.run([*VIRSH, "start", name])
    log = inst_dir / "console.log"
    while not (log.exists() and parse_report(log.read_text(errors="replace")).ready):
        time.sleep(0.1)
    process.run([*VIRSH, "destroy", name])
    process.run([*VIRSH, "undefine", name])
    shutil.rmtree(inst_dir)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    unlimited = {"quota_instances": -1, "quota_cores": -1, "quota_ram": -1}  # for --burst
    with throwaway_cloud({"compute": {"periodic_interval": 2, **unlimited}}) as bench:
        cloud = Cloud(bench)
        root, state = bench.root, bench.state
        image_id = bench.image_id("tiny")
        instances = state / "instances"

        cold = minicloud_cycle(cloud, image_id, instances)   # downloads the base
        warm = minicloud_cycle(cloud, image_id, instances)
        base = instances / "_base" / image_id
        cloud_times, bare_times = [], []
        bare_dir = root / "bare"
        bare_dir.mkdir(mode=0o711)
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            cloud_times.append(minicloud_cycle(cloud, image_id, instances))
            bare_times.append(bare_cycle(base, bare_dir))
        mc, bare = statistics.median(cloud_times), statistics.median(bare_times)
        print(f"runs: {args.runs} each, tiny BIOS guest, lab.nano (TCG software emulation)")
        print(f"bare (qemu-img + virsh):   median {bare:6.2f} s  {sorted(bare_times)}")
        print(f"minicloud (API, agent):    median {mc:6.2f} s  {sorted(cloud_times)}")
        print(f"ratio minicloud / bare:    {mc / bare:.3f} (target <= 1.15)")
        print(f"first boot, empty cache:   {cold:6.2f} s; second boot, cached base: "
              f"{warm:6.2f} s (cost of the base copy: {cold - warm:+.2f} s)")

        start = time.perf_counter()
        ids = [cloud.create(f"burst-{i}", image_id) for i in range(args.burst)]
        deadline = time.monotonic() + 600
        pending = set(ids)
        errors = set()
        while pending and time.monotonic() < deadline:
            for server_id in list(pending):
                status = cloud.status(server_id)
                if status in ("ACTIVE", "ERROR"):
                    pending.discard(server_id)
                    if status == "ERROR":
                        errors.add(server_id)
            time.sleep(0.2)
        active = args.burst - len(errors) - len(pending)
        print(f"burst: {args.burst} servers created at once: {active} ACTIVE, "
              f"{len(errors)} ERROR, {len(pending)} still building after "
              f"{time.perf_counter() - start:.1f} s")
        for server_id in ids:
            cloud.delete(server_id, instances)


if __name__ == "__main__":
    main()
