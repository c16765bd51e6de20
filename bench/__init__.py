"""The chat benchmark behind ``make bench``: one real host process on loopback, load generator processes
with many WebSockets, round-trip times of ``chat.send`` (sender's ack after commit, peer's ``chat.message``),
host CPU and memory at several participant counts. Method and results: docs/performance.md.
"""
