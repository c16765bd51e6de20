"""The hooks of the host core that a supporthost plugin can implement. A hook that belongs to one plugin is
declared by that plugin (``register_hookspecs``: e.g. ``invite_channels`` in plugins/invite/hookspecs.py).

Every hook is documented with signature, arguments and an example in docs/plugins.md; a test fails
when one is missing there. Implementations may accept any subset of a hook's arguments. A hook may
return a value, or an awaitable that the host awaits.
"""
import pluggy

PROJECT = "supporthost"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- startup ----------------------------------------------------------------------------------
@hookspec
def startup(app):
    """Called once when the host starts, after migrations; may return an awaitable."""


@hookspec
def shutdown(app):
    """Called once when the host stops; may return an awaitable."""


# -- storage ----------------------------------------------------------------------------------
@hookspec
def migrations():
    """Return a sqlite_utils Migrations object holding this plugin's tables, applied at startup."""


# -- routes -----------------------------------------------------------------------------------
@hookspec
def register_routes(register):
    """Call register(method, path, handler) for each HTTP route, mounted under /s/{site}/p/<plugin>/."""


# -- session messages -------------------------------------------------------------------------
@hookspec
def register_message_handlers(register):
    """Call register(type, handler, binary=False) for each "<plugin>.<verb>" message type handled."""


# -- dashboard options ------------------------------------------------------------------------
@hookspec
def dashboard_options():
    """Return a list of DashboardOption: the controls this plugin adds to the consoles."""


# -- page context -----------------------------------------------------------------------------
@hookspec
def extra_page_context(page, site, user, request):
    """Return a dict with optional keys js_urls, css_urls and vars, added to a rendered page."""


# -- session events ---------------------------------------------------------------------------
@hookspec
def session_started(app, session):
    """A support session was created."""


@hookspec
def participant_joined(app, session, participant):
    """A participant joined a session (not called when one comes back within the grace period)."""


@hookspec
def participant_left(app, session, participant, reason):
    """A participant left a session: reason is "left", "timeout", "removed" or "ended"."""


@hookspec
def control_transferred(app, session, from_participant, to_participant):
    """The lead of a session passed from one rep to another, who is now primary rep."""


@hookspec
def session_ended(app, session, ended_by):
    """A session ended for everybody; ended_by is the participant who ended it, or None."""


# -- site settings ----------------------------------------------------------------------------
@hookspec
def site_settings():
    """Return a list of Setting: this plugin's per-site settings with defaults, shown on the admin page."""


# -- the session's record ---------------------------------------------------------------------
@hookspec
def session_record(app, session, db):
    """Return a dict of columns this plugin adds to a session's record (the activity report)."""


# -- hooks that plugins declare --------------------------------------------------------------
@hookspec
def register_hookspecs(add):
    """Call add(module_or_class) with the hookspecs this plugin declares for other plugins to implement
    (as pytest's pytest_addhooks); each declared hook's name starts with "<plugin>_"."""


# -- the HTTP API -----------------------------------------------------------------------------
@hookspec
def register_api_routes(register):
    """Call register(method, path, handler, scope=..., summary=..., ...) for each HTTP API call, mounted under
    /s/{site}/api/v1/p/<plugin>/ behind API tokens and described in the site's OpenAPI document."""


# -- traffic ----------------------------------------------------------------------------------
@hookspec
def traffic_refresh(app, session):
    """Somebody observing the session's traffic needs a fresh start now: a plugin whose streams send deltas
    sends a full picture (a key frame, a whole snapshot) soon after, as it does for a new viewer."""


# -- calls ------------------------------------------------------------------------------------
@hookspec
def call_services():
    """Return the CallService (plugin_libs.calls.service) of the call this plugin runs (audio, video), so a
    plugin can put a member the host runs itself into a session's calls (the recorder's "Recording")."""


# -- command line -----------------------------------------------------------------------------
@hookspec
def register_commands(register):
    """Call register(name, help, configure, run) for each `supporthost <name>` command: configure(parser) adds
    its argparse arguments, run(app, args) does the work on a built (not started) host of an existing data folder
    and returns the exit code."""
