"""Default policy rules of the image service, named as in Glance's policy file (the seeds).

Operators override any of them in the shared ``policy.yaml``. Ownership (only the owner
project or an admin changes an image) is enforced by the service itself (``images.access``),
so an empty rule here means "any authenticated caller who passes the ownership rules".
Differences from the seed's older list: ``deactivate``/``reactivate`` are admin-only (as in
current Glance), and current Glance's ``communitize_image`` and ``copy_image`` are added.
"""
from __future__ import annotations

DEFAULTS: dict[str, str] = {
    "context_is_admin": "role:admin",
    "default": "",
    "add_image": "",
    "delete_image": "",
    "get_image": "",
    "get_images": "",
    "modify_image": "",
    "publicize_image": "rule:context_is_admin",
    "communitize_image": "",
    "copy_from": "",
    "copy_image": "rule:context_is_admin",
    "download_image": "",
    "upload_image": "",
    "delete_image_location": "",
    "get_image_location": "",
    "set_image_location": "",
    "add_member": "",
    "delete_member": "",
    "get_member": "",
    "get_members": "",
    "modify_member": "",
    "manage_image_cache": "rule:context_is_admin",
    "get_task": "",
    "get_tasks": "",
    "add_task": "",
    "modify_task": "",
    "deactivate": "rule:context_is_admin",
    "reactivate": "rule:context_is_admin",
}
