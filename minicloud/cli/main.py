"""Entry point: ``minicloud [--state-dir D] [--os-cloud C] COMMAND ...``.

Every error reaches the user as one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from minicloud import errors
from minicloud.cli import admin, audit, compute, images, keypairs, lab, server_events, volumes
from minicloud.cli.context import CliContext
from minicloud.config import default_state_dir


class _Cli(click.Group):
    """Turns every minicloud error into click's one-line "Error: ..." with exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except errors.MinicloudError as exc:
            raise click.ClickException(exc.message) from None


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="MINICLOUD_STATE_DIR",
              help="State directory of the cloud (default /var/lib/minicloud as root, else "
                   "$XDG_DATA_HOME/minicloud).")
@click.option("--os-cloud", envvar="OS_CLOUD", help="Cloud name in clouds.yaml.")
@click.version_option(package_name="minicloud")
@click.pass_context
def cli(ctx: click.Context, state_dir: Path | None, os_cloud: str | None) -> None:
    """minicloud: a real OpenStack-shaped cloud on one machine."""
    ctx.obj = CliContext(state_dir or default_state_dir(), os_cloud)


for _module in (admin, images, lab, compute, keypairs, volumes, audit):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
compute.server.add_command(server_events.event)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="minicloud", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except errors.MinicloudError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as exc:
        click.echo(f"Error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
