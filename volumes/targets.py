"""iSCSI targets: how a volume's bytes are exported (separate from where they live).

Contract (``tests/test_volumes_drivers.py`` runs it against :class:`FakeTarget` and
:class:`TgtTarget`):

* ``ensure_export(volume_id, path, chap, initiator, address)`` makes the target
  ``iqn.2010-10.org.openstack:volume-<uuid>`` exist with LUN 1 backed by ``path``, exactly the
  CHAP account ``chap`` bound to it, and exactly one initiator ACL entry: the initiator name
  ``initiator`` when given (``[volume] bind_initiator``), else the address of the compute host
  it is exported to: ``address`` (the connector's ``ip``), else the address this host
  connects to the portal from (compute on the volume host: 127.0.0.1 for the default portal).
  Never ``ALL``, and never a name and an address together: tgtd admits an initiator that
  matches *any* ACL entry (measured), so a second entry only widens the ACL. Idempotent:
  after a restart of tgtd (which keeps nothing) it rebuilds the export; on a live export it
  changes nothing a connected guest would notice (ACLs are checked at login only). On
  failure it undoes what *this call* created. ``TgtTarget`` also keeps tgtd's portal on
  ``[volume] iscsi_ip_address`` (see :meth:`TgtTarget.ensure_portal`).
* ``remove_export(volume_id, username)`` removes the target and the account; whatever is
  already gone is fine.
* ``exported()`` lists the volume ids of every target named by the scheme above, *on the whole
  host*: tgtd is shared by every cloud on the machine, so callers must only touch the ids
  their own catalog knows.

CHAP passwords appear in exactly one argv (``tgtadm --op new --mode account``) and nowhere
else: :class:`TargetError` never carries an argv, and nothing here logs credentials. tgtadm
has no other way to take a password (no file, no stdin): that process's command line, about
2 ms long, is the residual window in which a local user could read it from ``/proc``
(docs/volumes.md, "Security of the exports").
"""
from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import socket
from dataclasses import dataclass, field
from typing import Protocol

from minicloud import faults, process
from minicloud.config import Config
from minicloud.errors import CommandFailed, MinicloudError
from volumes.connection import LUN, Chap, iqn_for, volume_id_of

LOG = logging.getLogger(__name__)
ALL = "ALL"


class TargetError(MinicloudError):
    """tgtadm failed; ``reason`` is its stderr (never its argv, which may hold a secret)."""

    status, kind, title = 500, "volumeTargetError", "iSCSI target error"

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def source_address(portal_ip: str, port: int = 3260) -> str:
    """The address this host's connections to ``portal_ip`` come from (what tgtd sees as the
    initiator's address when compute runs here): the kernel's route choice, no packet sent."""
    family = socket.AF_INET6 if ":" in portal_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((portal_ip, port))
        except OSError:
            return portal_ip  # no route: the portal itself is the best guess
        return sock.getsockname()[0]


def portal_text(ip: str, port: int) -> str:
    """``IP:PORT`` as tgtd writes portals (IPv6 in brackets)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def is_address(acl: str) -> bool:
    """Whether an ACL entry is an address (or ``ALL``/a network) rather than an IQN."""
    if acl == ALL:
        return True
    try:
        ipaddress.ip_network(acl, strict=False)
    except ValueError:
        return False
    return True


def acl_entry(initiator: str | None, address: str | None, default_address: str) -> str:
    """The one ACL entry of an export (see the module docstring); a connector ``ip`` that is
    not a single address is refused rather than bound as a name or a wildcard."""
    if initiator:
        return initiator
    if address is None:
        return default_address
    if not isinstance(address, str) or address == ALL or "/" in address \
            or not is_address(address):
        raise TargetError(f"the connector's ip {address!r} is not an address")
    return address


class Target(Protocol):
    name: str

    def ensure_export(self, volume_id: str, path: str, chap: Chap,
                      initiator: str | None = None, address: str | None = None) -> None: ...
    def remove_export(self, volume_id: str, username: str | None = None) -> None: ...
    def exported(self) -> list[str]: ...


@dataclass
class TargetState:
    """One target as ``tgtadm --op show --mode target`` describes it."""

    tid: int
    iqn: str
    luns: dict[int, str] = field(default_factory=dict)    # lun -> backing store path
    accounts: list[str] = field(default_factory=list)
    acls: list[str] = field(default_factory=list)
    sessions: int = 0                                     # I_T nexus count (connections)


def parse_accounts(text: str) -> list[str]:
    """The user names of ``tgtadm --op show --mode account`` ("Account list:" then one
    indented name a line, an outgoing one marked " (outgoing)")."""
    return [line.split()[0] for line in text.splitlines()[1:] if line.strip()]


def parse_show(text: str) -> dict[str, TargetState]:
    """Parse ``tgtadm --lld iscsi --op show --mode target`` into targets by IQN."""
    targets: dict[str, TargetState] = {}
    current: TargetState | None = None
    section, lun = "", None
    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("Target ") and ":" in raw:
            head, _, iqn = raw.partition(":")
            current = TargetState(int(head.split()[1]), iqn.strip())
            targets[current.iqn] = current
            section = ""
        elif current is None or not line:
            continue
        elif line.endswith("information:"):
            section = line.removesuffix(" information:")
        elif section == "I_T nexus" and line.startswith("I_T nexus:"):
            current.sessions += 1
        elif section == "LUN" and line.startswith("LUN:"):
            lun = int(line.split(":", 1)[1])
        elif section == "LUN" and line.startswith("Backing store path:") and lun is not None:
            current.luns[lun] = line.split(":", 1)[1].strip()
        elif section == "Account":
            current.accounts.append(line.split()[0])
        elif section == "ACL":
            current.acls.append(line)
    return targets


class TgtTarget:
    """Targets in the host's (shared) tgtd, driven with ``tgtadm``.

    ``portal_ip``/``portal_port``: the portal compute connects to (``[volume]
    iscsi_ip_address``/``iscsi_port``); when given, every export first makes sure tgtd listens
    there and not on a wildcard address. ``control_port``: tgtd's management channel (``-C``;
    None: the default one), so that tests can drive a private tgtd.
    """

    name = "tgtadm"

    def __init__(self, binary: str = "tgtadm", attempts: int = 20,
                 portal_ip: str | None = None, portal_port: int = 3260,
                 control_port: int | None = None) -> None:
        self.binary, self.attempts = binary, attempts
        self.portal_ip, self.portal_port = portal_ip, portal_port
        self.control = ("-C", str(control_port)) if control_port is not None else ()

    @property
    def default_address(self) -> str:
        """The initiator address admitted when the connector names none: this host's."""
        return source_address(self.portal_ip or "127.0.0.1", self.portal_port)

    def _tgtadm(self, *args: str | int) -> str:
        argv = [self.binary, *self.control, "--lld", "iscsi", *map(str, args)]
        try:
            return process.run(argv, timeout=30).stdout.decode(errors="replace")
        except CommandFailed as exc:
            reason = exc.stderr.strip() or exc.message
            if "not connected" in reason or "failed to send request" in reason \
                    or exc.returncode == 107:
                raise TargetError("tgtd is not running: start it with `minicloud up` (or "
                                  "`tgtd`)", reason) from None
            op = " ".join(map(str, args[:4]))  # "--op new --mode account": never a secret
            # from None: the CommandFailed holds the argv, which may hold a CHAP password.
            raise TargetError(f"tgtadm {op} failed: {reason[-200:]}", reason) from None

    def show(self) -> dict[str, TargetState]:
        return parse_show(self._tgtadm("--op", "show", "--mode", "target"))

    def accounts(self) -> list[str]:
        """Every CHAP account of this tgtd (all clouds'), bound or not."""
        return parse_accounts(self._tgtadm("--op", "show", "--mode", "account"))

    def delete_account(self, username: str) -> None:
        """Remove one CHAP account (one already gone is fine)."""
        self._delete_account(username)

    def exported(self) -> list[str]:
        return sorted(v for v in map(volume_id_of, self.show()) if v)

    def portals(self) -> list[str]:
        """tgtd's portals as ``IP:PORT`` (``[IPv6]:PORT``)."""
        out = self._tgtadm("--op", "show", "--mode", "portal")
        return [line.split(":", 1)[1].strip().rsplit(",", 1)[0]
                for line in out.splitlines() if line.startswith("Portal:")]

    def ensure_portal(self) -> None:
        """tgtd listens on ``portal_ip:portal_port`` and on no wildcard address of that port.

        tgtd is host-wide: this changes its listening sockets for every cloud on the host (a
        cloud whose portal is another address adds its own). Logged-in sessions survive the
        change (measured); a wildcard must go before the specific address can be bound.
        """
        if self.portal_ip is None:
            return
        ours = portal_text(self.portal_ip, self.portal_port)
        current = self.portals()
        for wildcard in (portal_text("0.0.0.0", self.portal_port),
                         portal_text("::", self.portal_port)):
            if wildcard in current and wildcard != ours:
                self._tgtadm("--op", "delete", "--mode", "portal", "--param",
                             f"portal={wildcard}")
        if ours not in current:
            try:
                self._tgtadm("--op", "new", "--mode", "portal", "--param", f"portal={ours}")
            except TargetError as exc:
                if ours not in self.portals():  # another cloud's agent was faster: fine
                    raise TargetError(f"tgtd cannot listen on {ours}: {exc.reason[-200:]}",
                                      exc.reason) from None
            LOG.info("tgtd now listens on %s", ours)

    def _new_target(self, iqn: str) -> tuple[TargetState, bool]:
        """The target ``iqn`` (created here when missing: True) on a free target id.

        tgtd is shared host-wide: another cloud may take the id we picked between ``show``
        and ``new``; then tgtadm says "already exists" and we look again.
        """
        for _ in range(self.attempts):
            targets = self.show()
            if iqn in targets:
                return targets[iqn], False
            used = {t.tid for t in targets.values()}
            tid = next(i for i in itertools.count(1) if i not in used)
            try:
                self._tgtadm("--op", "new", "--mode", "target", "--tid", tid, "-T", iqn)
            except TargetError as exc:
                if "already exists" in exc.reason:
                    continue
                raise
            return TargetState(tid, iqn), True
        raise TargetError(f"could not allocate an iSCSI target id for {iqn} after "
                          f"{self.attempts} attempts")

    def ensure_export(self, volume_id: str, path: str, chap: Chap,
                      initiator: str | None = None, address: str | None = None) -> None:
        iqn = iqn_for(volume_id)
        wanted = acl_entry(initiator, address, self.default_address)
        self.ensure_portal()
        with contextlib.ExitStack() as undo:
            state, created = self._new_target(iqn)
            tid = state.tid
            if created:
                undo.callback(self._delete_target, tid)
            if state.luns.get(LUN) not in (None, path):
                raise TargetError(f"target {iqn} exports {state.luns[LUN]} as LUN {LUN}, "
                                  f"not {path}")
            if LUN not in state.luns:
                self._tgtadm("--op", "new", "--mode", "logicalunit", "--tid", tid,
                             "--lun", LUN, "-b", path)
            for user in state.accounts:
                if user != chap.username:  # a stale account of this export: no more access
                    self._tgtadm("--op", "unbind", "--mode", "account", "--tid", tid,
                                 "--user", user)
                    self._delete_account(user)
            if chap.username not in state.accounts:
                self._new_account(chap)
                faults.point("volume.export.account")
                undo.callback(self._delete_account, chap.username)
                self._tgtadm("--op", "bind", "--mode", "account", "--tid", tid,
                             "--user", chap.username)
            self._set_acl(tid, state.acls, wanted)
            undo.pop_all()

    def _set_acl(self, tid: int, current: list[str], wanted: str) -> None:
        """Exactly ``wanted`` in the target's ACL: bound first, then every other entry
        (``ALL`` of an older export included) removed; logins only check the ACL."""
        if wanted not in current:
            self._tgtadm("--op", "bind", "--mode", "target", "--tid", tid,
                         *self._acl_args(wanted))
        for acl in current:
            if acl != wanted:
                self._tgtadm("--op", "unbind", "--mode", "target", "--tid", tid,
                             *self._acl_args(acl))

    @staticmethod
    def _acl_args(acl: str) -> tuple[str, str]:
        # An address (ALL, an IP, a network) or the initiator's IQN (its name).
        return ("-I", acl) if is_address(acl) else ("--initiator-name", acl)

    def _new_account(self, chap: Chap) -> None:
        try:
            self._tgtadm("--op", "new", "--mode", "account", "--user", chap.username,
                         "--password", chap.password)
        except TargetError as exc:
            if "already exists" not in exc.reason:
                raise
            # Usernames are random per export: an existing one is our own leftover.
            self._delete_account(chap.username)
            self._tgtadm("--op", "new", "--mode", "account", "--user", chap.username,
                         "--password", chap.password)

    def _delete_account(self, username: str) -> None:
        try:
            self._tgtadm("--op", "delete", "--mode", "account", "--user", username)
        except TargetError as exc:
            if "can't find" not in exc.reason:
                raise

    def _delete_target(self, tid: int) -> None:
        try:
            self._tgtadm("--op", "delete", "--force", "--mode", "target", "--tid", tid)
        except TargetError as exc:
            if "can't find" not in exc.reason:
                raise

    def remove_export(self, volume_id: str, username: str | None = None) -> None:
        state = self.show().get(iqn_for(volume_id))
        users = set(state.accounts if state else ()) | ({username} if username else set())
        if state is not None:
            self._delete_target(state.tid)
        for user in sorted(users):  # accounts are per export: none outlives its target
            self._delete_account(user)


@dataclass
class FakeExport:
    path: str
    chap: Chap
    initiator: str


@dataclass
class FakeTarget:
    """Exports in memory. ``fail_at`` (``ensure_export``/``remove_export``) injects a failure;
    ``restart()`` forgets everything, as a restarted tgtd does. ``initiator`` of an export is
    the one ACL entry :class:`TgtTarget` would bind (``default_address``: this host's)."""

    name = "fake"
    exports: dict[str, FakeExport] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_at: str | None = None
    default_address: str = "127.0.0.1"
    #: CHAP accounts bound to no target (what a kill between account and bind leaves).
    loose_accounts: set[str] = field(default_factory=set)

    def ensure_export(self, volume_id: str, path: str, chap: Chap,
                      initiator: str | None = None, address: str | None = None) -> None:
        if self.fail_at == "ensure_export":
            raise TargetError("injected failure at ensure_export")
        current = self.exports.get(volume_id)
        if current is not None and current.path != path:
            raise TargetError(f"target {iqn_for(volume_id)} exports {current.path} as LUN "
                              f"{LUN}, not {path}")
        self.exports[volume_id] = FakeExport(
            path, chap, acl_entry(initiator, address, self.default_address))
        self.calls.append(("ensure_export", volume_id))

    def remove_export(self, volume_id: str, username: str | None = None) -> None:
        if self.fail_at == "remove_export":
            raise TargetError("injected failure at remove_export")
        self.exports.pop(volume_id, None)
        self.calls.append(("remove_export", volume_id))

    def exported(self) -> list[str]:
        return sorted(self.exports)

    def show(self) -> dict[str, TargetState]:
        """The exports as :meth:`TgtTarget.show` describes targets (tids in id order)."""
        return {iqn_for(v): TargetState(tid, iqn_for(v), {LUN: e.path}, [e.chap.username],
                                        [e.initiator])
                for tid, (v, e) in enumerate(sorted(self.exports.items()), start=1)}

    def restart(self) -> None:
        self.exports.clear()
        self.loose_accounts.clear()

    def accounts(self) -> list[str]:
        return sorted({e.chap.username for e in self.exports.values()} | self.loose_accounts)

    def delete_account(self, username: str) -> None:
        self.loose_accounts.discard(username)


def cloud_targets(target: TgtTarget | FakeTarget, root: str) -> dict[str, TargetState]:
    """{volume id: target} of the targets named by the volume scheme whose LUN files lie
    under the directory ``root``: one cloud's exports in a tgtd other clouds share."""
    prefix = root.rstrip("/") + "/"
    found = {}
    for iqn, state in target.show().items():
        volume_id = volume_id_of(iqn)
        if volume_id and any(path.startswith(prefix) for path in state.luns.values()):
            found[volume_id] = state
    return found


def make_target(conf: Config) -> Target:
    """The target ``[volume] target_helper`` names: ``tgtadm`` (default) or ``fake``."""
    helper = conf.volume.target_helper
    if helper == "fake":
        return FakeTarget()
    if helper != "tgtadm":
        raise MinicloudError(f"[volume] target_helper = {helper!r}: 'tgtadm' or 'fake'")
    return TgtTarget(portal_ip=conf.volume.iscsi_ip_address,
                     portal_port=conf.volume.iscsi_port)
