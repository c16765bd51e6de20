"""An example third-party plugin: adds a "Wave" option to the consoles and handles hello.wave."""
from host.api import CONSOLES, ROLES, DashboardOption, MessageError, hookimpl

__version__ = "0.1.0"
PLUGIN = "hello"


@hookimpl
def dashboard_options():
    return [DashboardOption("hello.wave", "Wave", tab="tools", icon="\U0001F44B", order=80,
                            consoles=CONSOLES, roles=ROLES)]


@hookimpl
def register_message_handlers(register):
    register("hello.wave", wave)


async def wave(ctx, message):
    to = message.get("to", "everybody")
    if not isinstance(to, str) or len(to) > 40:
        raise MessageError("to must be a short text")
    ctx.broadcast({"type": "hello.waved", "by": ctx.participant.name, "to": to})
    return {"type": "hello.ok", "re": message.get("id")}
