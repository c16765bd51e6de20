"""ICE candidates as the pages send them (``{candidate, sdpMid, sdpMLineIndex}``, the browser's
RTCIceCandidate JSON) turned into aiortc's candidates: for every aiortc peer, the Support Manager's call legs
and the host's own call members alike."""
from __future__ import annotations

from aiortc.sdp import candidate_from_sdp


def candidate_from_json(c: dict):
    """aiortc's RTCIceCandidate of a browser's candidate dict; None for the empty end-of-candidates one."""
    text = c.get("candidate") or ""
    if not text:
        return None
    cand = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    cand.sdpMid = c.get("sdpMid")
    cand.sdpMLineIndex = c.get("sdpMLineIndex")
    return cand
