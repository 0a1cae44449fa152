"""Configuration: every option declared once (type, default, help), loaded in one order.

Load order: declared defaults < ``minicloud.conf`` (INI, in the state directory) <
``MINICLOUD_<SECTION>_<KEY>`` environment variables < explicit overrides (CLI flags).
The configuration is passed explicitly to whoever needs it; nothing reads a global.
"""
from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from minicloud.errors import ConfigError

CONF_FILE = "minicloud.conf"


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _size(text: str) -> int:
    """Bytes, with an optional K/M/G/T suffix (powers of 1024)."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    for i, suffix in enumerate("KMGT", start=1):
        if text.endswith(suffix):
            text, mult = text[:-1], 1024 ** i
    value = int(text) * mult
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be between 0 and 65535")
    return value


@dataclass(frozen=True)
class Option:
    section: str
    key: str
    type: str  # "str" | "int" | "bool" | "port" | "size" | "float"
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"MINICLOUD_{self.section.upper()}_{self.key.upper()}"


PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str, "int": int, "bool": _bool, "port": _port, "size": _size, "float": float,
}

OPTIONS: tuple[Option, ...] = (
    # Where the services listen and how they name themselves in the catalog.
    Option("DEFAULT", "bind_host", "str", "127.0.0.1", "Address every API service listens on."),
    Option("DEFAULT", "public_host", "str", "127.0.0.1",
           "Host name or address written into the service catalog's endpoint URLs."),
    Option("DEFAULT", "region", "str", "RegionOne", "Region name of every catalog endpoint."),
    Option("DEFAULT", "log_level", "str", "INFO", "Log level of the services (DEBUG, INFO, ...)."),
    Option("DEFAULT", "workers", "int", 1, "WSGI worker processes per API service."),
    Option("DEFAULT", "threads", "int", 8, "Threads per WSGI worker (concurrent requests)."),
    Option("DEFAULT", "max_request_body_size", "size", "112K",
           "Largest JSON request body a service reads (oslo.middleware's default); larger: 413. "
           "Image data uploads are limited by `[image] max_image_size` instead."),
    Option("DEFAULT", "keepalive", "int", 75,
           "Seconds an idle HTTP keep-alive connection stays open (longer than clients' polling "
           "intervals, so a reused connection is never closed under a client's request)."),
    Option("DEFAULT", "client_timeout", "float", 30.0,
           "Seconds a client may take to send a request's line and headers, or between two "
           "reads of its body, before the connection is closed (slow clients cannot hold every "
           "worker thread)."),
    Option("DEFAULT", "start_timeout", "float", 30.0,
           "Seconds `minicloud up` waits for each service to answer its health check."),
    Option("database", "connection", "str", "",
           "SQLAlchemy URL of the shared catalog. Empty: SQLite file `minicloud.db` in the "
           "state directory."),
    Option("database", "busy_timeout", "int", 30000,
           "Milliseconds an SQLite writer waits for the lock before failing."),
    Option("identity", "port", "port", 5000, "Port of the identity API (Keystone v3)."),
    Option("identity", "token_expiration", "int", 3600, "Lifetime of a token in seconds."),
    Option("identity", "admin_user", "str", "admin", "Name of the bootstrap admin user."),
    Option("identity", "admin_project", "str", "admin", "Name of the bootstrap admin project."),
    Option("policy", "file", "str", "policy.yaml",
           "Operator policy overrides (YAML, OpenStack rule syntax). Relative paths are taken "
           "from the state directory; a missing file means the defaults alone."),
    Option("image", "port", "port", 9292, "Port of the image API (Glance v2)."),
    Option("image", "max_image_size", "size", "10G",
           "Largest image upload or import accepted, in bytes (K/M/G suffixes allowed)."),
    Option("image", "chunk_size", "size", "1M", "Size of the chunks images are streamed in."),
    Option("image", "property_protection_file", "str", "",
           "Property protections file (INI). Empty: protections off. A configured file that is "
           "missing or malformed stops the image service from starting."),
    Option("image", "property_protection_rule_format", "str", "roles",
           "How the protections file names who may act: `roles` (or `policies`)."),
    Option("image", "enabled_import_methods", "str", "glance-direct,web-download",
           "Comma-separated interoperable import methods offered by `/v2/info/import`."),
    Option("image", "convert_to", "str", "",
           "Import conversion plugin: `raw` converts imported qcow2 images to raw with "
           "qemu-img; empty disables conversion."),
    Option("image", "web_download_timeout", "float", 60.0,
           "Seconds a web-download import may wait on the remote server."),
    Option("image", "web_download_deadline", "float", 300.0,
           "Seconds a whole web-download may take (connecting, redirects and every byte); "
           "a server that trickles its data is cut off and the import fails."),
    Option("image", "task_time_to_live", "int", 48,
           "Hours a finished task (`/v2/tasks`, one per import) is kept before it is "
           "removed (Glance's `[task] task_time_to_live`)."),
    Option("image", "web_download_allowed_ports", "str", "80,443",
           "Ports a web-download URL (and every redirect it follows) may use, comma-separated; "
           "empty allows any. As Glance's `[import_filtering_opts] allowed_ports`: it keeps "
           "imports away from the cloud's own APIs and other local services."),
    Option("image", "web_download_disallowed_hosts", "str", "",
           "Host names, IP addresses or networks (`127.0.0.0/8`) a web-download URL (or a "
           "redirect) may not reach, comma-separated (Glance's `disallowed_hosts`). Compared by "
           "resolved address: `127.1` or `[::ffff:127.0.0.1]` is 127.0.0.1, and a host name "
           "also refuses the addresses it resolves to."),
    Option("image", "validate_properties_with_metadefs", "bool", False,
           "Refuse (400) an image create or update whose property a metadata definition "
           "associated with `OS::Glance::Image` defines and whose value breaks that "
           "definition's type or allowed values (`docs/images.md`, metadata definitions)."),
    Option("image", "show_direct_url", "bool", True,
           "Expose the store location (`direct_url`, a file path: no credentials) of images to "
           "admins only, so the compute and volume agents on the same host read the store "
           "instead of the API. Glance's default is off; set false to hide it."),
    Option("image", "inspect_cpu_seconds", "int", 8,
           "CPU-time limit of qemu-img on untrusted images (hardening: CVE-2015-5162)."),
    Option("image", "cache_enabled", "bool", False,
           "Image cache on the image API (Glance's `flavor = keystone+cachemanagement`): "
           "downloads leave a verified copy in `image_cache_dir` and later ones are served "
           "from it; the admin cache API (`openstack cached image ...`, API 2.14/2.16) and "
           "the prefetcher run."),
    Option("image", "image_cache_dir", "str", "image-cache",
           "Directory of the image cache (0700; relative paths are taken from the state "
           "directory)."),
    Option("image", "image_cache_max_size", "size", "10G",
           "Size the image cache is pruned to (least recently used entries first); a larger "
           "image is never cached."),
    Option("image", "image_cache_stall_time", "int", 86400,
           "Seconds after which a partly written cache file (a crashed download) is removed."),
    Option("image", "cache_prefetcher_interval", "int", 300,
           "Seconds between the prefetcher's rounds (caching queued images, removing stalled "
           "files, pruning); 0 turns the prefetcher off."),
    Option("image", "disk_formats", "str", "ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop",
           "Disk formats an image may declare (Glance's `[image_format] disk_formats`; the "
           "seeds' `GlanceDiskFormats`): comma-separated, some of Glance's defaults. Others are "
           "refused (400) and `/v2/schemas/image` lists only these."),
    Option("image", "container_formats", "str", "ami,ari,aki,bare,ovf,ova,docker,compressed",
           "Container formats an image may declare (Glance's `[image_format] "
           "container_formats`): comma-separated, some of Glance's defaults."),
    Option("image", "image_import_plugins", "str", "",
           "Import plugins run on every interoperable import, in order (Glance's "
           "`[image_import_opts] image_import_plugins`): `inject_image_metadata` (see "
           "`[inject_metadata_properties]`). Conversion is `[image] convert_to`."),
    Option("inject_metadata_properties", "ignore_user_roles", "str", "admin",
           "Roles whose imports get no injected properties (comma-separated), as Glance's "
           "option of the same name."),
    Option("inject_metadata_properties", "inject", "str", "",
           "Properties the `inject_image_metadata` import plugin sets on imported images: "
           "`key:value,key2:value2` (Glance's option of the same name)."),
    Option("compute", "port", "port", 8774, "Port of the compute API (Nova v2.1)."),
    Option("compute", "host", "str", "",
           "Name this host's compute agent registers under. Empty: the machine's hostname."),
    Option("compute", "driver", "str", "libvirt",
           "Virt driver of the compute agent: `libvirt` (real guests) or `fake` (tests)."),
    Option("compute", "connection_uri", "str", "qemu:///system",
           "libvirt connection URI of the compute agent."),
    Option("compute", "virt_type", "str", "qemu",
           "Domain type: `qemu` (software emulation, the only one that works where KVM "
           "hangs) or `kvm`. Never guessed."),
    Option("compute", "instances_path", "str", "instances",
           "Where instance directories and the `_base/` image cache live (relative: in the "
           "state directory)."),
    Option("compute", "uefi_loader", "str", "/usr/share/OVMF/OVMF_CODE_4M.fd",
           "OVMF firmware code for `hw_firmware_type=uefi` images (the seeds' "
           "`/usr/share/OVMF/OVMF_CODE.fd` is accepted too)."),
    Option("compute", "shutdown_timeout", "float", 60.0,
           "Seconds `server stop` waits for a clean (ACPI) shutdown before powering off."),
    Option("compute", "detach_timeout", "float", 30.0,
           "Seconds a volume detach waits for the running guest to release the disk."),
    Option("compute", "quota_instances", "int", 10, "Servers per project (-1: unlimited)."),
    Option("compute", "quota_cores", "int", 20, "vCPUs per project (-1: unlimited)."),
    Option("compute", "quota_ram", "int", 51200, "MiB of RAM per project (-1: unlimited)."),
    Option("compute", "volume_create_timeout", "float", 600.0,
           "Seconds a boot from an image onto a new volume waits for that volume to be "
           "made (the image converted into it) before the build fails."),
    Option("compute", "vcpus", "int", 0, "vCPUs this host offers. 0: the machine's count."),
    Option("compute", "memory_mib", "int", 0,
           "RAM this host offers, in MiB. 0: the machine's RAM less `reserved_memory_mib`."),
    Option("compute", "reserved_memory_mib", "int", 512, "RAM kept for the host, in MiB."),
    Option("compute", "disk_gb", "int", 0,
           "Disk this host offers for instances, in GB. 0: free space of `instances_path`."),
    Option("compute", "cpu_allocation_ratio", "float", 16.0,
           "Virtual CPUs scheduled per physical CPU (Nova's long-time default, 16: lab guests "
           "are tiny and mostly idle)."),
    Option("compute", "image_cache_max_age", "int", 86400,
           "Seconds an unused base image stays in `_base/` before the cache manager removes it."),
    Option("compute", "periodic_interval", "float", 10.0,
           "Seconds between the agent's periodic tasks (power-state sync, image cache)."),
    Option("compute", "reclaim_instance_interval", "float", 0.0,
           "Seconds a deleted server stays SOFT_DELETED (powered off, disks and claim kept; "
           "`restore` brings it back) before the agent reclaims it. 0: delete at once."),
    Option("compute", "use_direct_url", "bool", True,
           "Copy base images straight from the image store when it is on this host (the "
           "seeds' `filesystems` option); else stream them over the image API."),
    Option("compute", "verify_glance_signatures", "bool", False,
           "Verify a signed image's data against its `img_signature*` properties before a "
           "server boots from it (Nova's `[glance] verify_glance_signatures`); an image "
           "without the four properties, or whose signature does not verify, puts the "
           "server in ERROR."),
    Option("compute", "enable_certificate_validation", "bool", False,
           "Also validate the image's signing certificate against the trusted certificates "
           "(`trusted_image_certificates`, else `default_trusted_certificate_ids`), as "
           "Nova's `[glance] enable_certificate_validation`."),
    Option("compute", "default_trusted_certificate_ids", "str", "",
           "Comma-separated key manager ids of the certificates trusted when a server "
           "names none (Nova's `[glance] default_trusted_certificate_ids`)."),
    Option("compute", "force_config_drive", "bool", False,
           "Give every new server a config drive (its metadata, keys and user data on a "
           "drive labelled `config-2`), as if it were created with `config_drive: true`."),
    Option("compute", "config_drive_format", "str", "iso9660",
           "File system of config drives: `iso9660` (a read-only CD-ROM) or `vfat` (a disk)."),
    Option("key_manager", "port", "port", 9311,
           "Port of the key manager API (Barbican v1 secrets; certificates of signed images)."),
    Option("volume", "port", "port", 8776, "Port of the volume API (Cinder v3)."),
    Option("volume", "host", "str", "",
           "Name this host's volume agent registers under. Empty: the machine's hostname."),
    Option("volume", "driver", "str", "file",
           "Volume backend (where the bytes live): `file` (a sparse file per volume under "
           "`volumes_path`) or `fake` (in memory, tests)."),
    Option("volume", "target_helper", "str", "tgtadm",
           "iSCSI target (how volumes are exported): `tgtadm` (the host's tgtd) or `fake` "
           "(nothing exported, tests)."),
    Option("volume", "volumes_path", "str", "volumes",
           "Where the file backend keeps volume files (relative: in the state directory)."),
    Option("volume", "iscsi_ip_address", "str", "127.0.0.1",
           "Address compute connects to for iSCSI (the seeds' `my_block_storage_ip`)."),
    Option("volume", "iscsi_port", "port", 3260, "Port of the iSCSI portal (tgtd's)."),
    Option("volume", "bind_initiator", "bool", False,
           "Admit the initiator name compute's connector gives (besides CHAP); off: admit the "
           "address of the compute host the volume is exported to (its connector's `ip`, else "
           "this host's address towards the portal). Initiator names are not authenticated: "
           "CHAP is the control."),
    Option("volume", "quota_volumes", "int", 10, "Volumes per project (-1: unlimited)."),
    Option("volume", "storage_availability_zone", "str", "nova",
           "Availability zone of this cloud's volumes: new volumes are in it and the volume "
           "API lists it (Cinder's option of the same name)."),
    Option("volume", "default_group_type", "str", "",
           "Name of the group type `GET /group_types/default` answers (Cinder's "
           "`default_group_type`); empty: there is none (404)."),
    Option("volume", "quota_gigabytes", "int", 100,
           "Gigabytes of volumes per project (-1: unlimited)."),
    Option("volume", "task_timeout", "float", 60.0,
           "Seconds the API waits for the agent to export or unexport a volume."),
    Option("volume", "service_down_time", "float", 60.0,
           "Seconds after its last heartbeat a volume agent counts as down (new volumes go "
           "to `error` when no agent is up)."),
    Option("volume", "periodic_interval", "float", 10.0,
           "Seconds between the agent's periodic tasks (heartbeat, re-export after a tgtd "
           "restart)."),
    Option("volume", "convert_cpu_seconds", "int", 600,
           "CPU-time limit of `qemu-img convert` when a volume is made from an image."),
    Option("volume", "backup_path", "str", "backups",
           "Where volume backups are kept (relative: in the state directory): one directory "
           "per container, as Cinder's posix backup driver."),
    Option("volume", "backup_chunk_size", "int", 32 * 1024 * 1024,
           "Bytes per backup chunk (each compressed, hashed and, in an incremental backup, "
           "skipped when unchanged). 32 MiB: 32 objects per GiB keep the per-object cost "
           "negligible and a chunk's buffers small, while a small change still re-stores "
           "little."),
    Option("volume", "use_direct_url", "bool", True,
           "Make volumes from images by converting straight from the image store's file when "
           "the image service shows it (`[image] show_direct_url`) and it is in this cloud's "
           "store on this host; else download the image over the image API first."),
    Option("volume", "message_ttl", "int", 2592000,
           "Seconds a user message (`openstack volume message list`) is kept before the "
           "volume agents' periodic task removes it (Cinder's option of the same name: 30 "
           "days)."),
)

_INDEX = {(o.section, o.key): o for o in OPTIONS}


def default_state_dir() -> Path:
    """`/var/lib/minicloud` as root, `$XDG_DATA_HOME/minicloud` otherwise."""
    if os.environ.get("MINICLOUD_STATE_DIR"):
        return Path(os.environ["MINICLOUD_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/minicloud")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "minicloud"


def _parse(opt: Option, raw: Any, origin: str) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return PARSERS[opt.type](raw)
    except ValueError as exc:
        raise ConfigError(f"{origin}: [{opt.section}] {opt.key} = {raw!r}: {exc}") from None


class Config:
    """Typed, read-only view of all options: ``conf.image.port``, ``conf.DEFAULT.bind_host``."""

    def __init__(self, state_dir: Path, values: Mapping[tuple[str, str], Any]) -> None:
        self.state_dir = Path(state_dir)
        self._values = dict(values)
        sections: dict[str, dict[str, Any]] = {}
        for (section, key), value in self._values.items():
            sections.setdefault(section, {})[key] = value
        for section, items in sections.items():
            setattr(self, section, SimpleNamespace(**items))

    @classmethod
    def load(cls, state_dir: Path | str | None = None,
             overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Config:
        """Read defaults, then the INI file, then the environment, then ``overrides``.

        ``overrides`` maps ``"section.key"`` to a value (typed or text).
        """
        state = Path(state_dir) if state_dir else default_state_dir()
        environ = os.environ if environ is None else environ
        values = {(o.section, o.key): _parse(o, o.default, "default") for o in OPTIONS}
        path = state / CONF_FILE
        if path.exists():
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(path)
            except configparser.Error as exc:
                raise ConfigError(f"{path}: {exc}") from None
            for section in ["DEFAULT", *parser.sections()]:
                items = parser.defaults() if section == "DEFAULT" else {
                    k: v for k, v in parser.items(section) if k not in parser.defaults()}
                for key, raw in items.items():
                    opt = _INDEX.get((section, key))
                    if opt is None:
                        raise ConfigError(f"{path}: unknown option [{section}] {key}")
                    values[(section, key)] = _parse(opt, raw, str(path))
        for opt in OPTIONS:
            if opt.env in environ:
                values[(opt.section, opt.key)] = _parse(opt, environ[opt.env], opt.env)
        for dotted, raw in (overrides or {}).items():
            section, _, key = dotted.rpartition(".")
            opt = _INDEX.get((section or "DEFAULT", key))
            if opt is None:
                raise ConfigError(f"unknown option {dotted}")
            values[(opt.section, opt.key)] = _parse(opt, raw, "command line")
        return cls(state, values)

    @property
    def database_url(self) -> str:
        return self.database.connection or f"sqlite:///{self.state_dir / 'minicloud.db'}"

    def path(self, name: str) -> Path:
        """A path inside the state directory (relative names), or ``name`` if absolute."""
        return Path(name) if os.path.isabs(name) else self.state_dir / name


def reference_markdown() -> str:
    """The configuration reference of ``docs/configuration.md`` (a test keeps them equal)."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from minicloud/config.py by `minicloud config reference`; "
        "a test checks it is current. -->",
        "",
        f"minicloud reads `{CONF_FILE}` (INI) from the state directory. Load order: defaults, "
        "then the file, then `MINICLOUD_<SECTION>_<KEY>` environment variables, then command-line "
        "flags. Unknown options and bad values are refused with the file, option and value named.",
        "",
        "The state directory itself is `/var/lib/minicloud` as root, `$XDG_DATA_HOME/minicloud` "
        "otherwise, overridden by `MINICLOUD_STATE_DIR` or `--state-dir`.",
        "",
    ]
    section = None
    for opt in OPTIONS:
        if opt.section != section:
            section = opt.section
            lines += [f"## [{section}]", "", "| option | type | default | environment | help |",
                      "| --- | --- | --- | --- | --- |"]
        default = f"`{opt.default}`" if opt.default != "" else "(empty)"
        lines.append(f"| `{opt.key}` | {opt.type} | {default} | `{opt.env}` | {opt.help} |")
        if opt is OPTIONS[-1] or OPTIONS[OPTIONS.index(opt) + 1].section != section:
            lines.append("")
    return "\n".join(lines)
