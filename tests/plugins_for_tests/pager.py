"""A third-party invite channel through the invite_channels hook: "Customer by pager". The pager network
itself cannot run here, so sent pages are kept in a list (a stand-in, said so in the test)."""
from host.hookspecs import hookimpl


class Pager:
    def __init__(self):
        self.paged = []

    @hookimpl
    def invite_channels(self):
        from plugins.invite import InviteChannel
        return [InviteChannel("pager", "Customer by pager", self.send, "Pager number")]

    async def send(self, app, site, invitation):
        from plugins.invite import InviteError
        if not invitation.to.isdigit():
            raise InviteError("a pager number is digits only")
        self.paged.append((site.slug, invitation.to, invitation.sentence))
        return f"paged {invitation.to}"
