"""Block-storage latencies and throughput, each against a baseline in the same run.

Starts a throw-away cloud (libvirt guests, file-backed volumes exported by the host's tgtd)
and measures:

* volume create (1 GB, sparse) and delete latency through the API, beside the bare
  ``truncate`` + ``rm`` of a 1 GB sparse file;
* volume-from-image throughput (a qcow2 image with 512 MiB of data) against
  ``qemu-img convert -f qcow2 -O raw`` of the same image in the same run, interleaved
  (target: within 1.2x). The cloud shows ``direct_url`` (``[image] show_direct_url``, the
  default), so the agent converts straight from the image store; ``--no-direct-url``
  measures the download path instead (``[volume] use_direct_url = false``);
* snapshot create latency (API, ``creating`` to ``available``) of a 1 GiB volume holding
  512 MiB of data, and the space the snapshot takes (``st_blocks``), each against a
  ``cp --sparse=always`` of the same volume file in the same run, printed as ratios (the
  agent copies with ``cp --reflink=auto --sparse=always`` and flushes the copy);
* attach + detach latency of a volume on a running guest (hot-plug over iSCSI and back).

Usage: ``.venv/bin/python benchmarks/volumes.py [--runs 5] [--image-mib 512] [--no-direct-url]
[--snapshots-only]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from benchcloud import BenchCloud, minicloud, throwaway_cloud, timed, wait
from minicloud import process

GIB = 1 << 30


class Cloud:
    def __init__(self, bench: BenchCloud) -> None:
        self.volume, self.compute = bench.volume, bench.compute

    def status(self, volume_id: str) -> str:
        try:
            return self.volume("GET", f"/volumes/{volume_id}").json()["volume"]["status"]
        except Exception:  # noqa: BLE001 - a deleted volume is a 404
            return "deleted"

    def create_volume(self, body: dict) -> str:
        volume_id = self.volume("POST", "/volumes", json={"volume": body}).json()["volume"]["id"]
        wait(lambda: self.status(volume_id), lambda s: s in ("available", "error"))
        return volume_id

    def delete_volume(self, volume_id: str) -> None:
        self.volume("DELETE", f"/volumes/{volume_id}")
        wait(lambda: self.status(volume_id), lambda s: s == "deleted")

    def snapshot_status(self, snapshot_id: str) -> str:
        try:
            return self.volume("GET", f"/snapshots/{snapshot_id}").json()["snapshot"]["status"]
        except Exception:  # noqa: BLE001 - a deleted snapshot is a 404
            return "deleted"

    def create_snapshot(self, volume_id: str) -> str:
        snapshot_id = self.volume("POST", "/snapshots", json={"snapshot": {
            "volume_id": volume_id}}).json()["snapshot"]["id"]
        wait(lambda: self.snapshot_status(snapshot_id), lambda s: s in ("available", "error"))
        return snapshot_id

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.volume("DELETE", f"/snapshots/{snapshot_id}")
        wait(lambda: self.snapshot_status(snapshot_id), lambda s: s == "deleted")


def bench_snapshots(cloud: Cloud, root, state, runs: int, data_mib: int = 512) -> None:
    """Snapshot create latency and space against ``cp --sparse=always`` of the same file."""
    volume_id = cloud.create_volume({"size": 1})
    volume_file = state / "volumes" / f"volume-{volume_id}"
    with volume_file.open("r+b") as fh:  # what a guest would have written: half the volume
        for _ in range(data_mib):
            fh.write(os.urandom(1 << 20))
        os.fsync(fh.fileno())
    copy = root / "cp-copy.raw"
    snap_times, cp_times, snap_blocks, cp_blocks = [], [], [], []
    for _ in range(runs):  # interleaved: both see the same page cache and load
        start = time.perf_counter()
        snapshot_id = cloud.create_snapshot(volume_id)
        snap_times.append(time.perf_counter() - start)
        if cloud.snapshot_status(snapshot_id) != "available":
            raise SystemExit(f"snapshot {snapshot_id} ended {cloud.snapshot_status(snapshot_id)}")
        snap_blocks.append((state / "volumes" / f"snapshot-{snapshot_id}").stat().st_blocks)
        cloud.delete_snapshot(snapshot_id)

        def plain_cp() -> None:
            process.run(["cp", "--sparse=always", volume_file, copy], timeout=600)
            with copy.open("rb") as fh:
                os.fsync(fh.fileno())  # the agent flushes its copy too
        cp_times.append(timed(plain_cp))
        cp_blocks.append(copy.stat().st_blocks)
        copy.unlink()
    snap, cp = statistics.median(snap_times), statistics.median(cp_times)
    snap_mib, cp_mib = (statistics.median(b) * 512 / (1 << 20) for b in (snap_blocks,
                                                                            cp_blocks))
    print(f"snapshot of a 1 GiB volume holding {data_mib} MiB: API median {snap:.2f} s "
          f"({' '.join(f'{t:.2f}' for t in snap_times)}); cp --sparse=always median "
          f"{cp:.2f} s; ratio {snap / cp:.2f}")
    print(f"snapshot space: {snap_mib:.0f} MiB allocated (st_blocks); cp --sparse=always "
          f"{cp_mib:.0f} MiB; ratio {snap_mib / cp_mib:.2f} (on a reflink filesystem, XFS or "
          f"btrfs, the snapshot shares its blocks with the volume instead)")
    cloud.delete_volume(volume_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image-mib", type=int, default=512)
    parser.add_argument("--no-direct-url", action="store_true",
                        help="download images over the image API ([volume] use_direct_url off)")
    parser.add_argument("--snapshots-only", action="store_true",
                        help="measure snapshots only (no image conversion, no guest)")
    args = parser.parse_args()
    with throwaway_cloud({"volume": {"use_direct_url": not args.no_direct_url}},
                         lab_images=not args.snapshots_only) as bench:
        cloud, root, state = Cloud(bench), bench.root, bench.state
        if args.snapshots_only:
            bench_snapshots(cloud, root, state, args.runs)
            return
        # create/delete: API against truncate + rm of the same sparse file
        api = [timed(lambda: cloud.delete_volume(cloud.create_volume({"size": 1})))
               for _ in range(args.runs)]
        bare_file = root / "bare.raw"

        def bare() -> None:
            with bare_file.open("wb") as fh:
                fh.truncate(1 << 30)
            bare_file.unlink()

        bare_times = [timed(bare) for _ in range(args.runs)]
        print(f"volume create+delete (1 GB sparse): API median "
              f"{statistics.median(api) * 1000:.0f} ms; bare truncate+rm "
              f"{statistics.median(bare_times) * 1000:.2f} ms")

        # volume from image against qemu-img convert of the same image
        raw = root / "data.raw"
        virtual_gb = max(1, -(-(args.image_mib << 20) // GIB))
        with raw.open("wb") as fh:
            fh.truncate(virtual_gb * GIB)
            for _ in range(args.image_mib):
                fh.write(os.urandom(1 << 20))
        qcow2 = root / "data.qcow2"
        process.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2])
        raw.unlink()
        # Cinder's rule: the volume holds the virtual size and the image file's size.
        size_gb = max(virtual_gb, -(-qcow2.stat().st_size // GIB))
        image_id = minicloud(state, "image", "create", "bench-data", "--file", str(qcow2),
                             "--disk-format", "qcow2", "-f", "value", "-c", "id").strip()
        converts, from_images = [], []
        for _ in range(args.runs):  # interleaved: both see the same page cache and load
            converts.append(timed(lambda: process.run(
                ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2,
                 root / "converted.raw"], timeout=600)))
            (root / "converted.raw").unlink()
            start = time.perf_counter()
            made = cloud.create_volume({"size": size_gb, "imageRef": image_id})
            from_images.append(time.perf_counter() - start)
            if cloud.status(made) != "available":
                raise SystemExit(f"volume from image {made} ended {cloud.status(made)}")
            cloud.delete_volume(made)
        convert, from_image = statistics.median(converts), statistics.median(from_images)
        source = "downloaded" if args.no_direct_url else "from the image store"
        print(f"volume from a qcow2 image ({args.image_mib} MiB of data, {virtual_gb} GiB virtual, "
              f"{source}): API median {from_image:.2f} s "
              f"({' '.join(f'{t:.2f}' for t in from_images)}); qemu-img convert median "
              f"{convert:.2f} s ({' '.join(f'{t:.2f}' for t in converts)}); ratio "
              f"{from_image / convert:.2f} (target <= 1.2)")

        bench_snapshots(cloud, root, state, args.runs)

        # attach + detach on a running guest
        server = cloud.compute("POST", "/servers", json={"server": {
            "name": "bench", "imageRef": bench.image_id("tiny"),
            "flavorRef": "6", "networks": "none"}}).json()["server"]["id"]
        wait(lambda: cloud.compute("GET", f"/servers/{server}").json()["server"]["status"],
             lambda s: s == "ACTIVE")
        volume_id = cloud.create_volume({"size": 1})
        cycles = []
        for _ in range(args.runs):
            start = time.perf_counter()
            cloud.compute("POST", f"/servers/{server}/os-volume_attachments",
                          json={"volumeAttachment": {"volumeId": volume_id}})
            wait(lambda: cloud.status(volume_id), lambda s: s == "in-use")
            attached = time.perf_counter() - start
            cloud.compute("DELETE", f"/servers/{server}/os-volume_attachments/{volume_id}")
            wait(lambda: cloud.status(volume_id), lambda s: s == "available")
            wait(lambda: cloud.compute("GET", f"/servers/{server}").json()["server"][
                "OS-EXT-STS:task_state"], lambda t: t is None)
            cycles.append((attached, time.perf_counter() - start))
        print(f"attach (to in-use) median {statistics.median(c[0] for c in cycles):.2f} s; "
              f"attach+detach median {statistics.median(c[1] for c in cycles):.2f} s "
              f"({args.runs} cycles on a running guest)")
        cloud.compute("DELETE", f"/servers/{server}")
        wait(lambda: cloud.compute("GET", "/servers").json()["servers"], lambda s: not s)
        cloud.delete_volume(volume_id)


if __name__ == "__main__":
    main()
