"""The `supporthost` command: run the host, list plugins, create sites and admins, reset passwords, check and
export the audit log, start a new plugin."""
from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from .audit import audit_row
from .config import Config
from .passwords import generate_password, hash_password


def _config(args) -> Config:
    return Config(data_dir=Path(args.data), host=getattr(args, "host", "127.0.0.1"),
                  port=getattr(args, "port", 8080), secure_cookies=getattr(args, "secure_cookies", False),
                  trusted_proxies=tuple(getattr(args, "trusted_proxy", None) or ()),
                  abandoned_after=getattr(args, "abandoned_after", 120) * 60.0)


def _network(text: str) -> str:
    import ipaddress
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or network")


def _minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of minutes (1 or more)")
    return value


def tune_gc() -> None:
    """Move everything built at start-up out of the collector's way and collect young objects less
    often: full collections otherwise scan every live object and pause the loop for tens of ms
    under load (measured in docs/performance.md)."""
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(10000, 10, 10)


def cmd_run(args) -> int:
    from .app import create_app
    from .db import connect
    from .sites import ensure_demo_site
    from .schema import core_migrations

    config = _config(args)
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    db = connect(config.db_path)
    core_migrations.apply(db)
    created = ensure_demo_site(db)
    db.conn.close()
    app = create_app(config)
    from .appkeys import PLUGINS
    base = f"http://{config.host}:{config.port}"
    print(f"supporthost is running at {base}/")
    print(f"  demo site:   {base}/s/demo/   (customers join here)")
    print(f"  rep login:   {base}/s/demo/login")
    if created:
        print(f"  admin login: username {created[0]}  password {created[1]}   (shown once; keep it)")
    for name, info in sorted(app[PLUGINS].info.items()):
        if info.error:
            print(f"  plugin {name} FAILED: {info.error}")
    sys.stdout.flush()
    tune_gc()
    web.run_app(app, host=config.host, port=config.port, print=None)
    return 0


async def _start_and_stop(app) -> None:
    """Run the app's startup and shutdown without serving: startup hooks run, so a failing one shows."""
    runner = web.AppRunner(app)
    await runner.setup()
    await runner.cleanup()


def cmd_plugins(args) -> int:
    import asyncio
    from .app import create_app
    from .appkeys import DB, PLUGINS
    app = create_app(_config(args))
    asyncio.run(_start_and_stop(app))
    failed = False
    for name, info in sorted(app[PLUGINS].info.items()):
        state = "FAILED" if info.error else ("core" if info.core else "loaded")
        print(f"{name:20} {info.version or '-':10} {state:7} {info.error or ', '.join(info.hooks)}")
        failed |= bool(info.error)
    app[DB].close()
    return 1 if failed else 0


def cmd_create_site(args) -> int:
    from .db import connect
    from .schema import core_migrations
    from .sites import create_site, create_user
    config = _config(args)
    db = connect(config.db_path)
    core_migrations.apply(db)
    password = generate_password()
    try:
        with _immediate(db):  # the host may be writing too: take the write lock before the audit chain's head
            site_id = create_site(db, args.slug, args.name, args.public_url or "")
            create_user(db, site_id, args.admin, "Site admin", password, role="admin")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"site {args.slug} created; admin login: username {args.admin}  password {password}")
    return 0


def _account(db, site_slug: str, username: str) -> dict | None:
    return next(db.query("select u.id, u.username, s.id as site_id, s.slug, s.name as site_name from users u "
                         "join sites s on s.id = u.site_id where s.slug = ? and u.username = ?",
                         [site_slug, username.strip().lower()]), None)


def cmd_reset_password(args) -> int:
    """A new password (generated, or read from standard input); every login of the account ends and the
    running host closes its sockets within a second (host/login_watch.py)."""
    import time
    from .db import connect
    from .login_lockout import unlock
    from .login_watch import revoke_logins
    from .password_policy import problem
    from .schema import core_migrations
    config = _config(args)
    db = connect(config.db_path)
    core_migrations.apply(db)
    account = _account(db, args.site, args.username)
    if account is None:
        print("error: no such site or user", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        why = problem(password, account["username"], (account["slug"], account["site_name"]))
        if why:
            print(f"error: {why} Nothing was changed.", file=sys.stderr)
            return 2
    else:
        password = generate_password()
    hashed = hash_password(password)
    now = time.time()
    with _immediate(db):  # the host may be writing too: take the write lock before the audit chain's head
        db["users"].update(account["id"], {"password_hash": hashed})
        ended = revoke_logins(db, account["id"])
        unlock(db, account["site_id"], account["username"])
        audit_row(db, account["site_id"], "cli", "password_reset", f"user:{account['id']}",
                  {"username": account["username"], "logins_ended": ended}, now)
    if args.password_stdin:
        print(f"password of {account['username']} changed; {ended} login(s) ended")
    else:
        print(f"new password for {account['username']}: {password}   ({ended} login(s) ended)")
    return 0


def cmd_unlock(args) -> int:
    """End the login locks of a username (from every address, or one): works however locked the
    accounts are, since it needs the server's command line rather than a login."""
    import time
    from .db import connect
    from .login_lockout import unlock
    from .schema import core_migrations
    config = _config(args)
    db = connect(config.db_path)
    core_migrations.apply(db)
    site = next(db.query("select id from sites where slug = ?", [args.site]), None)
    if site is None:
        print(f"error: no site {args.site!r}", file=sys.stderr)
        return 2
    username = args.username.strip().lower()
    with _immediate(db):  # the host may be writing too: take the write lock before the audit chain's head
        ended = unlock(db, site["id"], username, args.address)
        if ended:
            audit_row(db, site["id"], "cli", "login_unlocked", "",
                      {"username": username, "address": args.address or "every address"}, time.time())
    where = f" at {args.address}" if args.address else ""
    print(f"{username} unlocked{where}" if ended else f"{username} was not locked{where}: nothing to do")
    return 0


@contextmanager
def _immediate(db):
    """A write transaction that holds the write lock from its start (BEGIN IMMEDIATE)."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _existing_db(args):
    """The data folder's database, migrated; None (and a message) when there is none."""
    from .db import connect
    from .schema import core_migrations
    path = _config(args).db_path
    if not Path(path).is_file():
        print(f"error: there is no database at {path} (check --data)", file=sys.stderr)
        return None
    db = connect(path)
    core_migrations.apply(db)
    return db


def _site_id(db, slug: str) -> int | None:
    row = db.conn.execute("select id from sites where slug = ?", [slug]).fetchone()
    if row is None:
        print(f"error: there is no site {slug!r}", file=sys.stderr)
    return row and row[0]


def _since(text: str) -> float:
    """--since: an ISO 8601 date or date and time (UTC unless it names a zone), as a timestamp."""
    import datetime
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2025-01-31) or date and time "
                                         "(2025-01-31T08:00:00, UTC unless it says +02:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def cmd_audit_verify(args) -> int:
    from .audit_verify import chain_site_ids, verify_chain
    db = _existing_db(args)
    if db is None:
        return 2
    if args.site:
        site_id = _site_id(db, args.site)
        if site_id is None:
            return 2
        chains = [site_id]
    else:
        chains = chain_site_ids(db)
    slugs = {r[0]: r[1] for r in db.conn.execute("select id, slug from sites")}
    broken = False
    for site_id in chains:
        report = verify_chain(db, site_id)
        name = f"site {slugs.get(site_id, site_id)}" if site_id is not None else "rows of no site"
        if report.intact:
            print(f"{name}: intact, {report.rows} rows, head seq {report.head_seq} hash {report.head_hash}")
        else:
            broken = True
            where = f" at row {report.bad_row}" if report.bad_row is not None else ""
            print(f"{name}: BROKEN{where}: {report.problem} ({report.rows} rows before it are intact)")
    db.conn.close()
    return 1 if broken else 0


def cmd_audit_export(args) -> int:
    from .audit_verify import export_lines
    db = _existing_db(args)
    if db is None:
        return 2
    site_id = _site_id(db, args.site)
    if site_id is None:
        return 2
    lines = export_lines(db, site_id, args.site, args.since)
    if args.file in (None, "-"):
        for line in lines:
            sys.stdout.write(line + "\n")
    else:
        target = Path(args.file)
        partial = target.with_name(target.name + ".partial")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                for line in lines:
                    out.write(line + "\n")
        except OSError as exc:
            print(f"error: cannot write {target}: {exc.strerror}", file=sys.stderr)
            partial.unlink(missing_ok=True)
            return 2
        partial.replace(target)
    db.conn.close()
    return 0


def cmd_reset_two_factor(args) -> int:
    """Take away an account's second factors from the server's shell: the way back in when the only admin
    lost their phone and key (an admin does it for others on the admin page). Audited; logins end."""
    import time

    from .audit import audit_row
    from .db import connect
    from .twofactor import remove_all_factors
    db = connect(_config(args).db_path)
    row = next(db.query("select u.id, u.site_id from users u join sites s on s.id = u.site_id "
                        "where s.slug = ? and u.username = ?", [args.site, args.username]), None)
    if row is None:
        print("error: no such site or user", file=sys.stderr)
        return 2
    with _immediate(db):  # the host may be writing too: take the write lock before the audit chain's head
        had = remove_all_factors(db, row["id"])
        db.execute("delete from auth_sessions where user_id = ?", [row["id"]])
        audit_row(db, row["site_id"], "cli", "twofactor_reset", f"user:{row['id']}",
                  {"username": args.username, "had_totp": had["totp"], "had_keys": had["keys"]}, time.time())
    print(f"the second factors of {args.username} were removed; it logs in with its password "
          "(and sets up a factor then, if the site requires one)")
    return 0


def cmd_new_plugin(args) -> int:
    from .new_plugin import PluginNameError, create
    try:
        target = create(args.name, Path(args.dir))
    except PluginNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    package = f"supporthost_{args.name}"
    print(f"plugin {args.name} written to {target}/")
    print(f"  {package}/__init__.py     host hooks: an option, messages, a setting, its migration")
    print(f"  {package}/agent.py        its part in the Support Manager")
    print(f"  {package}/static/{args.name}.js   the option's mount(api)")
    print("  tests/                     its tests, with the supporthost test kit")
    print(f"next: .venv/bin/pip install -e {target}   then: cd {target} && pytest")
    return 0


CORE_COMMANDS = ("run", "plugins", "create-site", "reset-password", "audit", "reset-two-factor", "unlock",
                 "new-plugin")


def plugin_commands() -> dict[str, tuple]:
    """The commands plugins add (the ``register_commands`` hook): name -> (plugin, help, configure, run). A
    name that is a core command or already taken is refused with a message, never replaced."""
    from . import core_plugin
    from .plugins import PluginRegistry, call_impl
    registry = PluginRegistry()
    registry.load([("session", core_plugin)])
    commands: dict[str, tuple] = {}
    for plugin in registry.active():
        def register(name: str, help: str, configure, run, _plugin=plugin) -> None:
            if name in CORE_COMMANDS or name in commands:
                print(f"warning: plugin {_plugin}: the command {name!r} is taken; not added", file=sys.stderr)
                return
            commands[name] = (_plugin, help, configure, run)
        for impl in registry._impls("register_commands", plugin):
            try:
                call_impl(impl, register=register)
            except Exception as exc:
                print(f"warning: plugin {plugin}: its commands failed: {exc}", file=sys.stderr)
    return commands


def _run_plugin_command(args, run) -> int:
    """A plugin's command on a built host (database migrated, plugins loaded; not serving)."""
    import asyncio
    import inspect
    from .app import create_app
    from .appkeys import DB
    config = _config(args)
    if not Path(config.db_path).is_file():
        print(f"error: there is no database at {config.db_path} (check --data)", file=sys.stderr)
        return 2
    app = create_app(config)

    async def go():
        result = run(app, args)
        return await result if inspect.isawaitable(result) else result
    try:
        return int(asyncio.run(go()) or 0)
    finally:
        app[DB].close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="supporthost", description="Self-hosted remote support host")
    parser.add_argument("--data", default="data", help="data folder (database, files, secret key)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the host (creates a demo site and admin on a new database)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--data", default=argparse.SUPPRESS)
    run.add_argument("--secure-cookies", action="store_true",
                     help="mark cookies Secure (set this when users reach the host over https)")
    run.add_argument("--trusted-proxy", action="append", type=_network, metavar="ADDRESS",
                     help="a reverse proxy (address or network) whose X-Forwarded-For is believed; repeatable")
    run.add_argument("--abandoned-after", type=_minutes, default=120, metavar="MINUTES",
                     help="end a session nobody has been connected to for this long (default 120)")
    sub.add_parser("plugins", help="list plugins with their state; exit 1 when one failed")
    site = sub.add_parser("create-site", help="create a site and its first admin")
    site.add_argument("slug")
    site.add_argument("name")
    site.add_argument("--admin", default="admin")
    site.add_argument("--public-url", default="")
    reset = sub.add_parser("reset-password", help="give an account a new password (generated, or read from "
                                                  "standard input); ends all its logins")
    reset.add_argument("site")
    reset.add_argument("username")
    audit = sub.add_parser("audit", help="check the audit log's hash chain, or export it as JSON lines")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every row's hash and order; exit 1 at the first bad row")
    verify.add_argument("site", nargs="?", help="the site's slug (default: every site)")
    export = audit_sub.add_parser("export", help="one JSON object a row, with its hashes, for a SIEM")
    export.add_argument("site", help="the site's slug")
    export.add_argument("file", nargs="?", help="the file to write (default: standard output)")
    export.add_argument("--since", type=_since, metavar="DATE",
                        help="only rows from then on: 2025-01-31 or 2025-01-31T08:00:00 (UTC unless a zone is given)")
    reset_2fa = sub.add_parser("reset-two-factor", help="remove an account's second factors (lost phone and key)")
    reset_2fa.add_argument("site")
    reset_2fa.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true",
                       help="read the new password from the first line of standard input (checked against the "
                            "password policy) instead of generating one")
    unlock = sub.add_parser("unlock", help="end the login locks of a username (after too many wrong passwords)")
    unlock.add_argument("site")
    unlock.add_argument("username")
    unlock.add_argument("--address", default=None, help="only the lock at this address (default: every address)")
    new = sub.add_parser("new-plugin", help="write a new plugin's distribution (hooks, option, JS, migration, "
                                            "setting, agent part, tests) to start from")
    new.add_argument("name", help="the plugin's name: lower-case letters, digits and _ (e.g. greeter)")
    new.add_argument("--dir", default=".", help="the folder to write supporthost-NAME/ in (default: here)")
    extra = plugin_commands()
    for name, (plugin, help_text, configure, _run) in sorted(extra.items()):
        configure(sub.add_parser(name, help=f"{help_text} (plugin {plugin})"))
    args = parser.parse_args(argv)
    if args.command in extra:
        return _run_plugin_command(args, extra[args.command][3])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "audit":
        return {"verify": cmd_audit_verify, "export": cmd_audit_export}[args.audit_command](args)
    return {"run": cmd_run, "plugins": cmd_plugins, "create-site": cmd_create_site,
            "reset-password": cmd_reset_password, "reset-two-factor": cmd_reset_two_factor, "unlock": cmd_unlock,
            "new-plugin": cmd_new_plugin}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
