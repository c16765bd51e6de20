"""The agent part of application sharing: one window, picked by the person in the consent dialog.

Only that window's pixels are sent: the parts other windows cover are blanked before encoding, and
input is accepted only inside the window (coordinates relative to it). Everything else (consent,
grants, pacing, refusal of unasked commands) is the screenshare library's ScreenShare.
"""
from __future__ import annotations

import asyncio

from agent.consent import Answer, ConsentRequest
from plugin_libs.screenshare.agent_share import ScreenShare, close_in_pool, share_hooks

from . import windows

PLUGIN = "appshare"
COVERED = (40, 40, 40, 255)     # BGRA of what is sent where another window covers the shared one


class AppShare(ScreenShare):
    prefix = PLUGIN
    what = "application"

    def __init__(self, agent):
        super().__init__(agent)
        self.window_id: int | None = None

    async def _ask(self, request: ConsentRequest) -> Answer:
        loop = asyncio.get_running_loop()
        try:
            request.choices = await loop.run_in_executor(self.input_pool, windows.list_windows)
        except Exception as exc:
            self.agent.report(f"Application windows cannot be listed here: {exc}")
            return Answer(False)
        if not request.choices:
            self.agent.report("There is no application window to share.")
            return Answer(False)
        answer = await self.agent.consent.ask(request)
        ids = {c["id"] for c in request.choices}
        if answer.allow and answer.choice not in ids:
            return Answer(False)
        if answer.allow:
            if self.window_id is not None and int(answer.choice) != self.window_id:
                self.grants.clear()           # another window now: earlier grants were for the old one
                self.standing.clear()
            self.window_id = int(answer.choice)
        return answer

    async def _screen_info(self):
        region = await asyncio.get_running_loop().run_in_executor(self.input_pool, self._region)
        if region is None:
            return [], None
        return [{k: region[k] for k in ("index", "left", "top", "width", "height")}], region["index"]

    def _can_reuse_answer(self) -> bool:
        return self.window_id is not None

    def _region(self) -> dict | None:
        if self.window_id is None:
            return None
        return windows.visible_region(self.window_id)

    def _mask(self, frame, region: dict):
        if not region.get("covered"):
            return frame
        frame = frame.copy()
        for x0, y0, x1, y1 in region["covered"]:
            frame[y0:y1, x0:x1] = COVERED
        return frame

    async def close(self) -> None:
        for pool in (self.capture_pool, self.input_pool):
            await close_in_pool(pool, windows.close)
        await super().close()


agent_message_handlers, agent_stopped = share_hooks(AppShare)
