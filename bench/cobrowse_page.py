"""The company's pages for the co-browse benchmark (bench/cobrowse.py), served from another loopback origin.

/busy: a page that keeps changing by its own script: a character typed into a field, an order list that
updates, the window scrolled, in turn, one change every ``period`` ms. Every change also bumps a counter
shown two ways: the attribute ``data-n`` of a fixed 64x64 block at the top left (what co-browse relays)
and the block's colour (what desktop sharing shows: 4 bits per channel, 12 bits, counter mod 4096). The
page keeps the wall-clock time of each change in ``window.__stamps`` (index = counter).
/big: a static page of 10,000 elements (2,500 list items of four elements each), for the snapshot time.
Both carry WebACD's snippet, so page.js follows the customer from one to the other.
"""
from __future__ import annotations

from aiohttp import web

BLOCK = 64
BIG_ITEMS = 2500

BUSY = """<!doctype html><html><head><meta charset="utf-8"><title>Busy shop</title>
<style>
body {{ font: 16px sans-serif; margin: 0; padding: 72px 24px 24px; background: #fff; }}
#mark {{ position: fixed; left: 0; top: 0; width: {block}px; height: {block}px; background: rgb(0,0,0); z-index: 9; }}
#form {{ position: fixed; left: 80px; top: 8px; right: 8px; background: #eef; padding: 6px; z-index: 8; }}
#typing {{ width: 60%; font: 16px monospace; }}
#orders li {{ color: #363; margin: 2px 0; }}
p {{ line-height: 1.5; color: #333; }}
</style></head>
<body>
<div id="mark" data-n="0"></div>
<div id="form"><label>Message <input id="typing" autocomplete="off"></label></div>
<h1>Your orders</h1>
<ul id="orders">{items}</ul>
{article}
<script>
(function () {{
  var period = {period};
  var n = 0, tick = 0;
  var mark = document.getElementById("mark"), typing = document.getElementById("typing");
  var orders = document.getElementById("orders").children;
  var words = "the quick brown fox jumps over a lazy dog ".split("");
  window.__stamps = [];
  function colour(i) {{
    var v = i % 4096;
    return "rgb(" + ((v >> 8) & 15) * 17 + "," + ((v >> 4) & 15) * 17 + "," + (v & 15) * 17 + ")";
  }}
  function change() {{
    var kind = tick++ % 3;
    if (kind === 0) {{
      var text = typing.value.length > 60 ? "" : typing.value;
      typing.value = text + words[tick % words.length];
      typing.dispatchEvent(new Event("input", {{ bubbles: true }}));
    }} else if (kind === 1) {{
      var li = orders[tick % orders.length];
      li.textContent = "Order " + (1000 + tick) + ": " + ["packed", "shipped", "out for delivery", "delivered"][tick % 4];
    }} else {{
      var y = window.scrollY + 40;
      window.scrollTo(0, y + window.innerHeight >= document.documentElement.scrollHeight ? 0 : y);
    }}
    n += 1;
    mark.setAttribute("data-n", String(n));
    mark.style.background = colour(n);
    window.__stamps[n] = Date.now();
  }}
  window.__busy = setInterval(change, period);
}})();
</script>
<script src="{host}/s/{site}/p/webacd/snippet.js" data-queue="{queue}"></script>
</body></html>"""

BIG = """<!doctype html><html><head><meta charset="utf-8"><title>Big catalogue</title>
<style>body {{ font: 14px sans-serif; margin: 16px; }} li b {{ color: #036; }} li i {{ color: #a33; }}</style></head>
<body><h1>Catalogue</h1><ul id="catalogue">{items}</ul>
<script src="{host}/s/{site}/p/webacd/snippet.js" data-queue="{queue}"></script>
</body></html>"""

ARTICLE = "".join(f"<p>Paragraph {i}: delivery times, returns, warranty and the other things a shop page says at "
                  f"length, so that there is something to scroll through while the customer waits.</p>"
                  for i in range(120))


def big_items() -> str:
    """2,500 list items, each li + b + span + i: 10,000 elements."""
    return "".join(f"<li><b>Item {i}</b> <span>A useful thing, model {i * 7 % 1000}</span> <i>{i % 90 + 9}.99</i></li>"
                   for i in range(BIG_ITEMS))


async def start_shop(config: dict, address: str = "127.0.0.2"):
    """Serves /busy and /big; ``config`` holds host, site, queue and period (read when a page is asked for,
    so the host's address may be filled in after the shop started). Returns (runner, origin)."""
    big = big_items()
    items = "".join(f"<li>Order {1000 + i}: packed</li>" for i in range(20))

    async def busy(_request):
        return web.Response(text=BUSY.format(block=BLOCK, items=items, article=ARTICLE, **config),
                            content_type="text/html")

    async def big_page(_request):
        return web.Response(text=BIG.format(items=big, **config), content_type="text/html")
    app = web.Application()
    app.router.add_get("/busy", busy)
    app.router.add_get("/big", big_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, address, 0)
    await site.start()
    return runner, f"http://{address}:{site._server.sockets[0].getsockname()[1]}"
