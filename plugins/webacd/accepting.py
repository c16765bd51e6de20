"""A rep takes a waiting customer: a new inbound session for a customer from the entry form, or the rep
joins a session transferred to them. The engine decides first; when writing the session fails the
customer keeps their place."""
from __future__ import annotations

import logging

from host import api

from . import store
from .engine import NotAllowed, Taken
from .queue_config import QueueConfig, page_origin
from .service import AcdError, WebAcd

log = logging.getLogger("supporthost.webacd")


async def accept(acd: WebAcd, site, user: dict, entry_id: str) -> dict:
    """A rep takes a waiting customer (offered, or picked from the queue view)."""
    await acd.refresh_members([user["id"]])
    try:
        entry, events = acd.engine.accept(entry_id, user["id"])
    except Taken as exc:
        by = exc.by
        if by is None:
            row = await acd.db.read(lambda db: store.entry_row(db, entry_id))
            if row is None or row["site_id"] != site.id:
                raise AcdError("There is no such customer waiting.", 404) from None
            by = row["accepted_by_name"]
        raise AcdError(f"already taken by {by}" if by else "This customer is no longer waiting.", 409) from None
    except NotAllowed as exc:
        raise AcdError(f"You cannot take this customer: {exc}.", 403) from None
    if entry.site_id != site.id:
        await acd.apply(acd.engine.undo_accept(entry, user["id"]))
        raise AcdError("There is no such customer waiting.", 404)
    acd.last_seen.pop(entry.id, None)
    acd.last_sent.pop(entry.id, None)
    config = api.config(acd.app)
    now = acd.clock()
    data = entry.data
    queue = acd.queues.get(entry.queue_id)
    acd.starting[user["id"]] = acd.starting.get(user["id"], 0) + 1
    try:
        if data.get("session_id"):
            row = await acd.db.write(lambda db: store.join_transferred_session(db, site.id, user["id"], data, now))
            if row is None:
                await acd.apply(events)
                raise AcdError("This customer's session has ended meanwhile.", 410)
            session_id = data["session_id"]
        else:
            meta = {"webacd": {"entry_id": entry.id, "queue_id": entry.queue_id,
                               "queue": queue.name if queue else "", "ref_url": data.get("ref_url") or "",
                               "problem": data.get("problem") or "", "email": data.get("email") or "",
                               "start_options": await start_options(acd, site, queue)}}
            if data.get("page_key_hash"):   # the snippet's page key: co-browse finds the session by it
                meta["webacd"].update(page_key_hash=data["page_key_hash"], page_origin=page_origin(data.get("ref_url")))
            session, _rep, customer = await acd.db.write(lambda db: store.start_inbound_session(
                db, config, site.id, user["id"], data, now, meta))
            session_id = session["id"]
    except AcdError:
        raise
    except Exception:
        log.exception("accepting %s failed", entry_id)
        await acd.apply(acd.engine.undo_accept(entry, user["id"]))
        raise AcdError("The session could not be started; the customer keeps their place. Try again.", 500)
    finally:
        acd.starting[user["id"]] -= 1
    await acd.apply(events)
    acd.dirty.add(entry.queue_id)
    # A new session is not live yet: sessions.get() loads it with both participants from the database
    # (so sessions.added() would add the customer twice); participant_joined is called for the customer
    # below, as added() would. A transferred session is live: the accepting rep is added with added().
    live = await acd.sessions.get(session_id)
    if data.get("session_id"):
        if live is not None and row["id"] not in live.participants:
            await acd.sessions.added(live, row)
        if live is not None:
            acd.sessions.broadcast(live, {"type": "webacd.transferred", "to": user["display_name"],
                                          "text": f"{user['display_name']} is now helping you."})
    else:
        await api.call_hook(acd.app, "session_started", site, app=acd.app, session=live)
        cust = live.participants.get(customer["id"]) if live else None
        if cust is not None:
            await api.call_hook(acd.app, "participant_joined", site, app=acd.app, session=live, participant=cust)
        acd.send_waiter(entry.id, {"type": "webacd.status", "state": "accepted", "by": user["display_name"],
                                   "url": f"{site.prefix}/p/webacd/enter/{entry.id}"})
    acd.sessions.notify_user(user["id"], {"type": "console.sessions_changed"})
    return {"session_id": session_id, "entry_id": entry.id, "name": entry.name}


async def start_options(acd: WebAcd, site, queue: QueueConfig | None) -> dict:
    """The queue's start options as plugins declared them (hook webacd_start_options), with defaults."""
    stored = queue.start_options if queue else {}
    out = {}
    for plugin, specs in await api.call_hook(acd.app, "webacd_start_options", site, site=site):
        out[plugin] = {s.name: stored.get(plugin, {}).get(s.name, s.default) for s in specs or []}
    return out
