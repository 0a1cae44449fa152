"""Policy-in-code defaults of the image service, named and defaulted as Glance's.

Glance's secure defaults (``enforce_new_defaults``, the default since 2023.x), written with
the shared personas of :mod:`minicloud.policy` where Glance's rule is one of them, and as
Glance writes them where it is image-specific (visibility, membership, the owner of a new
image). Every rule about an existing image is checked against the image (see
``images.access.target``): ``project_id`` and ``owner`` are its owner, ``visibility`` its
visibility, ``member_id`` the caller's project when that project is a member of the image
(else null), plus ``id``, ``status``, ``protected`` and the custom properties. A new image's
target is ``{"project_id": owner, "owner": owner, "visibility": ...}``; listings use the
caller's project. A rule that denies on an image the caller may not ``get_image`` answers 404
(the image does not exist for them), else 403, as Glance.

Operators override any rule by name in ``policy.yaml``. Glance's ``default`` rule (empty) is
not registered: with it every unknown rule name would allow everything. The tasks rules
Glance defines as ``rule:default`` are therefore written as the empty rule they resolve to;
every task route also checks ``tasks_api_access`` (admin), as Glance. The cache API
(``images.api_cache``, when ``[image] cache_enabled``) has Glance's three rules
(``cache_list``, ``cache_image``, ``cache_delete``: ``DELETE /v2/cache`` is ``cache_delete``
too). Rules for APIs minicloud does not serve (store details, locations) are declared so that
a policy file naming them stays valid and the reference is complete.
"""
from __future__ import annotations

from minicloud.policy import DocumentedRuleDefault, RuleDefault, documented

IS_ADMIN = "rule:context_is_admin"
READER = "rule:project_reader_or_admin"
MEMBER = "rule:project_member_or_admin"
_VISIBLE = ("project_id:%(project_id)s or project_id:%(member_id)s or "
            "'community':%(visibility)s or 'public':%(visibility)s or "
            "'shared':%(visibility)s")
#: Readers of the owner, of a member project, or of any project for a visible image.
GET_IMAGE = f"{IS_ADMIN} or (role:reader and ({_VISIBLE}))"
#: The same for members: downloading is a member's right in Glance, not a reader's.
DOWNLOAD_IMAGE = f"{IS_ADMIN} or (role:member and ({_VISIBLE}))"
#: A member of its own project, creating an image owned by that project.
CREATE_IMAGE = (f"{IS_ADMIN} or (role:member and project_id:%(project_id)s and "
                "project_id:%(owner)s)")
#: Readers of the owner project or of a member project.
READER_OR_SHARED_MEMBER = (f"{IS_ADMIN} or (role:reader and (project_id:%(project_id)s or "
                           "project_id:%(member_id)s))")
#: Members of a project the image is shared with (the member's own status).
SHARED_MEMBER = f"{IS_ADMIN} or (role:member and project_id:%(member_id)s)"
SERVICE = "rule:service_api"

IMAGE = "/v2/images/{image_id}"
MEMBERS = "/v2/images/{image_id}/members"


def _rule(name: str, check: str, description: str,
          *operations: tuple[str, str]) -> DocumentedRuleDefault:
    return documented(name, check, description, operations)


NAMESPACES = "/v2/metadefs/namespaces"
NAMESPACE = f"{NAMESPACES}/{{namespace_name}}"
#: Readers of the owner project, or of any project for a public namespace.
GET_NAMESPACE = f"{IS_ADMIN} or (role:reader and (project_id:%(project_id)s or " \
                "'public':%(visibility)s))"
METADEF_ADMIN = "rule:metadef_admin"


def _metadef_rules() -> list[RuleDefault]:
    """Glance's metadef rules: (name, check, description, method, path) rows."""
    rows = [
        ("get_metadef_namespace", GET_NAMESPACE, "Get a specific namespace.", "GET",
         NAMESPACE),
        ("get_metadef_namespaces", READER, "List namespace.", "GET", NAMESPACES),
        ("modify_metadef_namespace", METADEF_ADMIN, "Modify an existing namespace.", "PUT",
         NAMESPACE),
        ("add_metadef_namespace", METADEF_ADMIN, "Create a namespace.", "POST", NAMESPACES),
        ("delete_metadef_namespace", METADEF_ADMIN,
         "Delete a namespace (also: all its objects, properties or tags).", "DELETE",
         NAMESPACE),
        ("get_metadef_object", GET_NAMESPACE, "Get a specific object from a namespace.",
         "GET", f"{NAMESPACE}/objects/{{object_name}}"),
        ("get_metadef_objects", GET_NAMESPACE, "Get objects from a namespace.", "GET",
         f"{NAMESPACE}/objects"),
        ("modify_metadef_object", METADEF_ADMIN, "Update an object within a namespace.",
         "PUT", f"{NAMESPACE}/objects/{{object_name}}"),
        ("add_metadef_object", METADEF_ADMIN, "Create an object within a namespace.",
         "POST", f"{NAMESPACE}/objects"),
        ("delete_metadef_object", METADEF_ADMIN, "Delete an object within a namespace.",
         "DELETE", f"{NAMESPACE}/objects/{{object_name}}"),
        ("list_metadef_resource_types", GET_NAMESPACE, "List meta definition resource types.",
         "GET", "/v2/metadefs/resource_types"),
        ("get_metadef_resource_type", GET_NAMESPACE,
         "Get meta definition resource types associations.", "GET",
         f"{NAMESPACE}/resource_types"),
        ("add_metadef_resource_type_association", METADEF_ADMIN,
         "Create meta definition resource types association.", "POST",
         f"{NAMESPACE}/resource_types"),
        ("remove_metadef_resource_type_association", METADEF_ADMIN,
         "Delete meta definition resource types association.", "DELETE",
         f"{NAMESPACE}/resource_types/{{name}}"),
        ("get_metadef_property", GET_NAMESPACE, "Get a specific meta definition property.",
         "GET", f"{NAMESPACE}/properties/{{property_name}}"),
        ("get_metadef_properties", GET_NAMESPACE, "List meta definition properties.", "GET",
         f"{NAMESPACE}/properties"),
        ("modify_metadef_property", METADEF_ADMIN, "Update meta definition property.",
         "PUT", f"{NAMESPACE}/properties/{{property_name}}"),
        ("add_metadef_property", METADEF_ADMIN, "Create meta definition property.", "POST",
         f"{NAMESPACE}/properties"),
        ("remove_metadef_property", METADEF_ADMIN, "Delete meta definition property.",
         "DELETE", f"{NAMESPACE}/properties/{{property_name}}"),
        ("get_metadef_tag", GET_NAMESPACE, "Get tag definition.", "GET",
         f"{NAMESPACE}/tags/{{tag_name}}"),
        ("get_metadef_tags", GET_NAMESPACE, "List tag definitions.", "GET",
         f"{NAMESPACE}/tags"),
        ("modify_metadef_tag", METADEF_ADMIN, "Update tag definition.", "PUT",
         f"{NAMESPACE}/tags/{{tag_name}}"),
        ("add_metadef_tag", METADEF_ADMIN, "Add tag definition.", "POST",
         f"{NAMESPACE}/tags/{{tag_name}}"),
        ("add_metadef_tags", METADEF_ADMIN, "Create tag definitions.", "POST",
         f"{NAMESPACE}/tags"),
        ("delete_metadef_tag", METADEF_ADMIN, "Delete tag definition.", "DELETE",
         f"{NAMESPACE}/tags/{{tag_name}}"),
        ("delete_metadef_tags", METADEF_ADMIN, "Delete tag definitions.", "DELETE",
         f"{NAMESPACE}/tags"),
    ]
    return [_rule(name, check, description, (method, path))
            for name, check, description, method, path in rows]


RULES: list[RuleDefault] = [
    RuleDefault("service_api", "role:service or role:admin",
                "Default rule for the service-to-service API.", scope_types=["project"]),
    # -- images (glance/policies/image.py) ----------------------------------------------
    _rule("add_image", CREATE_IMAGE, "Create new image", ("POST", "/v2/images")),
    _rule("delete_image", MEMBER, "Deletes the image", ("DELETE", IMAGE)),
    _rule("get_image", GET_IMAGE, "Get specified image", ("GET", IMAGE)),
    _rule("get_images", READER, "Get all available images", ("GET", "/v2/images")),
    _rule("modify_image", MEMBER,
          "Updates given image (also: tags, staging data, importing it)",
          ("PATCH", IMAGE), ("PUT", f"{IMAGE}/tags/{{tag_value}}"),
          ("DELETE", f"{IMAGE}/tags/{{tag_value}}"), ("PUT", f"{IMAGE}/stage"),
          ("POST", f"{IMAGE}/import")),
    _rule("publicize_image", IS_ADMIN, "Publicize given image", ("PATCH", IMAGE),
          ("POST", "/v2/images")),
    _rule("communitize_image", MEMBER, "Communitize given image", ("PATCH", IMAGE),
          ("POST", "/v2/images")),
    _rule("download_image", DOWNLOAD_IMAGE, "Downloads given image",
          ("GET", f"{IMAGE}/file")),
    _rule("upload_image", MEMBER, "Uploads data to specified image", ("PUT", f"{IMAGE}/file")),
    _rule("delete_image_location", IS_ADMIN, "Deletes the location of given image",
          ("PATCH", IMAGE)),
    _rule("get_image_location", READER, "Reads the location of the image", ("GET", IMAGE)),
    _rule("set_image_location", MEMBER, "Sets location URI to given image", ("PATCH", IMAGE)),
    _rule("add_member", MEMBER, "Create image member", ("POST", MEMBERS)),
    _rule("delete_member", MEMBER, "Delete image member",
          ("DELETE", f"{MEMBERS}/{{member_id}}")),
    _rule("get_member", READER_OR_SHARED_MEMBER, "Show image member details",
          ("GET", f"{MEMBERS}/{{member_id}}")),
    _rule("get_members", READER_OR_SHARED_MEMBER, "List image members", ("GET", MEMBERS)),
    _rule("modify_member", SHARED_MEMBER, "Update image member",
          ("PUT", f"{MEMBERS}/{{member_id}}")),
    RuleDefault("manage_image_cache", IS_ADMIN, "Manage image cache",
                scope_types=["project"]),
    _rule("deactivate", MEMBER, "Deactivate image", ("POST", f"{IMAGE}/actions/deactivate")),
    _rule("reactivate", MEMBER, "Reactivate image", ("POST", f"{IMAGE}/actions/reactivate")),
    _rule("copy_image", IS_ADMIN, "Copy existing image to other stores",
          ("POST", f"{IMAGE}/import")),
    # -- tasks (glance/policies/tasks.py): Glance's rule:default, which is empty ----------
    _rule("get_task", "", "Get an image task.", ("GET", "/v2/tasks/{task_id}")),
    _rule("get_tasks", "", "List tasks for all images.", ("GET", "/v2/tasks")),
    _rule("add_task", "", "Create a task.", ("POST", "/v2/tasks")),
    _rule("modify_task", "", "This policy is not used.", ("DELETE", "/v2/tasks/{task_id}")),
    _rule("tasks_api_access", IS_ADMIN,
          "A blanket policy protecting every task API.", ("GET", "/v2/tasks/{task_id}"),
          ("GET", "/v2/tasks"), ("POST", "/v2/tasks"), ("DELETE", "/v2/tasks/{task_id}")),
    # -- cache (glance/policies/cache.py) and discovery ---------------------------------
    _rule("cache_image", IS_ADMIN, "Queue image for caching", ("PUT", "/v2/cache/{image_id}")),
    _rule("cache_list", IS_ADMIN, "List cache status", ("GET", "/v2/cache")),
    _rule("cache_delete", IS_ADMIN, "Delete image(s) from cache and/or queue",
          ("DELETE", "/v2/cache"), ("DELETE", "/v2/cache/{image_id}")),
    _rule("stores_info_detail", f"{IS_ADMIN} or {SERVICE}",
          "Expose store specific information", ("GET", "/v2/info/stores/detail")),
    # -- metadata definitions (glance/policies/metadef.py): reads for readers of the owner
    # project or of any project for a public namespace, every write admin-only -----------
    RuleDefault("metadef_default", "", "Glance's open rule for metadef APIs (used only by "
                "rules an operator points at it).", scope_types=["project"]),
    RuleDefault("metadef_admin", IS_ADMIN, "Who may change metadata definitions.",
                scope_types=["project"]),
    *_metadef_rules(),
]
