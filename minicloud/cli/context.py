"""What every command gets: the state directory and a lazily authenticated API client.

Light on purpose: a command that only speaks REST imports this, :mod:`minicloud.cli.rest`
and click, never the cloud's own modules (see docs/cli.md, "Adding a command").
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import click

from minicloud.cli.rest import RestClient
from minicloud.clouds import find_credentials
from minicloud.config import Config


@dataclass
class CliContext:
    state_dir: Path
    os_cloud: str | None
    _client: RestClient | None = field(default=None, repr=False)

    def conf(self) -> Config:
        return Config.load(self.state_dir)

    def client(self) -> RestClient:
        if self._client is None:
            self._client = RestClient(find_credentials(self.state_dir, self.os_cloud))
        return self._client

    def identity_id(self, collection: str, ref: str) -> str:
        """The id of the ``collection`` item (projects, users, roles) named or identified by
        ``ref``: Keystone's URLs take ids only, so a name is looked up with ``?name=``."""
        client = self.client()
        found = client.request("identity", "GET", f"/{collection}",
                               params={"name": ref}).json()[collection]
        if found:
            return found[0]["id"]
        path = f"/{collection}/" + urllib.parse.quote(ref, safe="")
        return client.request("identity", "GET", path).json()[collection[:-1]]["id"]


pass_ctx = click.make_pass_decorator(CliContext)
