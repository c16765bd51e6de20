"""A test plugin whose option records what its mount(api) sees: whether the participant and session are
known at mount, and how many session.hello messages its own listener hears afterwards."""
from host.api import CONSOLES, ROLES, DashboardOption, hookimpl


@hookimpl
def dashboard_options():
    return [DashboardOption("mount_timing.panel", "Timing", consoles=CONSOLES, roles=ROLES)]
