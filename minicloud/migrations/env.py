"""Alembic environment: migrations run against the URL minicloud hands in."""
from alembic import context

from minicloud.db import Base, make_engine
from minicloud.models import load_all

load_all()
url = context.config.get_main_option("sqlalchemy.url")
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
