"""The agent part of screen sharing (desktop and appshare plugins): local consent, screen capture and
input injection. ``ScreenShare`` shares one monitor; a plugin subclasses it with its ``prefix`` (its
name: the prefix of its message types) and ``what`` (for the consent question), and AppShare narrows it
to one window.

Consent is enforced here, independently of the host: nothing is captured before the person at this
computer clicked Allow, and no input is injected unless the sender holds a control grant given here —
whatever the host asks. Refused commands are reported locally and to the host.

Pacing: at most one frame in flight. The next screen grab happens only after the host acknowledged the
previous frame (or a timeout passed), and is compared with what was last sent, so changes made in the
meantime are coalesced: stale frames are never queued, and an idle screen sends nothing.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time

import cv2
import numpy as np

from agent.consent import ConsentRequest
from agent.frames import make_binary
from agent.hookspecs import hookimpl
from agent.permissions import Permission

from .input_events import InputError, validate_events
from .pipeline import ScreenEncoder

log = logging.getLogger("support_manager.desktop")
ACK_TIMEOUT = 1.5
MIN_INTERVAL = 1 / 60
IDLE_INTERVAL = 1 / 30
SWEEP_EVERY = 2.0                # compare the whole screen this often even when XDamage named parts only
ANNOUNCE_EVERY = 2.0             # seconds between frame headers that repeat the picture's size
LEVELS = ("view", "control")
MAX_VIEWERS = 16                 # people one request may name


def covers(given: str | None, asked: str) -> bool:
    """A level covers itself and the levels before it (control covers view, view covers only view)."""
    return given in LEVELS and LEVELS.index(given) >= LEVELS.index(asked)


class ScreenShare:
    """Sharing the whole screen (one monitor). AppShare (plugins/appshare/agent.py) shares one window."""
    prefix: str       # the plugin's name, the prefix of its message types
    what: str         # what is shared, in the consent question ("desktop", "application")

    def __init__(self, agent):
        self.agent = agent
        self.grants: dict[str, dict] = {}       # viewer participant id -> {"name", "level"}
        # viewer id -> the level the person said "don't ask again" for (only that viewer, only up to it)
        self.standing: dict[str, str] = {}
        self.mode = "standard"
        self.monitor_index: int | None = None
        self.monitors: list[dict] = []
        self.encoder = ScreenEncoder()
        self.seq = 0
        self.inflight: int | None = None
        self.acked = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.consent_lock = asyncio.Lock()
        self.capture_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="capture")
        self.input_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="input")
        self.last_cursor = None
        self.cursor_serial = None
        self.pending_shape = None
        self.want_full = True
        self.connected_once = False
        self._place = None             # where the last frame was grabbed (monitor or window, covered parts)
        self._screen = None            # the last full grab, patched with partial grabs
        self._swept = 0.0              # when everything was last compared (not only what XDamage named)
        self.waited = False
        self.stats = {"frames_sent": 0, "chunks_sent": 0, "bytes_sent": 0, "grabs": 0, "idle_grabs": 0,
                      "ack_waits": 0, "ack_timeouts": 0, "injected": 0, "refused": 0, "input_errors": 0}

    # -- connection ------------------------------------------------------------------------------
    async def on_hello(self, message: dict) -> None:
        """Every (re)connect. After a reconnect a grant is gone unless its person said "don't ask again"
        for that viewer; then it comes back at most at the level they said it for."""
        restore = []
        if self.connected_once and self.grants:
            kept = {}
            for vid, g in self.grants.items():
                if vid in self.standing:
                    level = g["level"] if covers(self.standing[vid], g["level"]) else self.standing[vid]
                    kept[vid] = {**g, "level": level}
            if kept != self.grants:       # something ended or went down to viewing
                self.agent.report("The connection was lost: sharing stopped. It will be asked again."
                                  if not kept else "The connection was lost: what you allowed only once "
                                  "will be asked again.")
            self.grants = kept
            restore = [{"viewer": vid, "level": g["level"]} for vid, g in kept.items()]
            if not kept:
                self._stop_capture()
            self._show()
        self.connected_once = True
        self.inflight = None
        self.acked.set()
        self.want_full = True
        try:
            self.monitors = await asyncio.get_running_loop().run_in_executor(
                self.capture_pool, self.agent.capture.monitors)
        except Exception as exc:
            self.monitors = []
            self.agent.report(f"The screen cannot be captured here: {exc}")
        if self.monitor_index is None and self.monitors:
            self.monitor_index = self.monitors[0]["index"]
        monitors, current = await self._screen_info()
        await self.agent.send({"type": f"{self.prefix}.agent_hello", "name": self.agent.name, "pair": self.agent.pair,
                               "monitors": monitors, "monitor": current, "restore": restore,
                               "mode": self.mode})

    # -- consent ---------------------------------------------------------------------------------
    async def on_consent_request(self, message: dict) -> None:
        request_id = str(message.get("request_id", ""))[:40]
        level = message.get("level")
        viewers = message.get("viewers")
        kind = message.get("kind", "request")
        if level not in LEVELS or kind not in ("request", "share") or not isinstance(viewers, list) \
                or not 0 < len(viewers) <= MAX_VIEWERS or not all(
                isinstance(v, dict) and isinstance(v.get("id"), str) for v in viewers):
            log.info("%s: a malformed consent request was refused", self.prefix)
            await self.agent.send({"type": f"{self.prefix}.consent", "request_id": request_id, "allow": False,
                                   "error": "malformed request"})
            return
        async with self.consent_lock:
            if self._can_reuse_answer() and all(covers(self.standing.get(v["id"]), level) for v in viewers):
                allow = True      # the person said "don't ask again" for exactly these people, this far
            else:
                who = ", ".join(str(v.get("name", "someone"))[:60] for v in viewers)
                answer = await self._ask(ConsentRequest(request_id, who, level, kind=kind, what=self.what))
                allow = answer.allow
                if allow and answer.all_requests:
                    for v in viewers:
                        if not covers(self.standing.get(v["id"]), level):
                            self.standing[v["id"]] = level
            if allow:
                for v in viewers:   # the local grant exists before anything is captured
                    self.grants[v["id"]] = {"name": str(v.get("name", ""))[:60], "level": level}
                if level == "control":   # one controller at a time: the others keep viewing
                    for vid, g in self.grants.items():
                        if vid not in {v["id"] for v in viewers} and g["level"] == "control":
                            g["level"] = "view"
            again = allow and all(covers(self.standing.get(v["id"]), level) for v in viewers)
            await self.agent.send({"type": f"{self.prefix}.consent", "request_id": request_id, "allow": allow,
                                   "all": again})
        self._show()
        if allow:
            self.want_full = True
            self._start_capture()

    async def _ask(self, request: ConsentRequest):
        return await self.agent.consent.ask(request)

    def _can_reuse_answer(self) -> bool:
        return True

    def _show(self) -> None:
        self.agent.permissions_changed()

    def permissions(self) -> list[Permission]:
        """Who may see (or control) what is shared, for the status window and the terminal."""
        thing = "application window" if self.what == "application" else "screen"
        return [Permission(self.prefix, vid, self.agent.people.who(vid, g["name"]),
                           f"see and control your {thing}" if g["level"] == "control" else f"see your {thing}")
                for vid, g in self.grants.items()]

    async def revoke_permission(self, viewer: str) -> None:
        """The person ended one viewer's grant (``revoke <n>``, the status window): here first, then the host."""
        if self.grants.pop(viewer, None) is None:
            return
        self.standing.pop(viewer, None)
        if not self.grants:
            self._stop_capture()
        self._release_keys_unless_controlled()
        self._show()
        await self.agent.send({"type": f"{self.prefix}.revoke", "viewers": [viewer], "reason": "revoked by the customer"})

    async def on_revoked(self, message: dict) -> None:
        """The host says grants ended (a rep left, the customer revoked on the session page...). Only
        ever lowers: what ends here is asked again next time, even if "don't ask again" was chosen, except
        when the viewers stopped on their own (``released``): the person withdrew nothing, so what they said
        ("don't ask again this session when Rita asks to see your screen") still holds."""
        viewers = message.get("viewers")
        keep_standing = message.get("released") is True and isinstance(viewers, list)
        if viewers == "all" or not isinstance(viewers, list):
            self.grants.clear()
            self.standing.clear()
        else:
            for vid in viewers:
                if isinstance(vid, str):
                    self.grants.pop(vid, None)
                    if not keep_standing:
                        self.standing.pop(vid, None)
        if not self.grants:
            self._stop_capture()
        self._release_keys_unless_controlled()
        self._show()

    def _release_keys_unless_controlled(self) -> None:
        """When nobody controls any more, keys the rep still held (a shortcut cut off) are let go."""
        if any(g["level"] == "control" for g in self.grants.values()):
            return
        release = getattr(self.agent.input, "release_keys", None)
        if release is not None:
            self.input_pool.submit(release)

    async def stop_all(self, reason: str = "stopped") -> None:
        """Stop at once, locally first, then tell the host."""
        had = bool(self.grants)
        self.grants.clear()
        self.standing.clear()
        self._stop_capture()
        self._release_keys_unless_controlled()
        self._show()
        if had:
            await self.agent.send({"type": f"{self.prefix}.revoke", "viewers": "all", "reason": reason})

    # -- commands a host may send ----------------------------------------------------------------
    async def _refuse(self, what: str, message: dict) -> None:
        self.stats["refused"] += 1
        self.agent.report(f"Refused: the host asked to {what} without your permission.")
        await self.agent.send({"type": f"{self.prefix}.violation", "what": what,
                               "command": str(message.get("type"))[:60]})

    async def on_capture_command(self, message: dict) -> None:
        """A host never starts capture: only a local Allow does. Any such command is refused."""
        if not self.grants:
            await self._refuse("capture your screen", message)

    async def on_input(self, message: dict) -> None:
        sender = message.get("from")
        grant = self.grants.get(sender) if isinstance(sender, str) else None
        if grant is None or grant["level"] != "control":
            await self._refuse("control your mouse and keyboard", message)
            return
        monitor = await asyncio.get_running_loop().run_in_executor(self.input_pool, self._region)
        if monitor is None:
            await self.agent.send({"type": f"{self.prefix}.input_error", "to": sender,
                                   "error": "the shared screen or window is gone"})
            return
        try:
            events = validate_events(message.get("events"), monitor["width"], monitor["height"])
        except InputError as exc:
            self.stats["input_errors"] += 1
            await self.agent.send({"type": f"{self.prefix}.input_error", "to": sender, "error": str(exc)})
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self.input_pool, self._inject, events, monitor)
        except Exception as exc:
            self.stats["input_errors"] += 1
            await self.agent.send({"type": f"{self.prefix}.input_error", "to": sender, "error": str(exc)[:200]})

    def _inject(self, events: list[dict], monitor: dict) -> None:
        backend = self.agent.input
        for ev in events:
            if ev["t"] in ("move", "button", "wheel"):
                backend.move(monitor["left"] + ev["x"], monitor["top"] + ev["y"])
            if ev["t"] == "button":
                backend.button(ev["b"], ev["down"])
            elif ev["t"] == "wheel":
                backend.scroll(ev["dx"], ev["dy"])
            elif ev["t"] == "key":
                backend.key(ev["code"], ev["key"], ev["down"])
            self.stats["injected"] += 1

    async def on_ack(self, message: dict) -> None:
        if message.get("seq") == self.inflight:
            self.inflight = None
            self.acked.set()

    async def on_refresh(self, message: dict) -> None:
        if not self.grants:
            await self._refuse("capture your screen", message)
            return
        self.want_full = True

    async def on_mode(self, message: dict) -> None:
        if message.get("mode") in ("standard", "sampling"):
            self.mode = message["mode"]
            self.want_full = True

    async def on_monitor(self, message: dict) -> None:
        sender = message.get("from")
        if not isinstance(sender, str) or sender not in self.grants:
            await self._refuse("switch the shared monitor", message)
            return
        wanted = message.get("monitor")
        if any(m["index"] == wanted for m in self.monitors):
            self.monitor_index = wanted
            self.want_full = True

    # -- capture loop ----------------------------------------------------------------------------
    def _monitor(self) -> dict | None:
        return next((m for m in self.monitors if m["index"] == self.monitor_index), None)

    async def _send_screen(self) -> None:
        """Tell the host what is shared (its size bounds the input it lets through)."""
        monitors, current = await self._screen_info()
        await self.agent.send({"type": f"{self.prefix}.screen", "monitors": monitors, "monitor": current})

    async def _screen_info(self):
        return self.monitors, self.monitor_index

    def _region(self) -> dict | None:
        """What is shared, in screen pixels (called in a worker thread): here the chosen monitor."""
        return self._monitor()

    def _mask(self, frame, region: dict):
        """Blank out what must not be sent (nothing, for a whole screen)."""
        return frame

    def _start_capture(self) -> None:
        if self.grants and (self.task is None or self.task.done()):
            self.task = asyncio.create_task(self._loop())

    def _stop_capture(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
            stop_damage = getattr(self.agent.capture, "stop_damage", None)
            if stop_damage is not None:
                self.capture_pool.submit(stop_damage)
        self.inflight = None
        self.acked.set()

    def _grab(self, mode: str, full: bool):
        monitor = self._region()
        if monitor is None:
            return None
        capture, enc = self.agent.capture, self.encoder
        self.pending_shape = self._cursor_shape(full) or self.pending_shape
        place = tuple(monitor[k] for k in ("left", "top", "width", "height")) + (
            tuple(map(tuple, monitor.get("covered") or ())),)
        same_place, self._place = place == self._place, place
        if mode != enc.mode:
            full = True
        damage = getattr(capture, "damage", None)
        changed = getattr(capture, "changed", None)
        dirty = None
        now = time.monotonic()
        self.waited = False
        if damage is not None:
            if full or not same_place or enc.prev32 is None or now - self._swept >= SWEEP_EVERY:
                damage(0)                    # drained: this frame compares everything anyway
                self._swept = now
            else:
                rects = damage(IDLE_INTERVAL)                   # sleeps until something is drawn
                if rects is not None:
                    self.waited = True
                    left, top, width, height = place[:4]
                    dirty = [(x - left, y - top, w, h) for x, y, w, h in rects
                             if x < left + width and y < top + height and x + w > left and y + h > top]
                    if not dirty:            # nothing drawn on the shared part: no grab, nothing to send
                        return monitor, width, height, enc.refine(), capture.cursor(), time.time()
        elif changed is not None and not changed() and not full and enc.prev32 is not None:
            # nothing was drawn anywhere: no grab, nothing to send (an idle screen costs nothing)
            return monitor, enc.prev32.shape[1], enc.prev32.shape[0], [], capture.cursor(), time.time()
        if full:
            enc.reset()
        enc.set_mode(mode)
        grabbed_at = time.time()
        frame = self._capture(monitor, dirty)
        chunks = enc.encode(frame, dirty)
        cursor = capture.cursor()
        return monitor, frame.shape[1], frame.shape[0], chunks, cursor, grabbed_at

    def _capture(self, monitor: dict, dirty):
        """The shared pixels: only the part that was drawn on when that is small (patched into the last
        full grab), else everything."""
        capture = self.agent.capture
        screen = self._screen
        if dirty and type(self)._mask is ScreenShare._mask and screen is not None \
                and screen.shape[:2] == (monitor["height"], monitor["width"]):
            x0 = max(0, min(x for x, _, _, _ in dirty))
            y0 = max(0, min(y for _, y, _, _ in dirty))
            x1 = min(monitor["width"], max(x + w for x, _, w, _ in dirty))
            y1 = min(monitor["height"], max(y + h for _, y, _, h in dirty))
            if (x1 - x0) * (y1 - y0) < 0.5 * monitor["width"] * monitor["height"]:
                part = capture.grab({"left": monitor["left"] + x0, "top": monitor["top"] + y0,
                                     "width": x1 - x0, "height": y1 - y0})
                screen[y0:y1, x0:x1] = part
                return screen
        frame = self._mask(capture.grab(monitor), monitor)
        self._screen = frame if frame.flags.writeable else frame.copy()
        return frame

    def _cursor_shape(self, full: bool):
        """The pointer's image as PNG when it changed (or for a full refresh): (header, png) or None."""
        shape_of = getattr(self.agent.capture, "cursor_shape", None)
        shape = shape_of() if shape_of is not None else None
        if shape is None or (shape[0] == self.cursor_serial and not full):
            return None
        self.cursor_serial, w, h, hx, hy, bgra = shape
        if not 0 < w <= 128 or not 0 < h <= 128 or len(bgra) != w * h * 4:
            return None
        ok, png = cv2.imencode(".png", np.frombuffer(bgra, np.uint8).reshape(h, w, 4))
        return {"type": f"{self.prefix}.cursor_shape", "w": w, "h": h, "hx": hx, "hy": hy}, png.tobytes()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        await self._send_screen()
        size = announced = None
        announced_at = 0.0
        try:
            while self.grants:
                if self.inflight is not None:
                    self.stats["ack_waits"] += 1
                    try:
                        await asyncio.wait_for(self.acked.wait(), ACK_TIMEOUT)
                    except asyncio.TimeoutError:
                        self.stats["ack_timeouts"] += 1
                        self.inflight = None
                if not self.grants:
                    break
                started = time.monotonic()
                full, self.want_full = self.want_full, False
                grabbed = await loop.run_in_executor(self.capture_pool, self._grab, self.mode, full)
                if grabbed is None:
                    self.want_full = True
                    await asyncio.sleep(0.5)
                    continue
                monitor, w, h, chunks, cursor, grabbed_at = grabbed
                if (w, h, monitor["index"]) != size:      # another size or monitor: the host and viewers are told
                    if size is not None:
                        await self._send_screen()
                    size = (w, h, monitor["index"])
                self.stats["grabs"] += 1
                if not self.grants:
                    break
                if cursor is not None:
                    rel = (cursor[0] - monitor["left"], cursor[1] - monitor["top"])
                    if rel != self.last_cursor:
                        self.last_cursor = rel
                        await self.agent.send({"type": f"{self.prefix}.cursor", "x": rel[0], "y": rel[1]})
                shape, self.pending_shape = self.pending_shape, None
                if shape is not None:
                    await self.agent.send_bytes(make_binary(*shape))
                if chunks:
                    self.seq += 1
                    self.inflight = self.seq
                    self.acked.clear()
                    # the picture's size and monitor ride on full frames, changes, and every few seconds
                    announce = full or size != announced or started - announced_at > ANNOUNCE_EVERY
                    if announce:
                        announced, announced_at = size, started
                    for i, chunk in enumerate(chunks):
                        header = {"type": f"{self.prefix}.frame", "seq": self.seq,
                                  "t": int(grabbed_at * 1000) % 100000}
                        if len(chunks) > 1:          # chunk c of n; a frame in one chunk says neither
                            header.update(c=i, n=len(chunks))
                        if i == 0 and announce:
                            header.update(w=w, h=h, mon=monitor["index"])
                        if not await self.agent.send_bytes(make_binary(header, chunk)):
                            self.inflight = None
                            self.want_full = True
                            break
                        self.stats["chunks_sent"] += 1
                        self.stats["bytes_sent"] += len(chunk)
                    self.stats["frames_sent"] += 1
                    pause = MIN_INTERVAL
                else:
                    self.stats["idle_grabs"] += 1
                    pause = 0.0 if self.waited else IDLE_INTERVAL    # the capture thread already waited
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("screen capture stopped")
            self.agent.report(f"Screen capture stopped: {exc}")

    async def close(self) -> None:
        self._stop_capture()
        self.grants.clear()
        for pool, backend in ((self.capture_pool, self.agent.capture), (self.input_pool, self.agent.input)):
            closer = getattr(backend, "close", None)
            if closer is not None:
                await close_in_pool(pool, closer)
            pool.shutdown(wait=False, cancel_futures=True)


async def close_in_pool(pool, closer) -> None:
    """Run ``closer`` in the thread that used what it closes; three seconds at most, errors ignored."""
    try:
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(pool, closer), 3)
    except Exception:
        pass


def register_share(share: ScreenShare, agent, register) -> None:
    p = share.prefix
    agent.features[p] = share
    register("session.hello", share.on_hello)
    register(f"{p}.consent_request", share.on_consent_request)
    register(f"{p}.revoked", share.on_revoked)
    register(f"{p}.input", share.on_input)
    register(f"{p}.ack", share.on_ack)
    register(f"{p}.refresh", share.on_refresh)
    register(f"{p}.mode", share.on_mode)
    if p != "desktop":
        register("desktop.mode", share.on_mode)      # the session's display mode is one for all sharing
    register(f"{p}.monitor", share.on_monitor)
    for verb in ("start", "capture", "start_capture", "frame_request"):
        register(f"{p}.{verb}", share.on_capture_command)


def share_hooks(share_class: type[ScreenShare]) -> tuple:
    """agent_message_handlers and agent_stopped for a sharing plugin (desktop, appshare) whose share is
    ``share_class``. A pluggy plugin module must hold its own hooks: each assigns these at module level."""

    @hookimpl
    def agent_message_handlers(agent, register):
        register_share(share_class(agent), agent, register)

    @hookimpl
    def agent_stopped(agent):
        share = agent.features.get(share_class.prefix)
        if share is not None:
            return share.close()

    return agent_message_handlers, agent_stopped

