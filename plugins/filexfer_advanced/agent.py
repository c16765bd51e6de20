"""The agent part of advanced file transfer: local approval, browsing, reading and writing files.

Enforced here, whatever the host asks: nothing is listed, read or written before the person at this
computer allowed file access for that rep (the local prompt), and only inside the folder they allowed
(``--files``, default their home). Every path is resolved under that root (paths.py). A received file is
written to a hidden temp name beside its target, fsynced, checked (size, SHA-256) and only then given its
final name; a refused, failed or revoked transfer leaves no partial file.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import hashlib
import json
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.consent import ConsentRequest
from agent.frames import make_binary
from agent.hookspecs import hookimpl
from agent.permissions import Permission


from .ordered_writer import BlockBuffer, OrderedWriter
from .paths import PathRefused, Root, check_name
from .protocol import ACK_EVERY, BLOCK, CHUNK, LISTING_PAGE_BYTES, MAX_ENTRIES, PLUGIN, SMALL_FILE, new_part

log = logging.getLogger("support_manager.filexfer")


class TransferFailed(Exception):
    """A transfer cannot go on; the text is shown to the rep and the customer."""


@dataclass
class FilesConsent(ConsentRequest):
    """The question asked before any file is touched (same dialog / terminal prompt as screen sharing)."""
    root: str = ""

    def question(self) -> str:
        return (f"{self.who} asks to browse the files in {self.root} on this computer and to copy files "
                "from and to that folder. Allow?")


@dataclass
class Receiver:
    """A file coming from the rep: written to a hidden temp name beside its target."""
    tid: str
    rep: str
    folder: Path
    name: str
    size: int
    sha256: str | None           # known at the start, or sent with the end of the stream
    temp: Path
    fd: int = -1
    writer: OrderedWriter | None = None
    received: int = 0            # bytes accepted (written, queued for writing, or buffered)
    buffer: BlockBuffer = field(default_factory=BlockBuffer)
    acked: int = 0
    shown: float = 0.0
    stall: float = 120.0         # seconds without data before it is given up
    moved_at: float = field(default_factory=time.monotonic)
    saving: bool = False         # the end came: being checked and saved (no data is expected)
    watchdog: asyncio.Task | None = None

    @property
    def written(self) -> int:
        return self.writer.written if self.writer else 0


def _describe(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk on the customer's computer is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied on the customer's computer"
    return exc.strerror or str(exc)


class FileAccess:
    def __init__(self, agent):
        self.agent = agent
        self.grants: dict[str, str] = {}          # rep participant id -> name
        self.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="files")
        self.senders: dict[str, asyncio.Task] = {}
        self.receivers: dict[str, Receiver] = {}
        self.received: dict[str, dict] = {}       # tid -> the `received` message of a file saved here
        self.consent_lock = asyncio.Lock()
        self._root: Root | None = None
        self.stats = {"refused": 0, "sent_bytes": 0, "received_bytes": 0, "resumed_at": []}

    @property
    def root(self) -> Root:
        if self._root is None:
            self._root = Root(self.agent.config.get("files_root") or Path.home())
        return self._root

    def stall_of(self, message: dict) -> float:
        """Seconds without data before a transfer is given up: this computer's setting, else the host's."""
        mine = self.agent.config.get("files_stall_seconds")
        theirs = message.get("stall")
        for value in (mine, theirs):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                return float(value)
        return 120.0

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # -- connection and consent ------------------------------------------------------------------
    async def on_hello(self, message: dict) -> None:
        """Every (re)connect: file access the person allowed stays until they revoke it or the session
        ends, so interrupted transfers resume; the host restores the grants only from what we say here."""
        await self.agent.send({"type": f"{PLUGIN}.agent_hello", "name": self.agent.name, "pair": self.agent.pair,
                               "root": str(self.root),
                               "restore": [{"viewer": v} for v in self.grants]})

    async def on_consent_request(self, message: dict) -> None:
        request_id = str(message.get("request_id", ""))[:40]
        viewer = message.get("viewer")
        if not isinstance(viewer, dict) or not isinstance(viewer.get("id"), str):
            await self.agent.send({"type": f"{PLUGIN}.consent", "request_id": request_id, "allow": False})
            return
        async with self.consent_lock:
            if viewer["id"] in self.grants:
                allow = True
            else:
                name = str(viewer.get("name", "someone"))[:60]
                answer = await self.agent.consent.ask(FilesConsent(request_id, name, "files", what="files",
                                                                   root=str(self.root)))
                allow = bool(answer.allow)
                if allow:   # the local grant exists before anything is touched
                    self.grants[viewer["id"]] = name
            await self.agent.send({"type": f"{PLUGIN}.consent", "request_id": request_id, "allow": allow})
        if allow:
            self.agent.report(f"{self.grants[viewer['id']]} may now browse and copy files in {self.root}. "
                              "Type 'stop files' (or use the session page) to take it back.")
            self._show()

    def permissions(self) -> list[Permission]:
        return [Permission(PLUGIN, rep, self.agent.people.who(rep, name), f"browse and copy your files in {self.root}")
                for rep, name in self.grants.items()]

    async def revoke_permission(self, rep: str) -> None:
        """The person ended one rep's file access (``revoke <n>``, the status window): here first."""
        if self.grants.pop(rep, None) is None:
            return
        await self._abort_of([rep], "file access was revoked by the customer")
        await self.agent.send({"type": f"{PLUGIN}.revoke", "rep": rep, "reason": "revoked by the customer"})
        self.agent.report("File access was taken back from one person.")
        self._show()

    def _show(self) -> None:
        """A line and a Stop button in the Support Manager's status window while anyone has file access."""
        self.agent.permissions_changed()
        controls = getattr(self.agent.status, "controls", None)
        if controls is None:
            return
        if self.grants:
            controls(PLUGIN, f"{', '.join(self.grants.values())} can reach your files in {self.root}.",
                     [{"id": "stop files", "label": "Stop file access"}])
        else:
            controls(PLUGIN, "", [])

    async def on_revoked(self, message: dict) -> None:
        viewers = message.get("viewers")
        gone = list(self.grants) if viewers == "all" or not isinstance(viewers, list) else \
            [v for v in viewers if isinstance(v, str) and v in self.grants]
        for v in gone:
            self.grants.pop(v, None)
        await self._abort_of(gone, "file access was revoked")
        if gone:
            self.agent.report("File access was taken back: nobody can reach your files now.")
            self._show()

    async def stop_all(self, reason: str = "stopped") -> None:
        """The person stopped everything here (terminal 'stop' / the status window): locally first."""
        had = list(self.grants)
        self.grants.clear()
        await self._abort_of(had, "file access was revoked by the customer")
        if had:
            await self.agent.send({"type": f"{PLUGIN}.revoke", "reason": reason})
            self.agent.report("File access stopped.")
            self._show()

    async def _abort_of(self, reps: list[str], why: str) -> None:
        for tid, task in list(self.senders.items()):
            if getattr(task, "rep", None) in reps or not self.grants:
                task.cancel()
                self.senders.pop(tid, None)
        for tid, r in list(self.receivers.items()):
            if r.rep in reps or not self.grants:
                await self._discard(r)

    async def _refuse(self, what: str, message: dict) -> bool:
        """True when the sender holds no local grant: the command is refused, reported here and to the host."""
        sender = message.get("from")
        if isinstance(sender, str) and sender in self.grants:
            return False
        self.stats["refused"] += 1
        self.agent.report(f"Refused: the host asked to {what} without your permission.")
        await self.agent.send({"type": f"{PLUGIN}.violation", "what": what, "command": str(message.get("type"))[:60],
                               "tid": message.get("tid")})
        return True

    # -- browsing --------------------------------------------------------------------------------
    def _list(self, rel) -> dict:
        folder = self.root.resolve(rel)
        if not folder.is_dir():
            raise PathRefused(f"{rel!r} is not a folder")
        entries = []
        with os.scandir(folder) as it:
            for entry in it:
                item = {"name": entry.name}
                try:
                    st = entry.stat(follow_symlinks=False)
                    kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
                    if stat.S_ISLNK(st.st_mode):
                        real = os.path.realpath(entry.path)
                        if not self.root.inside(real):
                            kind = "outside"
                        else:
                            st = os.stat(real)
                            kind = "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) \
                                else "other"
                        item["link"] = True
                    item.update(kind=kind, size=st.st_size if kind == "file" else None, mtime=int(st.st_mtime))
                except OSError:
                    item.update(kind="other", size=None, mtime=None)
                entries.append(item)
                if len(entries) >= MAX_ENTRIES:
                    break
        entries.sort(key=lambda e: (e["kind"] != "dir", e["name"].lower()))
        return {"path": self.root.relative(folder), "entries": entries, "truncated": len(entries) >= MAX_ENTRIES}

    async def on_list(self, message: dict) -> None:
        if await self._refuse("list your files", message):
            return
        out = {"type": f"{PLUGIN}.listing", "req": message.get("req"), "to": message.get("from")}
        try:
            out.update(await self._run(self._list, message.get("path", "")))
        except PathRefused as exc:
            out["error"] = str(exc)
        except OSError as exc:
            out["error"] = f"cannot list this folder: {_describe(exc)}"
        pages = _pages(out.pop("entries", []))
        for i, page in enumerate(pages):   # each message stays well under the host's 64 KiB limit
            await self.agent.send({**out, "entries": page, "part": i, "last": i == len(pages) - 1})

    # -- sending a file to the rep ---------------------------------------------------------------
    def _open_for_send(self, rel, offset: int, expect: dict | None):
        path = self.root.resolve(rel)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise PathRefused(f"{rel!r} is not a regular file")
            if expect and (st.st_size != expect.get("size") or st.st_mtime_ns != expect.get("mtime_ns")):
                raise TransferFailed(f"{path.name} changed since the transfer started; nothing was kept, "
                                     "start it again")
            if not 0 <= offset <= st.st_size:
                raise TransferFailed("the resume offset is past the end of the file")
            hasher = hashlib.sha256()
            if offset == 0 and st.st_size <= SMALL_FILE:   # read and hashed whole, here: one frame
                data = self._read_block(fd, 0, st, hasher, path.name) if st.st_size else b""
                os.close(fd)
                return -1, st, hasher, path.name, data
            done = 0
            while done < offset:   # resuming: hash what the other side already has
                block = os.pread(fd, min(BLOCK, offset - done), done)
                if not block:
                    raise TransferFailed(f"{path.name} changed while it was being read")
                hasher.update(block)
                done += len(block)
            return fd, st, hasher, path.name, None
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise

    @staticmethod
    def _read_block(fd: int, pos: int, st, hasher, name: str) -> bytes:
        block = os.pread(fd, min(BLOCK, st.st_size - pos), pos)
        now = os.fstat(fd)
        if not block or now.st_size != st.st_size or now.st_mtime_ns != st.st_mtime_ns:
            raise TransferFailed(f"{name} changed while it was being read; nothing was kept, try again "
                                 "when it is not being written")
        hasher.update(block)
        return block

    async def on_send_file(self, message: dict) -> None:
        if await self._refuse("read your files", message):
            return
        tid = message.get("tid")
        if not isinstance(tid, str) or not tid:
            return
        old = self.senders.pop(tid, None)
        if old is not None:
            old.cancel()
        offset = message.get("offset") if isinstance(message.get("offset"), int) else 0
        expect = message.get("expect") if isinstance(message.get("expect"), dict) else None
        try:
            fd, st, hasher, name, data = await self._run(self._open_for_send, message.get("path"), offset, expect)
        except (PathRefused, TransferFailed) as exc:
            await self._failed(tid, str(exc))
            return
        except OSError as exc:
            await self._failed(tid, f"cannot read the file: {_describe(exc)}")
            return
        if data is not None:
            await self._send_whole(tid, message, st, hasher.hexdigest(), name, data)
            return
        await self.agent.send(_file_info(tid, name, st, offset))
        task = asyncio.create_task(self._send(tid, fd, st, hasher, name, offset, self.stall_of(message)))
        task.rep = message["from"]
        self.senders[tid] = task

    async def _send_whole(self, tid: str, message: dict, st, digest: str, name: str, data: bytes) -> None:
        """A small file, read and hashed already: one frame with its size, SHA-256 and data."""
        if message["from"] not in self.grants:
            return   # revoked while it was being read: nothing goes out
        header = {"type": f"{PLUGIN}.whole_file", "tid": tid, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                  "sha256": digest}
        if name != str(message.get("path", "")).rstrip("/").split("/")[-1]:
            header["name"] = name   # the host knows the name from the path it asked for
        try:
            frame = make_binary(header, data)
        except ValueError:   # a name too long for a frame header
            frame = None
        if frame is not None:
            if not await self.agent.send_bytes(frame):
                return   # the link dropped: the host asks again after reconnecting
        else:   # the usual three messages, at once
            await self.agent.send(_file_info(tid, name, st, 0))
            chunk = make_binary({"type": f"{PLUGIN}.chunk", "tid": tid, "o": 0}, data)
            if data and not await self.agent.send_bytes(chunk):
                return
            await self.agent.send({"type": f"{PLUGIN}.sent", "tid": tid, "size": st.st_size, "sha256": digest})
        self.stats["sent_bytes"] += len(data)
        print(f"[Support Manager] sent {name} ({st.st_size} bytes)", flush=True)

    async def _send(self, tid: str, fd: int, st, hasher, name: str, pos: int, stall: float = 120.0) -> None:
        """Stream the file from ``pos``. A host that stops taking data for ``stall`` seconds ends it."""
        ahead = None
        try:
            last = time.monotonic()
            started_at = pos
            loop = asyncio.get_running_loop()
            ahead = loop.run_in_executor(self.pool, self._read_block, fd, pos, st, hasher, name) \
                if pos < st.st_size else None
            while pos < st.st_size:
                block = await ahead    # read (and hashed) while the block before it was being sent
                nxt = pos + len(block)
                ahead = loop.run_in_executor(self.pool, self._read_block, fd, nxt, st, hasher, name) \
                    if nxt < st.st_size else None
                view = memoryview(block)
                for i in range(0, len(block), CHUNK):
                    frame = make_binary({"type": f"{PLUGIN}.chunk", "tid": tid, "o": pos + i}, view[i:i + CHUNK])
                    try:
                        async with asyncio.timeout(stall):
                            sent = await self.agent.send_bytes(frame)
                    except TimeoutError:
                        raise TransferFailed(f"stalled: no data for {stall:g} s") from None
                    if not sent:
                        return   # the link dropped: the host asks again, with what it has, after reconnecting
                pos += len(block)
                self.stats["sent_bytes"] += len(block)
                if time.monotonic() - last > 1.0:
                    last = time.monotonic()
                    print(f"[Support Manager] sending {name}: {pos * 100 // max(st.st_size, 1)} %", flush=True)
            await self.agent.send({"type": f"{PLUGIN}.sent", "tid": tid, "size": st.st_size,
                                   "sha256": hasher.hexdigest()})
            if st.st_size - started_at > 0 or st.st_size == 0:
                print(f"[Support Manager] sent {name} ({st.st_size} bytes)", flush=True)
        except TransferFailed as exc:
            await self._failed(tid, str(exc))
        except OSError as exc:
            await self._failed(tid, f"cannot read the file: {_describe(exc)}")
        finally:
            if ahead is not None:   # a read still running must end before its descriptor is closed
                await asyncio.wait([ahead])
                if not ahead.cancelled():
                    ahead.exception()
            os.close(fd)
            if self.senders.get(tid) is asyncio.current_task():
                self.senders.pop(tid, None)

    async def _failed(self, tid: str, error: str) -> None:
        self.agent.report(f"File transfer failed: {error}")
        try:   # a host that takes nothing more does not hold this up
            async with asyncio.timeout(10):
                await self.agent.send({"type": f"{PLUGIN}.failed", "tid": tid, "error": error})
        except TimeoutError:
            pass

    # -- receiving a file from the rep -----------------------------------------------------------
    def _prepare(self, message: dict) -> Receiver:
        tid = message["tid"]
        folder = self.root.resolve(message.get("dir", ""))
        if not folder.is_dir():
            raise PathRefused(f"{message.get('dir')!r} is not a folder")
        name = check_name(message.get("name"))
        size, sha = message.get("size"), message.get("sha256")
        if not isinstance(size, int) or size < 0:
            raise TransferFailed("the file's size is needed")
        if sha is not None and not _is_sha256(sha):   # it may come only with the end of the stream
            raise TransferFailed("the file's SHA-256 is malformed")
        if shutil_free(folder) < size:
            raise TransferFailed(f"not enough space for {name} on the customer's computer "
                                 f"({size} bytes needed): the disk is full")
        temp = folder / f".{name[:180]}.{tid[:12]}.part"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        return Receiver(tid, message["from"], folder, name, size, sha, temp, fd,
                        OrderedWriter(fd, hashlib.sha256()))

    async def on_receive_file(self, message: dict) -> None:
        if await self._refuse("write files on your computer", message):
            return
        tid = message.get("tid")
        if not isinstance(tid, str) or not tid or len(tid) > 64 or not tid.isalnum():
            return
        if tid in self.received:   # saved already; the host missed the answer (the link dropped)
            await self.agent.send(self.received[tid])
            return
        r = self.receivers.get(tid)
        if r is None:
            try:
                r = await self._run(self._prepare, message)
            except (PathRefused, TransferFailed) as exc:
                await self._failed(tid, str(exc))
                return
            except OSError as exc:
                await self._failed(tid, f"cannot write there: {_describe(exc)}")
                return
            r.stall = self.stall_of(message)
            self.receivers[tid] = r
            r.watchdog = asyncio.create_task(self._watch_stall(r))
        else:   # resuming after a dropped link: report what is on disk
            if not await self._flush(r, everything=True):
                return
            r.received = r.written
            self.stats["resumed_at"].append(r.written)
        r.acked = r.written
        r.moved_at = time.monotonic()
        await self.agent.send({"type": f"{PLUGIN}.ready", "tid": tid, "have": r.written})

    async def _watch_stall(self, r: Receiver) -> None:
        """Give ``r`` up when no data came for ``r.stall`` seconds: its partial file goes, the host is told."""
        while self.receivers.get(r.tid) is r:
            if r.saving or (r.writer is not None and r.writer.queued):   # busy here, not waiting for data
                r.moved_at = time.monotonic()
            idle = time.monotonic() - r.moved_at
            if idle >= r.stall:
                await self._discard(r)
                await self._failed(r.tid, f"stalled: no data for {r.stall:g} s; nothing of {r.name} was kept")
                return
            await asyncio.sleep(min(1.0, r.stall - idle))

    async def _flush(self, r: Receiver, everything: bool = False) -> bool:
        """Hand the buffer to the writer; wait while too much is queued (or for all of it)."""
        if r.buffer:
            data = r.buffer.take()
            r.writer.submit(data)
        try:
            await (r.writer.drain() if everything else r.writer.wait())
            return True
        except OSError as exc:
            await self._discard(r)
            await self._failed(r.tid, f"cannot write {r.name}: {_describe(exc)}; nothing was kept")
            return False

    async def on_put(self, header: dict, payload: bytes) -> None:
        tid = header.get("tid")
        r = self.receivers.get(tid) if isinstance(tid, str) else None
        if r is None:
            return
        if r.rep not in self.grants:
            await self._refuse("write files on your computer", {"type": f"{PLUGIN}.put", "tid": r.tid})
            return
        payload = new_part(header.get("o"), payload, r.received)
        if payload is None:
            return   # nothing new (a frame from before a resume)
        if r.received + len(payload) > r.size:
            await self._discard(r)
            await self._failed(r.tid, "more data came than the file's size")
            return
        r.buffer.add(payload)
        r.received += len(payload)
        r.moved_at = time.monotonic()
        if len(r.buffer) >= BLOCK and not await self._flush(r):
            return
        if r.received - r.acked >= ACK_EVERY:
            r.acked = r.received
            now = time.monotonic()
            if now - r.shown > 1.0:
                r.shown = now
                print(f"[Support Manager] receiving {r.name}: {r.received * 100 // max(r.size, 1)} %", flush=True)
            await self.agent.send({"type": f"{PLUGIN}.progress", "tid": r.tid, "have": r.received})

    def _commit(self, r: Receiver) -> str:
        os.fsync(r.fd)
        os.close(r.fd)
        r.fd = -1
        if r.written != r.size:
            raise TransferFailed(f"{r.name} is incomplete ({r.written} of {r.size} bytes)")
        if r.writer.hasher.hexdigest() != r.sha256:
            raise TransferFailed(f"{r.name} does not match its SHA-256; nothing was kept")
        stem, dot, ext = r.name.rpartition(".")
        if not stem:
            stem, dot, ext = r.name, "", ""
        for n in range(1, 1000):
            final = r.folder / (r.name if n == 1 else f"{stem} ({n}){dot}{ext}")
            try:
                os.link(r.temp, final)          # never replaces an existing file
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                    raise
                if final.exists():
                    continue
                os.rename(r.temp, final)
                break
            os.unlink(r.temp)
            break
        else:
            raise TransferFailed(f"too many files named like {r.name} in this folder")
        dfd = os.open(r.folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return final.name

    async def on_end(self, message: dict) -> None:
        tid = message.get("tid")
        r = self.receivers.get(tid) if isinstance(tid, str) else None
        if r is None:
            return
        if r.rep not in self.grants:
            await self._discard(r)
            await self._refuse("write files on your computer", message)
            return
        sha = message.get("sha256")
        if sha is not None and _is_sha256(sha) and r.sha256 is None:
            r.sha256 = sha
        if r.sha256 is None:
            await self._discard(r)
            await self._failed(r.tid, f"{r.name} came without its SHA-256; nothing was kept")
            return
        r.saving = True
        if not await self._flush(r, everything=True):
            return
        try:
            final = await self._run(self._commit, r)
        except TransferFailed as exc:
            await self._discard(r)
            await self._failed(r.tid, str(exc))
            return
        except OSError as exc:
            await self._discard(r)
            await self._failed(r.tid, f"cannot save {r.name}: {_describe(exc)}; nothing was kept")
            return
        self.receivers.pop(r.tid, None)
        if r.watchdog is not None:
            r.watchdog.cancel()
        self.stats["received_bytes"] += r.size
        where = self.root.relative(r.folder / final)
        self.agent.report(f"Received {where} ({r.size} bytes, SHA-256 checked).")
        answer = {"type": f"{PLUGIN}.received", "tid": r.tid, "name": final, "path": where, "sha256": r.sha256}
        self.received[r.tid] = answer   # said again if the host asks for this file after a dropped link
        while len(self.received) > 100:
            del self.received[next(iter(self.received))]
        await self.agent.send(answer)

    async def on_cancel(self, message: dict) -> None:
        tid = message.get("tid")
        task = self.senders.pop(tid, None) if isinstance(tid, str) else None
        if task is not None:
            task.cancel()
        r = self.receivers.get(tid) if isinstance(tid, str) else None
        if r is not None:
            await self._discard(r)

    async def _discard(self, r: Receiver) -> None:
        self.receivers.pop(r.tid, None)
        if r.watchdog is not None and r.watchdog is not asyncio.current_task():
            r.watchdog.cancel()
        r.buffer = BlockBuffer()
        if r.writer is not None:
            await r.writer.settle()   # no write may land after the descriptor is closed

        def remove():
            if r.fd >= 0:
                os.close(r.fd)
                r.fd = -1
            try:
                os.unlink(r.temp)
            except FileNotFoundError:
                pass
        await self._run(remove)

    async def close(self) -> None:
        for task in self.senders.values():
            task.cancel()
        self.senders.clear()
        for r in list(self.receivers.values()):
            await self._discard(r)
        self.pool.shutdown(wait=False, cancel_futures=True)


def _pages(entries: list, budget: int = LISTING_PAGE_BYTES) -> list[list]:
    """Entries split so that each page's JSON stays under budget bytes (at least one page)."""
    pages, page, used = [], [], 0
    for e in entries:
        size = len(json.dumps(e)) + 2
        if page and used + size > budget:
            pages.append(page)
            page, used = [], 0
        page.append(e)
        used += size
    pages.append(page)
    return pages


def _file_info(tid: str, name: str, st, offset: int) -> dict:
    """What the host learns before a file's data: its name, size and modification time."""
    return {"type": f"{PLUGIN}.file_info", "tid": tid, "name": name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "offset": offset}


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def shutil_free(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


@hookimpl
def agent_message_handlers(agent, register):
    files = FileAccess(agent)
    agent.features[PLUGIN] = files
    register("session.hello", files.on_hello)
    register(f"{PLUGIN}.consent_request", files.on_consent_request)
    register(f"{PLUGIN}.revoked", files.on_revoked)
    register(f"{PLUGIN}.list", files.on_list)
    register(f"{PLUGIN}.send_file", files.on_send_file)
    register(f"{PLUGIN}.receive_file", files.on_receive_file)
    register(f"{PLUGIN}.end", files.on_end)
    register(f"{PLUGIN}.cancel", files.on_cancel)
    register(f"{PLUGIN}.put", files.on_put, binary=True)


@hookimpl
def agent_command(agent, line):
    """`stop files` (typed, or the status window's button): file access ends at once, the rest goes on."""
    files = agent.features.get(PLUGIN)
    if files is None or line.strip().lower() not in ("stop files", "files stop"):
        return None
    asyncio.ensure_future(files.stop_all("stopped by the customer"))
    return True


@hookimpl
def agent_stopped(agent):
    files = agent.features.get(PLUGIN)
    if files is not None:
        return files.close()
