"""``make demo``: bring the cloud up and run the main job end to end, showing each command.

1. The image service: upload a disk image (progress bar on a terminal), list it, show it,
   download it again and verify the bytes.
2. The instance lifecycle from the seeds: build the tiny lab guests, launch a server, look at
   what appeared on the host (vda copied from the base image, an empty vdb, a domain), read
   the guest's own report of its disks on the console, delete it and see it all reclaimed
   while the base image stays unchanged; a persistent volume attached as vdc survives it.
3. A persistent system: a server booted from a volume (vda over iSCSI) and deleted; the
   volume keeps what the guest wrote, and the next run's server finds it.

Each step is the real ``minicloud`` CLI, printed before it runs so a student can type it again.
"""
from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compute.guest_image import parse_report
from minicloud import process
from minicloud.config import Config

DEMO_IMAGE = "demo-image"
DEMO_SERVER = "demo-vm"
DEMO_VOLUME = "demo-vol"
DEMO_BFV_SERVER = "demo-bfv"
DEMO_BOOT_VOLUME = "demo-boot-vol"


def step(*args: str, quiet: bool = False) -> str:
    """Run ``minicloud ARGS`` visibly; stop the demo with its error if it fails."""
    if not quiet:
        print(f"\n$ minicloud {shlex.join(args)}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "minicloud.cli.main", *args],
                          stdout=subprocess.PIPE, text=True, check=False)
    if not quiet:
        print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        sys.exit(f"demo failed at: minicloud {shlex.join(args)}")
    return proc.stdout


def say(text: str) -> None:
    print(f"\n# {text}", flush=True)


def make_disk(workdir: Path) -> Path:
    """A 64 MiB qcow2 disk with 16 MiB of data in it (a stand-in guest disk)."""
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


def image_job() -> None:
    say("The image service: upload, list, show, download and verify an image.")
    with tempfile.TemporaryDirectory(prefix="minicloud-demo-") as tmp:
        workdir = Path(tmp)
        disk = make_disk(workdir)
        for image_id in step("image", "list", "--name", DEMO_IMAGE, "-f", "value", "-c", "ID",
                             quiet=True).split():
            step("image", "delete", image_id)
        step("image", "create", DEMO_IMAGE, "--file", str(disk), "--disk-format", "qcow2",
             "--container-format", "bare", "--property", "os_distro=demo")
        step("image", "list")
        step("image", "show", DEMO_IMAGE, "-c", "id", "-c", "status", "-c", "size",
             "-c", "virtual_size", "-c", "checksum")
        copy = workdir / "downloaded.qcow2"
        step("image", "save", DEMO_IMAGE, "--file", str(copy))
        same = sha512(copy) == sha512(disk)
        say(f"sha512 of the download {'matches' if same else 'DIFFERS FROM'} the upload")
        if not same:
            sys.exit(1)


def ls(path: Path) -> None:
    print(f"\n$ ls -l {path}")
    for entry in sorted(p for p in path.iterdir() if not p.name.startswith(".")) \
            if path.exists() else []:
        print(f"  {entry.stat().st_size:>12}  {entry.name}")
    if not path.exists():
        print(f"  ls: cannot access '{path}': No such file or directory")


def guest_report(name: str, server_id: str) -> None:
    """Wait for the guest's MINICLOUD report on its console and print it."""
    report, out = None, ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        out = step("server", "console", name, quiet=True)
        report = parse_report(out)
        if report.ready:
            break
        time.sleep(2)
    print(f"\n$ minicloud server console {name} | grep MINICLOUD")
    for line in out.splitlines():
        if "MINICLOUD-" in line:
            print("  " + line[line.index("MINICLOUD-"):].strip())
    if report is None or not report.ready or report.uuid != server_id:
        sys.exit("demo failed: the guest did not report on its console")


def delete_servers(name: str) -> None:
    for server_id in step("server", "list", "--name", f"^{name}$", "-f", "value", "-c", "ID",
                          quiet=True).split():
        step("server", "delete", "--wait", server_id)


def ensure_volume(name: str, *options: str) -> None:
    if not step("volume", "list", "--name", name, "-f", "value", "-c", "ID",
                quiet=True).split():
        step("volume", "create", name, *options, "--wait", "-c", "id", "-c", "status",
             "-c", "size", "-c", "bootable")


def instance_job(conf: Config) -> None:
    say("The instance lifecycle: tiny lab guests, built offline from this host's kernel.")
    step("lab", "images")
    delete_servers(DEMO_SERVER)
    say("A persistent volume: a sparse file on the host, exported over iSCSI by tgtd.")
    ensure_volume(DEMO_VOLUME, "--size", "1")
    say("Launch: vda is a copy-on-write overlay of the cached base image, vdb a new empty "
        "ephemeral disk, vdc the volume over iSCSI.")
    server_id = step("server", "create", DEMO_SERVER, "--image", "tiny", "--flavor",
                     "lab.nano", "--attach-volume", DEMO_VOLUME, "--wait", "-f", "value",
                     "-c", "id").strip()
    step("server", "show", DEMO_SERVER, "-c", "status", "-c", "flavor", "-c", "image")
    instances = conf.path(conf.compute.instances_path)
    image_id = step("image", "show", "tiny", "-f", "value", "-c", "id", quiet=True).strip()
    base = instances / "_base" / image_id
    base_hash = sha512(base)
    ls(instances / "_base")
    ls(instances / server_id)
    say("The guest reports what it sees (its SMBIOS uuid is the server id):")
    guest_report(DEMO_SERVER, server_id)
    say("Delete: the domain, vda, vdb and the console log are reclaimed; the base image and "
        "the volume (with what the guest wrote on it) stay.")
    step("server", "delete", "--wait", DEMO_SERVER)
    ls(instances / server_id)
    step("volume", "show", DEMO_VOLUME, "-c", "status", "-c", "attachments")
    unchanged = sha512(base) == base_hash
    say(f"base image {base.name}: {'unchanged' if unchanged else 'CHANGED'} (sha512)")
    if not unchanged:
        sys.exit(1)


def boot_from_volume_job(conf: Config) -> None:
    say("A persistent system: the operating system on a volume (the image's data copied "
        "into it once), booted over iSCSI as vda.")
    delete_servers(DEMO_BFV_SERVER)
    ensure_volume(DEMO_BOOT_VOLUME, "--image", "tiny", "--size", "1")
    server_id = step("server", "create", DEMO_BFV_SERVER, "--volume", DEMO_BOOT_VOLUME,
                     "--flavor", "lab.nano", "--wait", "-f", "value", "-c", "id").strip()
    step("server", "show", DEMO_BFV_SERVER, "-c", "status", "-c", "image",
         "-c", "volumes_attached")
    say("No root disk on the host: only the ephemeral vdb and the console log.")
    ls(conf.path(conf.compute.instances_path) / server_id)
    say("The guest's boot disk vda is the volume: it finds the marker the previous server "
        "booted from it left (found=, empty on the first run) and leaves its own (wrote=).")
    guest_report(DEMO_BFV_SERVER, server_id)
    step("server", "delete", "--wait", DEMO_BFV_SERVER)
    step("volume", "show", DEMO_BOOT_VOLUME, "-c", "status", "-c", "bootable")


def main() -> None:
    conf = Config.load()
    print(f"minicloud demo: state directory {conf.state_dir}")
    step("up")
    image_job()
    instance_job(conf)
    boot_from_volume_job(conf)
    say("Nothing leaked: the catalog and the host agree (domains, secrets, iSCSI targets, "
        "files, tasks, claims; docs/operations.md).")
    step("audit")
    print("\nThe cloud keeps running: try `minicloud server create NAME --image tiny --flavor "
          "lab.nano --wait`, or the openstack CLI with "
          f"OS_CLIENT_CONFIG_FILE={conf.state_dir / 'clouds.yaml'} OS_CLOUD=minicloud. "
          "Stop it with `minicloud down`.")


if __name__ == "__main__":
    main()
