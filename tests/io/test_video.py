from fractions import Fraction

import av
import numpy as np
import pytest

from humanseg.api import Blur, Color, Transparent, convert_video
from humanseg.errors import InputError, OutputError
from tests.conftest import encode_frames, encode_tone, make_video, probe


def test_frames_timestamps_rate_and_audio_are_kept(tmp_path, segmenter):
    src = make_video(tmp_path / "in.mp4", n=15, audio=True)
    out = tmp_path / "out.mp4"
    result = convert_video(src, out, Blur(), segmenter, progress=False)
    a, b = probe(src), probe(out)
    assert result["frames"] == a["frames"] == b["frames"] == 15
    assert b["pts"] == a["pts"]
    assert b["rate"] == a["rate"]
    assert (b["width"], b["height"]) == (a["width"], a["height"])
    assert b["audio"] == 1 and b["audio_packets"] == a["audio_packets"] > 0


def test_no_audio_odd_size_and_variable_frame_rate(tmp_path, segmenter):
    pts = [0, 40, 90, 100, 260, 300, 333, 500]
    src = make_video(tmp_path / "vfr.mp4", n=len(pts), size=(97, 61), audio=False, pts=pts)
    out = tmp_path / "out.mkv"
    with pytest.warns(UserWarning, match="padded to 98x62"):
        convert_video(src, out, Color((0, 0, 255)), segmenter, temporal="ema", progress=False)
    b = probe(out)
    # odd sizes are padded by one pixel to even ones (4:2:0 for every player)
    assert b["frames"] == len(pts) and (b["width"], b["height"]) == (98, 62) and b["audio"] == 0
    # same presentation times in seconds
    with av.open(str(src)) as c1, av.open(str(out)) as c2:
        t1 = [float(f.time) for f in c1.decode(video=0)]
        t2 = [float(f.time) for f in c2.decode(video=0)]
    assert np.allclose(t1, t2, atol=1e-3)


@pytest.mark.parametrize("suffix", [".webm", ".mov", ""])
def test_transparent_outputs(tmp_path, segmenter, suffix):
    src = make_video(tmp_path / "in.mp4", n=5, audio=False)
    out = tmp_path / f"cut{suffix}"
    convert_video(src, out, Transparent(), segmenter, progress=False)
    if suffix:
        with av.open(str(out)) as c:
            stream = c.streams.video[0]
            # ffmpeg's built-in VP9 decoder drops alpha; libvpx's keeps it
            decoder = av.CodecContext.create("libvpx-vp9", "r") if suffix == ".webm" else stream.codec_context
            frames = [f for p in c.demux(stream) for f in decoder.decode(p)]
            assert len(frames) == 5
            assert frames[0].format.name.startswith("yuva")  # a pixel format with alpha
    else:
        pngs = sorted(out.glob("*.png"))
        assert len(pngs) == 5
        import cv2
        assert cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED).shape[2] == 4


def test_bad_videos_are_clear_errors_and_leave_nothing(tmp_path, segmenter):
    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w") as out:
        a = out.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for p in a.encode(frame):
            out.mux(p)
        for p in a.encode():
            out.mux(p)
    with pytest.raises(InputError, match="no video stream"):
        convert_video(audio_only, tmp_path / "o.mp4", segmenter=segmenter, progress=False)

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError):
        convert_video(junk, tmp_path / "o.mp4", segmenter=segmenter, progress=False)

    src = make_video(tmp_path / "in.mp4", n=5)
    with pytest.raises(OutputError, match="input"):
        convert_video(src, src, segmenter=segmenter, progress=False)
    with pytest.raises(OutputError, match="transparent"):
        convert_video(src, tmp_path / "o.mp4", Transparent(), segmenter, progress=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["in.mp4", "junk.mp4", "tone.m4a"]


def test_truncated_video_gives_what_decodes_or_a_clear_error(tmp_path, segmenter):
    src = make_video(tmp_path / "in.mp4", n=30, audio=False)
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.mp4"
    try:
        result = convert_video(cut, out, segmenter=segmenter, progress=False)
    except InputError:
        assert not out.exists()
    else:
        assert out.exists() and result["frames"] == probe(out)["frames"]


def test_rotation_metadata_is_kept_and_person_is_segmented_upright(tmp_path, segmenter, monkeypatch):
    src = make_video(tmp_path / "rot.mp4", n=4, size=(96, 64), audio=False, rotation=90)
    seen_shapes = []
    stream_segment = type(segmenter.stream("none")).segment

    def spy(self, frame, order="bgr"):
        seen_shapes.append(frame.shape[:2])
        return stream_segment(self, frame, order)

    monkeypatch.setattr(type(segmenter.stream("none")), "segment", spy)
    out = tmp_path / "out.mp4"
    convert_video(src, out, Blur(), segmenter, progress=False)
    a, b = probe(src), probe(out)
    assert a["rotation"] == b["rotation"] == 90
    assert (b["width"], b["height"]) == (96, 64) and b["frames"] == 4
    assert seen_shapes[0] == (96, 64)   # the model saw the upright (display) frame: 64 wide, 96 tall


def test_webm_output_keeps_audio_as_opus(tmp_path, segmenter):
    src = make_video(tmp_path / "in.mp4", n=10, audio=True)
    out = tmp_path / "out.webm"
    result = convert_video(src, out, Blur(), segmenter, progress=False)
    assert result["audio_copied"]
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "opus"
        assert sum(1 for _ in c.decode(audio=0)) > 0
    assert probe(out)["frames"] == 10


# ---- process_video directly, with a trivial `process` (no model): output safety and encoding ----

def _opaque(frame):
    return frame


def _with_alpha(frame):
    return np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*.part"))


def test_frames_folder_output_never_deletes_what_is_there(tmp_path):
    from humanseg.cli import main
    from humanseg.io.video import process_video

    clips = tmp_path / "clips"
    clips.mkdir()
    src = make_video(clips / "talk.mp4", n=3, audio=False)
    (clips / "notes.txt").write_text("mine")
    for folder, reason in ((clips, "holds the input"), (tmp_path, "holds the input")):
        with pytest.raises(OutputError, match=reason):
            process_video(src, folder, _with_alpha, transparent=True, progress=False)
    assert main(["video", str(src), str(clips), "--bg", "transparent"]) == 2   # the CLI: one-line error, non-zero
    assert sorted(p.name for p in clips.iterdir()) == ["notes.txt", "talk.mp4"]
    assert (clips / "notes.txt").read_text() == "mine" and probe(src)["frames"] == 3

    used = tmp_path / "used"
    used.mkdir()
    (used / "000000.png").write_bytes(b"not ours")
    with pytest.raises(OutputError, match="not empty"):
        process_video(src, used, _with_alpha, transparent=True, progress=False)
    assert (used / "000000.png").read_bytes() == b"not ours"
    (tmp_path / "plainfile").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        process_video(src, tmp_path / "plainfile", _with_alpha, transparent=True, progress=False)

    empty = tmp_path / "empty"
    empty.mkdir()
    result = process_video(src, empty, _with_alpha, transparent=True, progress=False)
    assert result["frames"] == 3 and len(list(empty.glob("*.png"))) == 3
    assert _leftovers(tmp_path) == []


def test_png_frames_of_a_clip_with_sound_say_the_audio_is_not_kept(tmp_path):
    from humanseg.errors import HumansegWarning
    from humanseg.io.video import process_video

    talk = make_video(tmp_path / "talk.mp4", n=3, audio=True)
    with pytest.warns(HumansegWarning, match="audio is not kept: PNG frames carry no sound"):
        result = process_video(talk, tmp_path / "frames", _with_alpha, transparent=True, progress=False)
    assert result["frames"] == 3 and not result["audio_copied"]
    import warnings

    silent = make_video(tmp_path / "silent.mp4", n=3, audio=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", HumansegWarning)   # no sound, nothing to say
        process_video(silent, tmp_path / "frames2", _with_alpha, transparent=True, progress=False)


def test_folder_output_without_transparent_says_what_to_do(tmp_path):
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "in.mp4", n=2, audio=False)
    with pytest.raises(OutputError, match="PNG frames.*--bg transparent"):
        process_video(src, tmp_path / "frames", _opaque, progress=False)
    assert not (tmp_path / "frames").exists()


def _damaged_copy(src, dst):
    """Truncated to 60 %, with bytes flipped in the middle of what is left."""
    data = bytearray(src.read_bytes()[: int(src.stat().st_size * 0.6)])
    mid = len(data) // 2
    for i in range(mid, min(len(data), mid + 1500), 5):
        data[i] ^= 0x5A
    dst.write_bytes(bytes(data))
    return dst


def test_damaged_video_is_an_error_and_writes_nothing_unless_keep_partial(tmp_path):
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "in.mkv", n=40, audio=True)   # Matroska states no frame count: duration x rate
    intact = process_video(src, tmp_path / "intact.mp4", _opaque, progress=False)
    assert intact["frames"] == intact["frames_expected"] == 40 and not intact["incomplete"]

    damaged = _damaged_copy(src, tmp_path / "damaged.mkv")
    out = tmp_path / "out.mp4"
    with pytest.raises(InputError, match=r"only \d+ of 40 frames could be decoded.*keep-partial"):
        process_video(damaged, out, _opaque, progress=False)
    assert not out.exists() and _leftovers(tmp_path) == []

    with pytest.warns(UserWarning, match="incomplete"):
        result = process_video(damaged, out, _opaque, progress=False, keep_partial=True)
    assert result["incomplete"] and result["frames_expected"] == 40 and 0 < result["frames"] < 40
    assert out.exists() and probe(out)["frames"] == result["frames"]


def test_keep_partial_passes_through_convert_video(tmp_path, segmenter):
    src = make_video(tmp_path / "in.mkv", n=20, audio=False)
    damaged = _damaged_copy(src, tmp_path / "damaged.mkv")
    with pytest.raises(InputError, match="of 20 frames"):
        convert_video(damaged, tmp_path / "a.mp4", Color((0, 0, 0)), segmenter, temporal="none", progress=False)
    with pytest.warns(UserWarning):
        result = convert_video(damaged, tmp_path / "b.mp4", Color((0, 0, 0)), segmenter, temporal="none",
                               progress=False, keep_partial=True)
    assert result["incomplete"] and not (tmp_path / "a.mp4").exists() and (tmp_path / "b.mp4").exists()


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_odd_sized_input_is_padded_to_even_yuv420p(tmp_path, suffix):
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "odd.mp4", n=3, size=(97, 61), audio=False)
    out = tmp_path / f"out{suffix}"
    with pytest.warns(UserWarning, match="padded to 98x62"):
        result = process_video(src, out, _opaque, progress=False)
    assert result["padded_to"] == [98, 62] and result["frames"] == 3
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (98, 62)
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24").astype(int)
    # the added column and row repeat the edge (within coding error)
    assert np.abs(frame[:, -1] - frame[:, -2]).mean() < 12 and np.abs(frame[-1] - frame[-2]).mean() < 12
    even = process_video(make_video(tmp_path / "even.mp4", n=2, audio=False), tmp_path / "even_out.mp4",
                         _opaque, progress=False)
    assert even["padded_to"] is None


def _half_bright_clip(path, rotation):
    """Stored 96x64 frames, left half bright, right half dark, with a display rotation."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        v.set_display_rotation(rotation)
        image = np.full((64, 96, 3), 20, np.uint8)
        image[:, :48] = 230
        encode_frames(c, v, [image, image])
    return path


def test_video_background_is_shown_upright(tmp_path):
    from humanseg.effects import VideoBackground
    from humanseg.io.video import VideoReader

    clip = _half_bright_clip(tmp_path / "phone.mp4", 90)
    reader = VideoReader(clip)
    assert reader.info.rotation == 90
    assert next(reader.frames()).shape == (64, 96, 3) and next(reader.frames(upright=True)).shape == (96, 64, 3)
    # displayed 90 degrees counter-clockwise: the stored left half is the bottom half on screen
    frame, mask = np.zeros((96, 64, 3), np.uint8), np.zeros((96, 64), np.float32)
    bg = VideoBackground(clip).background(frame, mask).astype(float)
    assert bg[60:].mean() > 200 and bg[:36].mean() < 50
    assert abs(bg[:, :32].mean() - bg[:, 32:].mean()) < 10


def test_webm_outputs_use_fast_vp9_settings():
    from humanseg.io.video import vp9_options

    for transparent in (True, False):
        options = vp9_options(transparent, 18)
        assert options["deadline"] == "realtime" and options["row-mt"] == "1" and 5 <= int(options["cpu-used"]) <= 8
        assert options["crf"] == "30" and options["b"] == "0"
    assert vp9_options(True, 18)["auto-alt-ref"] == "0"


def test_cli_keep_partial_keeps_a_shortened_output_and_exits_1(tmp_path, capsys):
    from humanseg.cli import main

    src = make_video(tmp_path / "in.mkv", n=60, size=(64, 48), audio=False, codec="libx264")
    data = bytearray(src.read_bytes())
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data[: int(len(data) * 0.6)]))
    out = tmp_path / "out.mp4"
    assert main(["video", str(damaged), str(out), "--bg", "color:#00ff00"]) == 2
    assert not out.exists()
    capsys.readouterr()
    assert main(["video", str(damaged), str(out), "--bg", "color:#00ff00", "--keep-partial"]) == 1
    assert out.exists()
    captured = capsys.readouterr()
    assert "INCOMPLETE" in captured.out and "humanseg: warning:" in captured.err and "Traceback" not in captured.err


def test_intact_variable_frame_rate_matroska_is_not_called_damaged(tmp_path):
    """Matroska states a duration, not a frame count; duration x average rate misses an intact VFR clip
    by a frame or two, which must not be reported as lost frames (a truncated copy still is)."""
    from humanseg.io.video import process_video

    pts = [i * 33 for i in range(90)] + [90 * 33 + i * 100 for i in range(90)]   # 30 fps, then 10 fps
    mp4 = make_video(tmp_path / "vfr.mp4", n=len(pts), size=(64, 48), audio=False, pts=pts)
    mkv = tmp_path / "vfr.mkv"
    assert process_video(mp4, mkv, _opaque, progress=False)["frames"] == 180
    result = process_video(mkv, tmp_path / "again.mkv", _opaque, progress=False)
    assert result["frames"] == 180 and not result["incomplete"]
    assert result["frames_expected"] != 180                    # the estimate is off; the timeline is whole
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.read_bytes()[: int(mkv.stat().st_size * 0.6)])
    with pytest.raises(InputError, match="only .* frames could be decoded"):
        process_video(cut, tmp_path / "cut_out.mkv", _opaque, progress=False)


def test_frame_tally_needs_a_hole_in_the_timeline_for_an_estimated_count():
    from humanseg.io.frame_loss import FrameTally, Promise

    def tally(times, demux_failed=False):
        t = FrameTally()
        for time in times:
            t.add(time)
        t.demux_failed = demux_failed
        return t

    whole = [i / 10 for i in range(90)]                               # 9 s at 10 fps, ends at 9.0
    assert tally(whole).incomplete(Promise(100, exact=True))          # a stated count is exact
    estimate = Promise(100, exact=False, start=0.0, seconds=9.0)      # 9 s x an average rate of 11.1
    assert not tally(whole).incomplete(estimate)
    assert tally(whole, demux_failed=True).incomplete(estimate)
    assert tally(whole[:60]).incomplete(estimate)                     # hole at the end (truncated)
    assert tally(whole[20:]).incomplete(estimate)                     # hole at the start
    assert tally(whole[:30] + whole[50:]).incomplete(estimate)        # hole inside
    assert not tally(whole).incomplete(Promise(None))


def _clip_with_audio_tracks(path, codecs, n=5):
    """A 64x48 clip of n frames at 10 fps with one mono tone track per codec in `codecs` (each its own pitch)."""
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        tracks = []
        for codec in codecs:
            a = c.add_stream(codec, rate=48000)
            a.layout = "mono"
            tracks.append(a)
        encode_frames(c, v, [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(n)])
        for k, a in enumerate(tracks):
            encode_tone(c, a, 48000 * n // 10, 48000, 300 + 200 * k)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_every_audio_track_is_kept(tmp_path, suffix):
    """A recording with two audio tracks (two languages, or voice and a commentary) keeps both, in order."""
    from humanseg.io.video import process_video

    src = _clip_with_audio_tracks(tmp_path / "two.mkv", ["aac", "aac"])
    out = tmp_path / f"out{suffix}"
    assert process_video(src, out, _opaque, progress=False)["audio_copied"]
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 2
    pitches = []
    for track in range(2):
        with av.open(str(out)) as c:
            samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=track)])
        pitches.append(np.argmax(np.abs(np.fft.rfft(samples[-4800:]))) * 48000 / 4800)
    assert abs(pitches[0] - 300) < 20 and abs(pitches[1] - 500) < 20


@pytest.mark.parametrize("codec, suffix, re_encoded", [("libopus", ".avi", "mp3"), ("libopus", ".mov", "aac"),
                                                       ("flac", ".mov", "aac")])
def test_audio_the_container_cannot_hold_is_re_encoded(tmp_path, codec, suffix, re_encoded):
    """Opus cannot go into AVI (this was a ValueError traceback): it is re-encoded to MP3. FFmpeg's MOV muxer
    lists Opus and FLAC but refuses them when it writes its header: a WebM/MKV with Opus sound (a browser or
    YouTube recording) to .mov failed as 'encoding failed (Invalid argument)'; re-encoded to AAC."""
    from humanseg.io.video import process_video

    src = _clip_with_audio_tracks(tmp_path / "talk.mkv", [codec])
    out = tmp_path / f"out{suffix}"
    result = process_video(src, out, _opaque, progress=False)
    assert result["audio_copied"] and result["frames"] == 5
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.codec.canonical_name == re_encoded
        assert sum(f.samples for f in c.decode(audio=0)) > 0.4 * 48000


@pytest.mark.parametrize("name", ["frames", "out.avi"])
def test_outputs_without_a_display_rotation_are_written_upright(tmp_path, name):
    """PNG frames and AVI cannot carry a phone clip's rotation tag: their frames were stored sideways (a person
    lying on their side); they are written upright instead. MP4/MOV/MKV/WebM keep the stored frames + the tag."""
    from humanseg.io.video import process_video

    clip = _half_bright_clip(tmp_path / "phone.mp4", 90)
    transparent = name == "frames"
    process_video(clip, tmp_path / name, _with_alpha if transparent else _opaque, transparent=transparent,
                  progress=False)
    if transparent:
        import cv2

        frame = cv2.imread(str(sorted((tmp_path / name).glob("*.png"))[0]))
    else:
        with av.open(str(tmp_path / name)) as c:
            first = next(c.decode(video=0))
            assert not first.rotation
            frame = first.to_ndarray(format="bgr24")
    assert frame.shape[:2] == (96, 64)           # upright: 64 wide, 96 tall
    assert frame[60:].mean() > 200 and frame[:36].mean() < 50   # the stored left half is at the bottom on screen


def test_avi_frames_play_in_order(tmp_path):
    """AVI stores no presentation times: with x264's reordered B-frames the frames were timed out of order
    (0.1, 0.2, 0.4, 0.3 ...)."""
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "in.mp4", n=12, audio=False)
    process_video(src, tmp_path / "out.avi", _opaque, progress=False)
    with av.open(str(tmp_path / "out.avi")) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    assert len(times) == 12 and times == sorted(times)


def test_a_folder_at_the_output_path_is_refused_before_encoding(tmp_path):
    """A folder named like the output file (out.mp4/) was found only at the end, after the whole video was
    encoded, as 'cannot write (Is a directory); check free space and permissions'."""
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "in.mp4", n=3, audio=False)
    (tmp_path / "out.mp4").mkdir()
    calls = []
    with pytest.raises(OutputError, match="is a folder; give an output file path"):
        process_video(src, tmp_path / "out.mp4", lambda frame: calls.append(1) or frame, progress=False)
    assert calls == [] and _leftovers(tmp_path) == []


def test_a_raw_stream_without_timestamps_gets_one_frame_every_1_over_rate(tmp_path):
    """A raw H.264 stream (.h264 from a camera) has no timestamps: every output frame was at time 0, a
    0.04 s video; frames are now spaced at the stream's rate."""
    from humanseg.io.video import process_video

    raw = tmp_path / "camera.h264"
    with av.open(str(raw), "w", format="h264") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        encode_frames(c, v, [np.full((48, 64, 3), 30 * i, np.uint8) for i in range(6)])
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        assert process_video(raw, out, _opaque, progress=False)["frames"] == 6
        with av.open(str(out)) as c:
            times = [float(f.time) for f in c.decode(video=0)]
        assert np.allclose(times, [i / 25 for i in range(6)], atol=1e-3)


def _end_time(path):
    """Where the video stream ends: the latest presentation time plus that frame's duration (seconds)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return max(float((p.pts + p.duration) * v.time_base) for p in c.demux(v) if p.size)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_variable_frame_rate_clip_keeps_its_length(tmp_path, suffix):
    """Every output packet lasted 1/average rate: an MP4's average rate is what ffmpeg makes of its decode
    times, 14.5 fps for this 10-frame, 1.1 s clip, so its last frame (shown 0.1 s in the input) was cut to
    0.069 s and the output ended at 1.069 s instead of 1.1 s. Each frame now keeps its own duration."""
    from humanseg.io.video import process_video

    pts = [0, 40, 90, 100, 260, 300, 333, 500, 900, 1000]
    src = make_video(tmp_path / "vfr.mp4", n=len(pts), audio=False, pts=pts)
    out = tmp_path / f"out{suffix}"
    process_video(src, out, _opaque, progress=False)
    assert _end_time(src) == pytest.approx(1.1, abs=1e-3)
    assert _end_time(out) == pytest.approx(1.1, abs=1e-3)
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert [f.time for f in a.decode(video=0)] == pytest.approx([f.time for f in b.decode(video=0)], abs=1e-3)


@pytest.mark.parametrize("b_frames", ["0", "3"])
def test_h264_in_avi_keeps_its_frame_times(tmp_path, b_frames):
    """AVI stores no presentation times and ffmpeg makes them up for H.264 from the decode order: one frame late
    (0.1, 0.2 ... at 10 fps: the whole video a frame behind its sound), and with B-frames shuffled (0.1, 0.4, 0.3,
    0.5, 0.2 ...), which the MP4 muxer refused ('encoding failed (Invalid argument)'). Frame k is now timed by the
    k-th frame slot of the AVI."""
    from humanseg.io.video import process_video

    src = tmp_path / "camera.avi"
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=10, options={"bf": b_frames})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        encode_frames(c, v, [np.full((48, 64, 3), 15 + 20 * i, np.uint8) for i in range(12)])
    out = tmp_path / "out.mp4"
    assert process_video(src, out, _opaque, progress=False)["frames"] == 12
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert [round(float(f.time), 3) for f in frames] == [i / 10 for i in range(12)]
    assert [round((f.to_ndarray(format="bgr24").mean() - 15) / 20) for f in frames] == list(range(12))


def _avi_slots(path):
    """(time base, frame slots) of an AVI's video: each stored frame's index at 1/rate; empty filler chunks
    (skipped slots) are not frames."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        packets = [p for p in c.demux(v) if p.dts is not None]
        return v.time_base, [p.dts for p in packets if p.size], sum(1 for p in packets if not p.size)


def test_avi_output_has_one_frame_slot_per_frame_at_the_input_rate(tmp_path):
    """AVI has no per-frame timestamps, only a constant rate. The output kept the input's fine time base: a 10 fps
    MP4 timed in 1/16000 became a '600 fps' AVI (time base 1/600) of mostly empty filler chunks (slots 0, 99, 159,
    219 ...), which ffmpeg read from 0.165 s on with its last two frames 2 ms apart (1.965, 1.9667). It is now
    1/10 with frame k in slot k; the MP3 encoder's negative start no longer pushes the frames back a slot."""
    from humanseg.io.video import process_video

    src = make_video(tmp_path / "in.mp4", n=20, audio=True, pts=[100 * i for i in range(20)])
    out = tmp_path / "out.avi"
    assert process_video(src, out, _opaque, progress=False)["frames"] == 20
    time_base, slots, fillers = _avi_slots(out)
    assert time_base == Fraction(1, 10) and slots == list(range(20)) and fillers == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == 10
        assert float(next(c.decode(audio=0)).time) == 0
    # read back by its frame slots (as humanseg reads an AVI), frame k is at k/10 s
    back = tmp_path / "back.mp4"
    process_video(out, back, _opaque, progress=False)
    with av.open(str(back)) as c:
        assert [round(float(f.time), 6) for f in c.decode(video=0)] == [k / 10 for k in range(20)]


def test_variable_frame_rate_into_avi_takes_the_nearest_free_slots(tmp_path):
    """A variable-frame-rate clip into AVI: one slot of 1/average rate per frame, each frame in the slot nearest its
    time, pushed on where that slot is taken; the frame count is kept. (Its time base was the input's: 1/600.)"""
    from humanseg.io.video import process_video

    pts = [0, 40, 90, 100, 260, 300, 333, 500, 900, 1000]
    src = make_video(tmp_path / "vfr.mp4", n=len(pts), audio=False, pts=pts)
    out = tmp_path / "out.avi"
    assert process_video(src, out, _opaque, progress=False)["frames"] == len(pts)
    with av.open(str(src)) as c:
        rate = c.streams.video[0].average_rate
    time_base, slots, _ = _avi_slots(out)
    assert time_base == 1 / rate
    expected, last = [], -1
    for ms in pts:
        last = max(last + 1, round(Fraction(ms, 1000) * rate))
        expected.append(last)
    assert slots == expected and expected[0] == 0


def test_frame_slots_are_nearest_increasing_and_start_at_0():
    from humanseg.io.video import _FrameSlots

    slots = _FrameSlots(Fraction(10))
    assert [slots.slot(None if t is None else Fraction(t)) for t in ["0", "0.04", "0.26", None, "0.3", "1"]] \
        == [0, 1, 3, 4, 5, 10]
    negative = _FrameSlots(Fraction(25))   # an input starting before 0: its first frame goes in slot 0
    assert [negative.slot(Fraction(t)) for t in ["-0.08", "-0.04", "0"]] == [0, 1, 2]


def test_avi_rate_falls_back_from_timestamp_ticks():
    from types import SimpleNamespace

    from humanseg.io.video import avi_rate

    assert avi_rate(SimpleNamespace(average_rate=Fraction(30000, 1001), guessed_rate=None)) == Fraction(30000, 1001)
    assert avi_rate(SimpleNamespace(average_rate=None, guessed_rate=Fraction(25))) == 25
    assert avi_rate(SimpleNamespace(average_rate=Fraction(1000), guessed_rate=Fraction(90000))) == 30


def test_a_hard_cut_is_counted_and_reported(tmp_path, segmenter, capsys):
    from humanseg.cli import main

    src = tmp_path / "cut.mp4"
    first = np.full((64, 96, 3), 40, np.uint8)
    first[10:60, 30:60] = 220
    second = np.full((64, 96, 3), 210, np.uint8)
    second[5:50, 50:90] = 20
    with av.open(str(src), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        encode_frames(c, v, [first] * 5 + [second] * 5)
    result = convert_video(src, tmp_path / "out.mp4", Blur(), segmenter, progress=False)
    assert result["frames"] == 10 and result["scene_cuts"] == 1
    assert main(["video", str(src), str(tmp_path / "out2.mp4"), "--threads", "1"]) == 0
    assert "(10 frames, 1 scene cut)" in capsys.readouterr().out


def test_the_test_clip_is_one_shot_so_video_tests_reach_the_fusion(tmp_path, segmenter):
    """make_video's clip moves one person over one background: the stream must see no cut in it, or every video
    test on it would restart the prior and fusion each frame and test less than it seems to."""
    src = make_video(tmp_path / "shot.mp4", n=12)
    result = convert_video(src, tmp_path / "out.mp4", Blur(), segmenter, progress=False)
    assert result["frames"] == 12 and result["scene_cuts"] == 0
