"""Domain configuration (``/v3/domains/{id}/config``): per-domain identity options, stored
and returned as Keystone's API does.

minicloud has one SQL identity backend and no domain-specific drivers, so these options are
kept but not applied: exactly what Keystone does with ``[identity]
domain_specific_drivers_enabled = false``. Only Keystone's whitelisted groups and options
are accepted (403 otherwise, as Keystone's ``InvalidDomainConfig``); the sensitive ones
(``ldap.password``) are accepted and never returned.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minicloud.db import Database
from minicloud.errors import BadRequest, Forbidden, NotFound
from minicloud.identity.context import enforce
from minicloud.identity.models import Domain, DomainConfig
from minicloud.wsgi import body_schema, current_service, json_body, json_response

_LDAP = (
    "url user suffix query_scope page_size alias_dereferencing debug_level chase_referrals "
    "user_tree_dn user_filter user_objectclass user_id_attribute user_name_attribute "
    "user_mail_attribute user_description_attribute user_pass_attribute "
    "user_enabled_attribute user_enabled_invert user_enabled_mask user_enabled_default "
    "user_attribute_ignore user_default_project_id_attribute user_enabled_emulation "
    "user_enabled_emulation_dn user_enabled_emulation_use_group_config "
    "user_additional_attribute_mapping group_tree_dn group_filter group_objectclass "
    "group_id_attribute group_name_attribute group_members_are_ids group_member_attribute "
    "group_desc_attribute group_attribute_ignore group_additional_attribute_mapping "
    "tls_cacertfile tls_cacertdir use_tls tls_req_cert use_pool pool_size pool_retry_max "
    "pool_retry_delay pool_connection_timeout pool_connection_lifetime use_auth_pool "
    "auth_pool_size auth_pool_connection_lifetime").split()
#: The options a domain may set, by group, as Keystone whitelists them.
WHITELISTED = {"identity": ["driver", "list_limit"], "ldap": _LDAP}
SENSITIVE = {"identity": [], "ldap": ["password"]}
#: The defaults ``/v3/domains/config/default`` shows (minicloud's own: the SQL driver).
DEFAULTS = {"identity": {"driver": "sql", "list_limit": None},
            "ldap": {**dict.fromkeys(_LDAP), "url": "ldap://localhost",
                     "suffix": "cn=example,cn=com", "query_scope": "one", "page_size": 0,
                     "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn",
                     "user_name_attribute": "sn", "group_objectclass": "groupOfNames",
                     "use_tls": False, "use_pool": True}}

CONFIG = {"type": "object", "required": ["config"], "additionalProperties": False,
          "properties": {"config": {"type": "object", "minProperties": 1}}}


def _check(config: dict) -> None:
    """403 unless every group and option is one a domain may set."""
    for group, options in config.items():
        if group not in WHITELISTED or not isinstance(options, dict) or not options:
            raise Forbidden(f"Invalid domain specific configuration: group {group!r} is not "
                            "supported (identity and ldap are).")
        for option in options:
            if option not in WHITELISTED[group] + SENSITIVE[group]:
                raise Forbidden(f"Invalid domain specific configuration: option {option!r} "
                                f"is not supported in group {group!r}.")


class DomainConfigStore:
    """The stored options of each domain; each call one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _rows(s: Session, domain_id: str) -> list[DomainConfig]:
        if s.get(Domain, domain_id) is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        return list(s.scalars(select(DomainConfig).where(DomainConfig.domain_id == domain_id)))

    def get(self, domain_id: str) -> dict:
        """The domain's config (sensitive options left out); {} when it has none."""
        with self.db.session() as s:
            out: dict = {}
            for row in self._rows(s, domain_id):
                if row.option in WHITELISTED.get(row.group, ()):
                    out.setdefault(row.group, {})[row.option] = json.loads(row.value)
            return out

    def merge(self, domain_id: str, config: dict, replace: bool = False) -> bool:
        """Set the options of ``config`` (all of them with ``replace``); True when the
        domain had no config before."""
        _check(config)
        with self.db.session() as s:
            existed = bool(self._rows(s, domain_id))
            if replace:
                s.execute(delete(DomainConfig).where(DomainConfig.domain_id == domain_id))
            for group, options in config.items():
                for option, value in options.items():
                    s.merge(DomainConfig(domain_id=domain_id, group=group, option=option,
                                         value=json.dumps(value)))
            return not existed

    def remove(self, domain_id: str, group: str | None = None,
               option: str | None = None) -> None:
        """Delete the whole config, a group or one option (404 when absent)."""
        with self.db.session() as s:
            rows = [r for r in self._rows(s, domain_id)
                    if group in (None, r.group) and option in (None, r.option)]
            if not rows:
                raise NotFound(f"Could not find domain config: {group or ''} "
                               f"{option or ''} for domain {domain_id}.")
            for row in rows:
                s.delete(row)


blueprint = Blueprint("identity_domain_config", __name__)


def store() -> DomainConfigStore:
    return DomainConfigStore(current_service().db)


def _section(config: dict, group: str | None, option: str | None) -> dict:
    if group is None:
        if not config:
            raise NotFound("The domain has no configuration.")
        return config
    if group not in config or (option is not None and option not in config[group]):
        raise NotFound(f"Could not find domain config: {group} {option or ''}.")
    return {option: config[group][option]} if option else {group: config[group]}


@blueprint.put("/v3/domains/<domain_id>/config")
@body_schema(CONFIG)
def create_config(domain_id: str) -> Response:
    enforce("create_domain_config", domain={"id": domain_id})
    created = store().merge(domain_id, json_body()["config"], replace=True)
    return json_response({"config": store().get(domain_id)}, 201 if created else 200)


@blueprint.get("/v3/domains/<domain_id>/config")
@blueprint.get("/v3/domains/<domain_id>/config/<group>")
@blueprint.get("/v3/domains/<domain_id>/config/<group>/<option>")
def show_config(domain_id: str, group: str | None = None,
                option: str | None = None) -> Response:
    enforce("get_domain_config", domain={"id": domain_id})
    return json_response({"config": _section(store().get(domain_id), group, option)})


@blueprint.patch("/v3/domains/<domain_id>/config")
@blueprint.patch("/v3/domains/<domain_id>/config/<group>")
@blueprint.patch("/v3/domains/<domain_id>/config/<group>/<option>")
@body_schema(CONFIG)
def update_config(domain_id: str, group: str | None = None,
                  option: str | None = None) -> Response:
    enforce("update_domain_config", domain={"id": domain_id})
    config = json_body()["config"]
    if option is not None:
        if set(config) != {option}:
            raise BadRequest(f"The body must set exactly the option {option!r}.")
        config = {group: config}
    elif group is not None and set(config) != {group}:
        raise BadRequest(f"The body must set exactly the group {group!r}.")
    store().merge(domain_id, config)
    return json_response({"config": store().get(domain_id)})


@blueprint.delete("/v3/domains/<domain_id>/config")
@blueprint.delete("/v3/domains/<domain_id>/config/<group>")
@blueprint.delete("/v3/domains/<domain_id>/config/<group>/<option>")
def delete_config(domain_id: str, group: str | None = None,
                  option: str | None = None) -> Response:
    enforce("delete_domain_config", domain={"id": domain_id})
    store().remove(domain_id, group, option)
    return Response(status=204)


@blueprint.get("/v3/domains/config/default")
@blueprint.get("/v3/domains/config/<group>/default")
@blueprint.get("/v3/domains/config/<group>/<option>/default")
def show_defaults(group: str | None = None, option: str | None = None) -> Response:
    enforce("get_domain_config_default")
    if group is not None and group not in DEFAULTS:
        raise Forbidden(f"Invalid domain specific configuration: group {group!r}.")
    if option is not None and option not in DEFAULTS[group]:
        raise Forbidden(f"Invalid domain specific configuration: option {option!r}.")
    return json_response({"config": _section(DEFAULTS, group, option)})
