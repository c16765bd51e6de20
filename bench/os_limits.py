"""Process settings for the benchmark's processes: open-file limit and scheduling priority."""
from __future__ import annotations

import os
import resource


def raise_file_limit() -> None:
    """Thousands of sockets: raise the soft limit of open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def set_priority(nice: int) -> bool:
    """Run this process at the given nice value (negative: ahead of other work on the machine).

    Called before any thread starts, so every thread inherits it. With scheduler autogroups (Linux
    desktops and most VMs) a nice value only counts within the process's session, so the benchmark
    starts each process in a session of its own and gives that session's autogroup the same value.
    Not allowed (not root): nothing changes and False is returned."""
    if not nice:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except OSError:
        return False
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:
        pass  # no autogroups here: the process nice value is all there is
    return True
