"""A plugin that cannot even be imported (a missing dependency)."""
import supporthost_no_such_dependency  # noqa: F401
