"""A plugin whose migration fails: it must be listed as failed, and the host must serve the rest."""
from sqlite_utils.migrations import Migrations

from host.hookspecs import hookimpl

broken = Migrations("supporthost.bad_migrations")


@broken()
def m001_broken(db):
    db.execute("create table bad_migrations_things (id integer primary key, oops")


@hookimpl
def migrations():
    return broken


@hookimpl
def register_message_handlers(register):
    register("bad_migrations.ping", lambda ctx, message: {"type": "bad_migrations.pong"})
