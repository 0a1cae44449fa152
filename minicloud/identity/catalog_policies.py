"""Policy defaults of the catalog and credential APIs, named and shaped as Keystone's.

Keystone's current defaults (keystone/common/policies/{region,service,endpoint,
endpoint_group,policy,consumer,credential,ec2_credential,application_credential,
access_rule}.py), written with minicloud's shared personas (:mod:`minicloud.policy`):
``rule:admin_api`` stands for Keystone's ``rule:admin_required``. Every rule admits project
scope, since project-scoped tokens are what minicloud's clients hold.

Targets the views pass (flattened, as Keystone flattens its target):

* application credentials: ``{"user_id": <owner>}`` (Keystone's ``rule:owner``);
* access rules: ``{"target.user.id": <owner>}``;
* credentials and EC2 credentials: ``{"target.credential.user_id": <owner>,
  "user_id": <user in the path>}``.
"""
from __future__ import annotations

from minicloud.policy import DocumentedRuleDefault, documented

SYSTEM_READER = "role:reader and system_scope:all"
SYSTEM_ADMIN = "role:admin and system_scope:all"
ADMIN = "rule:admin_api"
ADMIN_OR_SYSTEM_READER = f"{ADMIN} or ({SYSTEM_READER})"
OWNER = "user_id:%(user_id)s"
ADMIN_OR_OWNER = f"{ADMIN} or {OWNER}"
SYSTEM_READER_OR_OWNER = f"({SYSTEM_READER}) or {OWNER}"
ADMIN_OR_SYSTEM_READER_OR_OWNER = f"{ADMIN_OR_SYSTEM_READER} or {OWNER}"
CRED_OWNER = "user_id:%(target.credential.user_id)s"
ADMIN_OR_SYSTEM_READER_OR_CRED_OWNER = f"{ADMIN_OR_SYSTEM_READER} or {CRED_OWNER}"
ADMIN_OR_CRED_OWNER = f"{ADMIN} or {CRED_OWNER}"
RULE_OWNER_USER = "user_id:%(target.user.id)s"

ALL_SCOPES = ["system", "domain", "project"]
SYSTEM_PROJECT = ["system", "project"]


def _rule(name: str, check: str, description: str, operations: list[tuple[str, str]],
          scope_types: list[str] | None = None) -> DocumentedRuleDefault:
    return documented(f"identity:{name}", check, description, operations,
                      scope_types or ALL_SCOPES)


def _crud(singular: str, plural: str, collection: str, *, read: str = ADMIN_OR_SYSTEM_READER,
          write: str = ADMIN, update: str = "PATCH") -> list[DocumentedRuleDefault]:
    """The five rules of an admin-managed resource (get, list, create, update, delete)."""
    item = f"{collection}/{{{singular}_id}}"
    words = singular.replace("_", " ")
    return [
        _rule(f"get_{singular}", read, f"Show {words} details.",
              [("GET", item), ("HEAD", item)]),
        _rule(f"list_{plural}", read, f"List {words}s.",
              [("GET", collection), ("HEAD", collection)]),
        _rule(f"create_{singular}", write, f"Create {words}.", [("POST", collection)]),
        _rule(f"update_{singular}", write, f"Update {words}.", [(update, item)]),
        _rule(f"delete_{singular}", write, f"Delete {words}.", [("DELETE", item)]),
    ]


_REGIONS = _crud("region", "regions", "/v3/regions", read="")
# PUT /v3/regions/{region_id} creates a region with a chosen id: the same rule as POST.
_REGIONS[2].operations.append({"method": "PUT", "path": "/v3/regions/{region_id}"})

_APP_CREDS = "/v3/users/{user_id}/application_credentials"
_APP_CRED = _APP_CREDS + "/{application_credential_id}"
_ACCESS_RULES = "/v3/users/{user_id}/access_rules"
_ACCESS_RULE = _ACCESS_RULES + "/{access_rule_id}"
_EC2 = "/v3/users/{user_id}/credentials/OS-EC2"
_EC2_ONE = _EC2 + "/{credential_id}"

RULES: list[DocumentedRuleDefault] = [
    *_REGIONS,
    *_crud("service", "services", "/v3/services"),
    *_crud("endpoint", "endpoints", "/v3/endpoints"),
    *_crud("endpoint_group", "endpoint_groups", "/v3/OS-EP-FILTER/endpoint_groups"),
    _rule("list_endpoints_associated_with_endpoint_group", ADMIN_OR_SYSTEM_READER,
          "List all endpoints associated with an endpoint group.",
          [("GET", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints")]),
    *_crud("policy", "policies", "/v3/policies"),
    *_crud("consumer", "consumers", "/v3/OS-OAUTH1/consumers"),
    *_crud("credential", "credentials", "/v3/credentials",
           read=ADMIN_OR_SYSTEM_READER_OR_CRED_OWNER, write=ADMIN_OR_CRED_OWNER),
    _rule("ec2_get_credential", ADMIN_OR_SYSTEM_READER_OR_CRED_OWNER,
          "Show ec2 credential details.", [("GET", _EC2_ONE)], SYSTEM_PROJECT),
    _rule("ec2_list_credentials", ADMIN_OR_SYSTEM_READER_OR_OWNER,
          "List ec2 credentials.", [("GET", _EC2)], SYSTEM_PROJECT),
    _rule("ec2_create_credential", ADMIN_OR_OWNER,
          "Create ec2 credential.", [("POST", _EC2)], SYSTEM_PROJECT),
    _rule("ec2_delete_credential", ADMIN_OR_CRED_OWNER,
          "Delete ec2 credential.", [("DELETE", _EC2_ONE)], SYSTEM_PROJECT),
    _rule("get_application_credential", ADMIN_OR_SYSTEM_READER_OR_OWNER,
          "Show application credential details.",
          [("GET", _APP_CRED), ("HEAD", _APP_CRED)], SYSTEM_PROJECT),
    _rule("list_application_credentials", ADMIN_OR_SYSTEM_READER_OR_OWNER,
          "List application credentials for a user.",
          [("GET", _APP_CREDS), ("HEAD", _APP_CREDS)], SYSTEM_PROJECT),
    _rule("create_application_credential", OWNER,
          "Create an application credential.", [("POST", _APP_CREDS)], ["project"]),
    _rule("delete_application_credential", ADMIN_OR_OWNER,
          "Delete an application credential.", [("DELETE", _APP_CRED)], SYSTEM_PROJECT),
    _rule("get_access_rule", f"({SYSTEM_READER}) or {RULE_OWNER_USER}",
          "Show access rule details.",
          [("GET", _ACCESS_RULE), ("HEAD", _ACCESS_RULE)], SYSTEM_PROJECT),
    _rule("list_access_rules", f"({SYSTEM_READER}) or {RULE_OWNER_USER}",
          "List access rules for a user.",
          [("GET", _ACCESS_RULES), ("HEAD", _ACCESS_RULES)], SYSTEM_PROJECT),
    _rule("delete_access_rule", f"({SYSTEM_ADMIN}) or {RULE_OWNER_USER}",
          "Delete an access_rule.", [("DELETE", _ACCESS_RULE)], SYSTEM_PROJECT),
]
