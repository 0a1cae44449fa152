"""Glance's image property injection import plugin (``inject_image_metadata``).

Enabled by ``[image] image_import_plugins = inject_image_metadata`` (Glance's
``[image_import_opts] image_import_plugins``), it sets the properties of
``[inject_metadata_properties] inject`` (``key:value,key2:value2``) on every image imported
through ``POST /v2/images/{id}/import``, unless the importing user has one of the roles of
``[inject_metadata_properties] ignore_user_roles`` (``admin`` by default). As in Glance it
runs only in the import flow: a plain ``PUT .../file`` upload gets nothing injected (an
operator who wants every image to carry the properties restricts ``upload_image`` in
``policy.yaml``), and injected values replace what the user had set under the same names.

It is a step of the import flow (``images.imports``), after the data is staged (and
converted) and before it is stored; its undo puts the image's previous values back, so a
failed import leaves the properties as they were.
"""
from __future__ import annotations

from typing import Any, Protocol

from images.models import Image
from images.service import Dependencies, set_properties
from minicloud.errors import ConfigError

PLUGIN = "inject_image_metadata"
#: Import plugins minicloud has (Glance's names); conversion is ``[image] convert_to``.
PLUGINS = (PLUGIN,)


class _Job(Protocol):
    image_id: str
    roles: tuple[str, ...] | None
    injected: dict[str, str | None]


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':  # Glance's sample quotes both sides
        return text[1:-1]
    return text


def parse_inject(text: str) -> dict[str, str]:
    """``key:value,key2:value2`` (optionally ``"key":"value"``) as a dict; ConfigError for
    an item without a colon, an empty key or a reserved ``os_glance`` name."""
    props: dict[str, str] = {}
    for item in (i for i in text.split(",") if i.strip()):
        key, sep, value = item.partition(":")
        key = _unquote(key)
        if not sep or not key:
            raise ConfigError(f"[inject_metadata_properties] inject: {item.strip()!r} is not "
                              "key:value.")
        if key.startswith("os_glance"):
            raise ConfigError(f"[inject_metadata_properties] inject: {key!r} is reserved.")
        props[key] = _unquote(value)
    return props


def enabled_plugins(image_conf: Any) -> list[str]:
    """The configured import plugins, in order; ConfigError for an unknown one."""
    names = [n.strip() for n in image_conf.image_import_plugins.split(",") if n.strip()]
    unknown = [n for n in names if n not in PLUGINS]
    if unknown:
        raise ConfigError(f"[image] image_import_plugins: unknown plugin {unknown[0]!r} "
                          f"(known: {', '.join(PLUGINS)}).")
    return names


class InjectMetadata:
    """The import-flow step (see the module docstring)."""

    name = PLUGIN

    def __init__(self, deps: Dependencies) -> None:
        self.deps = deps
        section = deps.conf.inject_metadata_properties
        self.props = parse_inject(section.inject)
        self.ignored = {r.strip() for r in section.ignore_user_roles.split(",") if r.strip()}

    def run(self, job: _Job) -> None:
        if not self.props or self.ignored.intersection(job.roles or ()):
            return
        with self.deps.db.session() as s:
            image = s.get(Image, job.image_id)
            if image is None:
                return  # deleted meanwhile: the flow stops at its next step
            current = {p.name: p.value for p in image.properties}
            job.injected = {k: current.get(k) for k in self.props}
            set_properties(image, {**current, **self.props})

    def undo(self, job: _Job) -> None:
        if not job.injected:
            return
        with self.deps.db.session() as s:
            image = s.get(Image, job.image_id)
            if image is None:
                return
            props = {p.name: p.value for p in image.properties}
            for key, old in job.injected.items():
                if old is None:
                    props.pop(key, None)
                else:
                    props[key] = old
            set_properties(image, props)
