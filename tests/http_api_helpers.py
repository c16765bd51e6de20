"""Helpers for the HTTP API tests: make a token on the API tokens page as a person would (form + CSRF),
call the API as a script would (a fresh HTTP client, no cookies), check answers against the OpenAPI document."""
from __future__ import annotations

import html
import re

import aiohttp
import jsonschema

TOKEN_VALUE = re.compile(r'class="token-value" readonly value="([^"]+)"')


async def make_token(client, name="Helpdesk", scopes=("sessions",), expires_days="", status=200) -> str | None:
    """Fill in the form on the client's API tokens page; returns the token shown on the page it redirects
    to (None when refused)."""
    form = {"name": name, "expires_days": expires_days, **{f"scope_{s}": "on" for s in scopes}}
    r = await client.post_form(f"/s/{client.site}/tokens", form, csrf_from=f"/s/{client.site}/tokens")
    text = await r.text()
    assert r.status == status, text
    found = TOKEN_VALUE.search(text)
    return html.unescape(found.group(1)) if found else None


class Script:
    """A script calling the API: its own HTTP client without a cookie jar, and a bearer token."""

    def __init__(self, host, token: str | None, site: str = "demo"):
        self.host, self.token, self.site = host, token, site
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        host.sessions.append(self.http)

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(self, method: str, path: str, site: str | None = None, headers: dict | None = None,
                   **kwargs) -> tuple[int, object]:
        url = f"{self.host.base}/s/{site or self.site}/api/v1{path}"
        headers = {**self.headers(), **(headers or {})}
        async with self.http.request(method, url, headers=headers, allow_redirects=False, **kwargs) as r:
            assert r.content_type == "application/json", (r.status, await r.text())
            return r.status, await r.json()

    async def get(self, path: str, **kwargs):
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs):
        return await self.call("POST", path, **kwargs)


async def openapi(host, site="demo") -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{host.base}/s/{site}/api/v1/openapi.json") as r:
            assert r.status == 200
            return await r.json()


def check_against(doc: dict, method: str, path: str, status: int, body) -> None:
    """The answer of a real call fits the schema the OpenAPI document gives for it (path as in the document)."""
    op = doc["paths"][path][method.lower()]
    assert str(status) in op["responses"], f"{method} {path} answered {status}, not documented"
    schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({"components": doc["components"], **schema}).validate(body)


def assert_error(status: int, body, expected_status: int, code: str | None = None) -> None:
    assert status == expected_status, body
    assert set(body) == {"error"} or "error" in body, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
