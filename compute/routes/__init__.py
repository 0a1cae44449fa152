"""The compute API's routes, one blueprint per resource family (see :mod:`compute.api`).

What every blueprint shares: the :class:`Compute` dependencies handed to ``create_app``, the
negotiated microversion, non-fatal policy checks and the :class:`~compute.views.Viewer` of
the current caller.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request

from compute import hosts as host_states
from compute.console import ConsoleReader
from compute.hosts import Hosts
from compute.models import Instance
from compute.service import ComputeService
from compute.views import Viewer
from minicloud.microversion import Version
from minicloud.paging import Page, next_href
from minicloud.wsgi import auth, authorize, current_service

PREFIX = "/v2.1"


@dataclass
class Compute:
    """What the compute views need, handed in once by ``create_app``."""

    service: ComputeService
    hosts: Hosts
    console: ConsoleReader  # asks the server's host for its console log
    image_url: str  # base URL of the image API (createImage's Location)


def compute() -> Compute:
    return current_app.extensions["compute"]


def mv() -> Version:
    return g.mv


def caller_target() -> dict:
    ctx = auth()
    return {"project_id": ctx.project_id, "user_id": ctx.user_id}


def server_target(inst: Instance) -> dict:
    """The policy target of a server: its own project (and creator)."""
    return {"project_id": inst.project_id, "user_id": inst.user_id}


def allowed(rule: str, target: dict | None = None) -> bool:
    """Whether ``rule`` admits the caller (a non-fatal check: decides what a view shows)."""
    return current_service().policy.check(rule, auth().credentials(),
                                          target if target is not None else caller_target())


def server(server_id: str, rule: str) -> Instance:
    """The server the caller may see (404 otherwise), after enforcing ``rule`` on it."""
    inst = compute().service.get_server(auth(), server_id)
    authorize(rule, server_target(inst))
    return inst


def base_url() -> str:
    return request.host_url.rstrip("/")


def viewer(target: dict | None = None) -> Viewer:
    """The current caller's :class:`Viewer` (what the show-policies let them see)."""
    status: Callable[[str | None], str] | None = None
    if allowed("os_compute_api:servers:show:host_status", target):
        known = {h.name: h for h in compute().hosts.list()}

        def status(name: str | None) -> str:
            return host_states.host_status(known.get(name)) if name else ""

    return Viewer(mv(), base_url(),
                  extended_attributes=allowed("os_compute_api:os-extended-server-attributes",
                                              target),
                  flavor_extra_specs=allowed("os_compute_api:servers:show:flavor-extra-specs",
                                             target),
                  host_status=status,
                  server_groups=current_app.extensions["server_groups"].of_instance)


def paged(items: list, key: Callable, collection: str, path: str) -> tuple[list, dict]:
    """The page of ``items`` the request asks for, and the ``<collection>_links`` to add
    (a ``next`` link when the page is full, as Nova's)."""
    page = Page.from_args(request.args)
    out = page.apply(items, key)
    marker = page.next_marker(out, key)
    links = {}
    if marker is not None:
        links[f"{collection}_links"] = [{"rel": "next", "href": next_href(
            f"{base_url()}{PREFIX}{path}", request.args, marker)}]
    return out, links
