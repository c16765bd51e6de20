"""Webcam video in the WebM export: a recording's video media file is drawn picture-in-picture in the corner of
the exported picture while that camera was on, and only then."""
from __future__ import annotations

import av
import numpy as np
import sqlite_utils

from plugins.recorder import reader
from plugins.recorder.export import export_webm
from plugins.recorder.migrations import migrations
from recorder_play_helpers import colour_at, screen_recording, split_segments, write_recording

CAMERA_RGB = (255, 0, 255)       # no screen colour of the recording is near it


def camera_webm(path, seconds: float, rgb=CAMERA_RGB, size=(320, 240), fps=10) -> bytes:
    """A real VP8 WebM of one colour, as the recording peer writes a camera's track."""
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        picture = np.zeros((size[1], size[0], 3), np.uint8)
        picture[:, :] = rgb
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def decoded(path):
    with av.open(str(path)) as c:
        return [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def picture_at(frames, t):
    return [img for when, img in frames if when <= t + 1e-6][-1]


def near(rgb, expected, tol=40):
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb, expected))


def test_a_camera_shows_in_the_corner_of_the_export_while_it_was_on(tmp_path):
    db = sqlite_utils.Database(tmp_path / "db.sqlite")
    migrations.apply(db)
    recs = screen_recording(10, w=640, h=360, period_ms=4000, busy=False)
    cam = camera_webm(tmp_path / "cam.webm", 3.0)          # on from 4 s to 7 s of the recording
    rid = write_recording(db, tmp_path / "rec", 1, split_segments(recs),
                          media=[("media-video-p-cust-1.webm", 4000, cam)])
    index = reader.load_index(db, tmp_path / "rec", rid)
    result = export_webm(index, tmp_path / "out.webm")
    assert result.cameras == 1
    frames = decoded(tmp_path / "out.webm")
    corner = (360 - 20, 640 - 20)                          # inside the bottom-right tile
    middle = (180, 320)
    for t, on in ((2.0, False), (5.0, True), (6.5, True), (9.0, False)):
        img = picture_at(frames, t)
        screen = colour_at(int(t * 1000), 4000)[1]
        assert near(img[middle], screen), (t, img[middle], screen)      # the screen is still the picture
        if on:
            assert near(img[corner], CAMERA_RGB), (t, img[corner])
        else:
            assert near(img[corner], screen), (t, img[corner])
    # the tile is a scaled-down corner, not the whole picture: left of it the screen shows
    assert near(picture_at(frames, 5.0)[corner[0], 640 - 200], colour_at(5000, 4000)[1])
