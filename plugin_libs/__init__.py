"""Libraries that feature plugins share; none of them is a plugin (none has hooks of its own to load).

Dependencies point one way: ``plugins.*`` -> ``plugin_libs.*`` -> ``host.api`` (host parts) and the
agent's public modules ``agent.hookspecs``, ``agent.consent``, ``agent.window_process``, ``agent.frames``
(agent parts). A library never imports a plugin.

- ``screenshare``: desktop and application sharing (desktop and appshare plugins).
- ``calls``: audio and video calls (audio and video plugins).
"""
