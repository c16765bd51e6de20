"""The built-in feature plugins, one folder each, found through the supporthost.plugins entry points."""
