"""The hook the invite plugin declares for other plugins (added through ``register_hookspecs``)."""
from host.api import hookspec


@hookspec
def invite_channels():
    """Return a list of InviteChannel (plugins/invite/channels.py): further ways the invite plugin offers
    to invite a customer, e.g. SMS. Each has a name, a label, an address label and an async
    send(app, site, invitation) that returns a short delivery note or raises InviteError."""
