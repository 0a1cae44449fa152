"""What minicloud offers, as Tempest 47.0.0 asks it: one table, one reason a line.

Every option of Tempest's ``*-feature-enabled`` sections is set here explicitly (Tempest's
defaults assume a full DevStack cloud), together with the other yes/no facts that decide which
tests run: ``[service_available]``, ``[validation] run_validation``, ``[enforce_scope]``.
When minicloud gains a feature, flip its line (and its reason): docs/conformance.md cites
this table (``run.py --print-features`` prints it as Markdown).

A value is a bool, or a list of names for Tempest's list options (``[]`` means none).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    section: str
    option: str
    value: bool | list[str]
    reason: str

    def ini_value(self) -> str:
        """The value as tempest.conf (oslo.config) spells it."""
        if isinstance(self.value, bool):
            return str(self.value)
        return ",".join(self.value)


_F = Feature

FEATURES: tuple[Feature, ...] = (
    # -- services ---------------------------------------------------------------------------
    _F("service_available", "nova", True, "compute API (Nova v2.1), real QEMU guests"),
    _F("service_available", "glance", True, "image API (Glance v2)"),
    _F("service_available", "cinder", True, "block-storage API (Cinder v3), tgtd iSCSI"),
    _F("service_available", "neutron", False, "no networking service"),
    _F("service_available", "swift", False, "no object storage"),
    _F("service_available", "horizon", False, "no dashboard"),
    _F("validation", "run_validation", False,
       "guests have no network: Tempest cannot SSH into them"),
    _F("auth", "create_isolated_networks", False, "no networking service"),
    # -- identity ---------------------------------------------------------------------------
    _F("identity-feature-enabled", "trust", False, "no OS-TRUST API"),
    _F("identity-feature-enabled", "api_v2", False, "Keystone v3 only"),
    _F("identity-feature-enabled", "api_v2_admin", False, "Keystone v3 only"),
    _F("identity-feature-enabled", "api_v3", True, "Keystone v3 subset"),
    _F("identity-feature-enabled", "api_extensions", ["OS-EC2"],
       "EC2 credentials (/v3/users/{id}/credentials/OS-EC2); no OS-INHERIT, OS-TRUST, "
       "OS-FEDERATION"),
    _F("identity-feature-enabled", "domain_specific_drivers", False,
       "one SQL identity backend"),
    _F("identity-feature-enabled", "security_compliance", False,
       "no lockout or password-history rules"),
    _F("identity-feature-enabled", "access_rules", True,
       "application credentials with access rules (stored and listed; keystonemiddleware's "
       "enforcement on other services is not done)"),
    _F("identity-feature-enabled", "immutable_user_source", False,
       "users are created in the catalog (dynamic credentials need that)"),
    # -- compute ----------------------------------------------------------------------------
    _F("compute-feature-enabled", "disk_config", False,
       "OS-DCF:diskConfig is always MANUAL; its tests need rebuild and resize"),
    _F("compute-feature-enabled", "hostname_fqdn_sanitization", False,
       "no OS-EXT-SRV-ATTR:hostname sanitizing"),
    _F("compute-feature-enabled", "change_password", False, "no changePassword action"),
    _F("compute-feature-enabled", "console_output", True,
       "os-getConsoleOutput returns the guest's serial console log"),
    _F("compute-feature-enabled", "resize", False, "no resize"),
    _F("compute-feature-enabled", "pause", True, "pause/unpause (libvirt suspends the vCPUs)"),
    _F("compute-feature-enabled", "shelve", False, "no shelve/unshelve"),
    _F("compute-feature-enabled", "shelve_migrate", False, "no shelve, no migration"),
    _F("compute-feature-enabled", "suspend", True,
       "suspend/resume (libvirt managed save: the RAM goes to disk)"),
    _F("compute-feature-enabled", "cold_migration", False, "no migration"),
    _F("compute-feature-enabled", "live_migration", False, "no migration"),
    _F("compute-feature-enabled", "live_migrate_back_and_forth", False, "no migration"),
    _F("compute-feature-enabled", "block_migration_for_live_migration", False,
       "no migration"),
    _F("compute-feature-enabled", "volume_backed_live_migration", False, "no migration"),
    _F("compute-feature-enabled", "can_migrate_between_any_hosts", False, "no migration"),
    _F("compute-feature-enabled", "vtpm_live_migration", False, "no migration, no vTPM"),
    _F("compute-feature-enabled", "metadata_service", False,
       "no metadata service (guests have no network)"),
    _F("compute-feature-enabled", "vnc_console", False, "no remote consoles"),
    _F("compute-feature-enabled", "spice_console", False, "no remote consoles"),
    _F("compute-feature-enabled", "serial_console", False,
       "no remote consoles (the serial log is console_output)"),
    _F("compute-feature-enabled", "rescue", True,
       "rescue/unrescue (the image as vda, the server's disk as vdb)"),
    _F("compute-feature-enabled", "stable_rescue", False,
       "no stable device rescue (hw_rescue_bus/hw_rescue_device are ignored)"),
    _F("compute-feature-enabled", "enable_instance_password", True,
       "create returns adminPass (Nova's response shape with this on), though always empty: "
       "no password reaches the guest"),
    _F("compute-feature-enabled", "interface_attach", False, "no networking service"),
    _F("compute-feature-enabled", "snapshot", True,
       "createImage snapshots a server into a new image"),
    _F("compute-feature-enabled", "personality", False, "no file injection"),
    _F("compute-feature-enabled", "attach_encrypted_volume", False, "no volume encryption"),
    _F("compute-feature-enabled", "config_drive", False,
       "config drives are given, but Tempest reads them in the guest over SSH (no networking)"),
    _F("compute-feature-enabled", "scheduler_enabled_filters",
       ["ComputeFilter", "AvailabilityZoneFilter", "ServerGroupAffinityFilter",
        "ServerGroupAntiAffinityFilter", "SameHostFilter", "DifferentHostFilter"],
       "up, enabled hosts of the zone with room; server groups and the same_host/"
       "different_host hints (compute/scheduler.py)"),
    _F("compute-feature-enabled", "swap_volume", False, "no volume swap"),
    _F("compute-feature-enabled", "volume_multiattach", False,
       "multiattach volumes are refused"),
    _F("compute-feature-enabled", "ide_bus", True,
       "hw_disk_bus=ide gives hd* disks (only rescue tests ask)"),
    _F("compute-feature-enabled", "unified_limits", False,
       "quotas are per service (os-quota-sets), no Keystone limits"),
    _F("compute-feature-enabled", "nova_policy_roles", ["admin", "member", "reader"],
       "the roles minicloud's policies use"),
    # -- image ------------------------------------------------------------------------------
    _F("image-feature-enabled", "api_v2", True, "Glance v2"),
    _F("image-feature-enabled", "import_image", True,
       "interoperable import: glance-direct and web-download"),
    _F("image-feature-enabled", "os_glance_reserved", True,
       "os_glance_* properties are the cloud's own"),
    _F("image-feature-enabled", "manage_locations", False, "no multiple-locations API"),
    _F("image-feature-enabled", "image_conversion", False,
       "conversion on import is off by default ([image] convert_to empty)"),
    _F("image-feature-enabled", "image_format_enforcement", True,
       "uploads are inspected; a format other than disk_format is refused"),
    _F("image-feature-enabled", "do_secure_hash", True, "os_hash_algo sha512 on every upload"),
    _F("image-feature-enabled", "http_store_enabled", False, "one file store"),
    _F("image-feature-enabled", "store_weight_enabled", False, "one file store"),
    _F("image", "image_caching_enabled", True,
       "Glance's image cache and its admin API (the cloud runs with [image] cache_enabled "
       "and a 5 s cache_prefetcher_interval, so a queued image is cached within Tempest's "
       "build_timeout)"),
    # -- volume -----------------------------------------------------------------------------
    _F("volume-feature-enabled", "multi_backend", False, "one backend (sparse files)"),
    _F("volume-feature-enabled", "backup", True, "backups to the posix-like store"),
    _F("volume-feature-enabled", "snapshot", True,
       "snapshots (reflink-or-sparse copies of the volume file), volumes from snapshots"),
    _F("volume-feature-enabled", "clone", True, "volumes from a source volume (source_volid)"),
    _F("volume-feature-enabled", "manage_snapshot", False, "no manage/unmanage"),
    _F("volume-feature-enabled", "manage_volume", False, "no manage/unmanage"),
    _F("volume-feature-enabled", "replication", False, "no replication"),
    _F("volume-feature-enabled", "api_extensions",
       ["os-availability-zone", "os-volume-actions", "os-quota-sets", "os-services",
        "os-quota-class-sets", "os-types-manage", "os-types-extra-specs",
        "os-volume-type-access", "os-volume-transfer", "qos-specs", "backups",
        "os-extended-snapshot-attributes", "os-snapshot-actions"],
       "GET /extensions lists what the API does (volumes/api.py EXTENSIONS)"),
    _F("volume-feature-enabled", "extend_attached_volume", False,
       "os-extend only on an available volume"),
    _F("volume-feature-enabled", "extend_attached_encrypted_volume", False,
       "no encryption; no extend while attached"),
    _F("volume-feature-enabled", "extend_volume_with_snapshot", True,
       "a snapshot is an independent copy: the volume extends as any other"),
    _F("volume-feature-enabled", "enable_volume_image_dep_tests", True,
       "volumes from snapshots are independent copies; volume upload to image and server "
       "snapshots exist"),
    # -- networking and object storage: not offered ------------------------------------------
    _F("network-feature-enabled", "ipv6", False, "no networking service"),
    _F("network-feature-enabled", "api_extensions", [], "no networking service"),
    _F("network-feature-enabled", "available_features", [], "no networking service"),
    _F("network-feature-enabled", "ipv6_subnet_attributes", False, "no networking service"),
    _F("network-feature-enabled", "port_admin_state_change", False, "no networking service"),
    _F("network-feature-enabled", "port_security", False, "no networking service"),
    _F("network-feature-enabled", "floating_ips", False, "no networking service"),
    _F("network-feature-enabled", "qos_min_bw_and_pps", False, "no networking service"),
    _F("object-storage-feature-enabled", "discoverable_apis", [], "no object storage"),
    _F("object-storage-feature-enabled", "container_sync", False, "no object storage"),
    _F("object-storage-feature-enabled", "object_versioning", False, "no object storage"),
    _F("object-storage-feature-enabled", "discoverability", False, "no object storage"),
    # -- policy scope -----------------------------------------------------------------------
    _F("enforce_scope", "keystone", False,
       "Tempest's identity admin uses a project-scoped admin token (system and domain scopes "
       "exist: docs/identity.md)"),
    _F("enforce_scope", "nova", False, "no system scope"),
    _F("enforce_scope", "glance", False, "no system scope"),
    _F("enforce_scope", "cinder", False, "no system scope"),
    _F("enforce_scope", "neutron", False, "no networking service"),
    _F("enforce_scope", "placement", False, "no placement API"),
)


def markdown_table() -> str:
    """The table as Markdown (for docs/conformance.md)."""
    rows = ["| section | option | value | why |", "| --- | --- | --- | --- |"]
    rows += [f"| `{f.section}` | `{f.option}` | `{f.ini_value() or '(none)'}` | {f.reason} |"
             for f in FEATURES]
    return "\n".join(rows) + "\n"
