"""Nova v2.1 HTTP API: the app factory. The routes live in :mod:`compute.routes` (one
blueprint per resource family), request schemas in :mod:`compute.schema`, representations in
:mod:`compute.views`, policy defaults in :mod:`compute.policies`.

Every response carries Nova's request-id headers (``x-openstack-request-id`` and
``x-compute-request-id``) and the negotiated microversion (``OpenStack-API-Version`` and the
legacy ``X-OpenStack-Nova-API-Version``).
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, Response, g, request

from compute import quotas, signing
from compute.aggregates import Aggregates
from compute.cinder import VolumeClient
from compute.console import ConsoleReader
from compute.glance import ImageClient
from compute.hosts import Hosts
from compute.microversion import MIN_VERSION, Version, negotiate
from compute.policies import RULES
from compute.routes import (
    Compute,
    actions,
    addresses,
    admin,
    attachments,
    events,
    flavors,
    hosts,
    instance_actions,
    keypairs,
    servers,
    tags,
    versions,
)
from compute.routes import aggregates as aggregate_routes
from compute.routes import images as image_routes
from compute.routes import networks as network_routes
from compute.routes import quotas as quota_routes
from compute.routes import server_groups as server_group_routes
from compute.routes import snapshots as snapshot_routes
from compute.routes import volumes as volume_routes
from compute.routes.extensions import bp as extensions_bp
from compute.server_groups import ServerGroups
from compute.service import ComputeService
from minicloud import services
from minicloud.config import Config
from minicloud.db import Database
from minicloud.wsgi import REQUEST_ID_HEADER
from minicloud.wsgi import create_app as base_app

ImageClients = Callable[[str], ImageClient]    # a caller's token -> a client acting for them
VolumeClients = Callable[[str], VolumeClient]
BLUEPRINTS = (versions.bp, servers.bp, actions.bp, attachments.bp, flavors.bp, hosts.bp,
              quota_routes.bp, instance_actions.bp, tags.bp, keypairs.bp, admin.bp,
              addresses.bp, server_group_routes.bp, aggregate_routes.bp, events.bp)
#: Nova's proxies of the image, volume (volumes, snapshots) and network APIs (2.1-2.35) and
#: its extension list.
BLUEPRINTS += (image_routes.bp, volume_routes.bp, snapshot_routes.bp, network_routes.bp,
               extensions_bp)


def create_app(conf: Config, db: Database | None = None,
               image_client: ImageClients | None = None,
               volume_client: VolumeClients | None = None) -> Flask:
    """The compute API; ``image_client``/``volume_client`` default to HTTP clients of this
    cloud's image and volume services (tests hand in fakes)."""
    app = base_app("compute", conf, db, RULES,
                   request_id_headers=(REQUEST_ID_HEADER, "x-compute-request-id"))
    image_url = services.by_name("image").base_url(conf)
    if image_client is None:
        def image_client(token: str) -> ImageClient:
            return ImageClient(image_url, lambda: token)
    if volume_client is None:
        volume_url = services.by_name("volume").base_url(conf)

        def volume_client(token: str) -> VolumeClient:
            return VolumeClient(volume_url, lambda: token)
    db = app.extensions["minicloud"].db
    svc = ComputeService(db, image_client, volume_client, quotas.Limits.from_conf(conf),
                         conf.compute.reclaim_instance_interval)
    if conf.compute.verify_glance_signatures:
        svc.certificates = functools.partial(signing.certificates_for, conf)
    app.extensions["compute"] = Compute(svc, Hosts(db), ConsoleReader(db), image_url)
    app.extensions["server_groups"] = ServerGroups(db, svc.limits)
    app.extensions["aggregates"] = Aggregates(db)

    @app.before_request
    def _microversion() -> None:
        g.mv = negotiate(request.headers)

    @app.after_request
    def _version_headers(resp: Response) -> Response:
        mv = g.get("mv") or Version(*MIN_VERSION)
        resp.headers["OpenStack-API-Version"] = f"compute {mv}"
        resp.headers["X-OpenStack-Nova-API-Version"] = str(mv)
        resp.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        return resp

    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    return app
