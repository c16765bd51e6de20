"""`support-manager`: not built yet; it arrives with the desktop sharing issue."""
import sys


def main(argv=None) -> int:
    print("support-manager: the Support Manager is not built yet (desktop sharing is planned). "
          "Use the customer page in your browser for chat.", file=sys.stderr)
    return 2
