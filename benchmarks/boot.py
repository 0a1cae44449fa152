"""Boot latency: the tiny guest's cycle through minicloud's CLI, its REST API and the bare
hypervisor, in one run, side by side; then Nova's image pre-caching against a cold cache.

One cycle: create -> the guest's MINICLOUD-READY on the serial console -> delete -> reclaimed
(gone, instance directory removed); tiny lab image, flavor lab.nano, base image cached.

(a) CLI: ``minicloud server create --wait``, ``minicloud server console`` every 0.5 s until
    READY (a tighter loop of processes takes the CPU the emulated guest boots on), ``minicloud
    server delete --wait``; one process per command, as a user's script runs them.
(b) REST: ``POST /servers``, ``GET`` every 0.1 s until ACTIVE, ``os-getConsoleOutput`` until
    READY, ``DELETE``, ``GET`` until 404.
(c) bare: the same overlay and ephemeral disk made with qemu-img, the same domain XML (from
    minicloud's own designer) defined and started with virsh, the same report waited for in
    the console log, then destroyed, undefined and cleaned.

Pre-caching: with no server using the image, its base (``instances/_base/<image id>``) is
removed and a REST cycle timed (cold cache); the base is removed again, the host put in an
aggregate (``POST /os-aggregates``, ``add_host``) and the image pre-cached (``POST
/os-aggregates/{id}/images``, microversion 2.81) until the base is back, and a REST cycle
timed (first boot after pre-caching); a bare cycle follows. A cloud without those routes
(404/405) prints "pre-cached: skipped".

Prints the medians and their ratios to bare (target: within 1.15x), the pre-cache figures,
and whether 10 servers created at once all reach ACTIVE.

Usage: ``.venv/bin/python benchmarks/boot.py [--runs 3] [--burst 10]``
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import time
import uuid
from pathlib import Path

from benchcloud import BenchCloud, minicloud, throwaway_cloud
from compute.guest_image import parse_report
from compute.virt.designer import design_domain
from minicloud import errors, process

VIRSH = ["virsh", "-q", "-c", "qemu:///system"]
FLAVOR = "6"  # lab.nano
CLI_CONSOLE_PAUSE = 0.5  # between two `minicloud server console` looks
PRECACHE = {"OpenStack-API-Version": "compute 2.81", "X-OpenStack-Nova-API-Version": "2.81"}


class Cloud:
    """The REST cycle's calls, and what both minicloud cycles share."""

    def __init__(self, bench: BenchCloud) -> None:
        self.bench, self.call = bench, bench.compute
        self.instances = bench.state / "instances"

    def create(self, name: str, image_id: str) -> str:
        body = {"server": {"name": name, "imageRef": image_id, "flavorRef": FLAVOR,
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

    def delete(self, server_id: str) -> None:
        self.call("DELETE", f"/servers/{server_id}")
        while True:
            try:
                self.call("GET", f"/servers/{server_id}")
            except errors.NotFound:
                break
            time.sleep(0.1)
        self.wait_reclaimed(server_id)

    def wait_reclaimed(self, server_id: str) -> None:
        while (self.instances / server_id).exists():
            time.sleep(0.05)


def rest_cycle(cloud: Cloud, image_id: str) -> float:
    start = time.perf_counter()
    server_id = cloud.create(f"bench-{uuid.uuid4().hex[:6]}", image_id)
    cloud.wait_ready(server_id)
    cloud.delete(server_id)
    return time.perf_counter() - start


def cli_cycle(cloud: Cloud, image_id: str, timeout: float = 180) -> float:
    state = cloud.bench.state
    start = time.perf_counter()
    server_id = minicloud(state, "server", "create", f"bench-cli-{uuid.uuid4().hex[:6]}",
                          "--image", image_id, "--flavor", FLAVOR, "--wait",
                          "-f", "value", "-c", "id").strip()
    deadline = time.monotonic() + timeout
    while not parse_report(minicloud(state, "server", "console", server_id)).ready:
        if time.monotonic() > deadline:
            raise SystemExit(f"server {server_id} never reported READY")
        time.sleep(CLI_CONSOLE_PAUSE)
    minicloud(state, "server", "delete", "--wait", server_id)
    cloud.wait_reclaimed(server_id)
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


def _line(label: str, times: list[float], bare: float | None = None) -> str:
    median = statistics.median(times)
    ratio = f"  ratio to bare {median / bare:.3f}" if bare else ""
    return f"{label:<30}median {median:6.2f} s{ratio}  {[round(t, 2) for t in sorted(times)]}"


def compare_cycles(cloud: Cloud, image_id: str, bare_dir: Path, runs: int) -> None:
    """CLI, REST and bare cycles interleaved (drift hits all alike); medians and ratios."""
    base = cloud.instances / "_base" / image_id
    cli_times, rest_times, bare_times = [], [], []
    for _ in range(runs):
        cli_times.append(cli_cycle(cloud, image_id))
        rest_times.append(rest_cycle(cloud, image_id))
        bare_times.append(bare_cycle(base, bare_dir))
    bare = statistics.median(bare_times)
    print(f"runs: {runs} each, tiny BIOS guest, lab.nano (TCG software emulation)")
    print(_line("bare (qemu-img + virsh):", bare_times))
    print(_line("minicloud REST (API, agent):", rest_times, bare) + "  (target <= 1.15)")
    print(_line("minicloud CLI:", cli_times, bare))
    cli_over_rest = statistics.median(cli_times) / statistics.median(rest_times)
    print(f"{'CLI / REST:':<30}{cli_over_rest:.3f}")


def _compute_host(cloud: Cloud) -> str:
    services = cloud.call("GET", "/os-services", params={"binary": "nova-compute"}
                          ).json()["services"]
    return services[0]["host"]


def _precache(cloud: Cloud, aggregate_id: str, image_id: str, base: Path,
              timeout: float = 120) -> float:
    """Ask for the image on the aggregate's hosts; seconds until its base is in place."""
    start = time.perf_counter()
    cloud.bench.client.request("compute", "POST", f"/os-aggregates/{aggregate_id}/images",
                               headers=PRECACHE, json={"cache": [{"id": image_id}]})
    deadline = time.monotonic() + timeout
    while not base.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"image {image_id} was not pre-cached in {timeout}s")
        time.sleep(0.05)
    return time.perf_counter() - start


def precache_case(cloud: Cloud, image_id: str, bare_dir: Path) -> None:
    """Cold cache, then first boot after pre-caching, then bare; the cloud is idle."""
    base = cloud.instances / "_base" / image_id
    body = {"aggregate": {"name": f"bench-precache-{uuid.uuid4().hex[:6]}"}}
    try:
        aggregate = cloud.call("POST", "/os-aggregates", json=body).json()["aggregate"]
    except (errors.NotFound, errors.MethodNotAllowed):
        print("pre-cached: skipped (no image pre-caching in this cloud)")
        return
    path = f"/os-aggregates/{aggregate['id']}"
    host = _compute_host(cloud)
    try:
        cloud.call("POST", f"{path}/action", json={"add_host": {"host": host}})
        base.unlink(missing_ok=True)  # no server uses it: the next boot fetches it
        cold = rest_cycle(cloud, image_id)
        base.unlink()
        try:
            fetch = _precache(cloud, aggregate["id"], image_id, base)
        except (errors.NotFound, errors.MethodNotAllowed):
            print("pre-cached: skipped (no image pre-caching in this cloud)")
            return
        cached = rest_cycle(cloud, image_id)
        bare = bare_cycle(base, bare_dir)
    finally:
        cloud.call("POST", f"{path}/action", json={"remove_host": {"host": host}})
        cloud.call("DELETE", path)
    print(f"cold cache (base removed):     {cold:6.2f} s  ratio to bare {cold / bare:.3f}")
    print(f"pre-cached (first boot):       {cached:6.2f} s  ratio to bare {cached / bare:.3f}  "
          f"(pre-caching took {fetch:.2f} s, before the boot)")
    print(f"bare (same run):               {bare:6.2f} s;  pre-caching saved the boot "
          f"{cold - cached:+.2f} s")


def burst(cloud: Cloud, image_id: str, count: int) -> None:
    """``count`` servers created at once: how many reach ACTIVE, and how fast."""
    start = time.perf_counter()
    ids = [cloud.create(f"burst-{i}", image_id) for i in range(count)]
    deadline = time.monotonic() + 600
    pending, failed = set(ids), set()
    while pending and time.monotonic() < deadline:
        for server_id in list(pending):
            status = cloud.status(server_id)
            if status in ("ACTIVE", "ERROR"):
                pending.discard(server_id)
                if status == "ERROR":
                    failed.add(server_id)
        time.sleep(0.2)
    active = count - len(failed) - len(pending)
    print(f"burst: {count} servers created at once: {active} ACTIVE, {len(failed)} ERROR, "
          f"{len(pending)} still building after {time.perf_counter() - start:.1f} s")
    for server_id in ids:
        cloud.delete(server_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    unlimited = {"quota_instances": -1, "quota_cores": -1, "quota_ram": -1}  # for --burst
    with throwaway_cloud({"compute": {"periodic_interval": 2, **unlimited}}) as bench:
        cloud = Cloud(bench)
        image_id = bench.image_id("tiny")
        first = rest_cycle(cloud, image_id)   # fetches the base: the warm-up
        bare_dir = bench.root / "bare"
        bare_dir.mkdir(mode=0o711)
        compare_cycles(cloud, image_id, bare_dir, args.runs)
        print(f"first boot of the run (empty cache, warm-up): {first:6.2f} s")
        precache_case(cloud, image_id, bare_dir)
        burst(cloud, image_id, args.burst)


if __name__ == "__main__":
    main()
