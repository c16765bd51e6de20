"""The customer knows who is helping, in the Support Manager (issue 11): it names the site as the host
does, the address it connected to (verified only over HTTPS), the reps with their roles, and lists what
each may do right now across screen sharing and file access; ending one grant (``revoke <n>`` on the
terminal, its Revoke button in the real Tk status window) ends it here and on the host, the others stay."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from agent.app import SupportManager
from agent.consent import Answer
from agent.permissions import People, identity
from agent.plugin_manager import make_plugin_manager
from agent.status import TerminalStatus, WindowStatus
from agent.status_window import revoke_at, window_height
from agent_harness import MediaSocket, ScriptedConsent, launch, stop_agent
from filexfer_advanced_helpers import P
from xscreen import xscreen  # noqa: F401  (fixture)


async def until(check, what, timeout: float = 10):
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what() if callable(what) else what)


def test_identity_says_verified_only_for_https():
    people = People()
    people.update([{"id": "r", "name": "Rita Rep", "role": "primary_rep"},
                   {"id": "c", "name": "Carla", "role": "customer"}, "junk", {"id": 5}])
    plain = identity("http://127.0.0.1:8080/s/demo", "Demo support", people)
    assert plain == ("Site: Demo support (the name the host gives). Connected to 127.0.0.1:8080 (not verified: "
                     "plain http, no certificate). Helping you: Rita Rep (primary rep).")
    secure = identity("https://help.example.com/s/demo", None, People())
    assert "verified: its HTTPS certificate is valid for help.example.com" in secure
    assert "No representative is connected." in secure and "Site:" not in secure


async def _grants(rep_ws, agent_id):
    state = await rep_ws.request({"type": "desktop.state"})
    return [g for g in state["grants"] if g["agent"] == agent_id]


async def test_terminal_lists_who_may_do_what_and_revoke_n_ends_one_grant(host, xscreen, tmp_path, capsys):
    root = tmp_path / "home"
    root.mkdir()
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    consent = ScriptedConsent(Answer(True), Answer(True))
    agent, task = await launch(SupportManager(
        f"{host.base}/s/demo", s["number"], "Carla", consent=consent, config={"files_root": str(root)},
        pm=make_plugin_manager(only={"desktop", "filexfer_advanced"}), status=TerminalStatus(lambda: None)))
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        me = agent.me["id"]
        await rep_ws.request({"type": "desktop.request", "level": "view"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        await rep_ws.request({"type": f"{P}.request"})
        await rep_ws.expect(lambda m: m.get("type") == f"{P}.answer" and m["allow"])
        await until(lambda: len(agent.shown) == 2, lambda: f"listed: {agent.shown}")
        out = capsys.readouterr().out
        assert f"Site: Demo support (the name the host gives). Connected to {host.base[7:]} (not verified" in out
        assert "Helping you: Rita Rep (primary rep)." in out
        screen = 1 + [p.what for p in agent.shown].index("see your screen")
        assert f"  {screen}. Rita Rep (primary rep) may see your screen\n" in out
        assert f"  {3 - screen}. Rita Rep (primary rep) may browse and copy your files in {root}\n" in out
        assert "type 'revoke <number>' to end one" in out

        agent._terminal_command("revoke 7")
        assert "there is no permission '7' now" in capsys.readouterr().out
        agent._terminal_command(f"revoke {screen}")          # the screen: ended here, then on the host
        await until(lambda: not agent.features["desktop"].grants, "the agent still shares")
        for _ in range(100):
            if not await _grants(rep_ws, me):
                break
        assert not await _grants(rep_ws, me)
        files = await rep_ws.request({"type": f"{P}.state"})
        assert [g["rep_name"] for g in files["grants"]] == ["Rita Rep"]     # file access stays
        await until(lambda: [p.what for p in agent.shown] == [f"browse and copy your files in {root}"],
                    lambda: f"listed: {agent.shown}")
        agent._terminal_command("revoke 1")                 # now the files
        await until(lambda: not agent.features[P].grants, "file access still given here")
        for _ in range(100):
            files = await rep_ws.request({"type": f"{P}.state"})
            if not files["grants"]:
                break
            await asyncio.sleep(0.05)
        assert files["grants"] == []
        assert "Nobody can see your screen, reach your files or hear you now." in capsys.readouterr().out
    finally:
        await stop_agent(agent, task)


@pytest.mark.skipif(not shutil.which("xdotool"), reason="needs xdotool")
async def test_status_window_revoke_button_ends_that_grant(host, xscreen, tmp_path):
    rep = await host.rep()
    s = await rep.start_session()
    rep_ws = MediaSocket(await rep.ws(s["id"]))
    agent = SupportManager(f"{host.base}/s/demo", s["number"], "Carla", consent=ScriptedConsent(Answer(True)),
                           pm=make_plugin_manager(only={"desktop"}))
    assert isinstance(agent.status, WindowStatus)
    agent, task = await launch(agent)
    try:
        await rep_ws.expect(lambda m: m.get("type") == "desktop.state" and m["agents"])
        me = agent.me["id"]
        await rep_ws.request({"type": "desktop.request", "level": "control"})
        await rep_ws.expect(lambda m: m.get("type") == "desktop.answer" and m["allow"])
        window = await xscreen.wait_window("^Support Manager$")
        await until(lambda: agent.status.permissions, "nothing listed")
        assert agent.status.identity.startswith("Site: Demo support")

        def height():
            out = xscreen.xdotool("getwindowgeometry", "--shell", window)
            return int(dict(line.split("=") for line in out.split())["HEIGHT"])
        for _ in range(100):
            if height() == window_height(False, 1):
                break
            await asyncio.sleep(0.05)
        assert height() == window_height(False, 1)
        await asyncio.sleep(0.3)
        x, y, w, h = revoke_at(0)
        await xscreen.click_in_window(window, x + w // 2, y + h // 2)
        await until(lambda: not agent.features["desktop"].grants, "the Revoke button did not end the grant")
        for _ in range(100):
            if not await _grants(rep_ws, me):
                break
        assert not await _grants(rep_ws, me)
        await until(lambda: height() == window_height(False, 0), "the row is still shown")
    finally:
        await stop_agent(agent, task)
