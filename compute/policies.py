"""Default policy rules of the compute API: Nova's names and Nova's secure defaults (2023.1+).

Each rule is written with the shared personas of :data:`minicloud.policy.BASE_RULES`:
``rule:project_reader_or_admin`` reads, ``rule:project_member_or_admin`` writes in the
owning project, ``rule:admin_api`` administers; ``@`` is anyone holding a valid token. The
target of a server rule is the server's own project (``{"project_id": owner, "user_id":
creator}``), so a reader of the owning project reads and a member writes; every other rule
targets the caller's project. Operators override any rule by name in ``policy.yaml``;
``oslopolicy-sample-generator --namespace minicloud.compute`` prints them all.
"""
from __future__ import annotations

from minicloud.policy import DocumentedRuleDefault

ADMIN = "rule:admin_api"
READER = "rule:project_reader_or_admin"
MEMBER = "rule:project_member_or_admin"
ANY = "@"
#: Keypairs belong to a user: the user themself, or an admin acting for them (2.10+).
ADMIN_OR_KEY_OWNER = "(rule:context_is_admin) or user_id:%(user_id)s"

_SERVERS = "/servers/{server_id}"


def _rule(name: str, check: str, description: str, *operations: tuple[str, str]
          ) -> DocumentedRuleDefault:
    return DocumentedRuleDefault(
        name=f"os_compute_api:{name}", check_str=check, description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=["project"])


def _action(name: str, check: str, description: str, action: str) -> DocumentedRuleDefault:
    return _rule(name, check, description, ("POST", f"{_SERVERS}/action ({action})"))


#: Every rule the compute API enforces (the ``policies=`` entry of ``minicloud.services``).
RULES: list[DocumentedRuleDefault] = [
    # -- servers ---------------------------------------------------------------------------
    _rule("servers:index", READER, "List servers", ("GET", "/servers")),
    _rule("servers:detail", READER, "List servers with details", ("GET", "/servers/detail")),
    _rule("servers:index:get_all_tenants", ADMIN, "List servers of all projects",
          ("GET", "/servers")),
    _rule("servers:detail:get_all_tenants", ADMIN,
          "List servers of all projects with details", ("GET", "/servers/detail")),
    _rule("servers:allow_all_filters", ADMIN,
          "Filter the server list by any field (others get only the user filters)",
          ("GET", "/servers"), ("GET", "/servers/detail")),
    _rule("servers:show", READER, "Show a server", ("GET", _SERVERS)),
    _rule("servers:show:flavor-extra-specs", READER,
          "See the flavor's extra specs in a server (2.47+)", ("GET", _SERVERS),
          ("GET", "/servers/detail"), ("PUT", _SERVERS)),
    _rule("servers:show:host_status", ADMIN, "See host_status in a server (2.16+)",
          ("GET", _SERVERS), ("GET", "/servers/detail"), ("PUT", _SERVERS)),
    _rule("os-extended-server-attributes", ADMIN,
          "See the OS-EXT-SRV-ATTR attributes (host, instance name...) of a server",
          ("GET", _SERVERS), ("GET", "/servers/detail"), ("PUT", _SERVERS)),
    _rule("servers:create", MEMBER, "Create a server", ("POST", "/servers")),
    _rule("servers:create:forced_host", ADMIN,
          "Create a server on a named host (availability_zone ZONE:HOST)",
          ("POST", "/servers")),
    _rule("servers:create:requested_destination", ADMIN,
          "Create a server on a requested host (host, 2.74+)", ("POST", "/servers")),
    _rule("servers:create:attach_volume", MEMBER,
          "Create a server with volumes (block_device_mapping_v2)", ("POST", "/servers")),
    _rule("servers:create:attach_network", MEMBER,
          "Create a server with requested networks", ("POST", "/servers")),
    _rule("servers:delete", MEMBER, "Delete a server", ("DELETE", _SERVERS)),
    _rule("servers:update", MEMBER, "Rename a server or change its description",
          ("PUT", _SERVERS)),
    _action("servers:reboot", MEMBER, "Reboot a server", "reboot"),
    _action("servers:start", MEMBER, "Start a server", "os-start"),
    _action("servers:stop", MEMBER, "Stop a server", "os-stop"),
    _action("servers:create_image", MEMBER, "Snapshot a server into an image",
            "createImage"),
    _action("os-console-output", MEMBER, "Show a server's console output",
            "os-getConsoleOutput"),
    # -- server metadata ---------------------------------------------------------------------
    _rule("server-metadata:index", READER, "List a server's metadata",
          ("GET", f"{_SERVERS}/metadata")),
    _rule("server-metadata:show", READER, "Show one metadata item of a server",
          ("GET", f"{_SERVERS}/metadata/{{key}}")),
    _rule("server-metadata:create", MEMBER, "Add or change metadata items of a server",
          ("POST", f"{_SERVERS}/metadata")),
    _rule("server-metadata:update_all", MEMBER, "Replace all metadata of a server",
          ("PUT", f"{_SERVERS}/metadata")),
    _rule("server-metadata:update", MEMBER, "Set one metadata item of a server",
          ("PUT", f"{_SERVERS}/metadata/{{key}}")),
    _rule("server-metadata:delete", MEMBER, "Delete one metadata item of a server",
          ("DELETE", f"{_SERVERS}/metadata/{{key}}")),
    # -- instance actions (the event log) ----------------------------------------------------
    _rule("os-instance-actions:list", READER, "List the actions of a server",
          ("GET", f"{_SERVERS}/os-instance-actions")),
    _rule("os-instance-actions:show", READER, "Show an action of a server",
          ("GET", f"{_SERVERS}/os-instance-actions/{{request_id}}")),
    _rule("os-instance-actions:events", ADMIN,
          "See the events of an action with their traceback (and from 2.62 their host); "
          "from 2.51 everyone who may show the action sees its events without those",
          ("GET", f"{_SERVERS}/os-instance-actions/{{request_id}}")),
    _rule("os-instance-actions:events:details", ADMIN,
          "See the details of an action's events (2.84+)",
          ("GET", f"{_SERVERS}/os-instance-actions/{{request_id}}")),
    # -- server tags (2.26) ------------------------------------------------------------------
    _rule("os-server-tags:index", READER, "List the tags of a server",
          ("GET", f"{_SERVERS}/tags")),
    _rule("os-server-tags:show", READER, "Check that a server has a tag",
          ("GET", f"{_SERVERS}/tags/{{tag}}")),
    _rule("os-server-tags:update_all", MEMBER, "Replace all tags of a server",
          ("PUT", f"{_SERVERS}/tags")),
    _rule("os-server-tags:update", MEMBER, "Add one tag to a server",
          ("PUT", f"{_SERVERS}/tags/{{tag}}")),
    _rule("os-server-tags:delete_all", MEMBER, "Delete all tags of a server",
          ("DELETE", f"{_SERVERS}/tags")),
    _rule("os-server-tags:delete", MEMBER, "Delete one tag of a server",
          ("DELETE", f"{_SERVERS}/tags/{{tag}}")),
    # -- volume attachments ------------------------------------------------------------------
    _rule("os-volumes-attachments:index", READER, "List a server's volume attachments",
          ("GET", f"{_SERVERS}/os-volume_attachments")),
    _rule("os-volumes-attachments:show", READER, "Show a volume attachment",
          ("GET", f"{_SERVERS}/os-volume_attachments/{{volume_id}}")),
    _rule("os-volumes-attachments:create", MEMBER, "Attach a volume to a server",
          ("POST", f"{_SERVERS}/os-volume_attachments")),
    _rule("os-volumes-attachments:update", MEMBER,
          "Change a volume attachment (delete_on_termination, 2.85+)",
          ("PUT", f"{_SERVERS}/os-volume_attachments/{{volume_id}}")),
    _rule("os-volumes-attachments:delete", MEMBER, "Detach a volume from a server",
          ("DELETE", f"{_SERVERS}/os-volume_attachments/{{volume_id}}")),
    # -- flavors -------------------------------------------------------------------------------
    _rule("os-flavor-manage:create", ADMIN, "Create a flavor", ("POST", "/flavors")),
    _rule("os-flavor-manage:update", ADMIN, "Change a flavor's description (2.55+)",
          ("PUT", "/flavors/{flavor_id}")),
    _rule("os-flavor-manage:delete", ADMIN, "Delete a flavor",
          ("DELETE", "/flavors/{flavor_id}")),
    _rule("os-flavor-extra-specs:index", READER,
          "List a flavor's extra specs (and see them in flavors, 2.61+)",
          ("GET", "/flavors/{flavor_id}/os-extra_specs"), ("GET", "/flavors/detail"),
          ("GET", "/flavors/{flavor_id}")),
    _rule("os-flavor-extra-specs:show", READER, "Show one extra spec of a flavor",
          ("GET", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os-flavor-extra-specs:create", ADMIN, "Add extra specs to a flavor",
          ("POST", "/flavors/{flavor_id}/os-extra_specs")),
    _rule("os-flavor-extra-specs:update", ADMIN, "Set one extra spec of a flavor",
          ("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os-flavor-extra-specs:delete", ADMIN, "Delete one extra spec of a flavor",
          ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}")),
    _rule("os-flavor-access", ADMIN, "List the projects that see a private flavor",
          ("GET", "/flavors/{flavor_id}/os-flavor-access")),
    _rule("os-flavor-access:add_tenant_access", ADMIN, "Add a project to a flavor's access list",
          ("POST", "/flavors/{flavor_id}/action (addTenantAccess)")),
    _rule("os-flavor-access:remove_tenant_access", ADMIN,
          "Remove a project from a flavor's access list",
          ("POST", "/flavors/{flavor_id}/action (removeTenantAccess)")),
    # -- hosts -------------------------------------------------------------------------------
    _rule("os-services:list", ADMIN, "List compute services", ("GET", "/os-services")),
    _rule("os-services:update", ADMIN, "Enable or disable a compute service",
          ("PUT", "/os-services/{service_id}")),
    _rule("os-services:delete", ADMIN, "Delete a compute service",
          ("DELETE", "/os-services/{service_id}")),
    _rule("os-hypervisors:list", ADMIN, "List hypervisors", ("GET", "/os-hypervisors")),
    _rule("os-hypervisors:list-detail", ADMIN, "List hypervisors with details",
          ("GET", "/os-hypervisors/detail")),
    _rule("os-hypervisors:show", ADMIN, "Show a hypervisor",
          ("GET", "/os-hypervisors/{hypervisor_id}")),
    _rule("os-hypervisors:statistics", ADMIN, "Show the hypervisors' totals (before 2.88)",
          ("GET", "/os-hypervisors/statistics")),
    _rule("os-hypervisors:search", ADMIN, "Search hypervisors by name (before 2.53)",
          ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/search")),
    _rule("os-hypervisors:servers", ADMIN, "See the servers of hypervisors",
          ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/servers (before 2.53)"),
          ("GET", "/os-hypervisors?with_servers=true (2.53+)")),
    _rule("os-hypervisors:uptime", ADMIN, "Show the uptime of a hypervisor (before 2.88)",
          ("GET", "/os-hypervisors/{hypervisor_id}/uptime")),
    _rule("os-hosts:list", ADMIN, "List physical hosts (before 2.43)", ("GET", "/os-hosts")),
    _rule("os-hosts:show", ADMIN, "Show a physical host's resources (before 2.43)",
          ("GET", "/os-hosts/{host_name}")),
    _rule("os-hosts:update", ADMIN, "Enable or disable a physical host (before 2.43)",
          ("PUT", "/os-hosts/{host_name}")),
    _rule("os-hosts:reboot", ADMIN, "Reboot a physical host (before 2.43)",
          ("GET", "/os-hosts/{host_name}/reboot")),
    _rule("os-hosts:shutdown", ADMIN, "Shut down a physical host (before 2.43)",
          ("GET", "/os-hosts/{host_name}/shutdown")),
    _rule("os-hosts:start", ADMIN, "Start a physical host (before 2.43)",
          ("GET", "/os-hosts/{host_name}/startup")),
    _rule("os-availability-zone:list", ANY, "List availability zones",
          ("GET", "/os-availability-zone")),
    _rule("os-availability-zone:detail", ADMIN, "List availability zones with their hosts",
          ("GET", "/os-availability-zone/detail")),
    _rule("os-aggregates:index", ADMIN, "List host aggregates", ("GET", "/os-aggregates")),
    # -- keypairs ---------------------------------------------------------------------------
    _rule("os-keypairs:index", ADMIN_OR_KEY_OWNER,
          "List a user's keypairs (another user's: admins, user_id= at 2.10+)",
          ("GET", "/os-keypairs")),
    _rule("os-keypairs:show", ADMIN_OR_KEY_OWNER, "Show a keypair",
          ("GET", "/os-keypairs/{keypair_name}")),
    _rule("os-keypairs:create", ADMIN_OR_KEY_OWNER, "Create or import a keypair",
          ("POST", "/os-keypairs")),
    _rule("os-keypairs:delete", ADMIN_OR_KEY_OWNER, "Delete a keypair",
          ("DELETE", "/os-keypairs/{keypair_name}")),
    # -- quotas and limits ---------------------------------------------------------------------
    _rule("os-quota-sets:show", READER, "Show a project's quotas",
          ("GET", "/os-quota-sets/{tenant_id}")),
    _rule("os-quota-sets:detail", READER, "Show a project's quotas with usage",
          ("GET", "/os-quota-sets/{tenant_id}/detail")),
    _rule("os-quota-sets:defaults", ANY, "Show the default quotas",
          ("GET", "/os-quota-sets/{tenant_id}/defaults")),
    _rule("os-quota-sets:update", ADMIN, "Change a project's quotas",
          ("PUT", "/os-quota-sets/{tenant_id}")),
    _rule("os-quota-sets:delete", ADMIN, "Reset a project's quotas to the defaults",
          ("DELETE", "/os-quota-sets/{tenant_id}")),
    _rule("os-quota-class-sets:show", ADMIN, "Show a quota class's limits",
          ("GET", "/os-quota-class-sets/{quota_class}")),
    _rule("os-quota-class-sets:update", ADMIN,
          "Change a quota class's limits (default: every project's defaults)",
          ("PUT", "/os-quota-class-sets/{quota_class}")),
    # -- usage and diagnostics -------------------------------------------------------------------
    _rule("os-simple-tenant-usage:show", READER, "Show a project's usage",
          ("GET", "/os-simple-tenant-usage/{tenant_id}")),
    _rule("os-simple-tenant-usage:list", ADMIN, "List every project's usage",
          ("GET", "/os-simple-tenant-usage")),
    _rule("os-instance-usage-audit-log:list", ADMIN, "List the usage audits",
          ("GET", "/os-instance_usage_audit_log")),
    _rule("os-instance-usage-audit-log:show", ADMIN,
          "Show the usage audit of the period before a time",
          ("GET", "/os-instance_usage_audit_log/{before_timestamp}")),
    _rule("os-server-diagnostics", ADMIN, "Show a server's diagnostics",
          ("GET", "/servers/{server_id}/diagnostics")),
    _rule("limits", ANY, "Show rate and absolute limits", ("GET", "/limits")),
    _rule("limits:other_project", ADMIN, "Show another project's limits (tenant_id=)",
          ("GET", "/limits")),
]
