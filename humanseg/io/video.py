"""Video decoding and encoding with PyAV: same frame count, frame rate, timestamps and size as
the input, audio copied, output written to a temporary file and renamed at the end."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import InputError, OutputError
from .images import atomic_write_bytes, check_output_path

TRANSPARENT_SUFFIXES = {".webm": ("libvpx-vp9", "yuva420p"), ".mov": ("prores_ks", "yuva444p10le")}
OPAQUE_SUFFIXES = {".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi"}


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: Fraction | None
    frames: int            # as the container states it; 0 when unknown
    rotation: int          # degrees from the display matrix (0, 90, 180, 270)
    has_audio: bool


def _open(path: Path):
    import av

    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable video ({exc.__class__.__name__})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: has no video stream")
    return container


class VideoReader:
    """Iterate BGR frames of a video file (stored orientation)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _open(self.path) as container:
            v = container.streams.video[0]
            self.info = VideoInfo(v.codec_context.width, v.codec_context.height, v.average_rate, v.frames or 0,
                                  0, bool(container.streams.audio))

    def frames(self) -> Iterator[np.ndarray]:
        import av

        with _open(self.path) as container:
            try:
                for frame in container.decode(video=0):
                    yield frame.to_ndarray(format="bgr24")
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


def process_video(inp: str | Path, out: str | Path, process: Callable[[np.ndarray], np.ndarray],
                  transparent: bool = False, progress: bool = True, crf: int = 18) -> dict:
    """Decode `inp`, call process(frame_bgr upright) -> BGR (or BGRA if transparent), encode to `out`.

    Every frame keeps its timestamp; audio streams are copied packet for packet. The output is
    written to a hidden temporary file and renamed only when complete.
    """
    import av

    inp, out = Path(inp), Path(out)
    check_output_path(inp, out)
    container = _open(inp)
    v_in = container.streams.video[0]
    v_in.thread_type = "AUTO"
    a_in = container.streams.audio[0] if container.streams.audio else None
    png_sequence = transparent and is_png_sequence(out)
    if transparent and not png_sequence and out.suffix.lower() not in TRANSPARENT_SUFFIXES:
        container.close()
        raise OutputError(f"{out}: transparent video needs .webm (VP9 alpha), .mov (ProRes 4444) or a folder for PNGs")
    if not transparent and out.suffix.lower() not in OPAQUE_SUFFIXES:
        container.close()
        raise OutputError(f"{out}: unsupported video type '{out.suffix}'; use .mp4, .mov, .mkv or .webm")

    opus = None
    tmp = out.with_name(f".{out.name}.part") if not png_sequence else out.with_name(f".{out.name.rstrip(os.sep)}.part")
    from tqdm import tqdm

    total = v_in.frames or None
    bar = tqdm(total=total, unit="frame", disable=not progress, desc=inp.name, dynamic_ncols=True)
    n_frames = 0
    try:
        if png_sequence:
            tmp.mkdir(parents=True, exist_ok=True)
            writer = None
        else:
            writer = av.open(str(tmp), mode="w", format=_format_for(out))
            # every stream must exist before the first packet is muxed
            v_out = _add_video_stream(writer, v_in, out, transparent, crf)
            rotation = _first_frame_rotation(inp)
            if rotation:
                v_out.set_display_rotation(rotation)  # stored frames + the same display rotation as the input
            a_out, opus = _add_audio_stream(writer, a_in, out)
        streams = [s for s in (v_in, a_in) if s is not None and (s is v_in or writer is not None)]
        for packet in container.demux(*streams):
            if packet.stream.type == "audio":
                if a_out is None:
                    continue
                if opus is not None:  # WebM takes Opus/Vorbis only: re-encode the audio
                    for audio_frame in _decode(packet, inp):
                        for resampled in opus.resample(audio_frame):
                            for p in a_out.encode(resampled):
                                writer.mux(p)
                elif packet.dts is not None:
                    packet.stream = a_out
                    writer.mux(packet)
                continue
            for frame in _decode(packet, inp):
                rotation = _rotation(frame)
                result = _stored(process(_upright(frame.to_ndarray(format="bgr24"), rotation)), rotation)
                if png_sequence:
                    _write_png(tmp / f"{n_frames:06d}.png", result)
                else:
                    fmt = "bgra" if transparent else "bgr24"
                    new = av.VideoFrame.from_ndarray(result, format=fmt)
                    new.pts, new.time_base = frame.pts, frame.time_base
                    for p in v_out.encode(new):
                        writer.mux(p)
                n_frames += 1
                bar.update(1)
        if writer is not None and v_out is not None:
            for p in v_out.encode():
                writer.mux(p)
        if writer is not None and opus is not None:
            for resampled in opus.resample(None):
                for p in a_out.encode(resampled):
                    writer.mux(p)
            for p in a_out.encode():
                writer.mux(p)
        if writer is not None:
            writer.close()
        container.close()
        if n_frames == 0:
            raise InputError(f"{inp}: no video frames could be decoded")
        if png_sequence:
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        else:
            os.replace(tmp, out)
    except BaseException as exc:
        container.close()
        if writer is not None:
            try:
                writer.close()
            except Exception:
                pass
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, av.FFmpegError):
            raise OutputError(f"{out}: cannot write ({exc.strerror or exc}); check free space and permissions") from exc
        if isinstance(exc, av.FFmpegError):
            raise OutputError(f"{out}: encoding failed ({exc})") from exc
        raise
    finally:
        bar.close()
    return {"output": str(out), "frames": n_frames, "audio_copied": bool(a_in is not None and not png_sequence)}


def _add_audio_stream(writer, a_in, out: Path):
    """(output audio stream or None, resampler when the audio must be re-encoded to Opus or None).

    Audio packets are copied as they are, except into WebM, which only takes Opus or Vorbis."""
    import av

    if a_in is None:
        return None, None
    if out.suffix.lower() != ".webm" or a_in.codec_context.name in ("opus", "vorbis"):
        return writer.add_stream_from_template(a_in), None
    layout = "stereo" if a_in.codec_context.channels >= 2 else "mono"
    stream = writer.add_stream("libopus", rate=48000)
    stream.layout = layout
    return stream, av.AudioResampler(format="flt", layout=layout, rate=48000)


def _decode(packet, path: Path):
    import av

    try:
        return packet.decode()
    except av.FFmpegError:
        return []  # a damaged packet: ffmpeg skips it; the frame count check below reports losses


def _format_for(out: Path) -> str:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}[out.suffix.lower()]


def _add_video_stream(writer, v_in, out: Path, transparent: bool, crf: int):
    w, h = v_in.codec_context.width, v_in.codec_context.height
    rate = v_in.average_rate or v_in.guessed_rate or Fraction(30)
    if transparent:
        codec, pix_fmt = TRANSPARENT_SUFFIXES[out.suffix.lower()]
        options = {"profile": "4444"} if codec == "prores_ks" else {"auto-alt-ref": "0"}
    elif out.suffix.lower() == ".webm":
        codec, pix_fmt, options = "libvpx-vp9", "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p", {"crf": str(crf + 12), "b": "0"}
    else:
        # yuv420p needs even sizes; odd-sized inputs keep their size with 4:4:4 chroma
        codec, pix_fmt = "libx264", "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        options = {"crf": str(crf), "preset": "veryfast"}
    stream = writer.add_stream(codec, rate=rate, options=options)
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    stream.time_base = v_in.time_base
    stream.codec_context.time_base = v_in.time_base
    return stream


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise OutputError(f"{path}: could not encode PNG")
    atomic_write_bytes(path, data.tobytes())
