"""Where everything lives inside the state directory."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatePaths:
    root: Path

    def ensure(self) -> None:
        # 0711: libvirt's qemu user must traverse to instance disks (PLATFORM.md).
        for path in (self.root, self.run, self.logs):
            path.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def image_store(self) -> Path:
        """The image service's file store: one file per image, named by its id. The volume
        agent converts from it directly when ``direct_url`` names a file in it."""
        return self.root / "images"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def openrc(self) -> Path:
        return self.root / "openrc"

    def cloud_id(self) -> str:
        """This cloud's id, made once: it marks the host-wide things the cloud owns (guests,
        iSCSI targets) so that clouds sharing a host never touch each other's."""
        path = self.root / "cloud-id"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(uuid.uuid4().hex[:12] + "\n")
            tmp.replace(path)
        return path.read_text().strip()
