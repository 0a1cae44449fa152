"""The instance state machine, as data (Nova's vm_state / task_state / power_state).

An API action is allowed when the instance's vm_state is in the action's ``allowed`` set and
no other task is running; it then sets the action's ``task`` state. The agent finishes the
task by moving to the action's ``done`` vm_state (or to ``error``). Every change is a
compare-and-swap in the catalog (see :mod:`compute.service`).
"""
from __future__ import annotations

from dataclasses import dataclass

# vm_state values
BUILDING, ACTIVE, STOPPED, ERROR, DELETED = "building", "active", "stopped", "error", "deleted"
PAUSED_VM, SUSPENDED_VM, SOFT_DELETED = "paused", "suspended", "soft-delete"
RESCUED = "rescued"

# power_state values (Nova's numbering, shown as OS-EXT-STS:power_state)
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7


@dataclass(frozen=True)
class Action:
    api_name: str               # the name in error messages, as Nova's ("os-stop", ...)
    allowed: frozenset[str]     # vm_states the action may start from
    task: str                   # task_state while it runs
    done: str | None            # vm_state when it succeeds (None: unchanged)
    any_task: bool = False      # may start while another task runs (delete may)
    locked_out: bool = True     # refused (409) to non-admins while the server is locked


ACTIONS: dict[str, Action] = {
    "spawn": Action("create", frozenset({BUILDING}), "spawning", ACTIVE),
    "stop": Action("os-stop", frozenset({ACTIVE, ERROR}), "powering-off", STOPPED),
    "start": Action("os-start", frozenset({STOPPED}), "powering-on", ACTIVE),
    "reboot_soft": Action("reboot", frozenset({ACTIVE}), "reboot_started", ACTIVE),
    # a hard reboot boots afresh from any of these (a suspended guest's saved RAM is lost)
    "reboot_hard": Action("reboot", frozenset({ACTIVE, STOPPED, ERROR, PAUSED_VM,
                                               SUSPENDED_VM}), "reboot_started_hard", ACTIVE),
    "snapshot": Action("createImage", frozenset({ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM}),
                       "image_snapshot", None, locked_out=False),
    "backup": Action("createBackup", frozenset({ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM}),
                     "image_backup", None, locked_out=False),
    "delete": Action("delete", frozenset({BUILDING, ACTIVE, STOPPED, ERROR, PAUSED_VM,
                                          SUSPENDED_VM, SOFT_DELETED, RESCUED}), "deleting",
                     DELETED, any_task=True),
    # forceDelete: a delete now, whatever the reclaim interval (Nova: any vm_state)
    "force_delete": Action("forceDelete", frozenset({BUILDING, ACTIVE, STOPPED, ERROR,
                                                     PAUSED_VM, SUSPENDED_VM, SOFT_DELETED,
                                                     RESCUED}),
                           "deleting", DELETED, any_task=True),
    # DELETE with [compute] reclaim_instance_interval > 0: powered off, disks and claim kept
    "soft_delete": Action("delete", frozenset({ACTIVE, STOPPED, ERROR, PAUSED_VM,
                                               SUSPENDED_VM}), "soft-deleting", SOFT_DELETED),
    "restore": Action("restore", frozenset({SOFT_DELETED}), "restoring", ACTIVE),
    "pause": Action("pause", frozenset({ACTIVE}), "pausing", PAUSED_VM),
    "unpause": Action("unpause", frozenset({PAUSED_VM}), "unpausing", ACTIVE),
    "suspend": Action("suspend", frozenset({ACTIVE}), "suspending", SUSPENDED_VM),
    "resume": Action("resume", frozenset({SUSPENDED_VM}), "resuming", ACTIVE),
    # rescue boots a rescue disk with the server's vda as its second disk; unrescue undoes it
    "rescue": Action("rescue", frozenset({ACTIVE, STOPPED, ERROR}), "rescuing", RESCUED),
    "unrescue": Action("unrescue", frozenset({RESCUED}), "unrescuing", ACTIVE),
    # rebuild ends where it began: ACTIVE, or STOPPED when the server was stopped (Nova)
    "rebuild": Action("rebuild", frozenset({ACTIVE, STOPPED, ERROR}), "rebuilding", None),
    "attach_volume": Action("os-volume_attachments", frozenset({ACTIVE, STOPPED}),
                            "attaching_volume", None),
    "detach_volume": Action("os-volume_attachments", frozenset({ACTIVE, STOPPED}),
                            "detaching_volume", None),
}

# task_state while building, before the agent takes over
SCHEDULING, BLOCK_DEVICE_MAPPING, SPAWNING = "scheduling", "block_device_mapping", "spawning"


def api_status(vm_state: str, task_state: str | None) -> str:
    """The API's ``status`` field for a vm_state/task_state pair (as Nova computes it)."""
    if vm_state == ACTIVE and task_state == "reboot_started":
        return "REBOOT"
    if vm_state == ACTIVE and task_state == "reboot_started_hard":
        return "HARD_REBOOT"
    if task_state in REBUILD_TASKS and vm_state in (ACTIVE, STOPPED, ERROR):
        return "REBUILD"
    return {BUILDING: "BUILD", ACTIVE: "ACTIVE", STOPPED: "SHUTOFF", ERROR: "ERROR",
            DELETED: "DELETED", PAUSED_VM: "PAUSED", SUSPENDED_VM: "SUSPENDED",
            SOFT_DELETED: "SOFT_DELETED", RESCUED: "RESCUE"}.get(vm_state, "UNKNOWN")


#: Nova's task states of a rebuild (all show as REBUILD).
REBUILD_TASKS = frozenset({"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"})


def power_state_for(vm_state: str) -> int:
    return {ACTIVE: RUNNING, STOPPED: SHUTDOWN, PAUSED_VM: PAUSED,
            SUSPENDED_VM: SHUTDOWN, SOFT_DELETED: SHUTDOWN, RESCUED: RUNNING}.get(vm_state, NOSTATE)
