"""The sound devices of calls through PyAudio: one shared PyAudio object for the whole process, opening
and closing streams, finding a device by number or name, and the list the person picks from.

The sound of calls is 48 kHz mono, in 20 ms frames.
"""
from __future__ import annotations

import os
import sys
import threading

RATE = 48000
PTIME = 0.02


class NoDeviceError(RuntimeError):
    """No microphone, speaker or camera could be opened; the text says which, for the user."""


def pyaudio_module():
    import pyaudio
    return pyaudio


# PortAudio's set-up and tear-down are process-wide and not thread-safe: several PyAudio objects
# initialised and terminated from different threads (a microphone and one speaker stream per peer)
# abort the process. So there is one shared PyAudio, counted, and opening/closing streams is serialised.
PA_LOCK = threading.Lock()
_PA: list = [None, 0]      # [the PyAudio object, how many users]


def _quiet_init():
    """PyAudio(), without the pages of ALSA / JACK probing messages the C libraries write to stderr
    (they would land on the customer's terminal): file descriptor 2 points at /dev/null meanwhile."""
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return pyaudio_module().PyAudio()
    try:
        os.dup2(null, 2)
        return pyaudio_module().PyAudio()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def pa_acquire():
    with PA_LOCK:
        if _PA[0] is None:
            _PA[0] = _quiet_init()
        _PA[1] += 1
        return _PA[0]


def pa_release() -> None:
    with PA_LOCK:
        _PA[1] -= 1
        if _PA[1] <= 0 and _PA[0] is not None:
            _PA[0].terminate()
            _PA[0], _PA[1] = None, 0


def pa_open(pa, **kwargs):
    with PA_LOCK:
        return pa.open(**kwargs)


def device_index(pa, name: str | int | None, want_input: bool) -> int | None:
    """A PyAudio device by index or (part of) its name; None for the default."""
    if name is None or isinstance(name, int):
        return name
    key = "maxInputChannels" if want_input else "maxOutputChannels"
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        if info[key] > 0 and name.lower() == str(info["name"]).lower():
            return i
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        if info[key] > 0 and name.lower() in str(info["name"]).lower():
            return i
    raise NoDeviceError(f"No {'microphone' if want_input else 'speaker'} named {name!r} was found.")


def check_device(index: int, want_input: bool) -> str:
    """The name of PyAudio device number ``index`` if it can record (want_input) or play; else a
    NoDeviceError saying so (the numbers are those ``list_devices`` gives)."""
    what = "microphone" if want_input else "speaker"
    pa = pa_acquire()
    try:
        if isinstance(index, int) and 0 <= index < pa.get_device_count():
            info = pa.get_device_info_by_index(index)
            if info["maxInputChannels" if want_input else "maxOutputChannels"] > 0:
                return str(info["name"])
    finally:
        pa_release()
    raise NoDeviceError(f"There is no {what} number {index}: type 'devices' to see the numbers.")


def list_devices() -> dict:
    """Microphones and speakers PyAudio sees, to let the user pick."""
    pa = pa_acquire()
    try:
        out = {"microphones": [], "speakers": []}
        for i in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(i)
            if info["maxInputChannels"] > 0:
                out["microphones"].append({"index": i, "name": info["name"]})
            if info["maxOutputChannels"] > 0:
                out["speakers"].append({"index": i, "name": info["name"]})
        return out
    finally:
        pa_release()


def close_stream(stream) -> None:
    try:
        with PA_LOCK:
            stream.stop_stream()
            stream.close()
    finally:
        pa_release()
