import av
import numpy as np
import pytest

from humanseg.api import Blur, Color, Transparent, convert_video
from humanseg.errors import InputError, OutputError
from tests.conftest import make_video, probe


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
    convert_video(src, out, Color((0, 0, 255)), segmenter, temporal="ema", progress=False)
    a, b = probe(src), probe(out)
    assert b["frames"] == len(pts) and (b["width"], b["height"]) == (97, 61) and b["audio"] == 0
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
