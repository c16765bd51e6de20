"""Property-based tests of the paths the advanced file transfer takes from the other side (the rep's folder
and file names, the host's requests to the Support Manager): whatever arrives, the answer is a path inside
the folder the customer shared, or PathRefused with a text for the person — never another exception, never a
path outside (also through a symbolic link that points out)."""
from __future__ import annotations

import os
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from fuzz_kit import examples
from plugins.filexfer_advanced.paths import PathRefused, Root, check_name, check_relative

PIECES = st.sampled_from(["..", ".", "", "/", "\\", "C:", "c:\\", "\x00", "\n", "\ud800", "out", "a", "ü",
                          "\u2025", "\uff0e\uff0e", "%2e%2e", "~", "x" * 300])
HOSTILE_TEXT = st.one_of(st.text(max_size=300), st.lists(PIECES, max_size=12).map("".join),
                         st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("/".join))
ANY_JSON = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE_TEXT,
                     st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                                max_size=2))

_ROOT = tempfile.mkdtemp(prefix="supporthost-fuzz-root-")
_OUTSIDE = tempfile.mkdtemp(prefix="supporthost-fuzz-outside-")
os.makedirs(os.path.join(_ROOT, "a", "b"), exist_ok=True)
os.symlink(_OUTSIDE, os.path.join(_ROOT, "out"))                # a link inside that points out
os.symlink(os.path.join(_ROOT, "a"), os.path.join(_ROOT, "a", "b", "up"))


@examples(150)
@given(ANY_JSON)
def test_a_relative_path_is_parts_without_dot_dot_or_refused(value):
    try:
        parts = check_relative(value)
    except PathRefused as exc:
        assert str(exc)
        return
    assert isinstance(value, str) and all(p not in ("..", ".", "") and "\x00" not in p for p in parts)


@examples(150)
@given(ANY_JSON)
def test_a_file_name_is_one_plain_name_or_refused(value):
    try:
        name = check_name(value)
    except PathRefused as exc:
        assert str(exc)
        return
    assert name == value and "/" not in name and "\\" not in name and name not in (".", "..")
    assert "\x00" not in name and len(name.encode()) <= 255


@examples(150)
@given(HOSTILE_TEXT)
def test_resolving_stays_inside_the_shared_folder_even_through_links(rel):
    root = Root(_ROOT)
    try:
        real = root.resolve(rel)
    except PathRefused as exc:
        assert str(exc)
        return
    assert root.inside(str(real)) and not str(real).startswith(os.path.realpath(_OUTSIDE))
