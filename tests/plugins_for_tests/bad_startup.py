"""A plugin whose startup hook raises: it must be listed as failed, and the host must serve the rest."""
from host.hookspecs import hookimpl
from host.options import DashboardOption


@hookimpl
def dashboard_options():
    return [DashboardOption("bad_startup.panel", "Never shown")]


@hookimpl
def register_routes(register):
    register("GET", "/status", status)


async def status(request):
    raise AssertionError("never reached: the plugin failed to start")


@hookimpl
async def startup(app):
    raise RuntimeError("the licence server cannot be reached")
