"""Image upload/download throughput through the API against the machine's own baseline.

Starts a throw-away cloud (identity + image, temporary state directory, free ports), then in
one run times, for the same bytes (default 1 GiB of random data):

* baseline: copy the file and compute its md5 and sha512 (what the service must do at least);
* API upload: ``PUT /v2/images/{id}/file`` streamed from the file;
* API download: ``GET /v2/images/{id}/file`` streamed to a file, sha512 verified;

and prints the throughputs and ratios, plus the image service's peak memory (VmHWM of its
gunicorn processes) before and after, to show it does not buffer images.

Usage: ``.venv/bin/python benchmarks/upload.py [--size-mib 1024]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def minicloud(state: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "minicloud.cli.main", "--state-dir", str(state),
                    *args], check=True, capture_output=True)


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


def token(state: Path) -> tuple[str, str]:
    auth = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]["minicloud"]["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": "Default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}}}}
    resp = requests.post(auth["auth_url"] + "/auth/tokens", json=body, timeout=30)
    resp.raise_for_status()
    catalog = resp.json()["token"]["catalog"]
    image_url = next(e["endpoints"][0]["url"] for e in catalog if e["type"] == "image")
    return resp.headers["X-Subject-Token"], image_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib << 20
    work = Path(tempfile.mkdtemp(prefix="minicloud-bench-"))
    state = work / "state"
    state.mkdir()
    (state / "minicloud.conf").write_text(
        f"[identity]\nport = {free_port()}\n[image]\nport = {free_port()}\n")
    try:
        src = work / "data.raw"
        with src.open("wb") as fh:
            for _ in range(size // CHUNK):
                fh.write(os.urandom(CHUNK))
        minicloud(state, "up", "--no-daemons")
        pidfile = state / "run" / "image.pid"
        rss_before = peak_rss_mib(pidfile)
        tok, url = token(state)
        headers = {"X-Auth-Token": tok}
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

        mib = size / (1 << 20)
        print(f"bytes: {mib:.0f} MiB of random data")
        print(f"baseline copy+md5+sha512: {base_s:6.2f} s  {mib / base_s:7.1f} MiB/s")
        print(f"API upload:               {up_s:6.2f} s  {mib / up_s:7.1f} MiB/s  "
              f"ratio {base_s / up_s:.2f} of baseline throughput (target >= 0.70)")
        print(f"API download (+sha512):   {down_s:6.2f} s  {mib / down_s:7.1f} MiB/s  "
              f"ratio {base_s / down_s:.2f}")
        print(f"image service peak RSS:   {rss_before:.0f} MiB before, {rss_after:.0f} MiB "
              f"after ({rss_after - rss_before:+.0f} MiB for a {mib:.0f} MiB image)")
    finally:
        subprocess.run([sys.executable, "-m", "minicloud.cli.main", "--state-dir", str(state),
                        "down"], check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
