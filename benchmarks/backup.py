"""Volume backup and restore throughput, against ``tar`` + the same compressor as a CLI.

Starts a throw-away cloud without host daemons, lab images, iSCSI target or guests (a backup
reads and writes volume files; nothing is exported or booted), makes a 1 GiB volume holding
512 MiB of data (its first half random bytes, its second text that compresses, the rest a
hole: a disk with compressed files and text on it) and measures, interleaved
in the same run:

* backup through the API (``POST /backups`` until ``available``) against ``tar -cS`` of the
  same file piped to ``gzip -1`` (the store's compressor is zlib level 1: the same deflate)
  and, for reference, to ``zstd -1``;
* restore into a new volume through the API (``POST /backups/{id}/restore`` until the
  volume is ``available``: hashes verified) against ``gzip -dc | tar -xS`` of that archive.

Printed as medians and ratios (API time / CLI time: below 1 means the API is faster).

Usage: ``.venv/bin/python benchmarks/backup.py [--runs 3] [--data-mib 512]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from functools import partial

from benchcloud import BenchCloud, throwaway_cloud, timed, wait

MIB = 1 << 20
TEXT = b"minicloud backs up volumes in chunks, each hashed and compressed.\n" * 16


def _status(bench: BenchCloud, kind: str, ident: str) -> str:
    try:
        return bench.volume("GET", f"/{kind}/{ident}").json()[kind[:-1]]["status"]
    except Exception:  # noqa: BLE001 - deleted: a 404
        return "deleted"


def _await(bench: BenchCloud, kind: str, ident: str, wanted: tuple[str, ...]) -> str:
    return wait(lambda: _status(bench, kind, ident), lambda s: s in wanted)


def _fill(path, data_mib: int) -> None:
    with path.open("r+b") as fh:
        for i in range(data_mib):
            fh.seek(i * MIB)
            fh.write(os.urandom(MIB) if i < data_mib // 2 else
                     (TEXT * (MIB // len(TEXT) + 1))[:MIB])


def _shell(command: str) -> None:
    subprocess.run(["sh", "-c", command], check=True, timeout=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-mib", type=int, default=512)
    args = parser.parse_args()
    # Nothing is exported or booted: no host daemons, fake target and compute driver.
    with throwaway_cloud({"volume": {"target_helper": "fake"}, "compute": {"driver": "fake"}},
                         lab_images=False, daemons=False) as bench:
        root = bench.root
        vid = bench.volume("POST", "/volumes", json={"volume": {"size": 1}}).json()[
            "volume"]["id"]
        wait(lambda: _status(bench, "volumes", vid), lambda s: s == "available")
        source = bench.state / "volumes" / f"volume-{vid}"
        _fill(source, args.data_mib)
        archive, zarchive, out = root / "vol.tar.gz", root / "vol.tar.zst", root / "out"
        out.mkdir()
        times: dict[str, list[float]] = {k: [] for k in (
            "backup", "tar+gzip", "tar+zstd", "restore", "untar")}
        for _ in range(args.runs):
            start = time.perf_counter()
            bid = bench.volume("POST", "/backups", json={"backup": {"volume_id": vid}}).json()[
                "backup"]["id"]
            _await(bench, "backups", bid, ("available", "error"))
            times["backup"].append(time.perf_counter() - start)
            times["tar+gzip"].append(timed(lambda: _shell(
                f"tar -cSf - -C {source.parent} {source.name} | gzip -1 > {archive}")))
            times["tar+zstd"].append(timed(lambda: _shell(
                f"tar -cSf - -C {source.parent} {source.name} | zstd -q -1 -o {zarchive} -f")))
            start = time.perf_counter()
            new = bench.volume("POST", f"/backups/{bid}/restore", json={"restore": None}).json()[
                "restore"]["volume_id"]
            _await(bench, "volumes", new, ("available", "error"))
            times["restore"].append(time.perf_counter() - start)
            times["untar"].append(timed(partial(_shell,
                                                f"gzip -dc {archive} | tar -xSf - -C {out}")))
            stored = sum(p.stat().st_blocks * 512 for p in
                         (bench.state / "backups").rglob("chunk-*"))
            bench.volume("DELETE", f"/volumes/{new}")
            _await(bench, "volumes", new, ("deleted",))
            bench.volume("DELETE", f"/backups/{bid}")
            _await(bench, "backups", bid, ("deleted",))
            for p in out.iterdir():
                p.unlink()
        med = {k: statistics.median(v) for k, v in times.items()}
        data = args.data_mib * MIB
        print(f"1 GiB volume, {args.data_mib} MiB of data (half random, then text), "
              f"{args.runs} runs, medians:")
        print(f"  backup  {med['backup']:.2f} s ({data / med['backup'] / MIB:.0f} MiB/s of data);"
              f" tar|gzip -1 {med['tar+gzip']:.2f} s, ratio {med['backup'] / med['tar+gzip']:.2f};"
              f" tar|zstd -1 {med['tar+zstd']:.2f} s, ratio "
              f"{med['backup'] / med['tar+zstd']:.2f}")
        print(f"  restore {med['restore']:.2f} s ({data / med['restore'] / MIB:.0f} MiB/s);"
              f" gzip -dc|tar -x {med['untar']:.2f} s, ratio "
              f"{med['restore'] / med['untar']:.2f}")
        print(f"  stored: backup {stored / MIB:.0f} MiB, tar.gz {archive.stat().st_size / MIB:.0f}"
              f" MiB, tar.zst {zarchive.stat().st_size / MIB:.0f} MiB")


if __name__ == "__main__":
    main()
