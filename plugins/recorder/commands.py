"""``supporthost recordings list`` and ``supporthost recordings export ID FILE`` (the register_commands hook)."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from host.api import audit, database, hookimpl, plugin_data_dir

from .export import export_webm
from .reader import RecordingDamaged, clock, load_index, verify

PLUGIN = "recorder"


@hookimpl
def register_commands(register):
    register("recordings", "list session recordings, or export one to WebM", _configure, _run)


def _configure(parser) -> None:
    sub = parser.add_subparsers(dest="recordings_command", required=True)
    listing = sub.add_parser("list", help="one line a recording: id, site, session, start, length, status, size")
    listing.add_argument("--site", help="only this site's (its slug)")
    export = sub.add_parser("export", help="write a recording as WebM (VP9 video of the shared screen, Opus audio)")
    export.add_argument("id", help="the recording's id (see: supporthost recordings list)")
    export.add_argument("file", help="the .webm file to write")
    export.add_argument("--from", dest="start", type=_moment, default=0, metavar="TIME",
                        help="start there on the recording's clock (seconds, m:ss or h:mm:ss; default the start)")
    export.add_argument("--to", dest="end", type=_moment, default=None, metavar="TIME",
                        help="end there (default the end)")


def _moment(text: str) -> int:
    """A time on the recording clock, as ms: 90, 1:30 or 0:01:30."""
    try:
        parts = [float(p) for p in text.split(":")]
        if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (seconds, m:ss or h:mm:ss)") from None
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + p
    return int(seconds * 1000)


async def _run(app, args) -> int:
    if args.recordings_command == "list":
        return await _list(app, args.site)
    if args.end is not None and args.end <= args.start:
        print("error: --to must be after --from", file=sys.stderr)
        return 2
    return await _export(app, args.id, Path(args.file), args.start, args.end)


async def _list(app, site: str | None) -> int:
    sql = ("select r.*, s.slug from recordings r join sites s on s.id = r.site_id"
           + (" where s.slug = ?" if site else "") + " order by r.started_at")
    rows = await database(app).read(lambda db: list(db.query(sql, [site] if site else [])))
    if site and not rows:
        known = await database(app).read(lambda db: db.execute("select 1 from sites where slug = ?", [site]).fetchone())
        if not known:
            print(f"error: there is no site {site!r}", file=sys.stderr)
            return 2
    for r in rows:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["started_at"]))
        print(f"{r['id']}  {r['slug']:12} session {r['session_id']}  {started}  {clock(r['duration_ms'] or 0):>8}  "
              f"{r['status']:11} {(r['bytes'] or 0) / 1e6:.1f} MB")
    return 0


async def _export(app, recording_id: str, target: Path, start: int = 0, end: int | None = None) -> int:
    root = plugin_data_dir(app, PLUGIN)
    index = await database(app).read(lambda db: load_index(db, root, recording_id))
    if index is None:
        print(f"error: there is no recording {recording_id!r}", file=sys.stderr)
        return 2
    problems = await asyncio.to_thread(verify, index)
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 1
    try:
        result = await asyncio.to_thread(export_webm, index, target, start, end)
    except RecordingDamaged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    await audit(app, index.row["site_id"], "cli", "recording.exported", f"recording:{recording_id}",
                {"file": str(target), "duration_ms": result.duration_ms})
    kind = "the shared screen" if result.has_screen else "no shared screen (black picture)"
    print(f"{target}: {clock(result.duration_ms)}, {kind}, {result.audio_tracks} audio track(s)")
    return 0
