"""tempest.conf for one running cloud: its endpoints, admin, images, flavors and
microversions (:class:`CloudFacts`), plus the feature table (:mod:`conformance.features`).

Everything Tempest would otherwise take from its DevStack-shaped defaults and that matters
here is written explicitly; the result is a plain INI text.
"""
from __future__ import annotations

from pathlib import Path

from conformance.cloud import CloudFacts
from conformance.features import FEATURES

# Seconds Tempest waits for a server, volume or image to reach a status. Guests run under
# TCG on two shared cores; a boot is about 10 s alone, much more with two workers.
BUILD_TIMEOUT = 300


def sections(facts: CloudFacts, workspace: Path) -> dict[str, dict[str, str]]:
    """tempest.conf as {section: {option: value}} (values already as oslo.config reads them)."""
    auth = facts.auth
    user_domain = auth.get("user_domain_name", "Default")
    project_domain = auth.get("project_domain_name", "Default")
    conf: dict[str, dict[str, str]] = {
        "DEFAULT": {"log_dir": str(workspace / "logs"), "log_file": "tempest.log"},
        "oslo_concurrency": {"lock_path": str(workspace / "tempest_lock")},
        "auth": {
            # Tempest creates a project and users per test class, as the admin.
            "use_dynamic_credentials": "True",
            "admin_username": auth["username"],
            "admin_password": auth["password"],
            "admin_project_name": auth["project_name"],
            "admin_domain_name": user_domain,
            "admin_user_domain_name": user_domain,
            "admin_project_domain_name": project_domain,
            "default_credentials_domain_name": user_domain,
        },
        "identity": {
            "uri_v3": auth["auth_url"],
            "auth_version": "v3",
            "region": facts.region,
            "v3_endpoint_type": "public",
            "admin_role": "admin",
            "default_domain_id": "default",
        },
        "compute": {
            # The tiny lab guest (BIOS) for both: the UEFI one needs lab.micro's RAM.
            "image_ref": facts.image_id,
            "image_ref_alt": facts.image_id,
            "flavor_ref": facts.flavor_id,
            "flavor_ref_alt": facts.flavor_alt_id,
            "min_microversion": facts.compute_versions[0],
            "max_microversion": facts.compute_versions[1],
            "build_timeout": str(BUILD_TIMEOUT),
            "build_interval": "1",
            # lab flavors have an ephemeral disk (vdb): a first volume is vdc.
            "volume_device_name": "vdc",
            "min_compute_nodes": "1",
            "endpoint_type": "publicURL",
        },
        "image": {"build_timeout": str(BUILD_TIMEOUT), "endpoint_type": "publicURL",
                  # Served by the harness (no internet here): conformance.webimage.
                  "http_image": facts.http_image, "http_qcow2_image": facts.http_image},
        "volume": {
            "catalog_type": "block-storage",
            "endpoint_type": "publicURL",
            "min_microversion": facts.volume_versions[0],
            "max_microversion": facts.volume_versions[1],
            "build_timeout": str(BUILD_TIMEOUT),
            "volume_size": "1",
            "storage_protocol": "iSCSI",
        },
        "validation": {"connect_method": "fixed"},
    }
    for feature in FEATURES:
        conf.setdefault(feature.section, {})[feature.option] = feature.ini_value()
    return conf


def render(conf: dict[str, dict[str, str]]) -> str:
    """INI text; ``$`` doubled, as oslo.config reads ``$name`` as a substitution."""
    return "".join(f"[{name}]\n" + "".join(f"{k} = {v.replace('$', '$$')}\n"
                                            for k, v in opts.items()) + "\n"
                   for name, opts in conf.items())


def write(facts: CloudFacts, workspace: Path) -> Path:
    """Write ``workspace/etc/tempest.conf`` (0600: it holds the admin password)."""
    path = workspace / "etc" / "tempest.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(render(sections(facts, workspace)))
    return path
