"""Host-wide leftovers of a throw-away cloud, removed after ``minicloud down``.

``down`` stops the cloud's processes but leaves host-wide things as they are: libvirt guests
(QEMU processes that would go on using the shared cores) and tgtd targets. Only what this
cloud owns is touched: guests whose libvirt metadata names its cloud id, targets whose
backing file lies in its state directory. Run it with the cloud's agents stopped.
"""
from __future__ import annotations

from pathlib import Path

from minicloud.errors import MinicloudError


def guests(cloud_id: str, uri: str = "qemu:///system") -> list[str]:
    """Destroy and undefine this cloud's guests; their names."""
    from compute.virt.host import Host

    removed = []
    with Host(uri) as host:
        for guest in host.guests(cloud_id):
            guest.destroy()
            guest.undefine()
            removed.append(guest.name)
    return removed


def targets(state_dir: Path) -> list[str]:
    """Remove the iSCSI targets exporting files of ``state_dir``; their IQNs."""
    from volumes.targets import TgtTarget, cloud_targets

    tgt, removed = TgtTarget(), []
    for volume_id, state in cloud_targets(tgt, str(state_dir.resolve())).items():
        tgt.remove_export(volume_id)
        removed.append(state.iqn)
    return removed


def sweep(cloud_id: str, state_dir: Path) -> tuple[list[str], list[str]]:
    """(what was removed, what could not be checked) on this host for the cloud."""
    removed, problems = [], []
    for what, step in (("guest", lambda: guests(cloud_id)),
                       ("iSCSI target", lambda: targets(state_dir))):
        try:
            removed += [f"{what} {name}" for name in step()]
        except (MinicloudError, OSError, ImportError) as exc:  # ImportError: a checkout mid-edit
            problems.append(f"{what}s: {exc}")
    return removed, problems
