"""Alembic environment for the backend's records.

The URL comes from backend.core.db (attribute "url") or, from the alembic command line, from
DATABASE_URL through backend.core.config. The engine is made by backend.core.db.make_engine so migrations
run with the same SQLite settings (WAL, busy timeout) as the application.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from backend.core.config import load_settings
from backend.core.db import make_engine
from backend.core.models import Base, UTCDateTime

config = context.config
# Only the alembic CLI should set up logging; a programmatic upgrade() keeps the caller's logging.
if config.config_file_name and "url" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _render_item(type_, obj, _autogen_context):
    # Migrations stay free of application imports: UTCDateTime is a DateTime(timezone=True) column.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url() -> str:
    return config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or load_settings().database_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                render_item=_render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
