"""minicloud's own metadata-definitions catalog, and image properties checked against it.

The catalog is data: one YAML file per namespace in ``images/metadef_catalog/`` (written
from the seed's appendix A, "Image Configuration Parameters"), each shaped as a
``POST /v2/metadefs/namespaces`` body and validated as one. :func:`load` (run by
``minicloud up``) creates the resource types OpenStack's services know and each catalog
namespace that was never loaded before, owned by the admin project. It is idempotent and
never touches what exists: a namespace loaded once is recorded (``metadef_catalog_loads``),
so an operator's changes are kept and a namespace they deleted stays deleted; a namespace
the operator created under a catalog name is left as it is.

:class:`ImagePropertyRules` is what ``[image] validate_properties_with_metadefs`` turns on:
an image property whose key a namespace associated with ``OS::Glance::Image`` defines
(with the association's prefix) must fit the definition, else the create or update is a 400.
Image property values are strings: ``integer``/``number``/``boolean`` definitions take
their textual forms (``"4"``, ``"1.5"``, ``"true"``); array and object definitions are not
checked.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from images import metadef_schemas as schemas
from images.metadef_models import (
    MetadefCatalogLoad,
    MetadefNamespace,
    MetadefResourceType,
)
from images.metadefs import fill
from minicloud.db import Database
from minicloud.errors import BadRequest, ConfigError, MinicloudError
from minicloud.validation import validate

CATALOG_DIR = Path(__file__).resolve().parent / "metadef_catalog"
IMAGE = "OS::Glance::Image"
#: The resource types of OpenStack's services, present (and protected) in every cloud.
RESOURCE_TYPES = (IMAGE, "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
                  "OS::Nova::Server")
_INTEGER = re.compile(r"-?[0-9]{1,19}\Z")
_NOT_VALUE_KEYWORDS = ("name", "title", "description", "default", "operators", "readonly",
                       "required")


def read(directory: Path = CATALOG_DIR) -> list[dict[str, Any]]:
    """The catalog's namespaces, in file-name order; ConfigError names a bad file."""
    out = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
            validate(doc, schemas.NAMESPACE)
            schemas.refuse_read_only(doc)
        except (OSError, yaml.YAMLError, MinicloudError) as exc:
            raise ConfigError(f"metadata definitions catalog {path}: "
                              f"{getattr(exc, 'message', exc)}") from None
        out.append(doc)
    return out


def load(db: Database, owner: str, directory: Path = CATALOG_DIR) -> list[str]:
    """Create what the catalog has that was never loaded; the names of those created."""
    docs = read(directory)
    created = []
    with db.session() as s:
        known = set(s.scalars(select(MetadefResourceType.name)))
        for name in RESOURCE_TYPES:
            if name not in known:
                s.add(MetadefResourceType(name=name, protected=True))
        s.flush()
        for doc in docs:
            name = doc["namespace"]
            if s.get(MetadefCatalogLoad, name) is not None:
                continue
            s.add(MetadefCatalogLoad(namespace=name))
            if s.scalar(select(MetadefNamespace.id).where(
                    MetadefNamespace.namespace == name)) is not None:
                continue  # the operator's own namespace of that name: theirs
            ns = MetadefNamespace(
                namespace=name, display_name=doc.get("display_name"),
                description=doc.get("description"),
                visibility=doc.get("visibility", "public"),
                protected=bool(doc.get("protected", True)), owner=owner)
            s.add(ns)
            s.flush()
            try:
                fill(s, ns, doc)
            except MinicloudError as exc:
                raise ConfigError(f"metadata definitions catalog, namespace {name}: "
                                  f"{exc.message}") from None
            created.append(name)
    return created


def _value(value: str, kind: str | None) -> Any:
    """An image property's string as the JSON value its definition's type expects."""
    if kind == "integer" and _INTEGER.match(value):
        return int(value)
    if kind == "number":
        try:
            return float(value) if _INTEGER.match(value) is None else int(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class ImagePropertyRules:
    """Checks image properties against the definitions applying to images."""

    def definitions(self, s: Session) -> dict[str, tuple[str, dict[str, Any]]]:
        """``{property key: (namespace, definition)}`` for ``OS::Glance::Image``."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for ns in s.scalars(select(MetadefNamespace).order_by(MetadefNamespace.id)):
            for assoc in ns.associations:
                if assoc.resource_type.name != IMAGE:
                    continue
                for prop in ns.properties:
                    out.setdefault((assoc.prefix or "") + prop.name,
                                   (ns.namespace, prop.definition))
        return out

    def check(self, s: Session, props: Mapping[str, str]) -> None:
        """400 naming the first property whose value breaks its definition."""
        if not props:
            return
        defined = self.definitions(s)
        for key, value in props.items():
            if key not in defined:
                continue
            namespace, definition = defined[key]
            kind = definition.get("type")
            if kind in ("array", "object"):
                continue
            fragment = {k: v for k, v in definition.items() if k not in _NOT_VALUE_KEYWORDS}
            error = next(iter(Draft4Validator(fragment).iter_errors(_value(value, kind))),
                         None)
            if error is not None:
                allowed = definition.get("enum")
                hint = (f"allowed values: {', '.join(map(str, allowed))}" if allowed
                        else error.message[:200])
                raise BadRequest(f"Invalid value {value[:80]!r} for image property "
                                 f"{key!r} ({hint}; metadata definition namespace "
                                 f"{namespace}).")
