"""Checks on the WebRTC signalling a participant sends, before the host relays any of it.

The host never interprets media; it only makes sure that what it forwards is a well-formed session
description or ICE candidate, so a broken or hostile client gets a clear error and the receiver's
RTCPeerConnection never sees garbage.
"""
from __future__ import annotations

import re

MAX_SDP = 48 * 1024
DESCRIPTION_TYPES = ("offer", "answer", "pranswer", "rollback")
SDP_LINE = re.compile(r"^[a-z]=[^\x00]*$")
CANDIDATE = re.compile(
    r"^(candidate:)?[A-Za-z0-9+/]{1,32} \d{1,5} (udp|tcp|UDP|TCP) \d{1,10} \S{1,255} \d{1,5} "
    r"typ (host|srflx|prflx|relay)( [\x21-\x7e ]{0,400})?$")
SDP_MID = re.compile(r"^[A-Za-z0-9_.\-]{0,32}$")


class SignalError(ValueError):
    """What is wrong with a signalling message, in words for the sender."""


def check_description(value) -> dict:
    """A session description {type, sdp}: returns a clean copy or raises SignalError."""
    if not isinstance(value, dict):
        raise SignalError("description must be an object with type and sdp")
    kind = value.get("type")
    if kind not in DESCRIPTION_TYPES:
        raise SignalError(f"description type must be one of {', '.join(DESCRIPTION_TYPES)}")
    sdp = value.get("sdp", "")
    if kind == "rollback":
        return {"type": "rollback", "sdp": ""}
    if not isinstance(sdp, str) or not sdp:
        raise SignalError("description sdp must be a non-empty string")
    if len(sdp) > MAX_SDP:
        raise SignalError(f"description sdp is longer than {MAX_SDP} characters")
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise SignalError("malformed SDP: it must start with v=0")
    for number, line in enumerate(lines, 1):
        if not SDP_LINE.match(line):
            raise SignalError(f"malformed SDP at line {number}: expected <letter>=<value>")
    letters = {line[0] for line in lines}
    for needed in "osm":
        if needed not in letters:
            raise SignalError(f"malformed SDP: no {needed}= line")
    return {"type": kind, "sdp": sdp}


def check_candidate(value) -> dict:
    """An ICE candidate {candidate, sdpMid, sdpMLineIndex}: returns a clean copy or raises SignalError.
    An empty candidate string means "end of candidates" and is allowed."""
    if not isinstance(value, dict):
        raise SignalError("candidate must be an object with candidate, sdpMid and sdpMLineIndex")
    text = value.get("candidate")
    if not isinstance(text, str) or len(text) > 1024:
        raise SignalError("candidate.candidate must be a string of at most 1024 characters")
    if text and not CANDIDATE.match(text):
        raise SignalError("malformed ICE candidate")
    mid = value.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or not SDP_MID.match(mid)):
        raise SignalError("candidate.sdpMid must be a short token")
    index = value.get("sdpMLineIndex")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64):
        raise SignalError("candidate.sdpMLineIndex must be a small whole number")
    if mid is None and index is None:
        raise SignalError("candidate needs sdpMid or sdpMLineIndex")
    out = {"candidate": text, "sdpMid": mid, "sdpMLineIndex": index}
    ufrag = value.get("usernameFragment")
    if isinstance(ufrag, str) and len(ufrag) <= 256:
        out["usernameFragment"] = ufrag
    return out
