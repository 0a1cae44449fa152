"""``minicloud lab images``: build the tiny lab guests offline and register them."""
from __future__ import annotations

import hashlib

import click

from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.images import ImageApi
from minicloud.cli.output import emit_list, output_options
from minicloud.cli.transfer import send_data


def _md5(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@click.group()
def lab() -> None:
    """Teaching-lab helpers."""


@lab.command("images")
@output_options
@pass_ctx
def lab_images(obj: CliContext, fmt: str, columns: tuple[str, ...]) -> None:
    """Build the tiny lab guests (`tiny`: BIOS, `tiny-uefi`: UEFI) and register them.

    The build uses the host's Debian kernel and busybox, is cached in the state directory
    and reproducible; an image already registered with the same bytes is left as it is.
    """
    from compute.guest_image import build_guest_images

    built = build_guest_images(obj.state_dir / "lab")
    api = ImageApi(obj.client())
    rows = []
    for guest in built:
        checksum = _md5(guest.path)
        current = [i for i in api.list({"name": guest.name})
                   if i.get("name") == guest.name and i.get("status") == "active"]
        same = [i for i in current if i.get("checksum") == checksum]
        if same:
            rows.append({"Name": guest.name, "ID": same[0]["id"], "Action": "kept"})
            continue
        body = {"name": guest.name, "disk_format": guest.disk_format,
                "container_format": "bare", "visibility": "public", "min_ram": guest.min_ram,
                **guest.properties}
        image, _ = api.create(body)
        try:
            send_data(api, image["id"], str(guest.path))
        except BaseException:
            api.delete(image["id"])
            raise
        for old in current:  # an older build: replaced by the new one
            api.delete(old["id"])
        rows.append({"Name": guest.name, "ID": image["id"], "Action": "registered"})
    emit_list(rows, ["Name", "ID", "Action"], fmt, columns)


COMMANDS = (lab,)
