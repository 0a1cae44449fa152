"""The registry of API services: name, catalog type, port option, app factory, URL path.

The runner starts what is listed here and the identity service builds its catalog from it,
so adding a service is one entry.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from flask import Flask

from minicloud.config import Config


@dataclass(frozen=True)
class ServiceDef:
    name: str          # section in minicloud.conf and the process name
    type: str          # catalog service type
    catalog_name: str  # the OpenStack name shown by `openstack catalog list`
    factory: str       # "module:function" returning a Flask app for a Config
    path: str          # path of the endpoint URL ("" when discovery lives at the root)
    project_in_path: bool = False
    # more (type, name) catalog entries for the same endpoint (Cinder: block-storage)
    extra_types: tuple[tuple[str, str], ...] = ()
    policies: str = ""  # "module:ATTRIBUTE" holding the service's policy defaults

    def policy_rules(self) -> list:
        """The service's policy defaults (oslo.policy ``RuleDefault`` objects)."""
        from minicloud.policy import RuleDefault

        module, _, attr = self.policies.partition(":")
        rules = getattr(importlib.import_module(module), attr)
        if isinstance(rules, dict):
            return [RuleDefault(name, text) for name, text in rules.items()]
        return list(rules)

    def port(self, conf: Config) -> int:
        return getattr(conf, self.name).port

    def base_url(self, conf: Config) -> str:
        return f"http://{conf.DEFAULT.public_host}:{self.port(conf)}"

    def endpoint(self, conf: Config, project_id: str | None = None) -> str:
        url = self.base_url(conf) + self.path
        if self.project_in_path and project_id:
            url += f"/{project_id}"
        return url

    def create_app(self, conf: Config) -> Flask:
        module, _, func = self.factory.partition(":")
        return getattr(importlib.import_module(module), func)(conf)


SERVICES: tuple[ServiceDef, ...] = (
    ServiceDef("identity", "identity", "keystone", "minicloud.identity.api:create_app", "/v3",
               policies="minicloud.identity.policies:RULES"),
    ServiceDef("image", "image", "glance", "images.api:create_app", "",
               policies="images.policies:RULES"),
    ServiceDef("compute", "compute", "nova", "compute.api:create_app", "/v2.1",
               policies="compute.policies:RULES"),
    ServiceDef("volume", "volumev3", "cinderv3", "volumes.api:create_app", "/v3",
               project_in_path=True, extra_types=(("block-storage", "cinder"),),
               policies="volumes.policies:RULES"),
    ServiceDef("key_manager", "key-manager", "barbican", "keymanager.api:create_app", "",
               policies="keymanager.policies:RULES"),
)


@dataclass(frozen=True)
class AgentDef:
    """A background worker process (no HTTP API), started after the API services."""

    name: str
    module: str  # run as ``python -m MODULE``


AGENTS: tuple[AgentDef, ...] = (AgentDef("compute-agent", "compute.agent"),
                                AgentDef("volume-agent", "volumes.agent"))


def by_name(name: str) -> ServiceDef:
    for svc in SERVICES:
        if svc.name == name:
            return svc
    raise KeyError(name)
