"""`support-manager join <site URL> <session number> [--name NAME]`: the Support Manager on the command line."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-manager", description=(
        "The Support Manager: lets your support representative see (and, if you allow it, control) your "
        "screen. Nothing is shared until you click Allow."))
    sub = parser.add_subparsers(dest="command", required=True)
    join = sub.add_parser("join", help="join a support session")
    join.add_argument("site_url", help="the support site's address, e.g. https://support.example.com/s/demo")
    join.add_argument("number", help="the session number your representative gave you")
    join.add_argument("--name", default="", help="your name as the representative sees it")
    join.add_argument("--pair", default="", help="pairing code shown on your session page (optional)")
    join.add_argument("--terminal", action="store_true",
                      help="ask for permission on this terminal instead of a window")
    join.add_argument("--files", default="", metavar="FOLDER",
                      help="the folder your representative may browse, once you allow it (default: your home)")
    join.add_argument("--camera", default="0",
                      help="camera for video calls: its number (0 = the first) or a video file")
    join.add_argument("--microphone", default="pulse", help="microphone for VoIP (a name or part of it)")
    join.add_argument("--speaker", default="pulse", help="speaker for VoIP (a name or part of it)")
    join.add_argument("-v", "--verbose", action="store_true")
    return parser


async def _run(args) -> int:
    from .app import SupportManager
    from .connection import JoinFailed
    config = {"prompt": "terminal" if args.terminal else "auto",
              "status": "terminal" if args.terminal else "auto",
              "camera": args.camera, "microphone": args.microphone, "speaker": args.speaker}
    if args.files:
        config["files_root"] = args.files
    name = args.name or "Support Manager"
    try:
        agent = SupportManager(args.site_url, args.number, name, pair=args.pair, config=config,
                               use_terminal=True)
    except ValueError as exc:
        print(f"support-manager: {exc}", file=sys.stderr)
        return 2
    print(f"[Support Manager] joining session {args.number} at {args.site_url} ...", flush=True)
    try:
        reason = await agent.run()
    except JoinFailed as exc:
        print(f"support-manager: could not join: {exc}", file=sys.stderr)
        return 1
    print(f"[Support Manager] finished: {reason}", flush=True)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
