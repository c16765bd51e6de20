"""Audio and video calls, shared by the audio and video plugins.

Host side: ``service`` (who is in a call, the signalling relay, the session's record), ``sdp_check``
(what the host checks before relaying signalling), ``ice`` (the site's STUN/TURN servers),
``host_hooks`` (the hooks each plugin assigns for its service). Agent side: ``agent_calls`` (the Support
Manager's calls: asking its person, commands, status line), ``media`` (aiortc, PyAudio, OpenCV),
``video_window`` (the others' cameras in a window of their own).
"""
