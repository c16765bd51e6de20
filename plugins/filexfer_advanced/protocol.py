"""What the host and the agent parts agree on: the message prefix and the sizes of the stream.

A file travels as binary frames (1 + header + payload, see host/router.py), each under the host's
64 KiB message limit; files are read and written in blocks of BLOCK bytes; the receiver of a relayed
file acknowledges every ACK_EVERY bytes, and the host keeps at most WINDOW bytes unacknowledged.
"""
PLUGIN = "filexfer_advanced"
CHUNK = 64 * 1024 - 512         # payload per frame: with its header, under the 64 KiB message limit
SMALL_FILE = 60 * 1024          # a file up to this size goes whole in one frame (whole_file)
BLOCK = 4 * 1024 * 1024             # read / write block
ACK_EVERY = 1024 * 1024
WINDOW = 8 * 1024 * 1024
MAX_ENTRIES = 5000              # entries listed per folder
LISTING_PAGE_BYTES = 40 * 1024  # a folder listing goes to the host in pages of at most this much JSON


def new_part(offset, payload, have: int):
    """What a data frame at ``offset`` adds to a stream of which ``have`` bytes arrived: the payload from
    ``have`` on, or None when it adds nothing in order (it all arrived already, or it starts past ``have``).

    After a resume the sender's frames need not start where earlier ones ended (frames of the sender the
    resume replaced may still have come in meanwhile): one that overlaps what arrived is taken from ``have``
    on, so neither side waits for an offset that never comes."""
    if not isinstance(offset, int) or isinstance(offset, bool) or offset > have or offset + len(payload) <= have:
        return None
    return payload if offset == have else memoryview(payload)[have - offset:]
