"""``make demo``: bring the cloud up and run the main job end to end, showing each command.

Today's main job is the image service's: upload an image (with a progress bar on a terminal),
list it, show it, download it again and verify the bytes. Each step is the real ``minicloud``
CLI, printed before it runs so a student can type it again.
"""
from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from minicloud import process
from minicloud.config import default_state_dir

DEMO_IMAGE = "demo-image"


def step(*args: str) -> str:
    """Run ``minicloud ARGS`` visibly; stop the demo with its error if it fails."""
    print(f"\n$ minicloud {shlex.join(args)}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "minicloud.cli.main", *args],
                          stdout=subprocess.PIPE, text=True, check=False)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        sys.exit(f"demo failed at: minicloud {shlex.join(args)}")
    return proc.stdout


def make_disk(workdir: Path) -> Path:
    """A 64 MiB qcow2 disk with 16 MiB of random data in it (a stand-in guest disk)."""
    raw = workdir / "disk.raw"
    with raw.open("wb") as fh:
        fh.truncate(64 << 20)
        fh.write(hashlib.shake_256(b"minicloud demo").digest(16 << 20))
    qcow2 = workdir / "disk.qcow2"
    process.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2])
    raw.unlink()
    return qcow2


def sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    print(f"minicloud demo: state directory {default_state_dir()}")
    step("up")
    with tempfile.TemporaryDirectory(prefix="minicloud-demo-") as tmp:
        workdir = Path(tmp)
        disk = make_disk(workdir)
        existing = step("image", "list", "--name", DEMO_IMAGE, "-f", "value", "-c", "ID")
        for image_id in existing.split():
            step("image", "delete", image_id)
        step("image", "create", DEMO_IMAGE, "--file", str(disk), "--disk-format", "qcow2",
             "--container-format", "bare", "--property", "os_distro=demo")
        step("image", "list")
        step("image", "show", DEMO_IMAGE, "-c", "id", "-c", "status", "-c", "size",
             "-c", "virtual_size", "-c", "os_hash_algo", "-c", "os_hash_value")
        copy = workdir / "downloaded.qcow2"
        step("image", "save", DEMO_IMAGE, "--file", str(copy))
        same = sha512(copy) == sha512(disk)
        print(f"\nsha512 of the download {'matches' if same else 'DIFFERS FROM'} the upload")
        if not same:
            sys.exit(1)
    print("\nThe cloud keeps running: try `minicloud image list`, or the openstack CLI with "
          f"OS_CLIENT_CONFIG_FILE={default_state_dir() / 'clouds.yaml'} OS_CLOUD=minicloud. "
          "Stop it with `minicloud down`.")


if __name__ == "__main__":
    main()
