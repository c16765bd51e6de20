"""The Support Manager: the program a customer runs to share their screen, files and devices."""
