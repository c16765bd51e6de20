"""Who may do what with the customer's files: a rep (with the grant the customer gave, for browsing and
copying), the Support Manager of a transfer (for its data and answers). The host's second lock: the
Support Manager's own consent is the first."""
from __future__ import annotations

from host import api

from .state import FileAgent, Transfer, state_of


def agent_for(ctx, message) -> FileAgent:
    state = state_of(ctx.session)
    wanted = message.get("agent")
    if wanted is not None:
        agent = state.agents.get(wanted) if isinstance(wanted, str) else None
        if agent is None:
            raise api.MessageError("there is no such Support Manager in this session")
        return agent
    online = [a for a in state.agents.values()
              if ctx.session.participants.get(a.id) and ctx.session.participants[a.id].conn is not None]
    if not online:
        raise api.MessageError("the customer's Support Manager is not connected: ask them to run it "
                           "(the command is on their session page)")
    return online[0]


def only_rep(ctx) -> None:
    if not ctx.participant.is_rep:
        raise api.MessageError("only a rep can do this")


def granted(ctx, message) -> FileAgent:
    only_rep(ctx)
    agent = agent_for(ctx, message)
    if (agent.id, ctx.participant.id) not in state_of(ctx.session).grants:
        raise api.MessageError("the customer has not allowed you to access their files (request file access first)")
    return agent


def only_agent(ctx) -> FileAgent:
    agent = state_of(ctx.session).agents.get(ctx.participant.id)
    if agent is None:
        raise api.MessageError("only a Support Manager can do this")
    return agent


def transfer_of(ctx, tid, direction: str | None = None) -> Transfer | None:
    """The Support Manager's transfer ``tid``, unless it has ended (a late message never revives it)."""
    t = state_of(ctx.session).transfers.get(tid) if isinstance(tid, str) else None
    if t is None or t.agent != ctx.participant.id or (direction and t.direction != direction) \
            or t.status in ("done", "failed"):
        return None
    return t
