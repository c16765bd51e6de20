"""What the host runner seeds and the load generators use: the site, its rep accounts, how many sessions each."""

SITE = "bench"
SESSIONS_PER_REP = 10  # each rep account works in multisession mode with up to this many sessions


def rep_name(i: int) -> str:
    return f"rep{i:04d}"
