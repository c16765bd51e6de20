"""The hooks of the Support Manager (the agent): its own pluggy project, separate from the host's.

Backends are ``firstresult`` hooks: the plugin registered last wins, so a platform plugin (for example a
Wayland capture backend, installed with an entry point in the ``supporthost.agent`` group) replaces the
default mss/pynput backends without touching the agent.
"""
import pluggy

PROJECT = "supporthost_agent"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def agent_capture_backend(config):
    """Return the screen capture backend: monitors(), grab(monitor) -> BGRA array, cursor() -> (x, y),
    optionally changed() -> bool (anything drawn since the last call), damage(wait) -> the rectangles drawn
    since the last call or None when unknown (waiting up to ``wait`` seconds for the first), and close()."""


@hookspec(firstresult=True)
def agent_input_backend(config):
    """Return the input backend: move(x, y), button(name, down), scroll(dx, dy), key(code, key, down),
    optionally release_keys() (let go of every key still held: control ended) and close()."""


@hookspec(firstresult=True)
def agent_consent_prompt(config):
    """Return the consent prompt: ``async ask(request) -> Answer`` (a real dialog, or a terminal prompt)."""


@hookspec
def agent_message_handlers(agent, register):
    """Call register(type, fn) for each host message type handled; fn(message) may be a coroutine."""


@hookspec
def agent_stopped(agent):
    """The agent is stopping (the session ended, or the user quit); stop capture and input now."""


@hookspec
def agent_command(agent, line):
    """A line the person typed on the terminal that the agent itself does not know (it knows ``stop``
    and ``quit``); return True when this plugin handled it."""
