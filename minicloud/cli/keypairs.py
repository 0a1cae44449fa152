"""``minicloud keypair ...``: Nova's os-keypairs, shaped like ``openstack keypair``.

A client of the compute REST API at the CLI's microversion (2.96), where the cloud no longer
generates keys (2.92+): without ``--public-key`` the pair is generated here, as the
``openstack`` CLI does, and the private key never crosses the network. It is printed, or
written 0600 to ``--private-key FILE``.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

from minicloud.cli.compute import ComputeApi, _quote
from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.output import emit_list, emit_one, for_each, output_options

COLUMNS = ("Name", "Fingerprint", "Type")


def _api(obj: CliContext) -> ComputeApi:
    return ComputeApi(obj.client())


def _record(key: dict) -> dict:
    return {"name": key["name"], "fingerprint": key["fingerprint"],
            "type": key.get("type", "ssh"), "user_id": key.get("user_id"),
            **({"created_at": key["created_at"]} if "created_at" in key else {})}


def _generate() -> tuple[str, str]:
    """A new RSA pair: (private key PEM, OpenSSH public line)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


def _write_private(path: Path, private: str) -> None:
    """Write the private key 0600 (created so: never readable by others, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(private)
    path.chmod(0o600)


@click.group()
def keypair() -> None:
    """Keypairs (Nova): public keys handed to guests (by their config drive)."""


@keypair.command("create")
@click.argument("name")
@click.option("--public-key", "public_file", type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path),
              help="Import this public key (an OpenSSH line, or a PEM certificate with "
                   "--type x509).")
@click.option("--private-key", "private_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Without --public-key: write the new private key here (0600) instead of "
                   "printing it.")
@click.option("--type", "key_type", type=click.Choice(["ssh", "x509"]), default="ssh",
              show_default=True, help="Key type.")
@output_options
@pass_ctx
def keypair_create(obj: CliContext, name: str, public_file: Path | None,
                   private_file: Path | None, key_type: str, fmt: str,
                   columns: tuple[str, ...]) -> None:
    """Import a public key, or generate a pair (its private key shown once)."""
    if public_file is not None and private_file is not None:
        raise click.UsageError("--private-key only goes with a generated key "
                               "(without --public-key).")
    private = None
    if public_file is not None:
        public = public_file.read_text()
    elif key_type == "x509":
        raise click.UsageError("x509 keypairs are imported: give --public-key CERT.")
    else:
        private, public = _generate()
    body = {"keypair": {"name": name, "public_key": public, "type": key_type}}
    key = _api(obj)._call("POST", "/os-keypairs", json=body).json()["keypair"]
    if private is not None and private_file is None:
        click.echo(private, nl=False)
        return
    if private is not None:
        _write_private(private_file, private)
    emit_one(_record(key), fmt, columns)


@keypair.command("list")
@output_options
@pass_ctx
def keypair_list(obj: CliContext, fmt: str, columns: tuple[str, ...]) -> None:
    """List your keypairs."""
    keys = _api(obj)._call("GET", "/os-keypairs").json()["keypairs"]
    emit_list([{"Name": k["keypair"]["name"], "Fingerprint": k["keypair"]["fingerprint"],
                "Type": k["keypair"].get("type", "ssh")} for k in keys], COLUMNS, fmt, columns)


@keypair.command("show")
@click.argument("name")
@click.option("--public-key", "public_only", is_flag=True, help="Print only the public key.")
@output_options
@pass_ctx
def keypair_show(obj: CliContext, name: str, public_only: bool, fmt: str,
                 columns: tuple[str, ...]) -> None:
    """Show a keypair (its fingerprint; --public-key: the key itself)."""
    key = _api(obj)._call("GET", f"/os-keypairs/{_quote(name)}").json()["keypair"]
    if public_only:
        click.echo(key["public_key"].rstrip("\n"))
        return
    emit_one(_record(key), fmt, columns)


@keypair.command("delete")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@pass_ctx
def keypair_delete(obj: CliContext, names: tuple[str, ...]) -> None:
    """Delete keypairs (servers keep the key they were given)."""
    api = _api(obj)
    for_each(names, "delete keypair",
             lambda name: api._call("DELETE", f"/os-keypairs/{_quote(name)}"))


COMMANDS = (keypair,)
