"""iSCSI targets: how a volume's bytes are exported (separate from where they live).

Contract (``tests/test_volumes_drivers.py`` runs it against :class:`FakeTarget` and
:class:`TgtTarget`):

* ``ensure_export(volume_id, path, chap, initiator)`` makes the target
  ``iqn.2010-10.org.openstack:volume-<uuid>`` exist with LUN 1 backed by ``path``, exactly the
  CHAP account ``chap`` bound to it, and the initiator ACL (``initiator``, or ``ALL`` when
  None). Idempotent: after a restart of tgtd (which keeps nothing) it rebuilds the export;
  on a live export it changes nothing a connected guest would notice. On failure it undoes
  what *this call* created.
* ``remove_export(volume_id, username)`` removes the target and the account; whatever is
  already gone is fine.
* ``exported()`` lists the volume ids of every target named by the scheme above, *on the whole
  host*: tgtd is shared by every cloud on the machine, so callers must only touch the ids
  their own catalog knows.

CHAP passwords appear in exactly one argv (``tgtadm --op new --mode account``) and nowhere
else: :class:`TargetError` never carries an argv, and nothing here logs credentials.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import Protocol

from minicloud import process
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


class Target(Protocol):
    name: str

    def ensure_export(self, volume_id: str, path: str, chap: Chap,
                      initiator: str | None = None) -> None: ...
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
    """Targets in the host's (shared) tgtd, driven with ``tgtadm``."""

    name = "tgtadm"

    def __init__(self, binary: str = "tgtadm", attempts: int = 20) -> None:
        self.binary, self.attempts = binary, attempts

    def _tgtadm(self, *args: str | int) -> str:
        argv = [self.binary, "--lld", "iscsi", *map(str, args)]
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

    def exported(self) -> list[str]:
        return sorted(v for v in map(volume_id_of, self.show()) if v)

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
                      initiator: str | None = None) -> None:
        iqn = iqn_for(volume_id)
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
                undo.callback(self._delete_account, chap.username)
                self._tgtadm("--op", "bind", "--mode", "account", "--tid", tid,
                             "--user", chap.username)
            wanted = initiator or ALL
            for acl in state.acls:
                if acl != wanted:
                    self._tgtadm("--op", "unbind", "--mode", "target", "--tid", tid,
                                 *self._acl_args(acl))
            if wanted not in state.acls:
                self._tgtadm("--op", "bind", "--mode", "target", "--tid", tid,
                             *self._acl_args(wanted))
            undo.pop_all()

    @staticmethod
    def _acl_args(acl: str) -> tuple[str, str]:
        # ALL is an address wildcard; anything else is the initiator's IQN (its name).
        return ("-I", ALL) if acl == ALL else ("--initiator-name", acl)

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
    ``restart()`` forgets everything, as a restarted tgtd does."""

    name = "fake"
    exports: dict[str, FakeExport] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_at: str | None = None

    def ensure_export(self, volume_id: str, path: str, chap: Chap,
                      initiator: str | None = None) -> None:
        if self.fail_at == "ensure_export":
            raise TargetError("injected failure at ensure_export")
        current = self.exports.get(volume_id)
        if current is not None and current.path != path:
            raise TargetError(f"target {iqn_for(volume_id)} exports {current.path} as LUN "
                              f"{LUN}, not {path}")
        self.exports[volume_id] = FakeExport(path, chap, initiator or ALL)
        self.calls.append(("ensure_export", volume_id))

    def remove_export(self, volume_id: str, username: str | None = None) -> None:
        if self.fail_at == "remove_export":
            raise TargetError("injected failure at remove_export")
        self.exports.pop(volume_id, None)
        self.calls.append(("remove_export", volume_id))

    def exported(self) -> list[str]:
        return sorted(self.exports)

    def restart(self) -> None:
        self.exports.clear()


def make_target(conf: Config) -> Target:
    """The target ``[volume] target_helper`` names: ``tgtadm`` (default) or ``fake``."""
    helper = conf.volume.target_helper
    if helper == "fake":
        return FakeTarget()
    if helper != "tgtadm":
        raise MinicloudError(f"[volume] target_helper = {helper!r}: 'tgtadm' or 'fake'")
    return TgtTarget()
