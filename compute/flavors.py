"""Flavors: the defaults from ``flavors.yaml`` (validated with errors naming file, key and
value) and the catalog's flavors (:class:`Flavors`: list, show, create, describe, delete,
extra specs, access lists).

A private flavor (``is_public`` false) is seen by admins and by the projects on its access
list (Nova's ``addTenantAccess``), and by nobody else: it is absent from their lists, a 404
on show and a 400 at server create, as in Nova.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sqlalchemy import select

from compute.models import Flavor, FlavorExtraSpec, FlavorProject
from minicloud.db import Database, new_uuid
from minicloud.errors import ConfigError, Conflict, NotFound
from minicloud.validation import to_bool

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
    rxtx_factor: float = 1.0


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


#: ``sort_key`` values of ``GET /flavors`` (Nova's) and the column each sorts by; keys Nova
#: accepts that minicloud does not keep sort as equal.
SORT_KEYS: dict[str, Callable[[Flavor], object]] = {
    "flavorid": lambda f: f.id, "id": lambda f: f.created_at, "name": lambda f: f.name,
    "memory_mb": lambda f: f.ram, "root_gb": lambda f: f.disk,
    "ephemeral_gb": lambda f: f.ephemeral, "vcpus": lambda f: f.vcpus,
    "swap": lambda f: f.swap, "rxtx_factor": lambda f: f.rxtx_factor,
    "is_public": lambda f: f.is_public, "disabled": lambda f: f.disabled,
    "created_at": lambda f: f.created_at, "updated_at": lambda f: f.created_at,
    "description": lambda f: f.description or "", "vcpu_weight": lambda f: 0}


@dataclass(frozen=True)
class FlavorQuery:
    """A validated ``GET /flavors`` query (paging is applied by the caller)."""

    is_public: bool | None = True  # None: public and private
    #: With ``is_public`` true, the private flavors this project has access to are listed
    #: too (Nova's filter); None: only public ones.
    project_id: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    sort_key: str = "flavorid"
    sort_dir: str = "asc"


def access_list(flavor: Flavor) -> list[str]:
    """The projects on the flavor's access list."""
    return [p.project_id for p in flavor.projects]


def visible_to(flavor: Flavor, project_id: str | None, is_admin: bool) -> bool:
    """Whether a caller sees ``flavor``: public, admin, or its project is on the list."""
    return flavor.is_public or is_admin or (
        project_id is not None and project_id in access_list(flavor))


def _kept(flavor: Flavor, query: FlavorQuery) -> bool:
    if query.is_public is None:
        return True
    if query.is_public and not flavor.is_public:
        return query.project_id is not None and query.project_id in access_list(flavor)
    return flavor.is_public == query.is_public


def _row(spec: FlavorSpec) -> Flavor:
    return Flavor(id=spec.id, name=spec.name, vcpus=spec.vcpus, ram=spec.ram,
                  disk=spec.disk, ephemeral=spec.ephemeral, swap=spec.swap,
                  is_public=spec.is_public, description=spec.description,
                  rxtx_factor=spec.rxtx_factor,
                  extra_specs=[FlavorExtraSpec(key=k, value=v) for k, v in spec.extra_specs])


class Flavors:
    """The flavors of the catalog; every method is one transaction and returns detached
    rows (extra specs loaded)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def sync(self, specs: list[FlavorSpec]) -> int:
        """Add the default flavors that are missing (operators' changes are kept)."""
        added = 0
        with self.db.session() as s:
            for spec in specs:
                if s.get(Flavor, spec.id) or s.scalar(select(Flavor).where(
                        Flavor.name == spec.name)):
                    continue
                s.add(_row(spec))
                added += 1
        return added

    def list(self, query: FlavorQuery = FlavorQuery()) -> list[Flavor]:
        """The enabled flavors matching ``query``, in its order (ties by id)."""
        with self.db.session() as s:
            rows = list(s.scalars(select(Flavor).where(~Flavor.disabled)))
        rows = [f for f in rows if _kept(f, query)
                and f.ram >= query.min_ram and f.disk >= query.min_disk]
        rows.sort(key=lambda f: f.id)
        rows.sort(key=SORT_KEYS[query.sort_key], reverse=query.sort_dir == "desc")
        return rows

    def get(self, flavor_id: str) -> Flavor:
        with self.db.session() as s:
            flavor = s.get(Flavor, flavor_id)
            if flavor is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            return flavor

    def create(self, spec: FlavorSpec) -> Flavor:
        """Add a flavor (a generated id when ``spec.id`` is empty); 409 on a taken id or
        name."""
        if not spec.id:
            spec = replace(spec, id=new_uuid())
        with self.db.session() as s:
            if s.get(Flavor, spec.id) is not None:
                raise Conflict(f"Flavor with ID {spec.id} already exists.")
            if s.scalar(select(Flavor).where(Flavor.name == spec.name)) is not None:
                raise Conflict(f"Flavor with name {spec.name} already exists.")
            s.add(_row(spec))
        return self.get(spec.id)

    def set_description(self, flavor_id: str, description: str | None) -> Flavor:
        with self.db.session() as s:
            flavor = s.get(Flavor, flavor_id)
            if flavor is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            flavor.description = description
        return self.get(flavor_id)

    def delete(self, flavor_id: str) -> None:
        """Remove it (servers keep the snapshot of their flavor)."""
        with self.db.session() as s:
            flavor = s.get(Flavor, flavor_id)
            if flavor is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            s.delete(flavor)

    def set_extra_specs(self, flavor_id: str, specs: dict[str, str]) -> dict[str, str]:
        """Add or change extra specs; returns the ones set."""
        with self.db.session() as s:
            flavor = s.get(Flavor, flavor_id)
            if flavor is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            current = {e.key: e for e in flavor.extra_specs}
            for key, value in specs.items():
                if key in current:
                    current[key].value = value
                else:
                    flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
        return dict(specs)

    def delete_extra_spec(self, flavor_id: str, key: str) -> None:
        self.get(flavor_id)
        with self.db.session() as s:
            spec = s.get(FlavorExtraSpec, (flavor_id, key))
            if spec is None:
                raise NotFound(f"Flavor {flavor_id} has no extra spec with key {key}.")
            s.delete(spec)


    # -- access lists (private flavors) ---------------------------------------------------------
    def add_access(self, flavor_id: str, project_id: str, refuse_public: bool = True
                   ) -> list[str]:
        """Put ``project_id`` on the flavor's access list; returns the list. 409 when it is
        there already, or (``refuse_public``: 2.7+) when the flavor is public."""
        with self.db.session() as s:
            flavor = s.get(Flavor, flavor_id)
            if flavor is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            if refuse_public and flavor.is_public:
                raise Conflict("Can not add access to a public flavor.")
            if project_id in access_list(flavor):
                raise Conflict(f"Flavor access already exists for flavor {flavor_id} and "
                               f"project {project_id} combination.")
            flavor.projects.append(FlavorProject(project_id=project_id))
        return access_list(self.get(flavor_id))

    def remove_access(self, flavor_id: str, project_id: str) -> list[str]:
        """Take ``project_id`` off the flavor's access list (404 when it is not on it)."""
        with self.db.session() as s:
            if s.get(Flavor, flavor_id) is None:
                raise NotFound(f"Flavor {flavor_id} could not be found.")
            row = s.get(FlavorProject, (flavor_id, project_id))
            if row is None:
                raise NotFound(f"Flavor access not found for {flavor_id} / {project_id} "
                               "combination.")
            s.delete(row)
        return access_list(self.get(flavor_id))


def spec_from_request(body: dict, with_description: bool) -> FlavorSpec:
    """A ``POST /flavors`` body that passed :data:`compute.schema.CREATE_FLAVOR` as a
    :class:`FlavorSpec` (strings of digits become integers; no id: one is generated)."""
    raw_id = body.get("id")
    flavor_id = "" if raw_id is None else str(raw_id)
    return FlavorSpec(
        id=flavor_id, name=body["name"], vcpus=int(body["vcpus"]), ram=int(body["ram"]),
        disk=int(body["disk"]), ephemeral=int(body.get("OS-FLV-EXT-DATA:ephemeral") or 0),
        swap=int(body.get("swap") or 0),
        rxtx_factor=float(body.get("rxtx_factor", 1.0)),
        is_public=to_bool(body.get("os-flavor-access:is_public", True)),
        description=body.get("description") if with_description else None)
