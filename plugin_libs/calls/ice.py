"""The STUN/TURN (ICE) servers of a site's calls: the admin's settings and the RTCIceServer entries made
of them. The settings are declared by one plugin (the audio plugin) and used by every kind of call."""
from __future__ import annotations

import re

from host.api import Setting, setting

ICE_URL = re.compile(r"^(stun|stuns|turn|turns):[A-Za-z0-9.\-\[\]:]+(\?transport=(udp|tcp))?$")
ICE_URLS = Setting("ice_urls", "STUN/TURN servers, separated by spaces (stun:host:3478 turn:host:3478?transport=udp)",
                   "str", "", help="Used for audio and video. Leave empty on a LAN.")
ICE_USERNAME = Setting("ice_username", "TURN username", "str", "")
ICE_CREDENTIAL = Setting("ice_credential", "TURN password", "secret", "",
                         help="Only sent to the participants of a call, as WebRTC needs it; never shown in pages.")
ICE_SETTINGS = [ICE_URLS, ICE_USERNAME, ICE_CREDENTIAL]


def site_ice_servers(app, site, plugin: str) -> list[dict]:
    """The site's ICE servers as RTCIceServer dicts (TURN credentials included), from the ICE_SETTINGS
    that ``plugin`` declares."""
    return ice_servers(parse_ice_urls(setting(app, site, plugin, ICE_URLS.name, "")),
                       setting(app, site, plugin, ICE_USERNAME.name, ""),
                       setting(app, site, plugin, ICE_CREDENTIAL.name, ""))


def parse_ice_urls(raw: str) -> list[str]:
    """The admin's STUN/TURN list (one per line, or separated by spaces/commas); bad entries dropped."""
    urls = []
    for item in re.split(r"[\s,]+", raw or ""):
        if item and ICE_URL.match(item) and item not in urls:
            urls.append(item)
    return urls


def ice_servers(urls: list[str], username: str, credential: str) -> list[dict]:
    """RTCIceServer entries. STUN needs no credentials, so they go only with TURN entries."""
    stun = [u for u in urls if u.startswith(("stun:", "stuns:"))]
    turn = [u for u in urls if u.startswith(("turn:", "turns:"))]
    servers = []
    if stun:
        servers.append({"urls": stun})
    if turn:
        entry = {"urls": turn}
        if username:
            entry["username"] = username
            entry["credential"] = credential or ""
        servers.append(entry)
    return servers
