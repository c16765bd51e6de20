"""A private PulseAudio server for tests and benchmarks on machines without a sound card.

It runs as a child process of the caller (never as a system daemon, no pid file), with a null sink
as the default speaker and, optionally, a sine-wave source as the default microphone. Clients find it
through PULSE_SERVER, which ``env()`` returns and ``activate()`` sets for this process.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class PulseSandbox:
    def __init__(self, sink: str = "agentspk", mic_tone_hz: int | None = 660):
        self.sink = sink
        self.source = "agentmic" if mic_tone_hz else f"{sink}.monitor"
        self.mic_tone_hz = mic_tone_hz
        self.dir = Path(tempfile.mkdtemp(prefix="sh-pulse-"))
        self.socket = self.dir / "native"
        self.proc: subprocess.Popen | None = None
        self._saved: str | None = None
        self._activated = False

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict:
        return {**os.environ, "PULSE_SERVER": self.server, "PULSE_RUNTIME_PATH": str(self.dir)}

    def start(self, timeout: float = 10.0) -> "PulseSandbox":
        if not shutil.which("pulseaudio"):
            raise RuntimeError("pulseaudio is not installed (Debian package pulseaudio)")
        script = [f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
                  f"load-module module-null-sink sink_name={self.sink}",
                  f"set-default-sink {self.sink}"]
        if self.mic_tone_hz:
            script += [f"load-module module-sine-source source_name=agentmic frequency={self.mic_tone_hz}",
                       "set-default-source agentmic"]
        else:
            script.append(f"set-default-source {self.sink}.monitor")
        (self.dir / "sandbox.pa").write_text("\n".join(script) + "\n")
        env = {**os.environ, "PULSE_RUNTIME_PATH": str(self.dir), "HOME": str(self.dir)}
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--use-pid-file=no", "--exit-idle-time=-1",
             "--disallow-exit", "--log-level=error", "-F", str(self.dir / "sandbox.pa")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio stopped: {self.proc.stderr.read().decode(errors='replace')}")
            if self.socket.exists() and subprocess.run(["pactl", "info"], env=self.env(), capture_output=True,
                                                       timeout=5).returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("pulseaudio did not start in time")

    def activate(self) -> None:
        """Point this process's audio clients (PyAudio) at the sandbox."""
        self._saved = os.environ.get("PULSE_SERVER")
        self._activated = True
        os.environ["PULSE_SERVER"] = self.server

    def record(self, seconds: float, rate: int = 48000):
        """What the null sink played during the next `seconds`, as int16 samples (mono)."""
        import numpy as np
        proc = subprocess.Popen(["parec", "-d", f"{self.sink}.monitor", "--raw", "--format=s16le", "--channels=1",
                                 f"--rate={rate}", "--latency-msec=20"], env=self.env(), stdout=subprocess.PIPE)
        try:
            data = proc.stdout.read(int(seconds * rate) * 2)
        finally:
            proc.terminate()
            proc.wait(timeout=5)
        return np.frombuffer(data, dtype=np.int16)

    def stop(self) -> None:
        # A stream that closes while its sound server goes away can hang for good in ALSA's pulse plugin
        # (seen under load: a microphone's close, submitted when a call ended, was still pending when the
        # test's teardown stopped the server; the close held the PyAudio lock and every later PyAudio call
        # waited on it). So the server stays until this process's streams are closed (bounded wait).
        _wait_for_streams_closed(15.0)
        if self._activated:
            self._activated = False
            if self._saved is None:
                os.environ.pop("PULSE_SERVER", None)
            else:
                os.environ["PULSE_SERVER"] = self._saved
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _wait_for_streams_closed(timeout: float) -> None:
    """Until no PyAudio stream or device list of this process is open (at most ``timeout`` seconds)."""
    from plugin_libs.calls.media import devices
    deadline = time.monotonic() + timeout
    while devices._PA[1] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
