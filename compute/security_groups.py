"""A server's security groups, as a cloud without a networking service can have them.

Nova asks Neutron for the groups; minicloud has no networking service, so the only group is
``default``. A server records the names of the groups it is in (``default`` at create);
``addSecurityGroup`` and ``removeSecurityGroup`` change that list with Nova's answers: an
unknown group is 404, adding a group the server is in or removing one it is not in is 400.
A server in no group shows no ``security_groups`` key (Nova's view). Nothing filters
traffic: guests have no network.
"""
from __future__ import annotations

from compute.models import Instance
from minicloud.db import Database
from minicloud.errors import BadRequest, NotFound

#: The groups that exist (a networking service would define more).
KNOWN = ("default",)


class SecurityGroups:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, server_id: str, name: str) -> None:
        self._change(server_id, name, add=True)

    def remove(self, server_id: str, name: str) -> None:
        self._change(server_id, name, add=False)

    def _change(self, server_id: str, name: str, add: bool) -> None:
        if name not in KNOWN:
            raise NotFound(f"Security group {name[:255]} not found.")
        # One transaction reads and writes the list: on SQLite every session begins with
        # BEGIN IMMEDIATE (minicloud.db), so a second change waits for the first to commit
        # and then reads its result; on a server database FOR UPDATE locks the row.
        with self.db.session() as s:
            inst = s.get(Instance, server_id, with_for_update=True)
            if inst is None:
                raise NotFound(f"Instance {server_id} could not be found.")
            names = inst.group_names
            if add and name in names:
                raise BadRequest(f"Security group {name} is already associated with the "
                                 f"instance {server_id}")
            if not add and name not in names:
                raise BadRequest(f"Security group {name} not associated with the instance "
                                 f"{server_id}")
            inst.security_groups = [*names, name] if add else [n for n in names if n != name]
