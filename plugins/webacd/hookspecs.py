"""The hook the WebACD plugin declares for other plugins (added through ``register_hookspecs``)."""
from host.api import hookspec


@hookspec
def webacd_start_options(site):
    """Return a list of Setting: per-queue start options; the queue's values reach plugins in
    session.meta["webacd"]["start_options"][plugin]."""


@hookspec
def webacd_page_scripts(site):
    """Return a list of script URLs (absolute, or paths on this host) that the snippet loads into the company's
    page it is placed on, after its "Get help" button."""
