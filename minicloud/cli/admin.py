"""Cloud administration: up/down/status, the catalog schema, projects, users, configuration.

The commands that run the cloud itself (up, down, status, db, config and policy reference)
import its modules inside the command: the others here only speak REST and stay light.
"""
from __future__ import annotations

import click

from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.output import emit_list, emit_one, output_options


@click.command()
@click.option("--no-daemons", is_flag=True,
              help="Do not start libvirtd/virtlogd/tgtd (image-only clouds, tests).")
@pass_ctx
def up(obj: CliContext, no_daemons: bool) -> None:
    """Start the cloud (idempotent) and print its endpoints."""
    from minicloud.runner import Runner

    Runner(obj.conf(), say=click.echo).up(manage_daemons=not no_daemons)


@click.command()
@pass_ctx
def down(obj: CliContext) -> None:
    """Stop the cloud's API services (host daemons keep running)."""
    from minicloud.runner import Runner

    Runner(obj.conf(), say=click.echo).down()


@click.command()
@output_options
@pass_ctx
def status(obj: CliContext, fmt: str, columns: tuple[str, ...]) -> None:
    """Report each service and host daemon."""
    from minicloud.runner import Runner

    rows = [{"Name": r.name, "Kind": r.kind, "State": r.state, "PID": r.pid,
             "Endpoint": r.detail} for r in Runner(obj.conf()).status()]
    emit_list(rows, ["Name", "Kind", "State", "PID", "Endpoint"], fmt, columns)


@click.group()
def db() -> None:
    """The shared catalog database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(obj: CliContext) -> None:
    """Apply all schema migrations."""
    from minicloud.db import Database

    conf = obj.conf()
    conf.state_dir.mkdir(parents=True, exist_ok=True)
    database = Database(conf.database_url, conf.database.busy_timeout)
    database.upgrade()
    database.dispose()
    click.echo(f"catalog at {conf.database_url} is up to date")


@click.group()
def config() -> None:
    """Configuration."""


@config.command("reference")
def config_reference() -> None:
    """Print the configuration reference (docs/configuration.md)."""
    from minicloud.config import reference_markdown

    click.echo(reference_markdown())


@click.group()
def policy() -> None:
    """Policy rules."""


@policy.command("reference")
def policy_reference() -> None:
    """Print the policy reference (docs/policy.md): every rule and its default."""
    from minicloud.policy import reference_markdown as policy_markdown

    click.echo(policy_markdown())


def _identity(obj: CliContext, method: str, path: str, **kw):
    return obj.client().request("identity", method, path, **kw)


@click.group()
def project() -> None:
    """Projects (tenants)."""


@project.command("create")
@click.argument("name")
@click.option("--description", default="")
@output_options
@pass_ctx
def project_create(obj: CliContext, name: str, description: str, fmt: str, columns) -> None:
    """Create a project (admin)."""
    body = {"project": {"name": name, "description": description, "domain_id": "default"}}
    emit_one(_identity(obj, "POST", "/projects", json=body).json()["project"], fmt, columns)


@project.command("list")
@output_options
@pass_ctx
def project_list(obj: CliContext, fmt: str, columns) -> None:
    """List projects (admin)."""
    rows = [{"ID": p["id"], "Name": p["name"]}
            for p in _identity(obj, "GET", "/projects").json()["projects"]]
    emit_list(rows, ["ID", "Name"], fmt, columns)


@click.group()
def user() -> None:
    """Users."""


def read_password(password: str | None, prompt: bool) -> str:
    """The new user's password, kept off the command line unless given there.

    ``--password-prompt`` (as the openstack CLI) or neither option: asked on the terminal
    (hidden, typed twice). ``--password -``: the first line of stdin (scripts: ``printf
    '%s\\n' "$PW" | minicloud user create NAME --password -``). ``--password P``: P, which
    every local user can read in the process list while the command runs.
    """
    if prompt and password is not None:
        raise click.UsageError("--password and --password-prompt exclude each other")
    if password == "-":
        line = click.get_text_stream("stdin").readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("--password -: no password on the first line of stdin")
        return line
    if password is None:
        return click.prompt("User Password", hide_input=True,
                            confirmation_prompt="Repeat User Password")
    return password


@user.command("create")
@click.argument("name")
@click.option("--password", default=None, metavar="PASSWORD",
              help="The password; `-` reads it from the first line of stdin. Visible to "
                   "every local user in the process list: prefer --password-prompt or -.")
@click.option("--password-prompt", "password_prompt", is_flag=True,
              help="Prompt for the password (hidden; the default without --password).")
@click.option("--project", help="Default project (name or id); with --role, assigned to it.")
@click.option("--role", type=click.Choice(["admin", "member", "reader"]), default=None)
@output_options
@pass_ctx
def user_create(obj: CliContext, name: str, password: str | None, password_prompt: bool,
                project: str | None, role: str | None, fmt: str, columns) -> None:
    """Create a user (admin), optionally with a role on a project."""
    if role and not project:
        raise click.UsageError("--role needs --project")
    password = read_password(password, password_prompt)
    project_id = None
    if project:
        project_id = obj.identity_id("projects", project)
    body = {"user": {"name": name, "password": password, "domain_id": "default",
                     "default_project_id": project_id}}
    created = _identity(obj, "POST", "/users", json=body).json()["user"]
    if role:
        role_id = obj.identity_id("roles", role)
        _identity(obj, "PUT", f"/projects/{project_id}/users/{created['id']}/roles/{role_id}")
        created["role"] = role
    emit_one(created, fmt, columns)


@user.command("list")
@output_options
@pass_ctx
def user_list(obj: CliContext, fmt: str, columns) -> None:
    """List users (admin)."""
    rows = [{"ID": u["id"], "Name": u["name"], "Project": u.get("default_project_id")}
            for u in _identity(obj, "GET", "/users").json()["users"]]
    emit_list(rows, ["ID", "Name", "Project"], fmt, columns)


@click.group()
def role() -> None:
    """Role assignments."""


@role.command("add")
@click.argument("role_name", metavar="ROLE")
@click.option("--user", "user_ref", required=True)
@click.option("--project", "project_ref", required=True)
@pass_ctx
def role_add(obj: CliContext, role_name: str, user_ref: str, project_ref: str) -> None:
    """Give USER the ROLE on PROJECT (admin)."""
    project_id = obj.identity_id("projects", project_ref)
    user_id = obj.identity_id("users", user_ref)
    role_id = obj.identity_id("roles", role_name)
    _identity(obj, "PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")


COMMANDS = (up, down, status, db, config, policy, project, user, role)
