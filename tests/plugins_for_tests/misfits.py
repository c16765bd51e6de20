"""Plugins that register something the host must refuse, each in one precise way."""
from host.hookspecs import hookimpl
from host.options import DashboardOption


async def _nothing(ctx, message):
    return {"type": "nothing", "re": message.get("id")}


class ClaimsChatSend:
    """Registers a message type the chat plugin already owns."""

    @hookimpl
    def register_message_handlers(self, register):
        register("squatter.ok", _nothing)
        register("chat.send", _nothing)


class WrongPrefix:
    """Registers a type that does not start with its own name."""

    @hookimpl
    def register_message_handlers(self, register):
        register("elsewhere.poke", _nothing)


class BadOption:
    """Puts an option on a tab that does not exist."""

    @hookimpl
    def dashboard_options(self):
        return [DashboardOption("badtab.panel", "Bad tab", tab="kitchen")]
