"""``Host`` and ``Guest``: the only code in minicloud that talks to libvirt.

libvirt is imported lazily (the rest of minicloud imports without libvirt-python), and every
``libvirt.libvirtError`` leaves this module translated: :class:`~minicloud.errors.NotFound`
for a missing domain or secret, :class:`~minicloud.errors.ServiceUnavailable` when the
connection cannot be opened, else :class:`~minicloud.errors.MinicloudError` carrying
libvirt's message (and its error code as ``extra["libvirt_code"]``).
Remove-style methods (``destroy``, ``undefine``, ``detach_disk``, ``remove_secret``)
tolerate "already gone".
"""
from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from types import ModuleType, TracebackType
from typing import Any, TypeVar

from compute import states
from compute.virt.config import METADATA_NS, DomainConfig, FileDisk, NetworkDisk, SecretConfig
from minicloud.errors import MinicloudError, NotFound, ServiceUnavailable

T = TypeVar("T")


@functools.cache
def _libvirt() -> ModuleType:
    try:
        import libvirt
    except ImportError:
        raise ServiceUnavailable("libvirt-python is not installed (pip install "
                                 "'minicloud[virt]')") from None
    # libvirt prints every error on stderr by default; they all reach callers as exceptions.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def _translate(exc: Exception, what: str) -> MinicloudError:
    lv = _libvirt()
    code = exc.get_error_code()  # type: ignore[attr-defined]
    message = f"{what}: {exc.get_error_message() or exc}"  # type: ignore[attr-defined]
    if code in (lv.VIR_ERR_NO_DOMAIN, lv.VIR_ERR_NO_SECRET):
        return NotFound(message, libvirt_code=code)
    return MinicloudError(message, libvirt_code=code)


def _call(what: str, fn: Callable[..., T], *args: Any, tolerate: Iterable[int] = ()
          ) -> T | None:
    """``fn(*args)``; a libvirt error whose code is in ``tolerate`` gives None, others raise."""
    lv = _libvirt()
    try:
        return fn(*args)
    except lv.libvirtError as exc:
        if exc.get_error_code() in set(tolerate):
            return None
        raise _translate(exc, what) from exc


def _power_states() -> dict[int, int]:
    lv = _libvirt()
    return {
        lv.VIR_DOMAIN_NOSTATE: states.NOSTATE,
        lv.VIR_DOMAIN_RUNNING: states.RUNNING,
        lv.VIR_DOMAIN_BLOCKED: states.RUNNING,   # Xen-only: waiting on a resource
        lv.VIR_DOMAIN_PAUSED: states.PAUSED,
        lv.VIR_DOMAIN_SHUTDOWN: states.SHUTDOWN,  # being shut down: Nova says SHUTDOWN too
        lv.VIR_DOMAIN_SHUTOFF: states.SHUTDOWN,
        lv.VIR_DOMAIN_CRASHED: states.CRASHED,
        lv.VIR_DOMAIN_PMSUSPENDED: states.SUSPENDED,
    }


def _find_disk(domain_xml: str, target_dev: str) -> str | None:
    """The ``<disk>`` element whose target is ``target_dev``, as XML, or None."""
    for disk in ET.fromstring(domain_xml).iterfind("./devices/disk"):
        target = disk.find("target")
        if target is not None and target.get("dev") == target_dev:
            return ET.tostring(disk, encoding="unicode")
    return None


class Guest:
    """One libvirt domain. Methods raise NotFound once the domain is gone, unless stated."""

    def __init__(self, domain: Any) -> None:
        self._domain = domain
        self.uuid: str = domain.UUIDString()
        self.name: str = domain.name()

    def __repr__(self) -> str:
        return f"Guest({self.name!r})"

    def _is_active(self) -> bool:
        return bool(_call(f"state of {self.name}", self._domain.isActive))

    def xml(self) -> str:
        """The live domain XML (the persistent one when shut off)."""
        return _call(f"XML of {self.name}", self._domain.XMLDesc, 0) or ""

    def definition(self) -> str:
        """The persistent domain XML (what :meth:`Host.define_xml` takes back)."""
        lv = _libvirt()
        return _call(f"XML of {self.name}", self._domain.XMLDesc,
                     lv.VIR_DOMAIN_XML_INACTIVE) or ""

    def start(self) -> None:
        """Start the guest; no-op when it already runs."""
        if not self._is_active():
            _call(f"start {self.name}", self._domain.create)

    def shutdown(self) -> None:
        """Ask the guest to power off (ACPI power button) and return at once.

        Flags 0: without a guest agent channel QEMU's only method is ACPI (and libvirt's
        test driver rejects the explicit ACPI flag). No-op when the guest is not running.
        """
        lv = _libvirt()
        if self._is_active():
            _call(f"shut down {self.name}", self._domain.shutdownFlags, 0,
                  tolerate=[lv.VIR_ERR_OPERATION_INVALID])

    def destroy(self) -> None:
        """Power off at once (pull the plug). Tolerates a guest already off or gone."""
        lv = _libvirt()
        _call(f"destroy {self.name}", self._domain.destroy,
              tolerate=[lv.VIR_ERR_OPERATION_INVALID, lv.VIR_ERR_NO_DOMAIN])

    def undefine(self) -> None:
        """Remove the definition and the UEFI NVRAM file. Tolerates a guest already gone.

        A running guest keeps running as a transient domain: call :meth:`destroy` first.
        """
        lv = _libvirt()
        gone = [lv.VIR_ERR_NO_DOMAIN]
        xml = _call(f"XML of {self.name}", self._domain.XMLDesc,
                    lv.VIR_DOMAIN_XML_INACTIVE, tolerate=gone)
        if xml is None:
            return
        # Only ask for NVRAM removal when there is one: not every driver knows the flag.
        has_nvram = ET.fromstring(xml).find("./os/nvram") is not None
        flags = lv.VIR_DOMAIN_UNDEFINE_NVRAM if has_nvram else 0
        if self.has_saved_state():  # a suspended guest's memory image goes with it
            flags |= lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        _call(f"undefine {self.name}", self._domain.undefineFlags, flags, tolerate=gone)

    def power_state(self) -> int:
        """Nova's power state (see :mod:`compute.states`): shut off maps to SHUTDOWN."""
        info = _call(f"state of {self.name}", self._domain.state)
        return _power_states().get(info[0], states.NOSTATE) if info else states.NOSTATE

    def reboot(self, hard: bool) -> None:
        """Soft: ask the guest (ACPI) and return at once. Hard: destroy, then start.

        A hard reboot starts a shut-off guest and applies its persistent definition.
        """
        if hard:
            self.destroy()
            self.start()
        else:
            _call(f"reboot {self.name}", self._domain.reboot, 0)

    def pause(self) -> None:
        """Freeze the running guest's vCPUs (it stays in memory: PAUSED)."""
        _call(f"pause {self.name}", self._domain.suspend)

    def unpause(self) -> None:
        _call(f"unpause {self.name}", self._domain.resume)

    def save(self) -> None:
        """Managed save: the guest's memory goes to libvirt's save image and the domain
        stops; the next :meth:`start` restores it where it was."""
        _call(f"save {self.name}", self._domain.managedSave, 0)

    def has_saved_state(self) -> bool:
        lv = _libvirt()
        return bool(_call(f"saved state of {self.name}", self._domain.hasManagedSaveImage, 0,
                          tolerate=[lv.VIR_ERR_NO_DOMAIN, lv.VIR_ERR_NO_SUPPORT]))

    def discard_saved_state(self) -> None:
        """Drop the managed save image (the next start boots afresh); tolerates none."""
        if self.has_saved_state():
            _call(f"discard saved state of {self.name}", self._domain.managedSaveRemove, 0)

    def attach_disk(self, disk: FileDisk | NetworkDisk, live: bool) -> None:
        """Add ``disk`` to the definition and, when ``live`` and running, to the guest."""
        lv = _libvirt()
        flags = lv.VIR_DOMAIN_AFFECT_CONFIG
        if live and self._is_active():
            flags |= lv.VIR_DOMAIN_AFFECT_LIVE
        _call(f"attach {disk.target_dev} to {self.name}", self._domain.attachDeviceFlags,
              disk.to_xml(), flags)

    def detach_disk(self, target_dev: str, live: bool) -> None:
        """Remove disk ``target_dev`` from the definition and, when ``live``, from the guest.

        Tolerates a disk already absent from either. A live detach is a request the guest
        completes asynchronously (PCI unplug): the disk may linger in :meth:`xml` briefly.
        """
        lv = _libvirt()
        what = f"detach {target_dev} from {self.name}"
        missing = [lv.VIR_ERR_DEVICE_MISSING, lv.VIR_ERR_OPERATION_INVALID]
        # Definition and live guest may differ, so each is searched and changed on its own.
        persistent = _call(what, self._domain.XMLDesc, lv.VIR_DOMAIN_XML_INACTIVE) or ""
        device = _find_disk(persistent, target_dev)
        if device is not None:
            _call(what, self._domain.detachDeviceFlags, device, lv.VIR_DOMAIN_AFFECT_CONFIG,
                  tolerate=missing)
        if live and self._is_active():
            device = _find_disk(self.xml(), target_dev)
            if device is not None:
                _call(what, self._domain.detachDeviceFlags, device, lv.VIR_DOMAIN_AFFECT_LIVE,
                      tolerate=missing)

    def has_disk(self, target_dev: str) -> bool:
        """Whether the live guest (its definition when off) still has disk ``target_dev``."""
        return _find_disk(self.xml(), target_dev) is not None

    def cloud_id(self) -> str | None:
        """The cloud id in minicloud's metadata; None for a domain minicloud did not define."""
        lv = _libvirt()
        text = _call(f"metadata of {self.name}", self._domain.metadata,
                     lv.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS,
                     tolerate=[lv.VIR_ERR_NO_DOMAIN_METADATA])
        if text is None:
            return None
        # libvirt returns the element without its prefix; match local names either way.
        for element in ET.fromstring(text).iter():
            if element.tag.rpartition("}")[2] == "cloud":
                return element.get("id")
        return None


class Host:
    """A libvirt connection (opened on first use) and the guests and secrets behind it.

    ``test:///default`` keeps its state per connection: one Host, one simulated hypervisor.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._conn: Any = None

    def __enter__(self) -> Host:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _connection(self) -> Any:
        if self._conn is None:
            lv = _libvirt()
            try:
                self._conn = lv.open(self.uri)
            except lv.libvirtError as exc:
                raise ServiceUnavailable(f"cannot connect to libvirt at {self.uri}: "
                                         f"{exc.get_error_message() or exc}") from exc
        return self._conn

    def close(self) -> None:
        """Close the connection (idempotent; the next call reconnects)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            _call(f"close {self.uri}", conn.close)

    def define(self, config: DomainConfig) -> Guest:
        """Define (create or update) the persistent domain ``config`` describes."""
        domain = _call(f"define {config.name}", self._connection().defineXML, config.to_xml())
        return Guest(domain)

    def define_xml(self, xml: str) -> Guest:
        """Define a domain from XML a guest gave earlier (:meth:`Guest.definition`)."""
        return Guest(_call("define domain", self._connection().defineXML, xml))

    def lookup(self, uuid: str) -> Guest | None:
        """The guest whose domain UUID is ``uuid``, or None."""
        lv = _libvirt()
        domain = _call(f"look up domain {uuid}", self._connection().lookupByUUIDString, uuid,
                       tolerate=[lv.VIR_ERR_NO_DOMAIN])
        return Guest(domain) if domain is not None else None

    def guests(self, cloud_id: str) -> list[Guest]:
        """The guests (running or not) whose metadata names ``cloud_id``, and no others:
        a cloud never touches another cloud's guests on a shared libvirtd."""
        domains = _call("list domains", self._connection().listAllDomains, 0) or []
        found = []
        for domain in domains:
            try:
                guest = Guest(domain)
                if guest.cloud_id() == cloud_id:
                    found.append(guest)
            except NotFound:
                continue  # undefined between the listing and this look
        return found

    def define_secret(self, uuid: str, usage_name: str, value: bytes | str) -> None:
        """Define (or update) the iSCSI CHAP secret ``uuid`` for target ``usage_name``."""
        config = SecretConfig(uuid=uuid, usage_name=usage_name)
        what = f"define secret {uuid}"
        secret = _call(what, self._connection().secretDefineXML, config.to_xml(), 0)
        raw = value.encode() if isinstance(value, str) else value
        _call(what, secret.setValue, raw, 0)  # type: ignore[union-attr]

    def secrets(self) -> list[tuple[str, str]]:
        """(uuid, usage id) of every secret libvirt holds, on the whole host."""
        found = []
        for secret in _call("list secrets", self._connection().listAllSecrets, 0) or []:
            try:
                found.append((secret.UUIDString(), secret.usageID() or ""))
            except _libvirt().libvirtError:
                continue  # removed between the listing and this look
        return found

    def remove_secret(self, uuid: str) -> None:
        """Remove secret ``uuid``; tolerates a secret already gone."""
        lv = _libvirt()
        gone = [lv.VIR_ERR_NO_SECRET]
        what = f"remove secret {uuid}"
        secret = _call(what, self._connection().secretLookupByUUIDString, uuid, tolerate=gone)
        if secret is not None:
            _call(what, secret.undefine, tolerate=gone)
