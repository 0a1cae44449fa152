"""``minicloud server event list|show SERVER``: a server's event log (Nova's instance
actions), with the columns of ``openstack server event``: what was asked, when, with which
request id, and (``show``) what the compute host did about it."""
from __future__ import annotations

import click

from minicloud import errors
from minicloud.cli.compute import ComputeApi, _quote
from minicloud.cli.context import CliContext, pass_ctx
from minicloud.cli.output import emit_list, emit_one, output_options

EVENT_COLUMNS = ("Request ID", "Server ID", "Action", "Start Time")
EVENT_LONG_COLUMNS = (*EVENT_COLUMNS, "Message", "Project ID", "User ID")


class EventApi(ComputeApi):
    """The instance-action calls (at the CLI's microversion: events, host ids, details)."""

    def list_events(self, server_id: str) -> list[dict]:
        return self._call("GET", f"/servers/{_quote(server_id)}/os-instance-actions"
                          ).json()["instanceActions"]

    def show_event(self, server_id: str, request_id: str) -> dict:
        return self._call("GET", f"/servers/{_quote(server_id)}/os-instance-actions/"
                          f"{_quote(request_id)}").json()["instanceAction"]


def event_row(action: dict) -> dict:
    return {"Request ID": action.get("request_id"), "Server ID": action.get("instance_uuid"),
            "Action": action.get("action"), "Start Time": action.get("start_time"),
            "Message": action.get("message"), "Project ID": action.get("project_id"),
            "User ID": action.get("user_id")}


@click.group("event")
def event() -> None:
    """A server's event log: every operation, its request id, and what the host did."""


@event.command("list")
@click.argument("ref", metavar="SERVER")
@click.option("--long", "long_", is_flag=True, help="Show more columns.")
@output_options
@pass_ctx
def event_list(obj: CliContext, ref: str, long_: bool, fmt: str,
               columns: tuple[str, ...]) -> None:
    """List a server's actions, newest first (a deleted server's too, by id)."""
    api = EventApi(obj.client())
    server_id = _server_id(api, ref)
    emit_list([event_row(a) for a in api.list_events(server_id)],
              EVENT_LONG_COLUMNS if long_ else EVENT_COLUMNS, fmt, columns)


@event.command("show")
@click.argument("ref", metavar="SERVER")
@click.argument("request_id", metavar="REQUEST_ID")
@output_options
@pass_ctx
def event_show(obj: CliContext, ref: str, request_id: str, fmt: str,
               columns: tuple[str, ...]) -> None:
    """Show one action of a server with its events (start, finish, result)."""
    api = EventApi(obj.client())
    emit_one(api.show_event(_server_id(api, ref), request_id), fmt, columns)


def _server_id(api: EventApi, ref: str) -> str:
    """A live server's id by name or id; any other reference is taken as the id of a
    deleted server (whose log stays readable)."""
    try:
        return api.find_server(ref)["id"]
    except errors.NotFound:
        return ref
