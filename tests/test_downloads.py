"""The Downloads page: how a customer installs and starts the Support Manager, per platform."""


async def test_downloads_page_explains_install_and_join_for_each_platform(host):
    c = await host.client()
    async with c.http.get(c.url("/s/demo/downloads")) as r:
        assert r.status == 200
        text = await r.text()
    assert 'pip install --user "supporthost[agent]"' in text.replace("&#34;", '"')
    assert f"support-manager join {host.base}/s/demo &lt;session number&gt;" in text
    for platform in ("Linux (X11)", "Windows 10/11", "macOS 12+"):
        assert platform in text
    assert "Not yet tested" in text           # honest about what is tested where
    async with c.http.get(c.url("/s/demo/")) as r:
        assert 'href="/s/demo/downloads"' in await r.text()
    async with c.http.get(c.url("/s/nosuchsite/downloads")) as r:
        assert r.status == 404
