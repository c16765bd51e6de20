"""Who is not logged in gets a page's login redirect in a browser, but a JSON API call gets 401 (and a rep
calling an admin's route 403) with the JSON error body: under the site's /api/, under a plugin's
/p/<plugin>/api/, or whatever the request when it accepts JSON but not HTML."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.supporthost(plugins=["report", "hello"])
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "Please log in."}}
JSON = {"Accept": "application/json"}


async def test_a_page_redirects_to_the_login_but_an_api_call_gets_401_json(host):
    c = await host.client()
    for path in ("/s/demo/console", "/s/demo/p/report/"):
        async with c.http.get(c.url(path), allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"].startswith("/s/demo/login?next=")
    for path, headers in (("/s/demo/api/sessions", {}), ("/s/demo/p/hello/api/greeting", {}),
                          ("/s/demo/console", JSON), ("/s/demo/p/report/", JSON)):
        async with c.http.get(c.url(path), headers=headers, allow_redirects=False) as r:
            assert (r.status, r.content_type) == (401, "application/json"), path
            assert await r.json() == UNAUTHORIZED
    async with c.http.post(c.url("/s/demo/api/sessions"), allow_redirects=False) as r:
        assert r.status == 401 and await r.json() == UNAUTHORIZED


async def test_a_browser_that_accepts_html_and_json_still_gets_the_login_page(host):
    c = await host.client()
    accept = {"Accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"}
    async with c.http.get(c.url("/s/demo/console"), headers=accept, allow_redirects=False) as r:
        assert r.status == 302


async def test_a_rep_asking_for_an_admin_s_json_gets_403_json(rep):
    async with rep.http.get(rep.url("/s/demo/admin"), headers=JSON) as r:
        assert (r.status, r.content_type) == (403, "application/json")
        assert await r.json() == {"error": {"code": "forbidden", "message": "Only an admin of this site can do this."}}
    async with rep.http.get(rep.url("/s/demo/admin")) as r:
        assert r.status == 403 and r.content_type == "text/plain"
