"""Video decoding and encoding with PyAV: same frame count, frame rate, timestamps and size as
the input, audio copied, output written to a uniquely named temporary file (or folder) beside it
and renamed only when complete."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import warnings
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import HumansegWarning, InputError, OutputError
from .frame_loss import FrameTally, Promise
from .images import check_input_file, check_output_path, one_of, temp_beside

TRANSPARENT_SUFFIXES = {".webm": ("libvpx-vp9", "yuva420p"), ".mov": ("prores_ks", "yuva444p10le")}
OPAQUE_SUFFIXES = {".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi"}
# libvpx's defaults (deadline "good", cpu-used 0-1, one thread per tile row) encode 720p VP9 at a few
# frames/s; realtime with cpu-used 6 and row multithreading is several times faster
# (benchmarks/vp9_encoding.py, benchmarks/RESULTS.md "VP9 alpha encoding options").
VP9_SPEED = {"deadline": "realtime", "cpu-used": "6", "row-mt": "1"}
VP9_CRF_OFFSET = 12   # VP9's crf scale (0-63) sits above x264's (0-51): crf 18 -> 30
ROTATION_FORMATS = {"mp4", "mov", "matroska", "webm"}   # containers that carry a display rotation
# AVI times a video packet by its slot (its index), never by its dts: an audio encoder's negative start (MP3, AAC
# priming) made the muxer shift every dts later, which put an empty slot before the second frame
MUX_OPTIONS = {"avi": {"avoid_negative_ts": "disabled"}}


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: Fraction | None
    frames: int            # as the container states it; 0 when unknown
    rotation: int          # degrees from the display matrix (0, 90, 180, 270), counter-clockwise
    has_audio: bool


def _open(path: Path):
    import av

    check_input_file(path, "a video file")
    if path.suffix.lower() == ".webp":   # FFmpeg's WebP decoder reads stills only: it fails on the first frame
        raise InputError(f"{path}: an animated WebP cannot be read as a video here (FFmpeg cannot decode its "
                         "frames); convert it to GIF or MP4 first (any image editor or converter does)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable video ({exc.__class__.__name__})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    return container


class VideoReader:
    """Iterate BGR frames of a video file: stored orientation, or upright (as players show them)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _open(self.path) as container:
            v = container.streams.video[0]
            self.info = VideoInfo(v.codec_context.width, v.codec_context.height, v.average_rate, v.frames or 0,
                                  _first_frame_rotation(self.path), bool(container.streams.audio))

    def frames(self, upright: bool = False) -> Iterator[np.ndarray]:
        """uint8 HxWx3 BGR frames; upright=True applies each frame's display rotation."""
        import av

        with _open(self.path) as container:
            try:
                for frame in container.decode(video=0):
                    image = frame.to_ndarray(format="bgr24")
                    yield np.ascontiguousarray(_upright(image, _rotation(frame))) if upright else image
            except av.FFmpegError as exc:
                raise InputError(f"{self.path}: video data is damaged ({exc.__class__.__name__})") from exc


def _first_frame_rotation(path: Path) -> int:
    import av

    try:
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                return _rotation(frame)
    except av.FFmpegError:
        pass
    return 0


def _rotation(frame) -> int:
    try:
        return int(round(frame.rotation or 0)) % 360
    except (AttributeError, TypeError, ValueError):
        return 0


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a stored frame to its display orientation (display matrix angle is counter-clockwise)."""
    return np.rot90(image, k=rotation // 90) if rotation % 360 else image


def _stored(image: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90))) if rotation % 360 else image


def is_png_sequence(out: Path) -> bool:
    return out.suffix == "" or str(out).endswith(os.sep)


def check_video_output(inp: Path, out: Path, transparent: bool) -> None:
    """Refuse an output we cannot or must not write, before anything is decoded."""
    check_output_path(inp, out)
    suffix = out.suffix.lower()
    if is_png_sequence(out):
        if not transparent:
            raise OutputError(f"{out}: a folder output means PNG frames with alpha and needs --bg transparent "
                              f"(Transparent()); for a video file use {one_of(OPAQUE_SUFFIXES)}")
        _check_frames_folder(inp, out)
    elif out.is_dir():   # found before the whole video is encoded, not when the finished file is renamed
        raise OutputError(f"{out}: is a folder; give an output file path (e.g. {out / (inp.stem + out.suffix)})")
    elif transparent and suffix not in TRANSPARENT_SUFFIXES:
        raise OutputError(f"{out}: transparent video needs .webm (VP9 alpha), .mov (ProRes 4444) or a folder for PNGs")
    elif not transparent and suffix not in OPAQUE_SUFFIXES:
        raise OutputError(f"{out}: unsupported video type '{out.suffix}'; use {one_of(OPAQUE_SUFFIXES)}")


def _check_frames_folder(inp: Path, out: Path) -> None:
    """A PNG frames folder must be new or empty and must not hold the input: nothing the user has is deleted."""
    if out.resolve() in inp.resolve().parents:
        raise OutputError(f"{out}: is the folder that holds the input; choose a new folder for the PNG frames")
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{out}: exists and is not a folder; choose a new folder for the PNG frames")
        if any(out.iterdir()):
            raise OutputError(f"{out}: folder is not empty; choose a new or empty folder for the PNG frames "
                              "(nothing in it is deleted or overwritten)")


def process_video(inp: str | Path, out: str | Path, process: Callable[[np.ndarray], np.ndarray],
                  transparent: bool = False, progress: bool = True, crf: int = 18,
                  keep_partial: bool = False) -> dict:
    """Decode `inp`, call process(frame_bgr upright) -> BGR (or BGRA if transparent), encode to `out`.

    Every frame keeps its timestamp (in AVI, which has none, the frame slot of 1/rate nearest it); every audio
    stream is copied packet for packet, or re-encoded where the output container cannot hold its codec (Opus for WebM, MP3 for AVI, AAC otherwise). The output
    is written to a uniquely named hidden temporary file (a folder for PNG frames) beside `out` and
    renamed only when complete; on any error, Ctrl-C or SIGTERM the temporary is removed. Odd-sized frames are padded to even sizes for H.264/VP9 (4:2:0 chroma).

    A damaged or truncated input that decodes to fewer frames than the container promises (its frame
    count, or for Matroska/WebM duration x rate where the timeline shows the loss: io/frame_loss.py) raises
    InputError and writes nothing, unless keep_partial=True: then what decodes is written and the
    result says "incomplete": True. Result keys: output, frames, frames_expected (None when the
    container does not say), incomplete, audio_copied, padded_to ([width, height] or None).
    """
    import av

    inp, out = Path(inp), Path(out)
    check_video_output(inp, out, transparent)
    png_sequence = is_png_sequence(out)
    container = _open(inp)
    v_in = container.streams.video[0]
    v_in.thread_type = "AUTO"
    a_ins = list(container.streams.audio)
    promise = _promised_frames(container, v_in)
    expected = promise.frames
    tally = FrameTally()
    from tqdm import tqdm

    bar = tqdm(total=expected, unit="frame", disable=not progress, desc=inp.name, dynamic_ncols=True)
    n_frames = 0
    writer = v_out = padded_to = tmp = None
    audio: dict[int, tuple] = {}   # input audio stream index -> (output stream, resampler or None)
    # input frame pts -> its duration: the encoder gives every packet 1/average rate, which for a variable
    # rate clip ends the output early (its last frame shown for 1/average rate instead of its own duration)
    durations: dict[int, int] = {}
    # AVI stores no presentation times: ffmpeg derives them from the decode order, which for H.264 comes out one
    # frame late and, with B-frames, shuffled (1, 4, 3, 5, 2 ...). Frames leave the decoder in display order, each
    # in the next frame slot: the k-th frame is timed by the k-th packet's slot (its dts), gaps (dropped frames) kept.
    avi_slots = deque() if container.format.name == "avi" else None
    # and an AVI output holds one frame per slot of 1/rate: each frame goes into the slot nearest its time
    avi_out = None if png_sequence or _format_for(out) != "avi" else _FrameSlots(avi_rate(v_in))
    with _sigterm_raises_exit():   # installed over the cleanup too, so a second SIGTERM cannot cut it short
        try:
            tmp = temp_beside(out, directory=png_sequence)
            # frames are stored as the input stores them, with its display rotation, where the output can
            # carry one; PNG frames and AVI cannot, so theirs are written upright
            rotation = _first_frame_rotation(inp)
            keep_stored = not png_sequence and _format_for(out) in ROTATION_FORMATS
            if not png_sequence:
                writer = av.open(str(tmp), mode="w", format=_format_for(out), options=MUX_OPTIONS.get(_format_for(out)))
                # every stream must exist before the first packet is muxed
                size = (v_in.codec_context.width, v_in.codec_context.height)
                if not keep_stored and rotation % 180:
                    size = size[::-1]
                v_out, padded_to = _add_video_stream(writer, v_in, out, transparent, crf, size)
                if rotation and keep_stored:
                    v_out.set_display_rotation(rotation)  # stored frames + the same display rotation as the input
                audio = {a_in.index: _add_audio_stream(writer, a_in) for a_in in a_ins}
                if padded_to:
                    warnings.warn(f"{inp}: {size[0]}x{size[1]} is odd-sized; "
                                  f"padded to {padded_to[0]}x{padded_to[1]} (edge pixels repeated) so that "
                                  "players can decode the 4:2:0 output", HumansegWarning, stacklevel=2)
            elif a_ins:
                warnings.warn(f"{inp}: its audio is not kept: PNG frames carry no sound (write a .webm or .mov "
                              "for transparent video with audio)", HumansegWarning, stacklevel=2)

            def mux_video(packets) -> None:
                for p in packets:
                    p.duration = durations.pop(p.pts, None) or p.duration
                    writer.mux(p)

            def encode(frame) -> None:
                nonlocal n_frames
                if avi_slots:
                    frame.pts = avi_slots.popleft()
                rotation = _rotation(frame)
                result = process(_upright(frame.to_ndarray(format="bgr24"), rotation))
                if keep_stored:
                    result = _stored(result, rotation)
                if png_sequence:
                    _write_png(tmp / f"{n_frames:06d}.png", result)
                else:
                    if padded_to:
                        result = _pad_to(result, *padded_to)
                    new = av.VideoFrame.from_ndarray(result, format="bgra" if transparent else "bgr24")
                    new.pts, new.time_base = frame.pts, frame.time_base
                    if avi_out is not None:
                        new.pts, new.time_base = avi_out.slot(_seconds(frame)), avi_out.time_base
                    elif frame.pts is None:   # a raw stream (.h264, MJPEG) has no timestamps: one frame every 1/rate
                        new.pts, new.time_base = n_frames, 1 / frame_rate(v_in)
                    elif frame.duration and frame.time_base == v_out.codec_context.time_base:
                        durations[frame.pts] = frame.duration
                    mux_video(v_out.encode(new))
                n_frames += 1
                tally.add(None if frame.time is None else float(frame.time))
                bar.update(1)

            streams = [v_in] + [a_in for a_in in a_ins if a_in.index in audio]
            demuxed_to_end = True
            for packet in _demux(container, streams):
                if packet is None:      # the demuxer gave up on damaged data: flush what the decoder holds
                    demuxed_to_end, tally.demux_failed = False, True
                    break
                if packet.stream.type == "audio":
                    _mux_audio(packet, writer, *audio[packet.stream.index])
                    continue
                if avi_slots is not None and packet.size and packet.dts is not None:
                    avi_slots.append(packet.dts)
                for frame in _decode(packet):
                    encode(frame)
            if not demuxed_to_end:
                for frame in _decode(None, v_in.codec_context):
                    encode(frame)
            container.close()
            if n_frames == 0:
                raise InputError(f"{inp}: no video frames could be decoded")
            incomplete = tally.incomplete(promise)
            if incomplete and not keep_partial:
                raise InputError(f"{inp}: only {n_frames} of {expected} frames could be decoded (the file is damaged "
                                 "or truncated); nothing was written. To keep what decodes, use --keep-partial "
                                 "(keep_partial=True)")
            if writer is not None:
                mux_video(v_out.encode())
                for a_out, resampler in audio.values():
                    if resampler is not None:
                        for resampled in resampler.resample(None):
                            for p in a_out.encode(resampled):
                                writer.mux(p)
                        for p in a_out.encode():
                            writer.mux(p)
                writer.close()
            _rename_into_place(tmp, out, png_sequence)
            if incomplete:
                warnings.warn(f"{inp}: only {n_frames} of {expected} frames could be decoded; {out} is incomplete",
                              HumansegWarning, stacklevel=2)
        except BaseException as exc:
            container.close()
            if writer is not None:
                try:
                    writer.close()
                except Exception:
                    pass
            if tmp is not None:
                if png_sequence:
                    shutil.rmtree(tmp, ignore_errors=True)   # our own temporary folder, never the user's
                else:
                    tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and not isinstance(exc, av.FFmpegError):
                raise OutputError(f"{out}: cannot write ({exc.strerror or exc}); check free space and permissions") from exc
            if isinstance(exc, av.FFmpegError):
                raise OutputError(f"{out}: encoding failed ({exc})") from exc
            raise
        finally:
            bar.close()
    return {"output": str(out), "frames": n_frames, "frames_expected": expected, "incomplete": incomplete,
            "audio_copied": bool(audio), "padded_to": padded_to}


@contextmanager
def _sigterm_raises_exit():
    """While a video is written, SIGTERM raises SystemExit(143) so the cleanup path removes the
    temporary output (the default action would kill the process and leave it behind). Installed only
    from the main thread and only over the default action; an application's own handler (or an
    ignored SIGTERM) is left as it is. The previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    fired = False

    def on_sigterm(signum, frame):
        nonlocal fired
        if not fired:          # a second SIGTERM must not interrupt the cleanup of the first
            fired = True
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _rename_into_place(tmp: Path, out: Path, png_sequence: bool) -> None:
    if not png_sequence:
        os.replace(tmp, out)
        return
    try:
        os.rename(tmp, out)     # POSIX replaces an empty folder and refuses a non-empty one
    except OSError:
        if not out.is_dir() or any(out.iterdir()):
            raise OutputError(f"{out}: folder is no longer empty (something was written to it during the run); "
                              "choose a new or empty folder for the PNG frames") from None
        os.rmdir(out)           # empty: safe to replace (Windows will not rename over a folder)
        os.rename(tmp, out)


def _promised_frames(container, v) -> Promise:
    """Frames the container promises: its frame count (exact), else duration x frame rate (an estimate)."""
    import av

    start = float(v.start_time * v.time_base) if v.start_time is not None and v.time_base else 0.0
    if v.frames:
        return Promise(int(v.frames))
    rate = v.average_rate or v.guessed_rate
    seconds = None
    if v.duration is not None and v.time_base:
        seconds = float(v.duration * v.time_base)
    elif v.metadata.get("DURATION"):            # Matroska/WebM: a per-stream tag "HH:MM:SS.nnnnnnnnn"
        try:
            h, m, s = v.metadata["DURATION"].split(":")
            seconds = int(h) * 3600 + int(m) * 60 + float(s)
        except ValueError:
            pass
    elif container.duration and len(container.streams) == 1:  # the container's length is the video's
        seconds = container.duration / av.time_base
    if not rate or not seconds:
        return Promise(None)
    return Promise(round(seconds * float(rate)), exact=False, start=start, seconds=seconds)


def _demux(container, streams) -> Iterator:
    """container.demux(*streams), ending with None (instead of raising) when the demuxer fails on damaged data."""
    import av

    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:
            yield None
            return
        yield packet


def _mux_audio(packet, writer, a_out, resampler) -> None:
    if resampler is not None:  # a codec the output container cannot hold: re-encode the audio
        for audio_frame in _decode(packet):
            for resampled in resampler.resample(audio_frame):
                for p in a_out.encode(resampled):
                    writer.mux(p)
    elif packet.dts is not None:
        packet.stream = a_out
        writer.mux(packet)


# the codec an audio stream is re-encoded to where the output container cannot hold the input's
AUDIO_REENCODE = {"webm": ("libopus", 48000), "avi": ("libmp3lame", None)}
AUDIO_REENCODE_DEFAULT = ("aac", None)
# codecs a muxer lists as supported but refuses when it writes its header (FFmpeg: Opus and FLAC in MP4 only, not MOV)
AUDIO_REFUSED = {"mov": {"opus", "flac"}}


def _add_audio_stream(writer, a_in):
    """(output audio stream, resampler when the audio must be re-encoded or None).

    Audio packets are copied as they are where the container takes the codec (WebM: Opus or Vorbis only;
    AVI: no Opus; MOV: no Opus or FLAC), else decoded and re-encoded (AUDIO_REENCODE)."""
    import av

    name = a_in.codec_context.codec.canonical_name
    if name in writer.supported_codecs and name not in AUDIO_REFUSED.get(writer.format.name, ()):
        return writer.add_stream_from_template(a_in), None
    codec, rate = AUDIO_REENCODE.get(writer.format.name, AUDIO_REENCODE_DEFAULT)
    rate = rate or a_in.codec_context.sample_rate or 48000
    rates = av.Codec(codec, "w").audio_rates
    if rates and rate not in rates:           # e.g. MP3 has no 96 kHz
        rate = 48000 if 48000 in rates else max(rates)
    layout = "stereo" if a_in.codec_context.channels >= 2 else "mono"
    stream = writer.add_stream(codec, rate=rate)
    stream.layout = layout
    return stream, av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name, layout=layout,
                                     rate=rate)


def _decode(packet, codec_context=None) -> list:
    """Frames from one packet (packet None with a codec_context: flush it); [] for a damaged packet:
    ffmpeg skips it and the frame count check in process_video reports the loss."""
    import av

    try:
        return codec_context.decode(None) if packet is None else packet.decode()
    except (av.FFmpegError, EOFError):
        return []


def _format_for(out: Path) -> str:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}[out.suffix.lower()]


def vp9_options(transparent: bool, crf: int) -> dict[str, str]:
    """libvpx-vp9 options: constant quality at crf + VP9_CRF_OFFSET, realtime speed settings;
    alpha needs auto-alt-ref off (ffmpeg encodes the alpha plane with a second encoder)."""
    options = {"crf": str(crf + VP9_CRF_OFFSET), "b": "0", **VP9_SPEED}
    if transparent:
        options["auto-alt-ref"] = "0"
    return options


def frame_rate(v_in) -> Fraction:
    """The input video stream's frames a second: its average, else ffmpeg's guess, else 30."""
    return v_in.average_rate or v_in.guessed_rate or Fraction(30)


AVI_MAX_RATE = 240   # above this an average or guessed rate is a timestamp tick (1/1000, 1/90000), not frames


def avi_rate(v_in) -> Fraction:
    """The constant frame rate of an AVI output: the input's average rate, else ffmpeg's guess, else 30."""
    for rate in (v_in.average_rate, v_in.guessed_rate):
        if rate and 0 < rate <= AVI_MAX_RATE:
            return Fraction(rate)
    return Fraction(30)


class _FrameSlots:
    """Frame slots of an AVI output. AVI has no per-frame timestamps, only a constant rate: a packet's time is
    its index (empty chunks fill skipped slots). With the input's fine time base (1/1000, 1/16000) the header
    said hundreds of frames a second, the file was mostly filler and ffmpeg read the first frame at 0.165 s and
    the last two 2 ms apart. Each frame goes into the slot nearest its time (the first frame's time, where
    negative, counting as 0), never into the slot of the frame before or an earlier one; a frame without a
    time takes the next slot."""

    def __init__(self, rate: Fraction):
        self.time_base = 1 / Fraction(rate)
        self.last = -1
        self.origin: Fraction | None = None

    def slot(self, seconds: Fraction | None) -> int:
        slot = self.last + 1
        if seconds is not None:
            if self.origin is None:
                self.origin = min(seconds, Fraction(0))
            slot = max(slot, round((seconds - self.origin) / self.time_base))
        self.last = slot
        return slot


def _seconds(frame) -> Fraction | None:
    """A decoded frame's presentation time in seconds, exactly; None when it has none."""
    if frame.pts is None or not frame.time_base:
        return None
    return frame.pts * Fraction(frame.time_base)


def _add_video_stream(writer, v_in, out: Path, transparent: bool, crf: int, size: tuple[int, int]):
    """(output video stream, [width, height] padded to even for 4:2:0 or None when the size is kept);
    size: (width, height) of the frames encoded. The stream keeps the input's time base, except in AVI:
    1/rate (avi_rate), one frame a slot."""
    w, h = size
    rate = avi_rate(v_in) if writer.format.name == "avi" else frame_rate(v_in)
    padded_to = None
    if transparent:
        codec, pix_fmt = TRANSPARENT_SUFFIXES[out.suffix.lower()]
        options = {"profile": "4444"} if codec == "prores_ks" else vp9_options(True, crf)
    else:
        # 4:2:0 needs even sizes (x264 refuses odd ones; 4:4:4 plays in few players): pad by one pixel
        if w % 2 or h % 2:
            padded_to = [w + w % 2, h + h % 2]
            w, h = padded_to
        if out.suffix.lower() == ".webm":
            codec, pix_fmt, options = "libvpx-vp9", "yuv420p", vp9_options(False, crf)
        else:
            codec, pix_fmt, options = "libx264", "yuv420p", {"crf": str(crf), "preset": "veryfast"}
            if writer.format.name == "avi":
                options["bf"] = "0"   # AVI stores no presentation times: reordered B-frames play out of order
    stream = writer.add_stream(codec, rate=rate, options=options)
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    time_base = 1 / rate if writer.format.name == "avi" else v_in.time_base
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    return stream, padded_to


def _pad_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pad HxWxC on the right and bottom to height x width, repeating the edge pixels."""
    import cv2

    dh, dw = height - image.shape[0], width - image.shape[1]
    if dh <= 0 and dw <= 0:
        return image
    return cv2.copyMakeBorder(np.ascontiguousarray(image), 0, max(dh, 0), 0, max(dw, 0), cv2.BORDER_REPLICATE)


def _write_png(path: Path, image: np.ndarray) -> None:
    """One frame into our own temporary folder (the folder as a whole is renamed into place at the end)."""
    import cv2

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OutputError(f"{path}: could not encode PNG")
    path.write_bytes(data.tobytes())
