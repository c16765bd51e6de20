"""A minimal RFB (VNC) client for the benchmark: it asks for incremental updates one at a time, as a
viewer does, and parses (without drawing) Raw, CopyRect, Zlib, ZRLE and Tight (incl. JPEG) rectangles,
counting updates and bytes. Written for this benchmark; no security types other than None."""
from __future__ import annotations

import asyncio
import struct
import time

RAW, COPYRECT, ZLIB, TIGHT, ZRLE = 0, 1, 6, 7, 16
DESKTOP_SIZE, LAST_RECT, CURSOR = -223, -224, -239


class RFBReader:
    def __init__(self, host: str, port: int, encodings=(TIGHT, ZRLE, ZLIB, COPYRECT, RAW), jpeg_quality: int = 6,
                 compress_level: int = 6):
        self.host, self.port = host, port
        self.encodings = list(encodings) + [-32 + jpeg_quality, -256 + compress_level, DESKTOP_SIZE, LAST_RECT]
        self.bytes = 0
        self.updates: list[float] = []       # arrival times of non-empty updates
        self.width = self.height = 0
        self.bpp = 4

    async def _read(self, n: int) -> bytes:
        data = await self.reader.readexactly(n)
        self.bytes += n
        return data

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        version = await self._read(12)
        self.writer.write(b"RFB 003.008\n")
        n = (await self._read(1))[0]
        types = await self._read(n)
        if 1 not in types:
            raise RuntimeError(f"the VNC server wants authentication {list(types)}")
        self.writer.write(b"\x01")
        result = struct.unpack(">I", await self._read(4))[0]
        if result != 0:
            raise RuntimeError("VNC security handshake failed")
        self.writer.write(b"\x01")            # shared
        init = await self._read(24)
        self.width, self.height = struct.unpack(">HH", init[:4])
        name_len = struct.unpack(">I", init[20:24])[0]
        await self._read(name_len)
        # 32 bpp, depth 24, little endian, true colour, 8 bits per channel
        self.writer.write(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        self.writer.write(struct.pack(">BxH", 2, len(self.encodings)) +
                          b"".join(struct.pack(">i", e) for e in self.encodings))
        self.request(incremental=False)
        await self.writer.drain()
        _ = version

    def request(self, incremental: bool = True) -> None:
        self.writer.write(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.width, self.height))

    async def run(self, stop: asyncio.Event) -> None:
        """Read messages until stop is set; after each update, ask for the next (one outstanding)."""
        while not stop.is_set():
            kind = (await self._read(1))[0]
            if kind == 0:
                await self._update()
                self.request()
                await self.writer.drain()
            elif kind == 1:
                await self._read(3)
                first, count = struct.unpack(">HH", await self._read(4))
                await self._read(6 * count)
            elif kind == 2:
                pass
            elif kind == 3:
                await self._read(3)
                n = struct.unpack(">I", await self._read(4))[0]
                await self._read(n)
            else:
                raise RuntimeError(f"unknown VNC server message {kind}")

    async def _update(self) -> None:
        await self._read(1)
        count = struct.unpack(">H", await self._read(2))[0]
        pixels = 0
        i = 0
        while count == 0xFFFF or i < count:
            i += 1
            x, y, w, h, enc = struct.unpack(">HHHHi", await self._read(12))
            if enc == LAST_RECT:
                break
            if enc == RAW:
                await self._read(w * h * self.bpp)
            elif enc == COPYRECT:
                await self._read(4)
            elif enc in (ZLIB, ZRLE):
                n = struct.unpack(">I", await self._read(4))[0]
                await self._read(n)
            elif enc == TIGHT:
                await self._tight(w, h)
            elif enc == DESKTOP_SIZE:
                self.width, self.height = w, h
                continue
            elif enc == CURSOR:
                await self._read(w * h * self.bpp + ((w + 7) // 8) * h)
                continue
            else:
                raise RuntimeError(f"unexpected VNC encoding {enc}")
            pixels += w * h
        if pixels:
            self.updates.append(time.time())

    async def _compact(self) -> int:
        b = (await self._read(1))[0]
        n = b & 0x7F
        if b & 0x80:
            b = (await self._read(1))[0]
            n |= (b & 0x7F) << 7
            if b & 0x80:
                n |= (await self._read(1))[0] << 14
        return n

    async def _tight(self, w: int, h: int) -> None:
        ctl = (await self._read(1))[0] >> 4
        if ctl == 0x08:                 # fill
            await self._read(3)
            return
        if ctl == 0x09:                 # JPEG
            await self._read(await self._compact())
            return
        row = w * 3
        if ctl & 0x04:                  # explicit filter
            flt = (await self._read(1))[0]
            if flt == 1:                # palette
                colours = (await self._read(1))[0] + 1
                await self._read(colours * 3)
                row = (w + 7) // 8 if colours == 2 else w
        size = row * h
        if size < 12:
            await self._read(size)
        else:
            await self._read(await self._compact())

    async def close(self) -> None:
        self.writer.close()
