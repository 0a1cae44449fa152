"""The JSON schemas Glance publishes under ``/v2/schemas/``: image(s), member(s), task(s).

Clients depend on them: python-glanceclient validates every image it receives against
``/v2/schemas/image`` (warlock models) and builds ``glance image-create``'s options from it.
So they say exactly what the API returns: every core attribute with its type, nullability
(``checksum``, ``size``, ``os_hash_*`` ... are null until data arrives), ``readOnly``,
``enum`` and ``maxLength``; custom properties are strings (``additionalProperties``); the
properties of Glance's stock ``schema-image.json`` (``kernel_id``, ``os_distro`` ...) are
declared as a default Glance declares them. The same image schema is the contract of a
create body and of each JSON-patch value (``images.schema``), as in Glance.

Documents are built fresh for each call (callers may mutate them).
"""
from __future__ import annotations

from typing import Any

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
STATUSES = ("queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated")
VISIBILITIES = ("community", "public", "private", "shared")
MEMBER_STATUSES = ("pending", "accepted", "rejected")
UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){12}$")
_PROPERTY_KEYS = "https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"


def _prop(kind: str | list[str], description: str, read_only: bool = False,
          **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    if read_only:
        out["readOnly"] = True
    out["description"] = description
    out.update(extra)
    return out


def _base_properties() -> dict[str, Any]:
    """Glance's base image properties (``glance.api.v2.images.get_base_properties``)."""
    nullable_string = ["null", "string"]
    return {
        "id": _prop("string", "An identifier for the image", pattern=UUID_PATTERN),
        "name": _prop(nullable_string, "Descriptive name for the image", maxLength=255),
        "status": _prop("string", "Status of the image", True, enum=list(STATUSES)),
        "visibility": _prop("string", "Scope of image accessibility",
                            enum=list(VISIBILITIES)),
        "protected": _prop("boolean", "If true, image will not be deletable."),
        "os_hidden": _prop("boolean", "If true, image will not appear in default image "
                                      "list response."),
        "checksum": _prop(nullable_string, "md5 hash of image contents.", True,
                          maxLength=32),
        "os_hash_algo": _prop(nullable_string, "Algorithm to calculate the os_hash_value",
                              True, maxLength=64),
        "os_hash_value": _prop(nullable_string, "Hexdigest of the image contents using the "
                                                "algorithm specified by the os_hash_algo",
                               True, maxLength=128),
        "owner": _prop(nullable_string, "Owner of the image", maxLength=255),
        "size": _prop(["null", "integer"], "Size of image file in bytes", True),
        "virtual_size": _prop(["null", "integer"], "Virtual size of image in bytes", True),
        "container_format": _prop(nullable_string, "Format of the container",
                                  enum=[None, *CONTAINER_FORMATS]),
        "disk_format": _prop(nullable_string, "Format of the disk",
                             enum=[None, *DISK_FORMATS]),
        "created_at": _prop("string", "Date and time of image registration", True),
        "updated_at": _prop("string", "Date and time of the last image modification", True),
        "tags": _prop("array", "List of strings related to the image",
                      items={"type": "string", "maxLength": 255}),
        "direct_url": _prop("string", "URL to access the image file kept in external store",
                            True),
        "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image."),
        "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image."),
        "self": _prop("string", "An image self url", True),
        "file": _prop("string", "An image file url", True),
        "stores": _prop("string", "Store in which image data resides.  Only present when "
                                  "the operator has enabled multiple stores.  May be a "
                                  "comma-separated list of store identifiers.", True),
        "schema": _prop("string", "An image schema url", True),
        "locations": _prop("array", "A set of URLs to access the image file kept in "
                                    "external store", items=_location()),
    }


def _location() -> dict[str, Any]:
    validation = {"type": "object", "writeOnly": True, "additionalProperties": False,
                  "description": "Values to be used to populate the corresponding image "
                                 "properties. If the image status is not 'queued', values "
                                 "must exactly match those already contained in the image "
                                 "properties.",
                  "properties": {
                      "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                      "os_hash_algo": {"type": "string", "maxLength": 64},
                      "os_hash_value": {"type": "string", "maxLength": 128}},
                  "required": ["os_hash_algo", "os_hash_value"]}
    return {"type": "object", "required": ["url", "metadata"],
            "properties": {"url": {"type": "string", "maxLength": 255},
                           "metadata": {"type": "object"},
                           "validation_data": validation}}


def _stock_properties() -> dict[str, Any]:
    """The properties of Glance's stock ``etc/schema-image.json`` (what devstack installs)."""
    ami = ("ID of image stored in Glance that should be used as the {} when booting an "
           "AMI-style image.")
    return {
        "kernel_id": {"type": ["null", "string"], "pattern": UUID_PATTERN,
                      "description": ami.format("kernel"), "is_base": False},
        "ramdisk_id": {"type": ["null", "string"], "pattern": UUID_PATTERN,
                       "description": ami.format("ramdisk"), "is_base": False},
        "instance_uuid": {"type": "string", "is_base": False,
                          "description": "Metadata which can be used to record which "
                                         "instance this image is associated with. "
                                         "(Informational only, does not create an "
                                         "instance snapshot.)"},
        "architecture": {"type": "string", "is_base": False,
                         "description": "Operating system architecture as specified in "
                                        + _PROPERTY_KEYS},
        "os_distro": {"type": "string", "is_base": False,
                      "description": "Common name of operating system distribution as "
                                     "specified in " + _PROPERTY_KEYS},
        "os_version": {"type": "string", "is_base": False,
                       "description": "Operating system version as specified by the "
                                      "distributor."},
        "description": {"type": "string", "is_base": False,
                        "description": "A human-readable string describing this image."},
        "cinder_encryption_key_id": {
            "type": "string", "is_base": False,
            "description": "Identifier in the OpenStack Key Management Service for the "
                           "encryption key for the Block Storage Service to use when "
                           "mounting a volume created from this image"},
        "cinder_encryption_key_deletion_policy": {
            "type": "string", "is_base": False,
            "enum": ["on_image_deletion", "do_not_delete"],
            "description": "States the condition under which the Image Service will "
                           "delete the object associated with the 'cinder_encryption_key_"
                           "id' image property.  If this property is missing, the Image "
                           "Service will take no action"},
    }


#: Properties a client may never set (Glance's read-only and reserved attributes).
READ_ONLY = frozenset(name for name, spec in _base_properties().items()
                      if spec.get("readOnly")) | {"locations", "deleted", "deleted_at"}


def image_schema() -> dict[str, Any]:
    """``GET /v2/schemas/image``."""
    return {"name": "image", "properties": {**_base_properties(), **_stock_properties()},
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"},
                      {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def images_schema() -> dict[str, Any]:
    """``GET /v2/schemas/images``: a page of images."""
    return {"name": "images",
            "properties": {"images": {"type": "array", "items": image_schema()},
                           "first": {"type": "string"}, "next": {"type": "string"},
                           "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"},
                      {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member_schema() -> dict[str, Any]:
    """``GET /v2/schemas/member`` (Glance publishes its minimal form: no
    ``additionalProperties``, no links)."""
    return {"name": "member", "properties": {
        "member_id": {"type": "string",
                      "description": "An identifier for the image member (tenantId)"},
        "image_id": {"type": "string", "description": "An identifier for the image",
                     "pattern": UUID_PATTERN},
        "created_at": {"type": "string",
                       "description": "Date and time of image member creation"},
        "updated_at": {"type": "string",
                       "description": "Date and time of last modification of image member"},
        "status": {"type": "string", "description": "The status of this image member",
                   "enum": list(MEMBER_STATUSES)},
        "schema": {"readOnly": True, "type": "string"}}}


def members_schema() -> dict[str, Any]:
    """``GET /v2/schemas/members``."""
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member_schema()},
                           "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}


def _task_properties(partial: bool) -> dict[str, Any]:
    """Glance's task properties (``glance.api.v2.tasks``); the list form (``partial``)
    leaves out ``input``, ``result`` and ``message``."""
    props: dict[str, Any] = {
        "id": {"description": "An identifier for the task", "pattern": UUID_PATTERN,
               "type": "string"},
        "type": {"description": "The type of task represented by this content",
                 "enum": ["import", "api_image_import"], "type": "string"},
        "status": {"description": "The current status of this task",
                   "enum": ["pending", "processing", "success", "failure"],
                   "type": "string"},
        "input": {"description": "The parameters required by task, JSON blob",
                  "type": ["null", "object"]},
        "result": {"description": "The result of current task, JSON blob",
                   "type": ["null", "object"]},
        "owner": {"description": "An identifier for the owner of this task",
                  "type": "string"},
        "message": {"description": "Human-readable informative message only included when "
                                   "appropriate (usually on failure)", "type": "string"},
        "image_id": {"description": "Image associated with the task", "type": "string"},
        "request_id": {"description": "Human-readable informative request-id",
                       "type": "string"},
        "user_id": {"description": "User associated with the task", "type": "string"},
        "expires_at": {"description": "Datetime when this resource would be subject to "
                                      "removal", "type": ["null", "string"]},
        "created_at": {"description": "Datetime when this resource was created",
                       "type": "string"},
        "updated_at": {"description": "Datetime when this resource was updated",
                       "type": "string"},
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    }
    if partial:
        for name in ("input", "result", "message"):
            del props[name]
    return props


def task_schema() -> dict[str, Any]:
    """``GET /v2/schemas/task`` (Glance publishes its minimal form, as for members)."""
    return {"name": "task", "properties": _task_properties(partial=False)}


def tasks_schema() -> dict[str, Any]:
    """``GET /v2/schemas/tasks``: items are the list form of a task."""
    return {"name": "tasks",
            "properties": {"tasks": {"type": "array",
                                     "items": {"name": "task",
                                               "properties": _task_properties(True)}},
                           "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}


DOCUMENTS = {"image": image_schema, "images": images_schema, "member": member_schema,
             "members": members_schema, "task": task_schema, "tasks": tasks_schema}
