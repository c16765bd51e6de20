"""Export of a recording to WebM (VP9 + Opus): the shared screen rebuilt from the recorded tiles, audio from the
media files, audio-and-chat-only recordings, damaged recordings, and `supporthost recordings list|export`."""
from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest
import sqlite_utils

from agent.frames import make_binary
from conftest import seed
from host.cli import main
from host.db import connect
from plugins.recorder import reader
from plugins.recorder.export import export_webm
from plugins.recorder.migrations import migrations
from recorder_play_helpers import (chat, colour_at, event, record, record_time, screen_recording, sine_webm,
                                   split_segments, write_recording)


def recorder_db(tmp_path):
    db = sqlite_utils.Database(tmp_path / "db.sqlite")
    migrations.apply(db)
    return db


def decoded(path):
    """[(seconds, rgb ndarray)] of the video, and the file's duration in seconds."""
    with av.open(str(path)) as c:
        duration = c.duration / 1e6
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    return frames, duration


def picture_at(frames, t):
    shown = [img for when, img in frames if when <= t + 1e-6]
    return shown[-1]


def near(rgb, expected, tol=40):
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb, expected))


def pointer(t_ms, x, y, agent="p-agent"):
    return record(t_ms, reader.KIND_JSON, reader.IN, agent, json.dumps({"type": "desktop.cursor", "x": x, "y": y}).encode())


def pointer_shape(t_ms, agent="p-agent"):
    """A 16x16 magenta square pointer with its hotspot in the middle, as the Support Manager sends it (PNG)."""
    bgra = np.zeros((16, 16, 4), np.uint8)
    bgra[:, :] = (255, 0, 255, 255)
    png = cv2.imencode(".png", bgra)[1].tobytes()
    header = {"type": "desktop.cursor_shape", "w": 16, "h": 16, "hx": 8, "hy": 8}
    return record(t_ms, reader.KIND_BINARY, reader.IN, agent, make_binary(header, png))


def test_export_rebuilds_the_shared_screen_at_the_right_times(tmp_path):
    recs = screen_recording(12, w=1280, h=720)
    recs += [chat(3_000, "hello"), pointer_shape(1_000), pointer(1_000, 900, 500), pointer(7_050, 1000, 100)]
    db = recorder_db(tmp_path)
    rid = write_recording(db, tmp_path / "rec", 1, split_segments(sorted(recs, key=lambda r: r[8:16])))
    index = reader.load_index(db, tmp_path / "rec", rid)
    result = export_webm(index, tmp_path / "out.webm")
    assert result.has_screen and result.audio_tracks == 0
    frames, duration = decoded(tmp_path / "out.webm")
    assert frames[0][1].shape == (720, 1280, 3)
    assert abs(duration - 11.9) < 0.3
    for t in (0.5, 2.5, 4.5, 6.5, 9.0, 11.5):
        name, rgb = colour_at(int(t * 1000))
        pixel = picture_at(frames, t)[600, 1100]          # away from the moving noisy band
        assert near(pixel, rgb), (t, name, pixel)
    # the pointer, drawn as the viewer draws it: its shape, centred on its hotspot, moving when it moved
    magenta = (255, 0, 255)
    assert not near(picture_at(frames, 0.5)[500, 900], magenta)
    assert near(picture_at(frames, 1.5)[500, 900], magenta) and near(picture_at(frames, 6.9)[505, 905], magenta)
    assert near(picture_at(frames, 7.5)[100, 1000], magenta) and not near(picture_at(frames, 7.5)[500, 900], magenta)
    with av.open(str(tmp_path / "out.webm")) as c:
        assert [s.codec_context.name for s in c.streams] == ["vp9", "opus"]
    # a span of it: the picture at its start is the one the recording showed then (built from the key frame)
    span = export_webm(index, tmp_path / "span.webm", start_ms=4_300, end_ms=8_300)
    frames, duration = decoded(tmp_path / "span.webm")
    assert span.duration_ms == 4_000 and abs(duration - 4.0) < 0.3
    for t in (0.0, 1.0, 3.5):
        assert near(picture_at(frames, t)[600, 1100], colour_at(4_300 + int(t * 1000))[1]), t


def loudness(path):
    """RMS of the decoded audio (Opus decodes to floats, full scale 1.0) per second."""
    with av.open(str(path)) as c:
        pcm = np.concatenate([f.to_ndarray().astype(np.float32).reshape(-1) for f in c.decode(audio=0)])
        rate = c.streams.audio[0].rate
    return [float(np.sqrt(np.mean(pcm[i:i + rate] ** 2))) for i in range(0, len(pcm) - rate + 1, rate)]


def test_an_audio_and_chat_only_recording_exports_black_video_with_its_sound(tmp_path):
    tone = sine_webm(tmp_path / "tone.webm", 2.0)
    segs = [[event(0, e="part_start", part=1), chat(1_000, "can you hear me?"), event(5_000, e="key")],
            [chat(9_000, "bye")]]
    db = recorder_db(tmp_path)
    rid = write_recording(db, tmp_path / "rec", 1, segs, media=[("media-audio-p1-1.webm", 3_000, tone)])
    index = reader.load_index(db, tmp_path / "rec", rid)
    result = export_webm(index, tmp_path / "out.webm")
    assert not result.has_screen and result.audio_tracks == 1
    frames, duration = decoded(tmp_path / "out.webm")
    assert abs(duration - 9.0) < 0.3
    assert frames[0][1].shape == (360, 640, 3) and frames[-1][1].max() < 20      # black
    level = loudness(tmp_path / "out.webm")
    assert max(level[0:3]) < 0.01 and min(level[3:5]) > 0.2 and max(level[6:9]) < 0.01   # the tone at 3-5 s


def test_a_tampered_recording_is_not_exported(tmp_path):
    db = recorder_db(tmp_path)
    rid = write_recording(db, tmp_path / "rec", 1, split_segments(screen_recording(12, 320, 240, busy=False)))
    index = reader.load_index(db, tmp_path / "rec", rid)
    seg = index.segments[1].path
    seg.write_bytes(seg.read_bytes()[:-100])
    with pytest.raises(reader.RecordingDamaged, match="seg-000002.rec was truncated or changed"):
        export_webm(index, tmp_path / "out.webm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.sqlite", "rec"]      # no file, no .partial


def test_hook_register_commands_recordings_list_and_export(tmp_path, capsys):
    data = tmp_path / "data"
    seed(data)
    db = connect(data / "supporthost.db")
    migrations.apply(db)
    site_id = db.execute("select id from sites where slug = 'demo'").fetchone()[0]
    rid = write_recording(db, data / "plugins" / "recorder", site_id,
                          split_segments(screen_recording(3, 320, 240, busy=False)))
    db.conn.close()
    assert main(["--data", str(tmp_path / "nowhere"), "recordings", "list"]) == 2
    assert "there is no database at" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()
    assert main(["--data", str(data), "recordings", "list"]) == 0
    out = capsys.readouterr().out
    assert rid in out and "demo" in out and "complete" in out
    assert main(["--data", str(data), "recordings", "list", "--site", "nowhere"]) == 2
    assert "there is no site 'nowhere'" in capsys.readouterr().err
    assert main(["--data", str(data), "recordings", "export", rid, str(tmp_path / "x.webm")]) == 0
    assert "0:02, the shared screen, 0 audio track(s)" in capsys.readouterr().out
    frames, _ = decoded(tmp_path / "x.webm")
    assert near(picture_at(frames, 0.5)[100, 100], colour_at(500)[1])
    assert main(["--data", str(data), "recordings", "export", rid, str(tmp_path / "part.webm"), "--from", "0:00.5",
                 "--to", "1.5"]) == 0
    assert "0:01, the shared screen" in capsys.readouterr().out
    assert abs(decoded(tmp_path / "part.webm")[1] - 1.0) < 0.3
    with pytest.raises(SystemExit):
        main(["--data", str(data), "recordings", "export", rid, str(tmp_path / "z.webm"), "--from", "soon"])
    assert "'soon' is not a time" in capsys.readouterr().err
    assert main(["--data", str(data), "recordings", "export", rid, str(tmp_path / "z.webm"), "--from", "2",
                 "--to", "1"]) == 2
    assert "--to must be after --from" in capsys.readouterr().err
    assert main(["--data", str(data), "recordings", "export", "A" * 22, str(tmp_path / "y.webm")]) == 2
    assert f"there is no recording '{'A' * 22}'" in capsys.readouterr().err
    db = connect(data / "supporthost.db")
    assert db.execute("select actor, action, target from audit_log where action = 'recording.exported'").fetchall() \
        == [("cli", "recording.exported", f"recording:{rid}")] * 2


def test_the_playback_benchmark_runs_and_its_numbers_are_sane():
    from bench.recording_playback import run
    r = run(["--seconds", "3", "--hour-minutes", "1", "--seeks", "3", "--no-browser"])
    assert r["export_x_real_time_median"] > 0 and r["export_file_bytes"] > 10_000
    assert r["long_recording_segments"] == 6 and len(r["seek_first_frame_ms"]) == 3
    assert 0 < r["seek_first_frame_ms_median"] <= r["seek_first_frame_ms_max"]
    assert r["bytes_per_hour_busy_1080p"] > 0


def test_replaying_to_a_moment_starts_at_the_last_whole_picture_before_it(tmp_path):
    from plugins.recorder.export_screen import records_for
    recs = screen_recording(30, 640, 360, period_ms=3_600_000)   # whole pictures only at the key events: 0, 10, 20 s
    db = recorder_db(tmp_path)
    rid = write_recording(db, tmp_path / "rec", 1, split_segments(recs))
    index = reader.load_index(db, tmp_path / "rec", rid)
    first = next(records_for(index, 25_000, reader.read_segment))
    assert (first.t_ms, first.kind) == (20_000, reader.KIND_EVENT)
    assert next(records_for(index, 9_999, reader.read_segment)).t_ms == 0
    # a segment whose whole picture never came (the refresh was lost): replay from the one before
    without = [r for r in recs if not (record_time(r) == 20_000 and r[16] == reader.KIND_BINARY)]
    rid = write_recording(db, tmp_path / "rec", 1, split_segments(without))
    index = reader.load_index(db, tmp_path / "rec", rid)
    first = next(records_for(index, 25_000, reader.read_segment))
    assert (first.t_ms, first.kind) == (10_000, reader.KIND_EVENT)
