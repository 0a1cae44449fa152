"""Default flavors from ``flavors.yaml``, validated with errors naming file, key and value."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from minicloud.errors import ConfigError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "flavors.yaml"
_INT_FIELDS = {"vcpus": 1, "ram": 1, "disk": 0, "ephemeral": 0, "swap": 0}


@dataclass(frozen=True)
class FlavorSpec:
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    is_public: bool = True
    description: str | None = None
    extra_specs: tuple[tuple[str, str], ...] = ()


def validate(entry: object, where: str) -> FlavorSpec:
    """One flavor mapping -> FlavorSpec; ``where`` prefixes every error."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: a flavor must be a mapping, got {entry!r}")
    unknown = set(entry) - {"id", "name", "description", "is_public", "extra_specs",
                            *_INT_FIELDS}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    for key in ("id", "name"):
        if not isinstance(entry.get(key), (str, int)) or not str(entry[key]).strip():
            raise ConfigError(f"{where}: {key} = {entry.get(key)!r}: a non-empty string is "
                              "required")
    ints = {}
    for key, minimum in _INT_FIELDS.items():
        value = entry.get(key, 0 if key in ("ephemeral", "swap") else None)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{where}: {key} = {value!r}: an integer >= {minimum} is required")
        ints[key] = value
    specs = entry.get("extra_specs") or {}
    if not isinstance(specs, dict):
        raise ConfigError(f"{where}: extra_specs = {specs!r}: a mapping is required")
    public = entry.get("is_public", True)
    if not isinstance(public, bool):
        raise ConfigError(f"{where}: is_public = {public!r}: true or false is required")
    return FlavorSpec(id=str(entry["id"]), name=str(entry["name"]), is_public=public,
                      description=entry.get("description"),
                      extra_specs=tuple(sorted((str(k), str(v)) for k, v in specs.items())),
                      **ints)


def load(path: Path = DEFAULT_FILE) -> list[FlavorSpec]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), list):
        raise ConfigError(f"{path}: expected a top-level 'flavors' list")
    specs = [validate(e, f"{path}: flavors[{i}]") for i, e in enumerate(data["flavors"])]
    for attr in ("id", "name"):
        seen: set[str] = set()
        for i, spec in enumerate(specs):
            value = getattr(spec, attr)
            if value in seen:
                raise ConfigError(f"{path}: flavors[{i}]: duplicate {attr} {value!r}")
            seen.add(value)
    return specs
