"""The agent part of desktop sharing: the whole screen (one monitor), with the screenshare library's
local consent, capture loop and input injection (plugin_libs/screenshare/agent_share.py)."""
from __future__ import annotations

from plugin_libs.screenshare.agent_share import ScreenShare, share_hooks

PLUGIN = "desktop"


class DesktopShare(ScreenShare):
    prefix = PLUGIN
    what = "desktop"


agent_message_handlers, agent_stopped = share_hooks(DesktopShare)
