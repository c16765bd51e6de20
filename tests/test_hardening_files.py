"""The data folder is private to the host's user whatever the umask: folders 0700, files 0600 (the
database, its WAL and shared-memory files, the secret key, published files), and a data folder left
readable by an older version is tightened on start (issue 11, defect 9)."""
from __future__ import annotations

import os
import stat

import aiohttp
import pytest

from conftest import start_host, stop_host


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def everything(root) -> list[tuple[str, int, bool]]:
    out = [(".", mode(root), True)]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                out.append((os.path.relpath(path, root), mode(path), os.path.isdir(path)))
    return out


async def test_the_data_folder_is_private_under_umask_022(tmp_path, umask_022):
    data = tmp_path / "data"
    # what an older version left: a world-readable folder, database and a published file
    (data / "filexfer_basic" / "files").mkdir(parents=True)
    (data / "filexfer_basic" / "files" / "old").write_bytes(b"old file")
    for path in (data, data / "filexfer_basic", data / "filexfer_basic" / "files"):
        os.chmod(path, 0o755)
    host = await start_host(data)
    try:
        rep = await host.rep()
        s = await rep.start_session()
        form = aiohttp.FormData()
        form.add_field("file", b"secret report", filename="report.txt")
        r = await rep.http.post(rep.url(f"/s/demo/p/filexfer_basic/sessions/{s['id']}/files"), data=form,
                                headers={"X-CSRF-Token": await rep.csrf("/s/demo/")})
        assert r.status == 201, await r.text()
        found = everything(data)
    finally:
        await stop_host(host)
    names = {name for name, _, _ in found}
    assert {"supporthost.db", "supporthost.db-wal", "supporthost.db-shm", "secret.key"} <= names
    assert len([n for n in names if n.startswith("filexfer_basic/files/")]) == 2   # the old and the new file
    loose = [(name, oct(m)) for name, m, is_dir in found if m & 0o077]
    assert loose == [], f"readable by others: {loose}"
    assert all(m == 0o700 for _, m, is_dir in found if is_dir)
