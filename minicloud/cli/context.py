"""What every command gets: the state directory and a lazily authenticated API client."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from minicloud.client import Client, find_credentials
from minicloud.config import Config


@dataclass
class CliContext:
    state_dir: Path
    os_cloud: str | None
    _client: Client | None = field(default=None, repr=False)

    def conf(self) -> Config:
        return Config.load(self.state_dir)

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(find_credentials(self.state_dir, self.os_cloud))
        return self._client


pass_ctx = click.make_pass_decorator(CliContext)
