"""``headroom db``: the store's schema (``upgrade``, ``status``).

    headroom db status     # which store, its schema version, the version this Headroom needs
    headroom db upgrade    # apply the missing migrations (run as a role that may create tables)

SQLite stores migrate themselves on first use; PostgreSQL ones too when the role may
(``HEADROOM_DB_MIGRATE=auto``, the default). A deployment whose application role may not
create tables runs ``headroom db upgrade`` once per release as the owner.
"""

from __future__ import annotations

import click


def _open() -> object:
    from assistant.config import ConfigError, load_settings
    from assistant.memory import open_database

    try:
        return open_database(load_settings())
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@click.group()
def db() -> None:
    """The conversation / feedback / Slack store (HEADROOM_DB_URL, default SQLite)."""


@db.command()
def upgrade() -> None:
    """Create or migrate the store's tables to this Headroom's schema version."""
    from assistant.db import Database, StoreError
    from assistant.schema import LATEST

    database = _open()
    assert isinstance(database, Database)
    try:
        applied = database.upgrade()
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    done = ", ".join(map(str, applied)) if applied else "none needed"
    click.echo(f"{database.display_url}: schema at version {LATEST} (applied: {done})")


@db.command()
def status() -> None:
    """The store, its schema version and the version this Headroom needs."""
    from assistant.db import Database, StoreError
    from assistant.schema import LATEST

    database = _open()
    assert isinstance(database, Database)
    try:
        current = database.version()
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    state = "up to date" if current == LATEST else (
        "run `headroom db upgrade`" if current < LATEST else "newer than this Headroom")
    click.echo(f"{database.display_url}: schema version {current}, needed {LATEST} ({state})")
