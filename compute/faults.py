"""Faults users read: what went wrong, never where on the host.

A server's fault (``GET /servers/{id}`` ``fault.message``) is shown to its project's members.
Errors minicloud raises on purpose about a user's request (the image does not fit the flavor,
a volume could not be made from the image, the build was interrupted...) keep their message.
Anything that carries host detail becomes a generic message naming the failed step, the
error's class and a short reference; the full message goes to the agent's log under that
reference, where an operator finds it:

* a failed command (:class:`~minicloud.errors.CommandFailed`: its argv and stderr, e.g.
  ``qemu-img: Could not open '/var/lib/minicloud/instances/_base/...'``);
* an exception that is not a :class:`~minicloud.errors.MinicloudError` (``OSError`` and the
  like quote file names);
* any message naming an absolute path or a URL (libvirt's errors quote disk paths).
"""
from __future__ import annotations

import logging
import re
import secrets

from minicloud.errors import CommandFailed, MinicloudError

LOG = logging.getLogger("compute.faults")
#: An absolute path or URL path: a "/" that does not follow a word character (so "512/1024"
#: or "iqn...:volume-x/1" are not paths, "'/var/lib/x'" and "http://h/p" are).
_PATH = re.compile(r"(?<![\w.])/[\w.@%+=~-]")


class InstanceFault(MinicloudError):
    """A fault message fit for the server's owner (see the module docstring)."""


def has_host_detail(exc: BaseException) -> bool:
    """Whether ``exc``'s message may reveal the host (paths, commands, internal URLs)."""
    if isinstance(exc, CommandFailed) or not isinstance(exc, MinicloudError):
        return True
    return bool(_PATH.search(exc.message))


def user_fault(exc: BaseException, instance_id: str, step: str = "build") -> BaseException:
    """``exc`` itself when its message is fit for users, else an :class:`InstanceFault` with
    a generic message and a reference that the log line with the full message carries."""
    if not has_host_detail(exc):
        return exc
    ref = secrets.token_hex(4)
    detail = exc.message if isinstance(exc, MinicloudError) else str(exc)
    LOG.error("fault %s: %s of instance %s failed: %s: %s", ref, step, instance_id,
              type(exc).__name__, detail)
    status = exc.status if isinstance(exc, MinicloudError) else 500
    fault = InstanceFault(
        f"The {step} of the server failed on its compute host ({type(exc).__name__}). "
        f"An administrator finds the details in the compute agent log under fault {ref}.")
    fault.status = status
    return fault
