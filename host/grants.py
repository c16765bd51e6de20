"""The live consent panel's data: what each person may do right now on the customer's computer.

Plugins that grant something there (screen and application sharing, file access, calls) publish their
current grants whenever they change (``publish_grants``); the host keeps the latest list per plugin and
broadcasts them all as ``session.grants``. A page that connects asks for them with ``session.grants``.
Each grant says who holds it (names and roles as the host knows them), what it allows in words, and the
message that ends it (``revoke``: the plugin's own message, checked by the plugin like any other).
"""
from __future__ import annotations

KEY = "core.grants"
ROLES = {"primary_rep": "primary rep", "assisting_rep": "assisting rep", "customer": "customer",
         "secondary_customer": "customer"}


def _who(live, pid: str) -> dict:
    p = live.participants.get(pid)
    if p is None:
        return {"id": pid, "name": "someone who left", "role": ""}
    return {"id": pid, "name": p.name, "role": ROLES.get(p.role, p.role)}


def grants_message(live) -> dict:
    by_plugin: dict = live.plugin_state.setdefault(KEY, {})
    return {"type": "session.grants",
            "grants": [{"plugin": plugin, "holders": [_who(live, h) for h in g["holders"]], "what": g["what"],
                        "revoke": g["revoke"]}
                       for plugin, grants in by_plugin.items() for g in grants]}


def publish_grants(hub, live, plugin: str, grants: list[dict]) -> None:
    """``plugin``'s grants now, each ``{"holders": [participant ids], "what": "see the screen",
    "revoke": {message that ends it}}``; everybody in the session gets the new list when it changed."""
    by_plugin: dict = live.plugin_state.setdefault(KEY, {})
    grants = [{"holders": list(g["holders"]), "what": str(g["what"]), "revoke": dict(g["revoke"])} for g in grants]
    if by_plugin.get(plugin, []) == grants:
        return
    by_plugin[plugin] = grants
    hub.broadcast(live, grants_message(live))


async def get_grants(ctx, message):
    """``session.grants``: the current list (a page asks when it connects)."""
    return {**grants_message(ctx.session), "re": message.get("id")}
