"""The migrations build exactly the tables the models declare (no drift either way)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import compute.models  # noqa: F401 - every model registers on Base
import images.metadef_models  # noqa: F401
import images.models  # noqa: F401
import minicloud.identity.catalog_models  # noqa: F401
import minicloud.identity.models  # noqa: F401
import volumes.models  # noqa: F401
from minicloud.db import Base, Database


def test_migrated_schema_matches_the_models(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'catalog.db'}")
    db.upgrade()
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        db.dispose()
