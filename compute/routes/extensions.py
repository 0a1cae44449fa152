"""``GET /extensions`` and ``/extensions/{alias}``: Nova's legacy extension descriptions,
limited to what this cloud actually serves.

Nova answers with a fixed list of every extension it ever had. minicloud lists an extension
only when its feature is there, and decides that from the running app itself rather than
from a list kept by hand: a route the app serves (``os-hosts`` when ``/os-hosts`` is routed),
a server action the action route's body schema accepts (``os-lock-server`` when ``lock``
is) and does not only refuse (``server_ops.REFUSED``), a field the server create schema
accepts, or a part of the bodies every server or flavor carries. A feature added later (a
route, an action) appears here with no edit; one that does not exist is absent (and
``/extensions/{alias}`` is a 404 for it).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app

from compute.routes import PREFIX, server_ops
from minicloud.errors import NotFound
from minicloud.wsgi import authorize, json_response

bp = Blueprint("extensions", __name__, url_prefix=PREFIX)
RULE = "os_compute_api:extensions"
#: Nova's fixed values for every entry (its extensions have no XML namespace any more).
NAMESPACE, UPDATED = "http://docs.openstack.org/compute/ext/fake_xml", "2014-12-03T00:00:00Z"
_SERVER = "/servers/<server_id>"

ALWAYS = ("always",)


def _route(path: str, method: str = "GET") -> tuple[str, str, str]:
    return ("route", method, PREFIX + path)


#: (alias, name, description, what must exist): Nova's aliases, names and descriptions.
#: Requirements: ALWAYS (part of every body, or accepted everywhere), a route, a server
#: ``action``, or a server ``create`` field (``hints``: scheduler hints beyond none).
EXTENSIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("OS-DCF", "DiskConfig", "Disk Management Extension.", ALWAYS),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "Extended Availability Zone support.", ALWAYS),
    ("OS-EXT-IMG-SIZE", "ImageSize", "Adds image size to image listings.",
     _route("/images/detail")),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Extended Server Attributes support.",
     ALWAYS),
    ("OS-EXT-STS", "ExtendedStatus", "Extended Status support.", ALWAYS),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Support to show the disabled status of a flavor.",
     ALWAYS),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Provide additional data for flavors.", ALWAYS),
    ("OS-SCH-HNT", "SchedulerHints", "Pass arbitrary key/value pairs to the scheduler.",
     ("hints",)),
    ("OS-SRV-USG", "ServerUsage", "Adds launched_at and terminated_at on Servers.", ALWAYS),
    ("os-access-ips", "AccessIPs", "Access IPs support.", ALWAYS),
    ("os-admin-actions", "AdminActions", "Enable admin-only server actions.",
     ("action", "os-resetState")),
    ("os-admin-password", "AdminPassword", "Admin password management support.",
     ("action", "changePassword")),
    ("os-aggregates", "Aggregates", "Admin-only aggregate administration.",
     _route("/os-aggregates")),
    ("os-attach-interfaces", "AttachInterfaces", "Attach interface support.",
     _route(f"{_SERVER}/os-interface")),
    ("os-availability-zone", "AvailabilityZone",
     "Add availability_zone to the Create Server API; describe availability zones.",
     _route("/os-availability-zone")),
    ("os-block-device-mapping", "BlockDeviceMapping", "Block device mapping boot support.",
     ALWAYS),
    ("os-block-device-mapping-v2-boot", "BlockDeviceMappingV2Boot",
     "Allow boot with the new BDM data format.", ALWAYS),
    ("os-config-drive", "ConfigDrive", "Config Drive Extension.", ("create", "config_drive")),
    ("os-console-auth-tokens", "ConsoleAuthTokens", "Console token authentication support.",
     _route("/os-console-auth-tokens/<console_token>")),
    ("os-console-output", "ConsoleOutput", "Console log output support, with tailing ability.",
     ("action", "os-getConsoleOutput")),
    ("os-consoles", "Consoles", "Interactive Console support.",
     _route(f"{_SERVER}/remote-consoles", "POST")),
    ("os-create-backup", "CreateBackup", "Create a backup of a server.",
     ("action", "createBackup")),
    ("os-deferred-delete", "DeferredDelete", "Instance deferred delete.",
     ("action", "restore")),
    ("os-extended-hypervisors", "ExtendedHypervisors", "Extended hypervisors support.",
     _route("/os-hypervisors")),
    ("os-extended-quotas", "ExtendedQuotas",
     "Adds ability for admins to delete quota and optionally force the update Quota "
     "command.", _route("/os-quota-sets/<project_id>", "DELETE")),
    ("os-extended-services", "ExtendedServices", "Extended services support.",
     _route("/os-services")),
    ("os-extended-services-delete", "ExtendedServicesDelete",
     "Extended services deletion support.", _route("/os-services/<service_id_>", "DELETE")),
    ("os-extended-status", "ExtendedStatus", "Extended Status support.", ALWAYS),
    ("os-extended-volumes", "ExtendedVolumes", "Extended Volumes support.", ALWAYS),
    ("os-flavor-access", "FlavorAccess", "Flavor access support.",
     _route("/flavors/<flavor_id>/os-flavor-access")),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Flavors extra specs support.",
     _route("/flavors/<flavor_id>/os-extra_specs")),
    ("os-flavor-manage", "FlavorManage", "Flavor create/delete API support.",
     _route("/flavors", "POST")),
    ("os-flavor-rxtx", "FlavorRxtx", "Support to show the rxtx status of a flavor.", ALWAYS),
    ("os-flavor-swap", "FlavorSwap", "Support to show the swap status of a flavor.", ALWAYS),
    ("os-hosts", "Hosts", "Admin-only host administration.", _route("/os-hosts")),
    ("os-hypervisor-status", "HypervisorStatus", "Show hypervisor status.",
     _route("/os-hypervisors")),
    ("os-hypervisors", "Hypervisors", "Admin-only hypervisor administration.",
     _route("/os-hypervisors")),
    ("os-instance-actions", "InstanceActions",
     "View a log of actions and events taken on an instance.",
     _route(f"{_SERVER}/os-instance-actions")),
    ("os-instance_usage_audit_log", "OSInstanceUsageAuditLog",
     "Admin-only Task Log Monitoring.", _route("/os-instance_usage_audit_log")),
    ("os-keypairs", "Keypairs", "Keypair Support.", _route("/os-keypairs")),
    ("os-lock-server", "LockServer", "Enable lock/unlock server actions.", ("action", "lock")),
    ("os-migrate-server", "MigrateServer", "Enable migrate and live-migrate server actions.",
     ("action", "migrate")),
    ("os-migrations", "Migrations", "Provide data on migrations.", _route("/os-migrations")),
    ("os-networks", "Networks", "Admin-only Network Management Extension.",
     _route("/os-networks")),
    ("os-pause-server", "PauseServer", "Enable pause/unpause server actions.",
     ("action", "pause")),
    ("os-personality", "Personality", "Personality support.", ("create", "personality")),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes management support.",
     _route("/os-quota-class-sets/<id>")),
    ("os-quota-sets", "Quotas", "Quotas management support.",
     _route("/os-quota-sets/<project_id>")),
    ("os-rescue", "Rescue", "Instance rescue mode.", ("action", "rescue")),
    ("os-server-diagnostics", "ServerDiagnostics",
     "Allow Admins to view server diagnostics through server action.",
     _route(f"{_SERVER}/diagnostics")),
    ("os-server-external-events", "ServerExternalEvents", "Server External Event Triggers.",
     _route("/os-server-external-events", "POST")),
    ("os-server-group-quotas", "ServerGroupQuotas", "Adds quota support to server groups.",
     _route("/os-server-groups")),
    ("os-server-groups", "ServerGroups", "Server group support.", _route("/os-server-groups")),
    ("os-server-password", "ServerPassword", "Server password support.",
     _route(f"{_SERVER}/os-server-password")),
    ("os-server-sort-keys", "ServerSortKeys", "Add sorting support in get Server v2 API.",
     ALWAYS),
    ("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support.",
     ("action", "os-start")),
    ("os-services", "Services", "Services support.", _route("/os-services")),
    ("os-shelve", "Shelve", "Instance shelve mode.", ("action", "shelve")),
    ("os-simple-tenant-usage", "SimpleTenantUsage", "Simple tenant usage extension.",
     _route("/os-simple-tenant-usage")),
    ("os-suspend-server", "SuspendServer", "Enable suspend/resume server actions.",
     ("action", "suspend")),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used.",
     _route("/limits")),
    ("os-used-limits-for-admin", "UsedLimitsForAdmin",
     "Provide data to admin on limited resources used by other tenants.", _route("/limits")),
    ("os-user-data", "UserData", "Add user_data to the Create Server API.",
     ("create", "user_data")),
    ("os-volume-attachment-update", "VolumeAttachmentUpdate",
     "Support for updating a volume attachment.",
     _route(f"{_SERVER}/os-volume_attachments/<volume_id>", "PUT")),
    ("os-volumes", "Volumes", "Volumes support.", _route("/os-volumes")),
)


def _shape(path: str) -> str:
    """A URL rule without its variables' names (``/a/<x>`` and ``/a/<y>`` are one route)."""
    return re.sub(r"<[^>]*>", "<>", path)


def _schemas(app: Flask, method: str, path: str) -> Iterator[dict]:
    """The body schemas of the view serving ``method path`` (every microversion's)."""
    for rule in app.url_map.iter_rules():
        if _shape(rule.rule) == _shape(path) and method in (rule.methods or ()):
            view = app.view_functions[rule.endpoint]
            for entry in getattr(view, "minicloud_schemas", ()):
                yield entry[0]


def _properties(schema: dict) -> set[str]:
    """The top-level keys a body schema accepts (through ``oneOf``/``anyOf`` too)."""
    keys = set(schema.get("properties", {}))
    for alternatives in (schema.get("oneOf", ()), schema.get("anyOf", ())):
        for alt in alternatives:
            keys |= _properties(alt)
    return keys


def _served(app: Flask) -> set[tuple[str, str]]:
    return {(m, _shape(r.rule)) for r in app.url_map.iter_rules() for m in r.methods or ()}


def _offered(app: Flask, need: tuple[str, ...], routes: set[tuple[str, str]]) -> bool:
    kind = need[0]
    if kind == "always":
        return True
    if kind == "route":
        return (need[1], _shape(need[2])) in routes
    if kind == "action":
        return need[1] not in server_ops.REFUSED and any(need[1] in _properties(s)
                   for s in _schemas(app, "POST", f"{PREFIX}{_SERVER}/action"))
    creates = list(_schemas(app, "POST", f"{PREFIX}/servers"))
    if kind == "create":
        return any(need[1] in _properties(s["properties"]["server"]) for s in creates)
    # hints: some create schema admits a scheduler hint (none at all is "maxProperties: 0")
    return any(s["properties"].get("os:scheduler_hints", {}).get("maxProperties") != 0
               for s in creates)


def extensions(app: Flask) -> list[dict]:
    """The extension descriptions of what ``app`` serves, by alias (Nova's order)."""
    routes = _served(app)
    return [{"name": name, "alias": alias, "description": description,
             "namespace": NAMESPACE, "updated": UPDATED, "links": []}
            for alias, name, description, need in sorted(EXTENSIONS)
            if _offered(app, need, routes)]


@bp.get("/extensions")
def list_extensions() -> Response:
    authorize(RULE)
    return json_response({"extensions": extensions(current_app)})


@bp.get("/extensions/<alias>")
def show_extension(alias: str) -> Response:
    authorize(RULE)
    for ext in extensions(current_app):
        if ext["alias"] == alias:
            return json_response({"extension": ext})
    raise NotFound("The resource could not be found.")
