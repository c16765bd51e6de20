"""Screen sharing, shared by the desktop and appshare plugins.

Host side: ``sharing`` (the message handlers: requests, grants, frame forwarding with pacing, input
checks, display mode), ``state`` (what the host keeps per live session), ``host_hooks`` (the console
controls and the hooks each plugin assigns under its own name). Agent side: ``agent_share`` (local
consent, capture loop, input injection), ``pipeline`` (the screen encoder). Both: ``input_events``.
"""
