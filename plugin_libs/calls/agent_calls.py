"""The Support Manager (agent) in the session's VoIP and video calls (the agent side of the calls library;
the audio and video plugins' agent parts each add their kind of call with ``calls_of(agent).add_kind``).

When a rep starts VoIP (or video), the person at this computer is asked first, with the same consent
prompt as desktop sharing (a dialog, or the terminal without a display). Nothing is opened (microphone,
speaker, camera) and nothing is sent before they accept; declining sends nothing at all. Once in a
call they can type ``mute``, ``unmute``, ``camera off``, ``camera on``, ``leave call`` (or ``calls``
to see where they are); ``join call`` joins a running call after all (typing it is the consent).
``devices`` lists the microphones and speakers with numbers; ``microphone <n>`` / ``speaker <n>`` switch
to another one, also during a call (the call goes on). While in VoIP the status line (window and terminal)
says who is speaking now, from the level of the sound itself (theirs as received, and this microphone). A dropped connection rejoins the calls it was in without asking again;
leaving or ending the session hangs up. No microphone or camera: the call goes on listening /
watching only, with a clear message here and, as the member's ``problem``, to everybody in the call.

The same controls are buttons in the Support Manager's status window, and the others' cameras show
in a window of their own (video_window.py) when there is a display. The media itself (aiortc, PyAudio,
OpenCV) is the ``media`` package.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from agent.consent import ConsentRequest
from agent.permissions import Permission
from agent.window_process import display_present

log = logging.getLogger("support_manager.calls")
KEY = "calls"
WHAT = {"audio": "VoIP call", "video": "video call"}
COMMANDS = ("mute", "unmute", "camera off", "camera on", "leave call", "leave audio", "leave video", "calls",
            "join call", "join audio", "join video", "devices")
DEVICE_WORDS = {"microphone": "microphone", "mic": "microphone", "speaker": "speaker"}
SPEAKING_EVERY = 0.25      # seconds between looks at who is speaking (the line changes at most this often)


@dataclass
class CallConsentRequest(ConsentRequest):
    """The consent prompt's question for a call (same dialog / terminal prompt as desktop sharing)."""

    def question(self) -> str:
        if self.what == "video":
            return (f"{self.who} started video. Join it and send the picture of your camera "
                    f"(you can stop your camera at any time)?")
        return f"{self.who} started VoIP (an audio call). Join it with your microphone and speaker?"

    def again_text(self) -> str:
        call = "video calls" if self.what == "video" else "VoIP calls"
        return (f"Don't ask again this session when {self.who} starts {call} (other calls, "
                "and calls others start, are asked again)")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def well_formed(message: dict) -> bool:
    """Whether a call message from the host has the shape the media code reads (anything else is dropped
    with a log line, never a traceback)."""
    if not isinstance(message.get("re", ""), str):
        return False
    verb = str(message.get("type", "")).partition(".")[2]
    if verb == "members":
        members = message.get("members")
        return isinstance(members, list) and all(
            isinstance(m, dict) and isinstance(m.get("id"), str) and _is_int(m.get("epoch")) for m in members)
    if verb == "signal":
        if not isinstance(message.get("from"), str) or not _is_int(message.get("epoch")):
            return False
        if "description" in message:
            d = message["description"]
            return isinstance(d, dict) and isinstance(d.get("type"), str) and isinstance(d.get("sdp"), str)
        c = message.get("candidate")
        return isinstance(c, dict) and isinstance(c.get("candidate", ""), str)
    if verb == "joined" and "re" in message:
        return _is_int(message.get("epoch")) and isinstance(message.get("members"), list) and isinstance(
            message.get("ice_servers", []), list) and well_formed({"type": "x.members", "members": message["members"]})
    return True


def _camera_source(value):
    text = str(value if value is not None else "0").strip()
    return int(text) if text.isdigit() else text


class AgentCalls:
    """One per Support Manager: its audio and video call legs (an ``AgentMedia``) and the questions."""

    def __init__(self, agent):
        self.agent = agent
        self.kinds: list[str] = []
        self.media = None
        self.window = None                      # the others' cameras (video_window.py)
        self.joined: dict[str, bool] = {}       # kind -> the person accepted and has not left
        # (kind, starter's id): "don't ask again" was chosen for calls of this kind this person starts
        self.standing: set[tuple[str, str]] = set()
        self.asked: dict[str, object] = {}      # kind -> the call (its started_at) already asked about
        self.question_lock = asyncio.Lock()
        self.connections = 0
        self.tasks: set[asyncio.Task] = set()
        cfg = agent.config
        self.devices = {"microphone": cfg.get("microphone", "pulse"), "speaker": cfg.get("speaker", "pulse")}
        self.speaking: list[str] = []           # names of who is speaking now ("you" for this microphone)
        self.speaking_task: asyncio.Task | None = None

    # -- set-up ----------------------------------------------------------------------------------
    def add_kind(self, kind: str, register) -> None:
        if kind in self.kinds:
            return
        if not self.kinds:
            register("session.hello", self.on_hello)
            register("error", self.on_reply)
        self.kinds.append(kind)
        self.joined[kind] = False
        register(f"{kind}.call", self.on_call)
        register(f"{kind}.hung_up", self.on_hung_up)
        for verb in ("members", "signal", "joined", "left", "status_ok", "state"):
            register(f"{kind}.{verb}", self.on_reply if verb in ("joined", "left", "status_ok", "state")
                     else self.on_media)

    def _media(self):
        if self.media is None:
            from .media.agent_media import AgentMedia
            from .media.audio_tracks import PyAudioMicrophone, PyAudioSpeaker
            from .media.video_tracks import OpenCVCamera, VideoReceiver
            cfg = self.agent.config
            camera = _camera_source(cfg.get("camera", 0))
            self.window = self._video_window()
            receiver = VideoReceiver(on_frame=self.window.show, every=0.2, on_gone=self.window.gone) \
                if self.window is not None else None
            self.media = AgentMedia(
                self.agent.send, (self.agent.me or {}).get("id", ""),
                microphone=lambda: PyAudioMicrophone(self.devices["microphone"]),
                speaker=PyAudioSpeaker(self.devices["speaker"]),
                camera=lambda limits: OpenCVCamera(camera, **limits), video_receiver=receiver)
        return self.media

    def _video_window(self):
        """A window with the others' cameras, when this computer has a display (not with --terminal)."""
        if self.agent.config.get("status") == "terminal" or not display_present():
            return None
        try:
            import tkinter  # noqa: F401
        except ImportError:
            return None
        from .video_window import VideoWindow

        def name(key):
            member = self.media.legs["video"].members.get(key) if self.media else None
            return (member or {}).get("name", "")
        return VideoWindow(name)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def say(self, text: str) -> None:
        self.agent.report(text)

    def permissions(self) -> list[Permission]:
        """Each call this computer is in: who hears (or sees) it, for the status window and the terminal."""
        found = []
        for kind in self.kinds:
            if not self.joined.get(kind) or self.media is None:
                continue
            members = self.media.legs[kind].members
            names = sorted(self.agent.people.who(pid, str(m.get("name") or "")) for pid, m in members.items())
            who = ", ".join(names) or "The others in the call"
            if kind == "audio":
                what = "hear you in the VoIP call" + (" (your microphone is muted)" if self.media.muted else "")
            else:
                what = "see your camera in the video call" if self.media._camera_track is not None \
                    else "be in a video call with you (your camera is off)"
            found.append(Permission(KEY, kind, who, what))
        return found

    async def revoke_permission(self, kind: str) -> None:
        """The person ended one call here (``revoke <n>``, the status window): this computer leaves it."""
        if self.joined.get(kind):
            await self._command(f"leave {kind}")

    def show(self) -> None:
        """The calls' line and buttons in the Support Manager's status window (Mute, Stop camera, Leave)."""
        self.agent.permissions_changed()
        controls = getattr(self.agent.status, "controls", None)
        if controls is None:
            return
        media = self.media
        buttons = []
        if self.joined.get("audio"):
            buttons.append({"id": "unmute", "label": "Unmute"} if media.muted else {"id": "mute", "label": "Mute"})
        if self.joined.get("video"):
            buttons.append({"id": "camera off", "label": "Stop camera"} if media._camera_track is not None
                           else {"id": "camera on", "label": "Start camera"})
        if buttons:
            buttons.append({"id": "leave call", "label": "Leave call"})
        text = self.describe()
        if self.joined.get("audio"):
            text += " " + self.speaking_line()
        controls(KEY, text if buttons else "", buttons)

    def speaking_line(self) -> str:
        return f"Speaking now: {', '.join(self.speaking)}." if self.speaking else "Nobody is speaking."

    async def _watch_speaking(self) -> None:
        """While in VoIP: who is speaking, looked at a few times a second; the status window's line
        and the terminal change only when the set of speakers does."""
        try:
            while self.joined.get("audio") and self.media is not None:
                ids = self.media.speaking()
                members = self.media.legs["audio"].members
                names = sorted(str(members[i].get("name") or "someone")[:40] for i in ids if i in members)
                if "me" in ids:
                    names.append("you")
                if names != self.speaking:
                    self.speaking = names
                    print(f"[Support Manager] {self.speaking_line()}", flush=True)
                    self.show()
                await asyncio.sleep(SPEAKING_EVERY)
        finally:
            self.speaking = []

    def _start_speaking(self) -> None:
        if self.speaking_task is None or self.speaking_task.done():
            self.speaking_task = asyncio.ensure_future(self._watch_speaking())
            self.tasks.add(self.speaking_task)
            self.speaking_task.add_done_callback(self.tasks.discard)

    # -- messages --------------------------------------------------------------------------------
    async def on_hello(self, message: dict) -> None:
        media = self._media()
        you = message.get("you")
        if isinstance(you, dict) and isinstance(you.get("id"), str):
            media.me_id = you["id"]
        self.connections += 1
        self._spawn(self._after_connect(again=self.connections > 1))

    async def _after_connect(self, again: bool) -> None:
        """Ask how the calls stand: rejoin those we were in (after a drop), offer to join running ones."""
        for kind in self.kinds:
            try:
                state = await self._media().request({"type": f"{kind}.state"})
            except Exception as exc:
                log.info("%s state: %s", kind, exc)
                continue
            if again and self.joined[kind]:
                await self._media()._hang_up(kind)
                if state.get("active"):
                    await self._join(kind, rejoin=True)
                else:
                    self.joined[kind] = False
                    self.say(f"The {WHAT[kind]} ended while the connection was down.")
            elif state.get("active") and state.get("allowed") and not self.joined[kind]:
                self._spawn(self._ask(kind, state.get("started_by") or {}, state.get("started_at")))

    async def on_reply(self, message: dict) -> None:
        await self.on_media(message)

    async def on_media(self, message: dict) -> None:
        if not well_formed(message):
            log.info("a malformed %s from the host was dropped", str(message.get("type"))[:40])
            return
        await self._media().handle(message)

    async def on_call(self, message: dict) -> None:
        kind = str(message.get("type")).split(".")[0]
        await self.on_media(message)
        if message.get("active"):
            starter = message.get("started_by")
            starter = starter if isinstance(starter, dict) else {}
            if starter.get("id") != (self.agent.me or {}).get("id") and not self.joined[kind]:
                self._spawn(self._ask(kind, starter, message.get("started_at")))
        elif self.joined[kind]:
            self.joined[kind] = False
            ended = " with the session" if message.get("reason") == "session ended" else ""
            self.say(f"The {WHAT[kind]} has ended{ended}; it was hung up here too.")
            self.show()

    async def on_hung_up(self, message: dict) -> None:
        """The customer ended this computer's part in the call on the session page: hang up here too."""
        kind = str(message.get("type")).split(".")[0]
        if not self.joined.get(kind):
            return
        self.joined[kind] = False
        await self._media()._hang_up(kind)
        self.say(f"The {WHAT[kind]} was hung up here from the session page ({str(message.get('by'))[:60]}).")
        self.show()

    # -- asking and joining -------------------------------------------------------------------------
    async def _ask(self, kind: str, starter, started_at) -> None:
        starter = starter if isinstance(starter, dict) else {}
        call_id = (starter.get("id"), started_at)
        if self.asked.get(kind) == call_id:
            return
        self.asked[kind] = call_id
        async with self.question_lock:       # one question at a time on the terminal / screen
            if self.joined[kind]:
                return
            starter_id = starter.get("id")
            if isinstance(starter_id, str) and (kind, starter_id) in self.standing:
                allow = True
            else:
                who = str(starter.get("name") or "Your representative")[:60]
                answer = await self.agent.consent.ask(CallConsentRequest(f"{kind}-{started_at}"[:40], who, "view",
                                                                         what=kind))
                allow = answer.allow
                if allow and answer.all_requests and isinstance(starter_id, str):
                    self.standing.add((kind, starter_id))
            if not allow:
                self.say(f"You declined the {WHAT[kind]}: nothing of yours is sent.")
                return
            await self._join(kind)

    async def _join(self, kind: str, rejoin: bool = False) -> None:
        media = self._media()
        try:
            await media.join(kind, send_camera=False)
        except Exception as exc:
            self.say(f"Could not join the {WHAT[kind]}: {exc}")
            return
        self.joined[kind] = True
        problem = ""
        if kind == "audio":
            self._start_speaking()
            problem = media.problems.get("audio", "")
            if media.muted:
                await self._status("audio", {"muted": True})
        else:
            problem = await self._camera_on()
        if problem:
            self.say(f"{problem} You are in the {WHAT[kind]} without it.")
        await self._status(kind, {"problem": problem})
        if kind == "video" and self.window is None and not rejoin:
            self.say("This Support Manager has no window for the others' cameras here (no display, or "
                     "--terminal): their pictures are received but not shown.")
        if not rejoin:
            hint = ("type 'mute' / 'unmute', 'leave call'" if kind == "audio"
                    else "type 'camera off' / 'camera on', 'leave video'")
            self.say(f"You are in the {WHAT[kind]}" + (" (muted)." if kind == "audio" and media.muted else ".")
                     + f" ({hint})")
        else:
            self.say(f"Back in the {WHAT[kind]} after the connection came back.")
        self.show()

    async def _camera_on(self) -> str:
        from .media.devices import NoDeviceError
        media = self._media()
        try:
            await media.camera_on()
            media.problems.pop("video", None)
            return ""
        except NoDeviceError as exc:
            media.problems["video"] = str(exc)
            return str(exc)
        except Exception as exc:
            media.problems["video"] = f"The camera could not be started ({exc})."
            return media.problems["video"]

    async def _status(self, kind: str, fields: dict) -> None:
        try:
            await self._media().request({"type": f"{kind}.status", **fields})
        except Exception as exc:
            log.info("%s status: %s", kind, exc)

    # -- what the person types ---------------------------------------------------------------------
    def command(self, line: str) -> bool:
        words = " ".join(line.lower().split())
        first, _, rest = words.partition(" ")
        if first in DEVICE_WORDS and rest:
            self._spawn(self._switch_device(DEVICE_WORDS[first], rest))
            return True
        if words not in COMMANDS:
            return False
        self._spawn(self._command(words))
        return True

    async def _list_devices(self) -> None:
        from .media.devices import list_devices
        try:
            found = await asyncio.get_running_loop().run_in_executor(None, list_devices)
        except Exception as exc:
            self.say(f"The sound devices could not be listed ({exc}).")
            return
        lines = []
        for what, key in (("Microphones", "microphone"), ("Speakers", "speaker")):
            chosen = self.devices[key]
            items = [f"{d['index']} {d['name']}" + (" (in use)" if chosen in (d["index"], d["name"]) else "")
                     for d in found[f"{key}s"]]
            lines.append(f"{what}: " + ("; ".join(items) if items else "none found"))
        lines.append("Type 'microphone <number>' or 'speaker <number>' to switch.")
        self.say("\n".join(lines))

    async def _switch_device(self, what: str, number: str) -> None:
        from .media.devices import NoDeviceError, check_device
        if not number.isdigit():
            self.say(f"'{what} {number[:20]}': give the {what}'s number (type 'devices' to see the numbers).")
            return
        index = int(number)
        try:
            if self.media is None:      # not in a call yet: just checked and kept for the next one
                name = await asyncio.get_running_loop().run_in_executor(None, check_device, index, what == "microphone")
            elif what == "microphone":
                name = await self.media.switch_microphone(index)
            else:
                name = await self.media.switch_speaker(index)
        except NoDeviceError as exc:
            self.say(str(exc))
            return
        self.devices[what] = index
        self.say(f"Your {what} is now {index} {name}.")

    async def _command(self, words: str) -> None:
        media = self._media()
        if words == "calls":
            self.say(self.describe())
        elif words == "devices":
            await self._list_devices()
        elif words in ("mute", "unmute"):
            if not self.joined.get("audio"):
                self.say("You are not in a VoIP call.")
                return
            await media.set_muted(words == "mute")
            self.say("Your microphone is muted: nothing is sent." if media.muted else "Your microphone is on.")
        elif words in ("camera off", "camera on"):
            if not self.joined.get("video"):
                self.say("You are not in a video call.")
                return
            if words == "camera off":
                await media.camera_off()
                self.say("Your camera is off: no picture is sent.")
            else:
                problem = await self._camera_on()
                await self._status("video", {"problem": problem})
                self.say(problem or "Your camera is on.")
        elif words.startswith("join"):
            kinds = [k for k in self.kinds if words == "join call" or words == f"join {k}"]
            joined = []
            for kind in kinds:
                if self.joined.get(kind):
                    continue
                try:
                    state = await media.request({"type": f"{kind}.state"})
                except Exception as exc:
                    self.say(f"Could not join the {WHAT[kind]}: {exc}")
                    continue
                if state.get("active") and state.get("allowed"):
                    await self._join(kind)
                    joined.append(kind)
            if not joined:
                self.say("There is no call to join right now." if not any(self.joined.get(k) for k in kinds)
                         else "You are in the call already.")
        else:
            kinds = [k for k in self.kinds if words == "leave call" or words == f"leave {k}"]
            left = [k for k in kinds if self.joined.get(k)]
            for kind in left:
                self.joined[kind] = False
                await media.leave(kind)
            self.say(f"You left the {' and the '.join(WHAT[k] for k in left)}." if left else "You are in no call.")
        self.show()

    def describe(self) -> str:
        parts = []
        for kind in self.kinds:
            if not self.joined.get(kind):
                continue
            if kind == "audio":
                parts.append("the VoIP call (muted)" if self.media.muted else "the VoIP call")
            else:
                parts.append("the video call (camera " + ("on)" if self.media._camera_track is not None else "off)"))
        return f"You are in: {', '.join(parts)}." if parts else "You are in no call."

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.media is not None:
            await self.media.close()
        if self.window is not None:
            await self.window.close()
        for kind in self.kinds:
            self.joined[kind] = False


def calls_of(agent) -> AgentCalls:
    """The one AgentCalls of this Support Manager (shared by the audio and video plugins)."""
    calls = agent.features.get(KEY)
    if calls is None:
        calls = agent.features[KEY] = AgentCalls(agent)
    return calls

