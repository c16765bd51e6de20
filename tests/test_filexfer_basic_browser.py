"""Basic file transfer end to end in headless Chromium: the rep publishes with a progress bar, the
customer sees the file appear live, downloads it (progress, SHA-256 checked) and gets the same bytes;
a file over the site's limit is refused with a clear message and nothing appears."""
from __future__ import annotations

import hashlib
import os

import pytest
from playwright.async_api import expect

from test_invite_browser import customer_joins, login, open_option, start_session
from test_filexfer_basic import configure

pytestmark = pytest.mark.browser
MB = 1024 * 1024


async def test_rep_publishes_customer_sees_it_live_and_downloads(host, browser, tmp_path):
    await configure(host, max_file_mb="2")
    ok = tmp_path / "manual ü.pdf"
    ok.write_bytes(os.urandom(1536 * 1024))
    big = tmp_path / "too-big.iso"
    big.write_bytes(os.urandom(2 * MB + 1))

    rep = await login(browser, host, "rep1")
    s = await start_session(rep.page)
    customer = await customer_joins(browser, host, s["number"])
    cpage = customer.page
    await open_option(cpage, "filexfer_basic.files")
    await expect(cpage.locator(".files-empty")).to_be_visible()

    await open_option(s["view"], "filexfer_basic.files")
    panel = s["view"].locator('.panel[data-option="filexfer_basic.files"]')
    await panel.locator(".publish-input").set_input_files(str(ok))
    await panel.locator(".publish").click()
    await expect(panel.locator(".files-status")).to_have_text("Published manual ü.pdf.")
    await expect(panel.locator(".upload-progress")).to_have_attribute("value", "100")

    item = cpage.locator(".file").filter(has_text="manual ü.pdf")     # appeared without a reload
    await expect(item).to_be_visible()
    digest = hashlib.sha256(ok.read_bytes()).hexdigest()
    await expect(item.locator(".sha256")).to_have_text(digest)
    async with cpage.expect_download() as info:
        await item.locator(".download").click()
    download = await info.value
    assert download.suggested_filename == "manual ü.pdf"
    saved = tmp_path / "got.bin"
    await download.save_as(str(saved))
    assert saved.read_bytes() == ok.read_bytes()
    await expect(item.locator(".download-note")).to_have_text("Downloaded, SHA-256 checked")
    await expect(item.locator(".download-progress")).to_have_attribute("value", "100")

    await panel.locator(".publish-input").set_input_files(str(big))
    await panel.locator(".publish").click()
    await expect(panel.locator(".files-status")).to_have_text(
        "too-big.iso is larger than 2 MB, the limit for one file on this site. Nothing was published.")
    await expect(cpage.locator(".file")).to_have_count(1)
    assert rep.errors == [] and customer.errors == []


RECORD_PROGRESS = """
(bar) => {
  window.__progress = [];
  new MutationObserver(() => window.__progress.push(Number(bar.getAttribute("value"))))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}
"""


async def test_several_files_at_once_with_progress_and_sha256_for_each(host, browser, tmp_path):
    files = []
    for name, size in (("big one.bin", 8 * MB), ("notes.txt", 1000), ("empty.dat", 0)):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        files.append(path)

    rep = await login(browser, host, "rep1")
    s = await start_session(rep.page)
    customer = await customer_joins(browser, host, s["number"])
    cpage = customer.page
    await open_option(cpage, "filexfer_basic.files")

    await open_option(s["view"], "filexfer_basic.files")
    panel = s["view"].locator('.panel[data-option="filexfer_basic.files"]')
    await panel.locator(".upload-progress").evaluate(RECORD_PROGRESS)
    await panel.locator(".publish-input").set_input_files([str(p) for p in files])
    await panel.locator(".publish").click()
    await expect(panel.locator(".files-status")).to_have_text("Published big one.bin, notes.txt, empty.dat.")
    uploaded = await rep.page.evaluate("window.__progress")
    assert uploaded[-1] == 100 and uploaded == sorted(uploaded), uploaded

    items = cpage.locator(".file")                       # all three appear live, in order, each with its hash
    await expect(items.locator(".file-name")).to_have_text([p.name for p in files])
    await expect(items.locator(".sha256")).to_have_text([hashlib.sha256(p.read_bytes()).hexdigest() for p in files])

    big = items.filter(has_text="big one.bin")
    await big.locator(".download-progress").evaluate(RECORD_PROGRESS)
    async with cpage.expect_download() as info:
        await big.locator(".download").click()
    download = await info.value
    saved = tmp_path / "got.bin"
    await download.save_as(str(saved))
    assert saved.read_bytes() == files[0].read_bytes()
    await expect(big.locator(".download-note")).to_have_text("Downloaded, SHA-256 checked")
    seen = await cpage.evaluate("window.__progress")
    assert seen[-1] == 100 and seen == sorted(seen), seen
    assert any(0 < v < 100 for v in seen), seen          # the bar moved while the 8 MB came in

    stored_names = sorted(os.listdir(host.data_dir / "filexfer_basic" / "files"))
    assert len(stored_names) == 3 and not set(stored_names) & {p.name for p in files}
    assert rep.errors == [] and customer.errors == []
