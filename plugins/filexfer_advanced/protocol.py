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
