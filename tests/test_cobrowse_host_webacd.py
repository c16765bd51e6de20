"""WebACD's side of co-browse: the snippet's page key and the scripts other plugins add to the company's page
(hook webacd_page_scripts)."""
from __future__ import annotations

import re

from conftest import start_host, stop_host
from host.api import hookimpl
from test_webacd import ask_help, entry_of, make_queue


class Scripts:
    @hookimpl
    def webacd_page_scripts(self, site):
        return [f"/s/{site.slug}/p/scripts/helper.js?v=2", "https://cdn.example.com/widget.js"]


async def test_hook_webacd_page_scripts_are_loaded_by_the_snippet(tmp_path):
    host = await start_host(tmp_path / "data", extra_plugins=[("scripts", Scripts())], only_plugins={"webacd"})
    try:
        qid = await make_queue(host)
        c = await host.client()
        async with c.http.get(c.url(f"/s/demo/p/webacd/snippet.js?queue={qid}")) as r:
            body = await r.text()
        listed = re.search(r"var extra = (\[.*?\]);", body).group(1)
        assert listed == '["/s/demo/p/scripts/helper.js?v=2", "https://cdn.example.com/widget.js"]'
        assert "new URL(extra[i], script.src)" in body and "supporthost.cobrowse" in body and "&pk=" in body
    finally:
        await stop_host(host)


async def test_the_snippet_loads_cobrowse_page_js_and_the_entry_keeps_only_the_keys_hash(host):
    qid = await make_queue(host)
    c = await host.client()
    async with c.http.get(c.url(f"/s/demo/p/webacd/snippet.js?queue={qid}")) as r:
        body = await r.text()
    assert '"/s/demo/p/cobrowse/page.js?v=' in body
    key = "k" * 43
    async with c.http.get(c.url(f"/s/demo/p/webacd/q/{qid}?ref=https://shop.example.com/a&pk={key}")) as r:
        html = await r.text()
    assert f'name="pk" value="{key}"' in html
    async with c.http.get(c.url(f"/s/demo/p/webacd/q/{qid}?pk=<script>")) as r:
        assert 'name="pk"' not in await r.text()          # not a key: dropped
    _c, r = await ask_help(host, qid, pk=key)
    row = await host.db_read(lambda db: db["acd_entries"].get(entry_of(r)))
    from host.api import token_hash
    assert row["page_key_hash"] == token_hash(key) and key not in str(row)
    async with c.http.get(c.url("/s/demo/p/cobrowse/page.js?v=1")) as r:
        assert r.status == 200 and r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
