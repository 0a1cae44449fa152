"""Imports every service's models so that ``Base.metadata`` knows all tables (for Alembic)."""


def load_all() -> None:
    import compute.models  # noqa: F401
    import images.metadef_models  # noqa: F401
    import images.models  # noqa: F401
    import keymanager.models  # noqa: F401
    import minicloud.identity.catalog_models  # noqa: F401
    import minicloud.identity.models  # noqa: F401
    import volumes.models  # noqa: F401
