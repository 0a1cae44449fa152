"""Migration 0023 counts what projects already hold per volume type (volumes, their GB and
their live snapshots), so per-type limits set later start from the truth."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from minicloud.db import Database, alembic_config

GOLD, PLAIN = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"


def test_upgrade_counts_existing_volumes_and_snapshots_per_type(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = alembic_config(url)
    # found by its file name, so the test survives renumbering
    mine = next(r for r in ScriptDirectory.from_config(cfg).walk_revisions()
                if r.path.endswith("_volume_type_encryption.py"))
    command.upgrade(cfg, mine.down_revision)
    db = Database(url)
    try:
        with db.engine.begin() as c:
            now = "2026-01-01 00:00:00"
            for vid, project, type_id, size, status in (
                    ("v1", "p1", GOLD, 2, "available"), ("v2", "p1", GOLD, 3, "in-use"),
                    ("v3", "p1", PLAIN, 5, "available"), ("v4", "p1", GOLD, 7, "deleted"),
                    ("v5", "p2", GOLD, 1, "error")):
                c.execute(text(
                    "INSERT INTO volumes (id, project_id, user_id, size, status, "
                    "availability_zone, bootable, image_metadata, metadata, volume_type_id, "
                    "created_at, updated_at) VALUES (:id, :p, 'u', :size, :status, 'nova', 0, "
                    "'{}', '{}', :t, :now, :now)"),
                    {"id": vid, "p": project, "size": size, "status": status, "t": type_id,
                     "now": now})
            for sid, vid, status in (("s1", "v1", "available"), ("s2", "v1", "deleted")):
                c.execute(text(
                    "INSERT INTO volume_snapshots (id, volume_id, project_id, user_id, size, "
                    "status, progress, metadata, created_at, updated_at) VALUES (:id, :v, "
                    "'p1', 'u', 2, :status, '100%', '{}', :now, :now)"),
                    {"id": sid, "v": vid, "status": status, "now": now})
        command.upgrade(cfg, mine.revision)
        with db.engine.connect() as c:
            rows = c.execute(text(
                "SELECT project_id, volume_type_id, volumes, gigabytes, snapshots FROM "
                "volume_type_quota_usages ORDER BY project_id, volume_type_id")).all()
        assert [tuple(r) for r in rows] == [("p1", GOLD, 2, 7, 1), ("p1", PLAIN, 1, 5, 0),
                                            ("p2", GOLD, 1, 1, 0)]
    finally:
        db.dispose()
