"""The hook implementations a call plugin (audio, video) shares: they only hand over to its CallService.

A pluggy plugin module must hold its own @hookimpl functions, so each plugin assigns the ones built here
for its service at module level:

    register_message_handlers, participant_left, session_ended, session_record, call_services = call_hooks(service)
"""
from __future__ import annotations

from host.api import hookimpl

from .service import CallService, call_record


def call_hooks(service: CallService) -> tuple:
    """register_message_handlers, participant_left, session_ended, session_record and call_services for
    ``service``."""

    @hookimpl
    def register_message_handlers(register):
        service.register(register)

    @hookimpl
    async def participant_left(app, session, participant, reason):
        await service.remove_member(app, session, participant.id, reason)

    @hookimpl
    async def session_ended(app, session, ended_by):
        await service.close_call(app, session, ended_by.id if ended_by else None, "session ended")

    @hookimpl
    def session_record(session, db):
        sid = session["id"] if isinstance(session, dict) else session.id
        return call_record(service.kind, sid, db)

    @hookimpl
    def call_services():
        return service

    return register_message_handlers, participant_left, session_ended, session_record, call_services
