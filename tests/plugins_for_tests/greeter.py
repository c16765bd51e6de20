"""A plugin with WebACD start options (hook webacd_start_options): it reads the queue's values in
session_started from the session's meta, as any plugin would."""
from host.hookspecs import hookimpl
from host.options import Setting


class Greeter:
    def __init__(self):
        self.started: list[dict] = []

    @hookimpl
    def webacd_start_options(self, site):
        return [Setting("greet", "Greet the customer", "bool", False),
                Setting("pages", "Pages to open", "int", 1, min=1, max=5)]

    @hookimpl
    def session_started(self, session):
        self.started.append(session.meta.get("webacd", {}).get("start_options", {}).get("greeter"))
