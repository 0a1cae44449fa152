"""Policy-in-code defaults of the key manager, named and defaulted as Barbican's secure RBAC
rules (``barbican/common/policies/secrets.py``, the defaults since 2023.x).

Barbican's 2023+ defaults give secrets to *members*: a member of a project creates, lists,
reads, decrypts, fills and deletes its project's secrets; a project's admin does all of it; a
*reader* gets nothing (Barbican grants its reader role no secret rule). Any admin may read a
secret's metadata and delete it (``role:admin`` in ``secret:get`` / ``secret:delete``).

Barbican prefixes each rule with ``True:%(enforce_new_defaults)s and``, a switch between the
legacy and the new defaults; minicloud has only the new ones, so the rules are written without
it. The target of a secret rule is the secret, as Barbican flattens it:
``target.secret.project_id``, ``target.secret.creator_id`` and
``target.secret.read_project_access`` (always true: minicloud has no per-secret ACLs, so no
secret is private to its creator and ``secret_acl_read`` never matches).
"""
from __future__ import annotations

from minicloud.policy import RuleDefault, documented

SECRETS = "/v1/secrets"
SECRET = "/v1/secrets/{secret-id}"

_ACCESS = ("rule:secret_project_admin or "
           "(rule:secret_project_member and rule:secret_owner) or "
           "(rule:secret_project_member and rule:secret_is_not_private) or "
           "rule:secret_acl_read")
_WRITE = ("rule:secret_project_admin or "
          "(rule:secret_project_member and rule:secret_owner) or "
          "(rule:secret_project_member and rule:secret_is_not_private)")

RULES: list[RuleDefault] = [
    RuleDefault("secret_project_match", "project_id:%(target.secret.project_id)s"),
    RuleDefault("secret_project_reader", "role:reader and rule:secret_project_match"),
    RuleDefault("secret_project_member", "role:member and rule:secret_project_match"),
    RuleDefault("secret_project_admin", "role:admin and rule:secret_project_match"),
    RuleDefault("secret_owner", "user_id:%(target.secret.creator_id)s"),
    RuleDefault("secret_is_not_private", "True:%(target.secret.read_project_access)s"),
    RuleDefault("secret_acl_read", "'read':%(target.secret.read)s"),
    documented("secret:decrypt", _ACCESS, "Retrieve a secrets payload.",
               [("GET", "/v1/secrets/{uuid}/payload")]),
    documented("secret:get", f"role:admin or {_ACCESS}", "Retrieves a secrets metadata.",
               [("GET", SECRET)]),
    documented("secret:put", _WRITE, "Add the payload to an existing metadata-only secret.",
               [("PUT", SECRET)]),
    documented("secret:delete", f"role:admin or {_WRITE}", "Delete a secret by uuid.",
               [("DELETE", SECRET)]),
    documented("secrets:post", "role:member", "Creates a Secret entity.",
               [("POST", SECRETS)]),
    documented("secrets:get", "role:member", "Lists a projects secrets.",
               [("GET", SECRETS)]),
]
