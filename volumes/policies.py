"""Policy-in-code defaults of the volume service, named and defaulted as Cinder's.

Cinder's current defaults (Xena and later) written with the shared personas of
:mod:`minicloud.policy`: a *reader* of the owning project reads, a *member* writes, an
*admin* (``role:admin``, Cinder's legacy system admin) does both anywhere, and a few
administrative actions are ``rule:admin_api``. Every rule is checked against the volume's
own project (``{"project_id": <owner>}``), or the caller's project for creations and lists.
Only rules the API enforces are listed; operators override any of them by name in
``policy.yaml``. ``volume:get_all_tenants`` is minicloud's name for Cinder's
``context.is_admin`` test of ``?all_tenants`` (Cinder has no rule of that name): a caller it
denies sees its own project's volumes, as in Cinder.
"""
from __future__ import annotations

from minicloud.policy import DocumentedRuleDefault, documented

READER = "rule:project_reader_or_admin"
MEMBER = "rule:project_member_or_admin"
ADMIN = "rule:admin_api"
IS_ADMIN = "rule:context_is_admin"

VOLUME = "/volumes/{volume_id}"
ACTION = "/volumes/{volume_id}/action"
SNAPSHOT = "/snapshots/{snapshot_id}"


def _rule(name: str, check: str, description: str,
          *operations: tuple[str, str]) -> DocumentedRuleDefault:
    return documented(name, check, description, operations)


RULES: list[DocumentedRuleDefault] = [
    # -- volumes (cinder/policies/volumes.py) -------------------------------------------
    _rule("volume:create", MEMBER, "Create volume.", ("POST", "/volumes")),
    _rule("volume:create_from_image", MEMBER, "Create volume from image.",
          ("POST", "/volumes")),
    _rule("volume:get", READER, "Show volume.", ("GET", VOLUME)),
    _rule("volume:get_all", READER, "List volumes or get summary of volumes.",
          ("GET", "/volumes"), ("GET", "/volumes/detail"), ("GET", "/volumes/summary")),
    _rule("volume:get_all_tenants", IS_ADMIN,
          "List the volumes of every project (?all_tenants=1); a caller this denies sees "
          "its own project's volumes.", ("GET", "/volumes"), ("GET", "/volumes/detail"),
          ("GET", "/snapshots"), ("GET", "/snapshots/detail")),
    _rule("volume:update", MEMBER, "Update volume or update a volume's bootable status.",
          ("PUT", VOLUME), ("POST", f"{ACTION} (os-set_bootable)")),
    _rule("volume:delete", MEMBER, "Delete volume.", ("DELETE", VOLUME)),
    _rule("volume:force_delete", ADMIN, "Force Delete a volume.", ("DELETE", VOLUME)),
    _rule("volume_extension:volume_host_attribute", ADMIN,
          "List or show volume with host attribute.", ("GET", VOLUME),
          ("GET", "/volumes/detail")),
    _rule("volume_extension:volume_tenant_attribute", READER,
          "List or show volume with tenant attribute.", ("GET", VOLUME),
          ("GET", "/volumes/detail")),
    _rule("volume_extension:volume_mig_status_attribute", ADMIN,
          "List or show volume with migration status attribute.", ("GET", VOLUME),
          ("GET", "/volumes/detail")),
    # -- volume actions (cinder/policies/volume_actions.py) -----------------------------
    _rule("volume:extend", MEMBER, "Extend a volume.", ("POST", f"{ACTION} (os-extend)")),
    _rule("volume_extension:volume_admin_actions:reset_status", ADMIN,
          "Reset status of a volume.", ("POST", f"{ACTION} (os-reset_status)")),
    _rule("volume_extension:volume_admin_actions:force_delete", ADMIN,
          "Force delete a volume.", ("POST", f"{ACTION} (os-force_delete)")),
    _rule("volume_extension:volume_admin_actions:force_detach", ADMIN,
          "Force detach a volume.", ("POST", f"{ACTION} (os-force_detach)")),
    _rule("volume:update_readonly_flag", MEMBER, "Update a volume's readonly flag.",
          ("POST", f"{ACTION} (os-update_readonly_flag)")),
    _rule("volume_extension:volume_actions:reserve", MEMBER, "Mark volume as reserved.",
          ("POST", f"{ACTION} (os-reserve)")),
    _rule("volume_extension:volume_actions:unreserve", MEMBER, "Unmark volume as reserved.",
          ("POST", f"{ACTION} (os-unreserve)")),
    _rule("volume_extension:volume_actions:begin_detaching", MEMBER, "Begin detach volumes.",
          ("POST", f"{ACTION} (os-begin_detaching)")),
    _rule("volume_extension:volume_actions:roll_detaching", MEMBER,
          "Roll back volume status to 'in-use'.", ("POST", f"{ACTION} (os-roll_detaching)")),
    _rule("volume_extension:volume_actions:attach", MEMBER, "Add attachment metadata.",
          ("POST", f"{ACTION} (os-attach)")),
    _rule("volume_extension:volume_actions:detach", MEMBER, "Clear attachment metadata.",
          ("POST", f"{ACTION} (os-detach)")),
    _rule("volume_extension:volume_actions:upload_image", MEMBER,
          "Upload a volume to image.", ("POST", f"{ACTION} (os-volume_upload_image)")),
    _rule("volume_extension:volume_actions:upload_public", ADMIN,
          "Upload a volume to image with public visibility.",
          ("POST", f"{ACTION} (os-volume_upload_image)")),
    _rule("volume:retype", MEMBER, "Retype a volume.", ("POST", f"{ACTION} (os-retype)")),
    # -- scheduler stats, capabilities (cinder/policies/scheduler_stats.py, capabilities.py)
    _rule("scheduler_extension:scheduler_stats:get_pools", ADMIN, "List all backend pools.",
          ("GET", "/scheduler-stats/get_pools")),
    _rule("volume_extension:capabilities", ADMIN, "Show backend capabilities.",
          ("GET", "/capabilities/{host_name}")),
    # -- volume metadata (cinder/policies/volume_metadata.py) ---------------------------
    _rule("volume:get_volume_metadata", READER,
          "Show volume's metadata or one specified metadata with a given key.",
          ("GET", f"{VOLUME}/metadata"), ("GET", f"{VOLUME}/metadata/{{key}}"),
          ("POST", f"{ACTION} (os-show_image_metadata)")),
    _rule("volume:create_volume_metadata", MEMBER, "Create volume metadata.",
          ("POST", f"{VOLUME}/metadata")),
    _rule("volume:update_volume_metadata", MEMBER,
          "Replace a volume's metadata dictionary or update a single metadatum with a "
          "given key.", ("PUT", f"{VOLUME}/metadata"), ("PUT", f"{VOLUME}/metadata/{{key}}")),
    _rule("volume:delete_volume_metadata", MEMBER,
          "Delete a volume's metadatum with the given key.",
          ("DELETE", f"{VOLUME}/metadata/{{key}}")),
    _rule("volume_extension:volume_image_metadata:show", READER,
          "Include a volume's image metadata in volume detail responses.",
          ("GET", VOLUME), ("GET", "/volumes/detail")),
    _rule("volume_extension:volume_image_metadata:set", MEMBER,
          "Set image metadata for a volume",
          ("POST", f"{ACTION} (os-set_image_metadata)")),
    _rule("volume_extension:volume_image_metadata:remove", MEMBER,
          "Remove specific image metadata from a volume",
          ("POST", f"{ACTION} (os-unset_image_metadata)")),
    # -- attachments (cinder/policies/attachments.py) -----------------------------------
    _rule("volume:attachment_create", MEMBER, "Create attachment.",
          ("POST", "/attachments")),
    _rule("volume:attachment_update", MEMBER, "Update attachment.",
          ("PUT", "/attachments/{attachment_id}")),
    _rule("volume:attachment_delete", MEMBER, "Delete attachment.",
          ("DELETE", "/attachments/{attachment_id}")),
    _rule("volume:attachment_complete", MEMBER,
          "Mark a volume attachment process as completed (in-use)",
          ("POST", "/attachments/{attachment_id}/action (os-complete)")),
    # -- quotas, limits, services, types ------------------------------------------------
    _rule("volume_extension:quotas:show", READER,
          "Show project quota (including usage and default).",
          ("GET", "/os-quota-sets/{project_id}"),
          ("GET", "/os-quota-sets/{project_id}/defaults"),
          ("GET", "/os-quota-sets/{project_id}?usage=True")),
    _rule("volume_extension:quotas:update", ADMIN, "Update project quota.",
          ("PUT", "/os-quota-sets/{project_id}")),
    _rule("volume_extension:quotas:delete", ADMIN, "Delete project quota.",
          ("DELETE", "/os-quota-sets/{project_id}")),
    _rule("volume_extension:quota_classes", ADMIN, "Show or update project quota class.",
          ("GET", "/os-quota-class-sets/{project_id}"),
          ("PUT", "/os-quota-class-sets/{project_id}")),
    _rule("limits_extension:used_limits", READER, "Show limits with used limit attributes.",
          ("GET", "/limits")),
    _rule("volume_extension:services:index", ADMIN, "List all services.",
          ("GET", "/os-services")),
    _rule("volume_extension:services:update", ADMIN, "Update service, including "
          "failover_host, thaw, freeze, disable, enable, set-log and get-log actions.",
          ("PUT", "/os-services/{action}")),
    _rule("volume:freeze_host", ADMIN, "Freeze a backend host.",
          ("PUT", "/os-services/freeze")),
    _rule("volume:thaw_host", ADMIN, "Thaw a backend host.", ("PUT", "/os-services/thaw")),
    _rule("volume_extension:hosts", ADMIN, "List, update or show hosts for a project.",
          ("GET", "/os-hosts"), ("GET", "/os-hosts/{host_name}")),
    _rule("volume_extension:type_get", READER, "Get one specific volume type.",
          ("GET", "/types/{type_id}")),
    _rule("volume_extension:type_get_all", READER, "List volume types.", ("GET", "/types")),
    _rule("volume_extension:access_types_extra_specs", READER,
          "Include the volume type's extra_specs attribute in the volume type list or show "
          "requests.", ("GET", "/types/{type_id}"), ("GET", "/types")),
    _rule("volume_extension:types_manage", ADMIN,
          "Create, update and delete volume type (checked besides the operation's own "
          "rule).", ("POST", "/types"), ("PUT", "/types"), ("DELETE", "/types")),
    _rule("volume_extension:type_create", ADMIN, "Create volume type.", ("POST", "/types")),
    _rule("volume_extension:type_update", ADMIN, "Update volume type.",
          ("PUT", "/types/{type_id}")),
    _rule("volume_extension:type_delete", ADMIN, "Delete volume type.",
          ("DELETE", "/types/{type_id}")),
    _rule("volume_extension:volume_type_access", READER,
          "Include the os-volume-type-access:is_public attribute in volume type answers.",
          ("GET", "/types"), ("GET", "/types/{type_id}")),
    _rule("volume_extension:volume_type_access:addProjectAccess", ADMIN,
          "Add volume type access for project.",
          ("POST", "/types/{type_id}/action (addProjectAccess)")),
    _rule("volume_extension:volume_type_access:removeProjectAccess", ADMIN,
          "Remove volume type access for project.",
          ("POST", "/types/{type_id}/action (removeProjectAccess)")),
    _rule("volume_extension:volume_type_access:get_all_for_type", ADMIN,
          "List private volume type access detail, that is, list the projects that have "
          "access to this volume type.", ("GET", "/types/{type_id}/os-volume-type-access")),
    _rule("volume_extension:types_extra_specs:index", READER, "List type extra specs.",
          ("GET", "/types/{type_id}/extra_specs")),
    _rule("volume_extension:types_extra_specs:show", READER,
          "Show one specified type extra specs.",
          ("GET", "/types/{type_id}/extra_specs/{extra_spec_key}")),
    _rule("volume_extension:types_extra_specs:read_sensitive", ADMIN,
          "Include extra_specs fields that may reveal sensitive information about the "
          "deployment (all but the user-visible keys) in volume type answers.",
          ("GET", "/types"), ("GET", "/types/{type_id}"),
          ("GET", "/types/{type_id}/extra_specs"),
          ("GET", "/types/{type_id}/extra_specs/{extra_spec_key}")),
    _rule("volume_extension:volume_type_encryption:create", ADMIN,
          "Create volume type encryption.", ("POST", "/types/{type_id}/encryption")),
    _rule("volume_extension:volume_type_encryption:get", ADMIN,
          "Show a volume type's encryption type, show an encryption specs item.",
          ("GET", "/types/{type_id}/encryption"), ("GET", "/types/{type_id}/encryption/{key}")),
    _rule("volume_extension:volume_type_encryption:update", ADMIN,
          "Update volume type encryption.",
          ("PUT", "/types/{type_id}/encryption/{encryption_id}")),
    _rule("volume_extension:volume_type_encryption:delete", ADMIN,
          "Delete volume type encryption.",
          ("DELETE", "/types/{type_id}/encryption/{encryption_id}")),
    _rule("volume_extension:types_extra_specs:create", ADMIN, "Create type extra specs.",
          ("POST", "/types/{type_id}/extra_specs")),
    _rule("volume_extension:types_extra_specs:update", ADMIN, "Update type extra specs.",
          ("PUT", "/types/{type_id}/extra_specs/{extra_spec_key}")),
    _rule("volume_extension:types_extra_specs:delete", ADMIN, "Delete type extra specs.",
          ("DELETE", "/types/{type_id}/extra_specs/{extra_spec_key}")),
    # -- qos-specs (cinder/policies/qos_specs.py) ---------------------------------------
    _rule("volume_extension:qos_specs_manage:get_all", ADMIN, "List qos specs or list all "
          "associations.", ("GET", "/qos-specs")),
    _rule("volume_extension:qos_specs_manage:get", ADMIN, "Show one specified qos spec.",
          ("GET", "/qos-specs/{qos_id}"), ("GET", "/qos-specs/{qos_id}/associations")),
    _rule("volume_extension:qos_specs_manage:create", ADMIN, "Create qos specs.",
          ("POST", "/qos-specs")),
    _rule("volume_extension:qos_specs_manage:update", ADMIN,
          "Update qos specs (including updating association).",
          ("PUT", "/qos-specs/{qos_id}"), ("PUT", "/qos-specs/{qos_id}/delete_keys"),
          ("GET", "/qos-specs/{qos_id}/associate"),
          ("GET", "/qos-specs/{qos_id}/disassociate"),
          ("GET", "/qos-specs/{qos_id}/disassociate_all")),
    _rule("volume_extension:qos_specs_manage:delete", ADMIN, "delete qos specs or unset one "
          "specified qos key.", ("DELETE", "/qos-specs/{qos_id}")),
    # -- transfers (cinder/policies/volume_transfer.py) ---------------------------------
    _rule("volume:get_all_transfers", READER, "List volume transfer.",
          ("GET", "/os-volume-transfer"), ("GET", "/os-volume-transfer/detail"),
          ("GET", "/volume-transfers"), ("GET", "/volume-transfers/detail")),
    _rule("volume:create_transfer", MEMBER, "Create a volume transfer.",
          ("POST", "/os-volume-transfer"), ("POST", "/volume-transfers")),
    _rule("volume:get_transfer", READER, "Show one specified volume transfer.",
          ("GET", "/os-volume-transfer/{transfer_id}"),
          ("GET", "/volume-transfers/{transfer_id}")),
    _rule("volume:accept_transfer", MEMBER, "Accept a volume transfer.",
          ("POST", "/os-volume-transfer/{transfer_id}/accept"),
          ("POST", "/volume-transfers/{transfer_id}/accept")),
    _rule("volume:delete_transfer", MEMBER, "Delete volume transfer.",
          ("DELETE", "/os-volume-transfer/{transfer_id}"),
          ("DELETE", "/volume-transfers/{transfer_id}")),
    # -- snapshots (cinder/policies/snapshots.py, snapshot_metadata.py, snapshot_actions.py)
    _rule("volume:get_all_snapshots", READER, "List snapshots.", ("GET", "/snapshots"),
          ("GET", "/snapshots/detail")),
    _rule("volume_extension:extended_snapshot_attributes", READER,
          "List or show snapshots with extended attributes.", ("GET", "/snapshots/detail"),
          ("GET", SNAPSHOT)),
    _rule("volume:create_snapshot", MEMBER, "Create snapshot.", ("POST", "/snapshots")),
    _rule("volume:get_snapshot", READER, "Show snapshot.", ("GET", SNAPSHOT)),
    _rule("volume:update_snapshot", MEMBER, "Update snapshot.", ("PUT", SNAPSHOT)),
    _rule("volume:delete_snapshot", MEMBER, "Delete snapshot.", ("DELETE", SNAPSHOT)),
    _rule("volume:get_snapshot_metadata", READER, "Show snapshot's metadata or one "
          "specified metadata with a given key.", ("GET", f"{SNAPSHOT}/metadata"),
          ("GET", f"{SNAPSHOT}/metadata/{{key}}")),
    _rule("volume:update_snapshot_metadata", MEMBER, "Update snapshot's metadata or one "
          "specified metadata with a given key.", ("POST", f"{SNAPSHOT}/metadata"),
          ("PUT", f"{SNAPSHOT}/metadata"), ("PUT", f"{SNAPSHOT}/metadata/{{key}}")),
    _rule("volume:delete_snapshot_metadata", MEMBER, "Delete snapshot's specified metadata "
          "with a given key.", ("DELETE", f"{SNAPSHOT}/metadata/{{key}}")),
    _rule("volume_extension:snapshot_admin_actions:reset_status", ADMIN,
          "Reset status of a snapshot.", ("POST", f"{SNAPSHOT}/action (os-reset_status)")),
    _rule("volume_extension:snapshot_admin_actions:force_delete", ADMIN,
          "Force delete a snapshot.", ("POST", f"{SNAPSHOT}/action (os-force_delete)")),
    _rule("snapshot_extension:snapshot_actions:update_snapshot_status", MEMBER,
          "Update database fields of snapshot.",
          ("POST", f"{SNAPSHOT}/action (os-update_snapshot_status)")),
    _rule("volume_extension:access_types_qos_specs_id", ADMIN,
          "Include the volume type's QoS specifications ID attribute in the volume type list "
          "or show requests.", ("GET", "/types/{type_id}"), ("GET", "/types")),
]

BACKUP = "/backups/{backup_id}"
# -- backups (cinder/policies/backups.py, backup_actions.py) --------------------------------
RULES += [
    _rule("backup:get_all", READER, "List backups.", ("GET", "/backups"),
          ("GET", "/backups/detail")),
    _rule("backup:backup_project_attribute", ADMIN, "List backups or show backup with "
          "project attributes.", ("GET", BACKUP), ("GET", "/backups/detail")),
    _rule("backup:create", MEMBER, "Create backup.", ("POST", "/backups")),
    _rule("backup:get", READER, "Show backup.", ("GET", BACKUP)),
    _rule("backup:update", MEMBER, "Update backup.", ("PUT", BACKUP)),
    _rule("backup:delete", MEMBER, "Delete backup.", ("DELETE", BACKUP)),
    _rule("backup:restore", MEMBER, "Restore backup.", ("POST", f"{BACKUP}/restore")),
    _rule("backup:backup-import", ADMIN, "Import backup.",
          ("POST", "/backups/import_record")),
    _rule("backup:export-import", ADMIN, "Export backup.",
          ("GET", f"{BACKUP}/export_record")),
    _rule("volume_extension:backup_admin_actions:reset_status", ADMIN,
          "Reset status of a backup.", ("POST", f"{BACKUP}/action (os-reset_status)")),
    _rule("volume_extension:backup_admin_actions:force_delete", ADMIN,
          "Force delete a backup.", ("POST", f"{BACKUP}/action (os-force_delete)")),
]

MESSAGE = "/messages/{message_id}"
# -- user messages (cinder/policies/messages.py), revert (cinder/policies/volume_actions.py) --
RULES += [
    _rule("message:get_all", READER, "List messages.", ("GET", "/messages")),
    _rule("message:get", READER, "Show message.", ("GET", MESSAGE)),
    _rule("message:delete", MEMBER, "Delete message.", ("DELETE", MESSAGE)),
    _rule("volume:revert_to_snapshot", MEMBER, "Revert a volume to a snapshot.",
          ("POST", f"{ACTION} (revert)")),
]
GROUP_TYPE = "/group_types/{group_type_id}"
GROUP = "/groups/{group_id}"
GROUP_SNAPSHOT = "/group_snapshots/{group_snapshot_id}"
# -- generic volume groups (cinder/policies/group_types.py, groups.py, group_actions.py,
#    group_snapshots.py, group_snapshot_actions.py; their Yoga+ names and defaults) ---------
RULES += [
    _rule("group:group_types:create", ADMIN, "Create a group type.", ("POST", "/group_types/")),
    _rule("group:group_types:update", ADMIN, "Update a group type.", ("PUT", GROUP_TYPE)),
    _rule("group:group_types:delete", ADMIN, "Delete a group type.", ("DELETE", GROUP_TYPE)),
    _rule("group:access_group_types_specs", ADMIN,
          "Show group type with type specs attributes.", ("GET", GROUP_TYPE)),
    _rule("group:group_types_specs:get", ADMIN, "Show a group type spec.",
          ("GET", f"{GROUP_TYPE}/group_specs/{{g_spec_id}}")),
    _rule("group:group_types_specs:get_all", ADMIN, "List group type specs.",
          ("GET", f"{GROUP_TYPE}/group_specs")),
    _rule("group:group_types_specs:create", ADMIN, "Create a group type spec.",
          ("POST", f"{GROUP_TYPE}/group_specs")),
    _rule("group:group_types_specs:update", ADMIN, "Update a group type spec.",
          ("PUT", f"{GROUP_TYPE}/group_specs/{{g_spec_id}}")),
    _rule("group:group_types_specs:delete", ADMIN, "Delete a group type spec.",
          ("DELETE", f"{GROUP_TYPE}/group_specs/{{g_spec_id}}")),
    _rule("group:get_all", READER, "List groups.", ("GET", "/groups"),
          ("GET", "/groups/detail")),
    _rule("group:create", MEMBER, "Create group.", ("POST", "/groups"),
          ("POST", "/groups/action (create-from-src)")),
    _rule("group:get", READER, "Show group.", ("GET", GROUP)),
    _rule("group:update", MEMBER, "Update group.", ("PUT", GROUP)),
    _rule("group:group_project_attribute", ADMIN,
          "List groups or show group with project attributes.", ("GET", GROUP),
          ("GET", "/groups/detail")),
    _rule("group:delete", MEMBER, "Delete group.", ("POST", f"{GROUP}/action (delete)")),
    _rule("group:reset_status", ADMIN, "Reset status of group.",
          ("POST", f"{GROUP}/action (reset_status)")),
    _rule("group:get_all_group_snapshots", READER, "List group snapshots.",
          ("GET", "/group_snapshots"), ("GET", "/group_snapshots/detail")),
    _rule("group:create_group_snapshot", MEMBER, "Create group snapshot.",
          ("POST", "/group_snapshots")),
    _rule("group:get_group_snapshot", READER, "Show group snapshot.", ("GET", GROUP_SNAPSHOT)),
    _rule("group:delete_group_snapshot", MEMBER, "Delete group snapshot.",
          ("DELETE", GROUP_SNAPSHOT)),
    _rule("group:group_snapshot_project_attribute", ADMIN,
          "List group snapshots or show group snapshot with project attributes.",
          ("GET", GROUP_SNAPSHOT), ("GET", "/group_snapshots/detail")),
    _rule("group:reset_group_snapshot_status", ADMIN, "Reset status of group snapshot.",
          ("POST", f"{GROUP_SNAPSHOT}/action (reset_status)")),
]
