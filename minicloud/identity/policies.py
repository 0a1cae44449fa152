"""Policy defaults of the identity API (Keystone v3), named and written as Keystone's.

Names, check strings and scope types follow Keystone's current secure defaults
(keystone/common/policies/{domain,project,user,group,role,implied_role,grant,role_assignment,
token,auth}.py): an ``admin`` administers everything; a system reader (``reader`` on a
system-scoped token) reads everything; domain readers and managers act within their domain;
a user reads itself, its projects and its groups; a project member reads its own project and
its tags. oslo.policy enforces the scope types (a domain-scoped token is refused where
Keystone only takes system or project scope).

Targets are flattened as Keystone flattens them (``target.project.domain_id``...): see
:func:`minicloud.identity.views.target`. The catalog engineer's rules (regions, services,
endpoints, credentials, policies, application credentials, OAuth consumers) come from
:mod:`minicloud.identity.catalog_policies` and are appended to :data:`RULES`.
"""
from __future__ import annotations

from minicloud.identity import catalog_policies
from minicloud.policy import DocumentedRuleDefault, RuleDefault, documented

ALL_SCOPES = ["system", "domain", "project"]
SYSTEM_OR_PROJECT = ["system", "project"]

DOMAIN_GET = (
    'rule:admin_required or (role:reader and system_scope:all) or '
    'token.domain.id:%(target.domain.id)s or token.project.domain.id:%(target.domain.id)s')
DOMAIN_LIST = (
    'rule:admin_required or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.domain.id)s)')
ADMIN = "rule:admin_required"
PROJECT_READ = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.project.domain_id)s and not None:%(target.project.domain_id)s) or '
    'project_id:%(target.project.id)s')
LIST_IN_DOMAIN = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.domain_id)s)')
USER_PROJECTS = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s')
PROJECT_WRITE = (
    '(rule:admin_required) or (role:manager and domain_id:%(target.project.domain_id)s and not '
    'None:%(target.project.domain_id)s)')
USER_GET = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'token.domain.id:%(target.user.domain_id)s) or user_id:%(target.user.id)s')
ANYONE = ""
USER_WRITE = "(rule:admin_required) or (role:manager and token.domain.id:%(target.user.domain_id)s)"
GROUP_READ = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.group.domain_id)s)')
USER_GROUPS = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.user.domain_id)s) or user_id:%(user_id)s')
GROUP_WRITE = "(rule:admin_required) or (role:manager and domain_id:%(target.group.domain_id)s)"
MEMBERSHIP_WRITE = (
    '(rule:admin_required) or (role:manager and domain_id:%(target.group.domain_id)s and '
    'domain_id:%(target.user.domain_id)s)')
MEMBERSHIP_READ = (
    '(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.group.domain_id)s and domain_id:%(target.user.domain_id)s)')
ROLE_GET = (
    '(rule:admin_required or (role:reader and system_scope:all)) or (role:manager and '
    'rule:domain_managed_target_role)')
ROLE_LIST = (
    '(rule:admin_required or (role:reader and system_scope:all)) or (role:manager and not '
    'domain_id:None)')
ADMIN_OR_SYSTEM_READER = "rule:admin_required or (role:reader and system_scope:all)"
GRANT_CHECK = (
    '(rule:admin_required) or ((role:reader and system_scope:all) or ((role:reader and '
    'domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or '
    '(role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) '
    'or (role:reader and domain_id:%(target.group.domain_id)s and '
    'domain_id:%(target.project.domain_id)s) or (role:reader and '
    'domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) and '
    '(domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s))')
GRANT_LIST = (
    '(rule:admin_required) or ((role:reader and system_scope:all) or (role:reader and '
    'domain_id:%(target.user.domain_id)s and domain_id:%(target.project.domain_id)s) or '
    '(role:reader and domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) '
    'or (role:reader and domain_id:%(target.group.domain_id)s and '
    'domain_id:%(target.project.domain_id)s) or (role:reader and '
    'domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s))')
GRANT_WRITE = (
    '(rule:admin_required) or ((role:admin and domain_id:%(target.user.domain_id)s and '
    'domain_id:%(target.project.domain_id)s) or (role:admin and '
    'domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or (role:admin and'
    ' domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or '
    '(role:admin and domain_id:%(target.group.domain_id)s and domain_id:%(target.domain.id)s)) '
    'and (domain_id:%(target.role.domain_id)s or None:%(target.role.domain_id)s) or '
    '((role:manager and domain_id:%(target.user.domain_id)s and '
    'domain_id:%(target.project.domain_id)s) or (role:manager and '
    'domain_id:%(target.user.domain_id)s and domain_id:%(target.domain.id)s) or (role:manager '
    'and domain_id:%(target.group.domain_id)s and domain_id:%(target.project.domain_id)s) or '
    '(role:manager and domain_id:%(target.group.domain_id)s and '
    'domain_id:%(target.domain.id)s)) and rule:domain_managed_target_role')
TOKEN_CHECK = "rule:admin_required or (role:reader and system_scope:all) or rule:token_subject"
TOKEN_VALIDATE = (
    'rule:admin_required or (role:reader and system_scope:all) or rule:service_role or '
    'rule:token_subject')
TOKEN_REVOKE = "rule:admin_required or rule:token_subject"

#: Roles a domain manager may grant or revoke (Keystone's default).
DOMAIN_MANAGER_ALLOWED_ROLES = ("'manager':%(target.role.name)s or "
                                "'member':%(target.role.name)s or "
                                "'reader':%(target.role.name)s")

BASE: list[RuleDefault] = [
    RuleDefault("admin_required", "role:admin or is_admin:1", "An administrator."),
    RuleDefault("service_role", "role:service", "A service user."),
    RuleDefault("service_or_admin", "rule:admin_required or rule:service_role",
                "A service user or an administrator."),
    RuleDefault("owner", "user_id:%(user_id)s", "The user the request is about."),
    RuleDefault("admin_or_owner", "rule:admin_required or rule:owner",
                "An administrator or the user the request is about."),
    RuleDefault("token_subject", "user_id:%(target.token.user_id)s",
                "The user a token belongs to."),
    RuleDefault("admin_or_token_subject", "rule:admin_required or rule:token_subject",
                "An administrator or the user a token belongs to."),
    RuleDefault("service_admin_or_token_subject",
                "rule:service_or_admin or rule:token_subject",
                "A service, an administrator or the user a token belongs to."),
    RuleDefault("domain_managed_target_role", DOMAIN_MANAGER_ALLOWED_ROLES,
                "The roles a domain manager may assign."),
]


def _rule(name: str, check: str, description: str, operations: list[tuple[str, str]],
          scopes: list[str] | None = ALL_SCOPES) -> DocumentedRuleDefault:
    return documented(f"identity:{name}", check, description, operations, scopes)


OWN: list[DocumentedRuleDefault] = [
    _rule("get_domain", DOMAIN_GET, "Get domain.",
          [("GET", "/v3/domains/{domain_id}")]),
    _rule("list_domains", DOMAIN_LIST, "List domains.",
          [("GET", "/v3/domains")]),
    _rule("create_domain", ADMIN, "Create domain.",
          [("POST", "/v3/domains")], SYSTEM_OR_PROJECT),
    _rule("update_domain", ADMIN, "Update domain.",
          [("PATCH", "/v3/domains/{domain_id}")], SYSTEM_OR_PROJECT),
    _rule("delete_domain", ADMIN, "Delete domain.",
          [("DELETE", "/v3/domains/{domain_id}")], SYSTEM_OR_PROJECT),
    _rule("get_project", PROJECT_READ, "Get project.",
          [("GET", "/v3/projects/{project_id}")]),
    _rule("list_projects", LIST_IN_DOMAIN, "List projects.",
          [("GET", "/v3/projects")]),
    _rule("list_user_projects", USER_PROJECTS, "List user projects.",
          [("GET", "/v3/users/{user_id}/projects")]),
    _rule("create_project", PROJECT_WRITE, "Create project.",
          [("POST", "/v3/projects")]),
    _rule("update_project", PROJECT_WRITE, "Update project.",
          [("PATCH", "/v3/projects/{project_id}")]),
    _rule("delete_project", PROJECT_WRITE, "Delete project.",
          [("DELETE", "/v3/projects/{project_id}")]),
    _rule("list_project_tags", PROJECT_READ, "List project tags.",
          [("GET", "/v3/projects/{project_id}/tags"), ("HEAD", "/v3/projects/{project_id}/tags")]),
    _rule("get_project_tag", PROJECT_READ, "Get project tag.",
          [("GET", "/v3/projects/{project_id}/tags/{value}"),
           ("HEAD", "/v3/projects/{project_id}/tags/{value}")]),
    _rule("update_project_tags", PROJECT_WRITE, "Update project tags.",
          [("PUT", "/v3/projects/{project_id}/tags")]),
    _rule("create_project_tag", PROJECT_WRITE, "Create project tag.",
          [("PUT", "/v3/projects/{project_id}/tags/{value}")]),
    _rule("delete_project_tags", PROJECT_WRITE, "Delete project tags.",
          [("DELETE", "/v3/projects/{project_id}/tags")]),
    _rule("delete_project_tag", PROJECT_WRITE, "Delete project tag.",
          [("DELETE", "/v3/projects/{project_id}/tags/{value}")]),
    _rule("get_user", USER_GET, "Get user.",
          [("GET", "/v3/users/{user_id}"), ("HEAD", "/v3/users/{user_id}")]),
    _rule("list_users", LIST_IN_DOMAIN, "List users.",
          [("GET", "/v3/users"), ("HEAD", "/v3/users")]),
    _rule("list_projects_for_user", ANYONE, "List projects for user.",
          [("GET", "/v3/auth/projects")], None),
    _rule("list_domains_for_user", ANYONE, "List domains for user.",
          [("GET", "/v3/auth/domains")], None),
    _rule("create_user", USER_WRITE, "Create user.",
          [("POST", "/v3/users")]),
    _rule("update_user", USER_WRITE, "Update user.",
          [("PATCH", "/v3/users/{user_id}")]),
    _rule("delete_user", USER_WRITE, "Delete user.",
          [("DELETE", "/v3/users/{user_id}")]),
    _rule("get_group", GROUP_READ, "Get group.",
          [("GET", "/v3/groups/{group_id}"), ("HEAD", "/v3/groups/{group_id}")]),
    _rule("list_groups", GROUP_READ, "List groups.",
          [("GET", "/v3/groups"), ("HEAD", "/v3/groups")]),
    _rule("list_groups_for_user", USER_GROUPS, "List groups for user.",
          [("GET", "/v3/users/{user_id}/groups"), ("HEAD", "/v3/users/{user_id}/groups")]),
    _rule("create_group", GROUP_WRITE, "Create group.",
          [("POST", "/v3/groups")]),
    _rule("update_group", GROUP_WRITE, "Update group.",
          [("PATCH", "/v3/groups/{group_id}")]),
    _rule("delete_group", GROUP_WRITE, "Delete group.",
          [("DELETE", "/v3/groups/{group_id}")]),
    _rule("list_users_in_group", GROUP_READ, "List users in group.",
          [("GET", "/v3/groups/{group_id}/users"), ("HEAD", "/v3/groups/{group_id}/users")]),
    _rule("remove_user_from_group", MEMBERSHIP_WRITE, "Remove user from group.",
          [("DELETE", "/v3/groups/{group_id}/users/{user_id}")]),
    _rule("check_user_in_group", MEMBERSHIP_READ, "Check user in group.",
          [("HEAD", "/v3/groups/{group_id}/users/{user_id}"),
           ("GET", "/v3/groups/{group_id}/users/{user_id}")]),
    _rule("add_user_to_group", MEMBERSHIP_WRITE, "Add user to group.",
          [("PUT", "/v3/groups/{group_id}/users/{user_id}")]),
    _rule("get_role", ROLE_GET, "Get role.",
          [("GET", "/v3/roles/{role_id}"), ("HEAD", "/v3/roles/{role_id}")]),
    _rule("list_roles", ROLE_LIST, "List roles.",
          [("GET", "/v3/roles"), ("HEAD", "/v3/roles")]),
    _rule("create_role", ADMIN, "Create role.",
          [("POST", "/v3/roles")], SYSTEM_OR_PROJECT),
    _rule("update_role", ADMIN, "Update role.",
          [("PATCH", "/v3/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("delete_role", ADMIN, "Delete role.",
          [("DELETE", "/v3/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("get_domain_role", ADMIN_OR_SYSTEM_READER, "Get domain role.",
          [("GET", "/v3/roles/{role_id}"), ("HEAD", "/v3/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("list_domain_roles", ADMIN_OR_SYSTEM_READER, "List domain roles.",
          [("GET", "/v3/roles?domain_id={domain_id}"),
           ("HEAD", "/v3/roles?domain_id={domain_id}")], SYSTEM_OR_PROJECT),
    _rule("create_domain_role", ADMIN, "Create domain role.",
          [("POST", "/v3/roles")], SYSTEM_OR_PROJECT),
    _rule("update_domain_role", ADMIN, "Update domain role.",
          [("PATCH", "/v3/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("delete_domain_role", ADMIN, "Delete domain role.",
          [("DELETE", "/v3/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("get_implied_role", ADMIN_OR_SYSTEM_READER, "Get implied role.",
          [("GET", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")], SYSTEM_OR_PROJECT),
    _rule("list_implied_roles", ADMIN_OR_SYSTEM_READER, "List implied roles.",
          [("GET", "/v3/roles/{prior_role_id}/implies"),
           ("HEAD", "/v3/roles/{prior_role_id}/implies")], SYSTEM_OR_PROJECT),
    _rule("create_implied_role", ADMIN, "Create implied role.",
          [("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")], SYSTEM_OR_PROJECT),
    _rule("delete_implied_role", ADMIN, "Delete implied role.",
          [("DELETE", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")], SYSTEM_OR_PROJECT),
    _rule("list_role_inference_rules", ADMIN_OR_SYSTEM_READER, "List role inference rules.",
          [("GET", "/v3/role_inferences"), ("HEAD", "/v3/role_inferences")], SYSTEM_OR_PROJECT),
    _rule("check_implied_role", ADMIN_OR_SYSTEM_READER, "Check implied role.",
          [("HEAD", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")], SYSTEM_OR_PROJECT),
    _rule("check_grant", GRANT_CHECK, "Check grant.",
          [("HEAD", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
           ("GET", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
           ("HEAD", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
           ("GET", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
           ("HEAD", "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
           ("GET", "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
           ("HEAD", "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}"),
           ("GET", "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}")]),
    _rule("list_grants", GRANT_LIST, "List grants.",
          [("GET", "/v3/projects/{project_id}/users/{user_id}/roles"),
           ("HEAD", "/v3/projects/{project_id}/users/{user_id}/roles"),
           ("GET", "/v3/projects/{project_id}/groups/{group_id}/roles"),
           ("HEAD", "/v3/projects/{project_id}/groups/{group_id}/roles"),
           ("GET", "/v3/domains/{domain_id}/users/{user_id}/roles"),
           ("HEAD", "/v3/domains/{domain_id}/users/{user_id}/roles"),
           ("GET", "/v3/domains/{domain_id}/groups/{group_id}/roles"),
           ("HEAD", "/v3/domains/{domain_id}/groups/{group_id}/roles")]),
    _rule("create_grant", GRANT_WRITE, "Create grant.",
          [("PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
           ("PUT", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
           ("PUT", "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
           ("PUT", "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}")]),
    _rule("revoke_grant", GRANT_WRITE, "Revoke grant.",
          [("DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
           ("DELETE", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}"),
           ("DELETE", "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}"),
           ("DELETE", "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}")]),
    _rule("list_system_grants_for_user", ADMIN_OR_SYSTEM_READER, "List system grants for user.",
          [("HEAD", "/v3/system/users/{user_id}/roles"),
           ("GET", "/v3/system/users/{user_id}/roles")], SYSTEM_OR_PROJECT),
    _rule("check_system_grant_for_user", ADMIN_OR_SYSTEM_READER, "Check system grant for user.",
          [("HEAD", "/v3/system/users/{user_id}/roles/{role_id}"),
           ("GET", "/v3/system/users/{user_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("create_system_grant_for_user", ADMIN, "Create system grant for user.",
          [("PUT", "/v3/system/users/{user_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("revoke_system_grant_for_user", ADMIN, "Revoke system grant for user.",
          [("DELETE", "/v3/system/users/{user_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("list_system_grants_for_group", ADMIN_OR_SYSTEM_READER, "List system grants for group.",
          [("HEAD", "/v3/system/groups/{group_id}/roles"),
           ("GET", "/v3/system/groups/{group_id}/roles")], SYSTEM_OR_PROJECT),
    _rule("check_system_grant_for_group", ADMIN_OR_SYSTEM_READER, "Check system grant for group.",
          [("HEAD", "/v3/system/groups/{group_id}/roles/{role_id}"),
           ("GET", "/v3/system/groups/{group_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("create_system_grant_for_group", ADMIN, "Create system grant for group.",
          [("PUT", "/v3/system/groups/{group_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("revoke_system_grant_for_group", ADMIN, "Revoke system grant for group.",
          [("DELETE", "/v3/system/groups/{group_id}/roles/{role_id}")], SYSTEM_OR_PROJECT),
    _rule("list_role_assignments", LIST_IN_DOMAIN, "List role assignments.",
          [("GET", "/v3/role_assignments"), ("HEAD", "/v3/role_assignments")]),
    _rule("list_role_assignments_for_tree", LIST_IN_DOMAIN, "List role assignments for tree.",
          [("GET", "/v3/role_assignments?include_subtree"),
           ("HEAD", "/v3/role_assignments?include_subtree")]),
    _rule("check_token", TOKEN_CHECK, "Check token.",
          [("HEAD", "/v3/auth/tokens")]),
    _rule("validate_token", TOKEN_VALIDATE, "Validate token.",
          [("GET", "/v3/auth/tokens")]),
    _rule("revoke_token", TOKEN_REVOKE, "Revoke token.",
          [("DELETE", "/v3/auth/tokens")]),
    _rule("create_domain_config", ADMIN, "Create domain configuration.",
          [("PUT", "/v3/domains/{domain_id}/config")], SYSTEM_OR_PROJECT),
    _rule("get_domain_config", ADMIN_OR_SYSTEM_READER, "Get domain configuration.",
          [("GET", "/v3/domains/{domain_id}/config"),
           ("GET", "/v3/domains/{domain_id}/config/{group}"),
           ("GET", "/v3/domains/{domain_id}/config/{group}/{option}")], SYSTEM_OR_PROJECT),
    _rule("update_domain_config", ADMIN, "Update domain configuration.",
          [("PATCH", "/v3/domains/{domain_id}/config"),
           ("PATCH", "/v3/domains/{domain_id}/config/{group}"),
           ("PATCH", "/v3/domains/{domain_id}/config/{group}/{option}")], SYSTEM_OR_PROJECT),
    _rule("delete_domain_config", ADMIN, "Delete domain configuration.",
          [("DELETE", "/v3/domains/{domain_id}/config"),
           ("DELETE", "/v3/domains/{domain_id}/config/{group}"),
           ("DELETE", "/v3/domains/{domain_id}/config/{group}/{option}")], SYSTEM_OR_PROJECT),
    _rule("get_domain_config_default", ADMIN_OR_SYSTEM_READER,
          "Get the domain configuration defaults.",
          [("GET", "/v3/domains/config/default"),
           ("GET", "/v3/domains/config/{group}/default"),
           ("GET", "/v3/domains/config/{group}/{option}/default")], SYSTEM_OR_PROJECT),
    _rule("get_auth_catalog", ANYONE, "Get auth catalog.",
          [("GET", "/v3/auth/catalog"), ("HEAD", "/v3/auth/catalog")], None),
    _rule("get_auth_projects", ANYONE, "Get auth projects.",
          [("GET", "/v3/auth/projects"), ("HEAD", "/v3/auth/projects")], None),
    _rule("get_auth_domains", ANYONE, "Get auth domains.",
          [("GET", "/v3/auth/domains"), ("HEAD", "/v3/auth/domains")], None),
    _rule("get_auth_system", ANYONE, "Get auth system.",
          [("GET", "/v3/auth/system"), ("HEAD", "/v3/auth/system")], None),
]

_CATALOG = {r.name for r in catalog_policies.RULES}
#: Every identity rule: the base rules, the ones above, and the catalog engineer's.
RULES: list[RuleDefault] = [*BASE, *(r for r in OWN if r.name not in _CATALOG),
                            *catalog_policies.RULES]
