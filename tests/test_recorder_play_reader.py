"""The recording reader: files in order, records, checksums, a cut last record after a crash, seeking."""
import pytest
import sqlite_utils

from plugins.recorder import reader
from plugins.recorder.migrations import migrations
from recorder_play_helpers import event, record, write_recording

RID = "AbCdEfGhIjKlMnOpQrStUv"


def make_recording(tmp_path, segments, open_last=None):
    db = sqlite_utils.Database(tmp_path / "db.sqlite")
    migrations.apply(db)
    write_recording(db, tmp_path / "rec", 1, segments, open_last, recording_id=RID)
    return db, reader.recording_folder(tmp_path / "rec", 1, RID)


def test_reads_files_records_and_chapters_in_order(tmp_path):
    segs = [[event(0, e="part_start", part=1), record(5, 1, 1, "p1", b'{"type":"chat.say","text":"hi"}'),
             event(900, e="chapter", label="Alice joined", type="join")],
            [event(10_000, e="key"), record(10_050, 2, 1, "agent", b"\x0b{\"type\":\"x\"}raw")]]
    db, folder = make_recording(tmp_path, segs)
    index = reader.load_index(db, tmp_path / "rec", RID)
    assert [s.name for s in index.segments] == ["seg-000001.rec", "seg-000002.rec"]
    assert index.duration_ms == 10_050
    assert reader.chapters(index) == [{"t": 900, "label": "Alice joined", "type": "join"}]
    recs = list(reader.records_from(index))
    assert [r.t_ms for r in recs] == [0, 5, 900, 10_000, 10_050]
    assert recs[1].participant == "p1" and recs[1].direction == 1 and recs[1].json()["text"] == "hi"
    assert recs[4].kind == 2 and recs[4].body.endswith(b"raw")
    assert reader.verify(index) == []


def test_other_site_or_bad_id_finds_nothing(tmp_path):
    db, _ = make_recording(tmp_path, [[event(0, e="part_start", part=1)]])
    assert reader.load_index(db, tmp_path / "rec", RID, site_id=2) is None
    assert reader.load_index(db, tmp_path / "rec", "../../etc/passwd") is None
    with pytest.raises(ValueError):
        reader.recording_folder(tmp_path, 1, "../x")


def test_tampered_and_truncated_files_are_named_clearly(tmp_path):
    segs = [[event(0, e="part_start", part=1), record(10, 1, 0, "", b'{"type":"chat.say","text":"secret"}')],
            [event(10_000, e="key"), record(12_000, 1, 0, "", b'{"type":"chat.say","text":"later"}')]]
    db, folder = make_recording(tmp_path, segs)
    seg2 = folder / "seg-000002.rec"
    data = bytearray(seg2.read_bytes())
    data[-3] ^= 0x20                                 # one letter of "later" changed
    seg2.write_bytes(bytes(data))
    index = reader.load_index(db, tmp_path / "rec", RID)
    problems = reader.verify(index)
    assert problems == ["seg-000002.rec was changed after it was written (its SHA-256 does not match): "
                        "the recording cannot be trusted from 0:10 on"]
    with pytest.raises(reader.RecordingDamaged, match="SHA-256"):
        list(reader.records_from(index))
    assert [r.t_ms for r in reader.read_segment(index.segments[0])] == [0, 10]    # the part before is fine
    seg1 = folder / "seg-000001.rec"
    seg1.write_bytes(seg1.read_bytes()[:-4])
    with pytest.raises(reader.RecordingDamaged, match=r"seg-000001.rec was truncated or changed .* from 0:00 on"):
        reader.read_segment(index.segments[0])
    seg1.unlink()
    with pytest.raises(reader.RecordingDamaged, match="seg-000001.rec is missing"):
        reader.read_segment(index.segments[0])


def test_a_cut_last_record_after_a_crash_is_where_reading_stops(tmp_path):
    last = event(10_000, e="key") + record(10_500, 1, 0, "", b'{"type":"chat.say","text":"ok"}')
    cut = record(11_000, 2, 1, "agent", b"\x0b{\"type\":\"x\"}" + b"p" * 500)[:300]
    db, folder = make_recording(tmp_path, [[event(0, e="part_start", part=1)]], open_last=last + cut)
    index = reader.load_index(db, tmp_path / "rec", RID)
    assert [s.closed for s in index.segments] == [True, False]
    assert index.segments[1].first_ms == 10_000 and index.segments[1].last_ms == 10_500
    assert [r.t_ms for r in reader.records_from(index)] == [0, 10_000, 10_500]
    assert reader.check_file(index.segments[1]) == reader.MAGIC + last     # served without the cut record
    assert reader.verify(index) == []
    # the same cut in a closed file is damage
    with pytest.raises(reader.RecordingDamaged, match="cut short in the record at byte"):
        reader.parse_records(reader.MAGIC + last + cut, "seg-000009.rec")


def test_seek_finds_the_segment_of_a_moment(tmp_path):
    segs = [[event(t, e="key")] for t in (0, 10_000, 20_000, 30_000)]
    db, _ = make_recording(tmp_path, segs)
    index = reader.load_index(db, tmp_path / "rec", RID)
    assert [index.segment_at(t) for t in (0, 9_999, 10_000, 25_000, 99_000)] == [0, 0, 1, 2, 3]
    assert reader.clock(3_725_000) == "1:02:05" and reader.clock(65_000) == "1:05"
