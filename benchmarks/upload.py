"""Image upload/download throughput through the API against the machine's own baseline.

Starts a throw-away cloud (no host daemons, temporary state directory, free ports), then in
one run times, for the same bytes (default 1 GiB of random data):

* baseline: copy the file and compute its md5 and sha512 (what the service must do at least);
* API upload: ``PUT /v2/images/{id}/file`` streamed from the file;
* API download: ``GET /v2/images/{id}/file`` streamed to a file, sha512 verified (the
  cloud runs with ``[image] cache_enabled``, so this first download also caches the image
  through);
* image cache: a cached download (from the API's cache) against a store download (the image
  deactivated, so the cache has let it go: what an uncached download costs) and against
  ``cat`` of the cached file, each streamed to a file;

and prints the throughputs and ratios, plus the image service's peak memory (VmHWM of its
gunicorn processes) before and after, to show it does not buffer images.

Usage: ``.venv/bin/python benchmarks/upload.py [--size-mib 1024]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import time
from pathlib import Path

import requests

from benchcloud import throwaway_cloud

CHUNK = 1 << 20


def tree_pids(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            pids += tree_pids(int(child))
    return pids


def peak_rss_mib(pidfile: Path) -> float:
    total = 0
    for pid in tree_pids(int(pidfile.read_text())):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total = max(total, int(line.split()[1]))
    return total / 1024


def baseline(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    md5, sha = hashlib.md5(), hashlib.sha512()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return time.perf_counter() - start


def fetch(url: str, headers: dict[str, str], dst: Path) -> float:
    """Seconds to stream ``url`` into ``dst`` (no hashing: the transfer alone)."""
    start = time.perf_counter()
    with requests.get(url, headers=headers, stream=True, timeout=600) as resp, \
            dst.open("wb") as out:
        resp.raise_for_status()
        for chunk in resp.iter_content(CHUNK):
            out.write(chunk)
    return time.perf_counter() - start


def cat(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with dst.open("wb") as out:
        subprocess.run(["cat", str(src)], stdout=out, check=True, timeout=600)
    return time.perf_counter() - start


def cache_runs(url: str, headers: dict[str, str], image_id: str, state: Path,
               work: Path) -> tuple[float, float, float]:
    """(cached download, store download, cat of the cached file) seconds."""
    file_url = f"{url}/v2/images/{image_id}/file"
    cached = requests.get(f"{url}/v2/cache", headers=headers, timeout=30).json()
    assert image_id in [c["image_id"] for c in cached["cached_images"]], cached
    hit_s = fetch(file_url, headers, work / "hit.raw")
    cat_s = cat(state / "image-cache" / image_id, work / "cat.raw")
    # Deactivating drops the entry; the admin's download then comes from the store alone.
    requests.post(f"{url}/v2/images/{image_id}/actions/deactivate", headers=headers,
                  timeout=30).raise_for_status()
    store_s = fetch(file_url, headers, work / "store.raw")
    requests.post(f"{url}/v2/images/{image_id}/actions/reactivate", headers=headers,
                  timeout=30).raise_for_status()
    for name in ("hit.raw", "cat.raw", "store.raw"):
        (work / name).unlink()
    return hit_s, store_s, cat_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib << 20
    options = {"image": {"cache_enabled": "true", "cache_prefetcher_interval": 0}}
    with throwaway_cloud(options, daemons=False, lab_images=False) as bench:
        work, state = bench.root, bench.state
        src = work / "data.raw"
        with src.open("wb") as fh:
            for _ in range(size // CHUNK):
                fh.write(os.urandom(CHUNK))
        pidfile = state / "run" / "image.pid"
        rss_before = peak_rss_mib(pidfile)
        url = bench.client.endpoint("image")
        headers = {"X-Auth-Token": bench.client.token}
        base_s = baseline(src, work / "copy.raw")
        (work / "copy.raw").unlink()

        image = requests.post(f"{url}/v2/images", headers=headers, timeout=30, json={
            "name": "bench", "disk_format": "raw", "container_format": "bare"}).json()
        start = time.perf_counter()
        with src.open("rb") as fh:
            resp = requests.put(f"{url}/v2/images/{image['id']}/file", data=fh, timeout=600,
                                headers=dict(headers, **{
                                    "Content-Type": "application/octet-stream"}))
        resp.raise_for_status()
        up_s = time.perf_counter() - start

        start = time.perf_counter()
        sha = hashlib.sha512()
        with requests.get(f"{url}/v2/images/{image['id']}/file", headers=headers,
                          stream=True, timeout=600) as resp, \
                (work / "down.raw").open("wb") as out:
            resp.raise_for_status()
            for chunk in resp.iter_content(CHUNK):
                sha.update(chunk)
                out.write(chunk)
        down_s = time.perf_counter() - start
        shown = requests.get(f"{url}/v2/images/{image['id']}", headers=headers,
                             timeout=30).json()
        assert shown["os_hash_value"] == sha.hexdigest(), "download does not match"
        rss_after = peak_rss_mib(pidfile)
        (work / "down.raw").unlink()
        hit_s, store_s, cat_s = cache_runs(url, headers, image["id"], state, work)

        mib = size / (1 << 20)
        print(f"bytes: {mib:.0f} MiB of random data")
        print(f"baseline copy+md5+sha512: {base_s:6.2f} s  {mib / base_s:7.1f} MiB/s")
        print(f"API upload:               {up_s:6.2f} s  {mib / up_s:7.1f} MiB/s  "
              f"ratio {base_s / up_s:.2f} of baseline throughput (target >= 0.70)")
        print(f"API download (+sha512):   {down_s:6.2f} s  {mib / down_s:7.1f} MiB/s  "
              f"ratio {base_s / down_s:.2f}")
        print(f"store download:           {store_s:6.2f} s  {mib / store_s:7.1f} MiB/s")
        print(f"cached download:          {hit_s:6.2f} s  {mib / hit_s:7.1f} MiB/s  "
              f"ratio {store_s / hit_s:.2f} of the store download's throughput")
        print(f"cat of the cached file:   {cat_s:6.2f} s  {mib / cat_s:7.1f} MiB/s  "
              f"cached download at {cat_s / hit_s:.2f} of cat's throughput")
        print(f"image service peak RSS:   {rss_before:.0f} MiB before, {rss_after:.0f} MiB "
              f"after ({rss_after - rss_before:+.0f} MiB for a {mib:.0f} MiB image)")


if __name__ == "__main__":
    main()
