"""End to end: the rep's dashboard in headless Chromium controls a Tk application on a real X screen
through the real Support Manager (a subprocess), after the test clicked Allow in the real consent dialog."""
from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.consent_dialog import centre, layout
from conftest import PASSWORD
from xscreen import Recorder, xscreen  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
ALLOW = centre(layout(0)["allow"])   # the middle of the dialog's Allow button (agent/consent_dialog.py)


async def rep_dashboard(browser, host):
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    await page.goto(f"{host.base}/s/demo/login")
    await page.fill("input[name=username]", "rep1")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.login-form button[type=submit]")
    await page.wait_for_selector(".start-session")
    await page.click(".start-session")
    number = (await page.locator(".session-number").first.text_content()).strip()
    return ctx, page, number


def spawn_support_manager(screen, args: list, log_path: Path):
    """The real Support Manager as a subprocess on ``screen`` (``args`` after the command), its output in
    ``log_path``: (process, open log)."""
    log = open(log_path, "w")
    proc = screen.spawn([str(Path(sys.executable).parent / "support-manager"), *args], stdout=log, stderr=log,
                        stdin=subprocess.DEVNULL)
    return proc, log


def stop_support_manager(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except Exception:
        proc.kill()
    log.close()


async def allow_in_dialog(screen) -> None:
    """Click Allow in the Support Manager's consent dialog on ``screen``."""
    dialog = await screen.wait_window("permission request")
    await asyncio.sleep(0.3)
    await screen.click_in_window(dialog, *ALLOW)


async def request_carla_screen(page, screen, option: str) -> None:
    """The rep's dashboard asks for Carla's screen with ``option`` (desktop.request_view or _control), and
    Carla allows it in the consent dialog."""
    await page.wait_for_selector(".roster .name:text('Carla')", timeout=15000)
    await page.click("button.tab[data-tab=desktop]")
    await page.click(f"[data-open='{option}']")
    panel = page.locator(f"section.panel[data-option='{option}']")
    await panel.locator("text=Support Manager: Carla").wait_for(timeout=10000)
    await panel.locator("button.desktop-request").click()
    await allow_in_dialog(screen)


async def canvas_pixels(page) -> np.ndarray:
    data = await page.evaluate("""() => {
        const c = document.querySelector('.desktop-viewer[data-plugin=desktop] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
        let s = ''; const b = d.data; const chunk = 0x8000;
        for (let i = 0; i < b.length; i += chunk) s += String.fromCharCode.apply(null, b.subarray(i, i + chunk));
        return [c.width, c.height, btoa(s)];
    }""")
    w, h, b64 = data
    return np.frombuffer(base64.b64decode(b64), np.uint8).reshape(h, w, 4)


async def settled(page, xscreen, region, timeout: float = 20.0) -> None:
    """Wait until the rep's canvas shows what the screen shows: ``region`` (where something just changed)
    within 2 of the screen's values on average, the whole picture within 3."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        shown = (await canvas_pixels(page))[:, :, :3].astype(int)
        screen = xscreen.grab()[:, :, 2::-1].astype(int)
        assert shown.shape == screen.shape
        near, whole = np.abs(shown[region] - screen[region]).mean(), np.abs(shown - screen).mean()
        if near < 2 and whole < 3:
            return
        assert loop.time() < deadline, f"the canvas differs from the screen: {near:.1f} here, {whole:.1f} overall"
        await asyncio.sleep(0.2)


async def test_rep_controls_tk_app_through_dashboard_after_real_consent(host, browser, xscreen, tmp_path):
    app = Recorder(xscreen, tmp_path / "rec.jsonl")
    ready = await app.ready()
    ctx, page, number = await rep_dashboard(browser, host)
    agent, agent_log = spawn_support_manager(xscreen, ["join", f"{host.base}/s/demo", number, "--name", "Carla"],
                                             tmp_path / "agent.log")
    try:
        await request_carla_screen(page, xscreen, "desktop.request_control")

        canvas = page.locator(".desktop-viewer[data-plugin=desktop] canvas[data-control='1']")
        await canvas.wait_for(timeout=15000)
        await page.locator(".desktop-viewer[data-plugin=desktop] canvas[data-frames]").wait_for(timeout=15000)
        # the pointer is drawn apart from the picture, with the shape the customer's screen shows
        await page.locator(".desktop-viewer[data-plugin=desktop] canvas.desktop-cursor.shaped").wait_for(
            state="attached", timeout=10000)
        await canvas.scroll_into_view_if_needed()
        box = await canvas.bounding_box()
        scale = box["width"] / 1280
        bx, by, bw, bh = ready["button"]
        await page.mouse.click(box["x"] + (bx + bw / 2) * scale, box["y"] + (by + bh / 2) * scale)
        click = await app.wait_for(lambda evs: [e for e in evs if e["event"] == "click"])
        assert click["event"] == "click"
        await page.keyboard.type("Hello, Tk!")
        await page.keyboard.press("Backspace")
        await app.wait_for(lambda evs: [e for e in evs if e["event"] == "text" and e["text"] == "Hello, Tk"])
        await asyncio.sleep(0.3)
        assert [e for e in app.events() if e["event"] == "click"] == [click]
        assert [e for e in app.events() if e["event"] == "text"][-1]["text"] == "Hello, Tk"

        # the canvas shows what the screen shows (once the picture has settled)
        await settled(page, xscreen, (slice(0, 320), slice(0, 520)))

        # the app's window dragged elsewhere: sent as a copy of what the canvas had, decoded to the same pixels
        # (a move is a copy only when the window's pixels did not change meanwhile: its caret blinks, and on a
        # starved machine a blink can fall between the move and the grab; so a few moves, until one was a copy)
        win = await xscreen.wait_window("^Recorder test app$")
        for x, y in ((37, 23), (80, 11), (12, 40), (60, 30), (24, 8), (90, 36)):
            xscreen.xdotool("windowmove", win, str(x), str(y))
            await settled(page, xscreen, (slice(y, y + 320), slice(x, x + 520)))
            if int(await canvas.get_attribute("data-copies") or 0) >= 1:
                break
        assert int(await canvas.get_attribute("data-copies") or 0) >= 1

        # scale to fit (default) and 1:1
        viewer = page.locator(".desktop-viewer[data-plugin=desktop]")
        assert (await canvas.bounding_box())["width"] < 1280 * 1.2
        await viewer.locator("button.desktop-scale").click()
        assert (await canvas.bounding_box())["width"] == 1280
        assert await viewer.locator("select.desktop-monitor").is_hidden()     # one monitor: no picker
    finally:
        await ctx.close()
        stop_support_manager(agent, agent_log)
        if os.environ.get("SHOW_AGENT_LOG"):
            print((tmp_path / "agent.log").read_text())


async def test_customer_runs_command_from_page_sees_who_views_and_stops_from_both_places(host, browser, xscreen, tmp_path):
    import shlex
    rep_ctx, rep_page, number = await rep_dashboard(browser, host)
    cust_ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    cust = await cust_ctx.new_page()
    await cust.goto(f"{host.base}/s/demo/join?n={number}")
    await cust.fill("input[name=name]", "Carla")
    await cust.click("form.join-form button[type=submit]")
    await cust.click("[data-open='desktop.customer']")
    panel = cust.locator("section.panel[data-option='desktop.customer']")
    await panel.locator("button.show-command").click()
    await panel.locator("code.desktop-command:not(:empty)").wait_for(timeout=10000)
    command = (await panel.locator("code.desktop-command").text_content()).strip()
    args = shlex.split(command)
    assert args[:2] == ["support-manager", "join"] and args[2] == f"{host.base}/s/demo" and "--pair" in args
    agent, log = spawn_support_manager(xscreen, args[1:], tmp_path / "agent.log")
    try:
        await panel.locator(".desktop-who:text('Nobody sees this screen.')").wait_for(timeout=15000)
        await rep_page.click("button.tab[data-tab=desktop]")
        await rep_page.click("[data-open='desktop.request_view']")
        rep_panel = rep_page.locator("section.panel[data-option='desktop.request_view']")
        for stop_from in ("support manager", "customer page"):
            await rep_panel.locator("button.desktop-request").click()
            await allow_in_dialog(xscreen)
            await panel.locator(".desktop-who:text('Rita Rep can see it.')").wait_for(timeout=15000)
            await rep_page.locator(".desktop-viewer[data-plugin=desktop] canvas[data-frames]").wait_for(timeout=15000)
            if stop_from == "support manager":
                window = await xscreen.wait_window("^Support Manager$")
                await asyncio.sleep(0.5)
                await xscreen.click_in_window(window, 180, 81)     # its "Stop sharing now" button
            else:
                await panel.locator("button.desktop-stop").click()
            await panel.locator(".desktop-who:text('Nobody sees this screen.')").wait_for(timeout=10000)
            await rep_page.locator(".desktop-viewer[data-plugin=desktop]").wait_for(state="hidden", timeout=10000)
        events = await host.db_read(lambda db: [r["kind"] for r in db["session_events"].rows_where(
            "kind like 'desktop.%'", order_by="id")])
        assert events.count("desktop.granted") == 2 and events.count("desktop.revoked") == 2
    finally:
        await rep_ctx.close()
        await cust_ctx.close()
        stop_support_manager(agent, log)
