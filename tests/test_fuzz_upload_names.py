"""Fuzzing the names of files a rep publishes (basic file transfer, multipart upload): NUL, path
separators, "..", very long names, look-alike and decomposed Unicode, bytes that are not UTF-8, quotes and
line breaks in the header. Each upload is refused with a 4xx or stored under a server-made name in the
plugin's folder; never a 500, never a file outside it, nothing logged with a traceback."""
from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_kit import NASTY_STRINGS, LogWatch, examples

names = st.one_of(st.sampled_from(NASTY_STRINGS + ["a" * 10_000, "../" * 50 + "x", "x\x00.txt", 'a"b', "a\r\nb"]),
                  st.text(st.characters(exclude_categories=()), max_size=60))


def multipart(name: str, boundary: str = "fuzzboundary") -> bytes:
    raw = name.encode("utf-8", "surrogatepass")   # a lone surrogate becomes bytes that are not UTF-8
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"".encode() + raw
            + b"\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n" + f"--{boundary}--\r\n".encode())


def files_outside(root, data_dir) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
            if not os.path.join(d, f).startswith(str(data_dir))]


@examples(40)
@given(name=names)
async def test_upload_names_are_refused_or_stored_safely(host, rep, support_session, tmp_path, name):
    url = rep.url(f"/s/demo/p/filexfer_basic/sessions/{support_session['id']}/files")
    headers = {"X-CSRF-Token": await rep.csrf("/s/demo/"),
               "Content-Type": "multipart/form-data; boundary=fuzzboundary"}
    with LogWatch() as watch:
        async with rep.http.post(url, data=multipart(name), headers=headers) as r:
            body = await r.text()
        assert r.status < 500, (name[:80], r.status, body[:300])
        assert watch.take() == []
    assert files_outside(tmp_path, host.data_dir) == []
    folder = host.data_dir / "filexfer_basic" / "files"
    stored = os.listdir(folder) if folder.is_dir() else []
    assert all(n.isascii() and "/" not in n and ".." not in n and "\x00" not in n for n in stored), stored
    rows = await host.db_read(lambda db: [r["name"] for r in db["published_files"].rows])
    assert all("/" not in n and "\x00" not in n and len(n) <= 200 for n in rows), rows
