"""`humanseg` command line: one command, sub-commands mirroring the Python API (same names, same defaults)."""
from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
import warnings
from pathlib import Path

from .arg_values import (
    LIGHT_WRAP_WIDTH, camera_index, canvas_pixels, non_negative_float, non_negative_int, port_number, port_or_any,
    positive_float, positive_int, probability, refine_fraction, still_scales, zoom_share,
)
from .cli_args import (
    canvas_args, effect_args, io_args, mirror_average, mirror_average_arg, model_args, photo_recipe_arg, temporal_args,
)
from .cli_parser import OneLineParser, install_hint, show_warning
from .errors import HumansegError, HumansegWarning, InputError

COMMANDS: dict[str, tuple] = {}


def command(name: str, help_text: str, *arg_groups):
    def register(fn):
        COMMANDS[name] = (fn, help_text, arg_groups)
        return fn
    return register


def _segmenter(a, use: str, reuse_buffers: bool = False):
    """use: "still" or "video", the default canvas budget (runtime/budget.py) when --canvas-pixels is not given.
    reuse_buffers: True for the CLI's own frame loops (video, webcam, folder), where keeping
    frame-sized buffers in the heap saves time per frame (runtime/allocator.py)."""
    from .api import PostProcess, Segmenter

    post = PostProcess(threshold=a.threshold, gate=tuple(a.gate) if a.gate else None, keep_largest=a.keep_largest,
                       refine=a.refine, feather=a.feather)
    return Segmenter(a.model, threads=a.threads, postprocess=post, reuse_buffers=reuse_buffers,
                     canvas_pixels=a.canvas_pixels or use, mirror_average=mirror_average(a, use),
                     photo_recipe=getattr(a, "photo_recipe", "full"))


def _effect(a, use: str = "still"):
    """use: "still" (image), "video" or "webcam": --poisson is refused on video and webcam, --foreground ml on the
    webcam (about a second a frame)."""
    from .effects import effect_from_spec
    from .effects.finishing import with_finishing

    if a.poisson and use != "still":
        raise InputError(f"--poisson is for still images (it recolours the person differently in every frame); "
                         f"drop it for {use}, --harmonize and --light-wrap work there")
    if a.foreground == "ml" and use == "webcam":
        raise InputError("--foreground ml takes about a second a frame; use --foreground fast for the webcam")
    if a.blur_strength is not None and a.bg.strip() != "blur":   # accepted and ignored would look like it worked
        raise InputError(f"--blur-strength is for --bg blur; --bg {a.bg} does not blur")
    if a.light_wrap_width is not None and not a.light_wrap:
        raise InputError("--light-wrap-width sets how far --light-wrap reaches; give --light-wrap S too")
    blur = 3.0 if a.blur_strength is None else a.blur_strength
    width = LIGHT_WRAP_WIDTH if a.light_wrap_width is None else a.light_wrap_width
    return with_finishing(effect_from_spec(a.bg, blur, a.comments), a.foreground, a.harmonize,
                          a.poisson, a.light_wrap, width)


# ---- commands ------------------------------------------------------------------------------------

@command("image", "segment an image file, or a folder of images into an output folder (resumes: outputs made "
         "from the same input with the same settings are skipped; inputs that would write the same output "
         "are reported and exit 1; a file in the output folder that no earlier run wrote is kept, never "
         "overwritten)", io_args, model_args, canvas_args("still"), effect_args)
def cmd_image(a):
    from .api import convert_folder, convert_image

    effect = _effect(a)
    if a.input.is_dir():
        result = convert_folder(a.input, a.output, effect, _segmenter(a, "still", reuse_buffers=True))
        for line in result["failed"]:
            print(f"humanseg: skipped: {line}", file=sys.stderr)
        print(json.dumps({k: (len(v) if isinstance(v, list) else v) for k, v in result.items()}))
        return 1 if result["failed"] else 0
    print(convert_image(a.input, a.output, effect, _segmenter(a, "still")))
    return 0


def keep_partial_args(p):
    p.add_argument("--keep-partial", action="store_true",
                   help="when a damaged input loses frames, keep the shortened output (exit status 1) instead of "
                        "writing nothing")


@command("video", "blur/replace the background of a video file (audio, frame rate and frame count kept)",
         io_args, model_args, canvas_args("video"), effect_args, temporal_args, keep_partial_args)
def cmd_video(a):
    from .api import convert_video

    segmenter = _segmenter(a, "video", reuse_buffers=True)
    effect = _effect(a, "video")
    if a.foreground == "ml":
        _warn_slow_foreground(a.input)
    result = convert_video(a.input, a.output, effect, segmenter, temporal=a.temporal,
                           keep_partial=a.keep_partial)
    frames = f"{result['frames']} of {result['frames_expected']} frames, INCOMPLETE" if result.get("incomplete") \
        else f"{result['frames']} frames"
    cuts = result.get("scene_cuts", 0)
    print(f"{result['output']} ({frames}{', audio copied' if result['audio_copied'] else ''}"
          f"{f', {cuts} scene cut' + ('s' if cuts > 1 else '') if cuts else ''})")
    return 1 if result.get("incomplete") else 0


def _warn_slow_foreground(video: Path) -> None:
    """--foreground ml on a video is accepted but takes about a second a 720p frame: say what that means for this
    video before the user waits for it (nothing when the video cannot be read: convert_video says why)."""
    from .io.video import VideoReader

    try:
        info = VideoReader(video).info
    except HumansegError:
        return
    if not info.frames:
        return
    scale = info.width * info.height / (1280 * 720)
    minutes = info.frames * max(scale, 0.1) / 60
    warnings.warn(f"--foreground ml takes about a second a 720p frame: {info.frames} frames of {info.width}x"
                  f"{info.height} may take ~{minutes:.0f} minute(s); --foreground fast takes milliseconds a frame",
                  HumansegWarning, stacklevel=2)


def batch_args(p):
    p.add_argument("input", type=Path, help="a folder (every image and video below it) or a text file with one path "
                                            "a line (relative to the file's folder)")
    p.add_argument("output", type=Path, help="folder the input tree is mirrored into")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: a process pool on this machine (default); ray: Ray on this machine or a cluster "
                        "(pip install 'humanseg[batch]')")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="local: processes (default: CPUs, at most 8); ray: image actors and videos at once "
                        "(default: the cluster's CPUs / --cpus-per-actor)")
    p.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="ray: the cluster to join (auto: the one `ray start` made on this machine; default: "
                        "start a local Ray)")
    p.add_argument("--cpus-per-actor", type=positive_float, default=None,
                   help="ray: CPUs each actor and video task holds, also its model threads (default 1)")
    p.add_argument("--gpus-per-actor", type=non_negative_float, default=None,
                   help="ray: GPUs each actor and video task holds (default 0; fractions share a GPU)")
    p.add_argument("--manifest", type=Path, default=None,
                   help="JSON-lines record of every input, new each run (default: OUTPUT/manifest.jsonl); it "
                        "replaces an earlier manifest, never an input, an output or any other file")
    p.add_argument("--canvas-pixels", type=canvas_pixels, default=None, metavar="N",
                   help="pixels of the model canvas for adaptive models (default: the still-image budget for "
                        "images and the model's own for videos, as `image` and `video` use)")
    mirror_average_arg(p, "batch")
    photo_recipe_arg(p)


@command("batch", "a folder tree or a list of images and videos into a mirrored output folder, on a process pool "
         "or a Ray cluster: resumes (outputs made from the same input with the same settings are skipped), one "
         "bad file never stops the run, a JSON-lines manifest records every input; exit 1 when any failed",
         batch_args, model_args, effect_args, temporal_args, keep_partial_args)
def cmd_batch(a):
    from .api import PostProcess
    from .batch import BatchSettings, make_engine, run_batch

    post = PostProcess(threshold=a.threshold, gate=tuple(a.gate) if a.gate else None, keep_largest=a.keep_largest,
                       refine=a.refine, feather=a.feather)
    settings = BatchSettings(model=a.model, threads=a.threads, effect=_effect(a), postprocess=post,
                             canvas_pixels=a.canvas_pixels, mirror_average=mirror_average(a, "batch"),
                             photo_recipe=a.photo_recipe, temporal=a.temporal, keep_partial=a.keep_partial)
    engine = make_engine(a.engine, a.workers, a.address, a.cpus_per_actor, a.gpus_per_actor)
    summary = run_batch(a.input, a.output, settings, engine, a.manifest)
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


def webcam_args(p):
    p.add_argument("--camera", type=camera_index, default=0, help="camera index (default 0)")
    p.add_argument("--virtual-cam", action="store_true", help="send frames to a virtual camera (needs pyvirtualcam)")
    p.add_argument("--max-frames", type=non_negative_int, default=0, help="stop after N frames (0: until q or Ctrl-C)")
    p.add_argument("--preview", choices=["auto", "window", "browser", "none"], default="auto",
                   help="where to show the frames: an OpenCV window, a local browser page (MJPEG), or none "
                        "(with --virtual-cam); auto: a window if OpenCV can open one, else the browser (default)")
    p.add_argument("--preview-port", type=port_or_any, default=None,
                   help="port of the browser preview (default: any free port); with --preview auto it asks for the "
                        "browser page")


@command("webcam", "live background effect on a camera, shown in a window or a local browser page and/or "
         "sent to a virtual camera",
         webcam_args, model_args, canvas_args("video"), effect_args, temporal_args)
def cmd_webcam(a):
    from .io.webcam import run_webcam

    segmenter = _segmenter(a, "video", reuse_buffers=True)
    try:
        run_webcam(a.camera, _effect(a, "webcam"), segmenter, a.temporal, a.virtual_cam, a.max_frames,
                   a.preview, a.preview_port)
    except KeyboardInterrupt:   # the way to stop it (camera, preview and virtual camera are closed by then)
        print("humanseg: webcam stopped (Ctrl-C)", file=sys.stderr)
    return 0


@command("models", "list the shipped models with size and input shape (exit 2, after the list, when a shipped "
         "model's file is missing from the installation)")
def cmd_models(a):
    from .errors import ModelError
    from .weights import CATALOGUE
    from .runtime.session import ModelSession

    missing = []
    for name, entry in CATALOGUE.items():
        path = entry.file
        if not path.is_file():
            print(f"{name}\tmissing ({path})")
            missing.append(f"{name} ({path})")
            continue
        s = ModelSession(name, threads=1)
        arch = s.metadata.get("humanseg.architecture", "?")
        c = s.input_channels
        if s.adaptive:
            w, h = s.canvas(1280, 720)
            shape = (f"input 1x{c}xHxW, adaptive canvas of {s.canvas_pixels} pixels (sides multiple of {s.stride}; "
                     f"1x{c}x{h}x{w} for 16:9)")
        else:
            shape = (f"input 1x{c}x{s.short_side}x{s.long_side} (landscape) / 1x{c}x{s.long_side}x{s.short_side} "
                     f"(portrait)")
        print(f"{name}\t{arch}\t{path.stat().st_size / 1e6:.1f} MB\t{shape}\t{path}")
        print(f"  use: {entry.use}")
        if s.adaptive:
            from .runtime.segmenter import Segmenter

            budgets = Segmenter(name, threads=1, canvas_pixels="still").budgets()
            prior = (f", each run twice (the second time with {s.still_prior_weight:g} x the first output as the "
                     "previous mask)" if s.still_prior_weight else "")
            refine = (f", edges refined with a colour-guided filter of radius {s.still_refine:g} x the long side"
                      if s.still_refine else "")
            refine = (f", people filling under {s.still_zoom:g} of the photo segmented again close up"
                      if s.still_zoom else "") + refine
            print(f"  photos: canvas of {' and '.join(map(str, budgets))} pixels"
                  + (", the maps averaged" if len(budgets) > 1 else "") + prior + ", mirror-averaged" + refine
                  + f"; video: {s.canvas_pixels} pixels, one pass")
        print(f"  learned from: {entry.data_licences}")
        print(f"  model card: {entry.card}")
    if missing:
        sys.stdout.flush()   # the table first, then the one-line error
        raise ModelError(f"shipped model file(s) missing from the installation: {', '.join(missing)}; reinstall "
                         "humanseg")
    return 0


def eval_args(p):
    p.add_argument("--model", default="portrait", help="shipped model name or .onnx path")
    p.add_argument("--data", required=True, type=Path,
                   help="folder of <source>/images + masks; a mask is person above 127 (0/255), or above 0 when "
                        "its largest value is at most 127 (a 0/1 label map); one colour on transparency: its alpha")
    p.add_argument("--csv", type=Path, default=None,
                   help="also write per-image rows here (replaces an earlier eval's CSV, never an input or any "
                        "other file)")
    p.add_argument("--threads", type=positive_int, default=None)
    p.add_argument("--refine", type=non_negative_int, default=0,
                   help="score the map after guided-filter refinement of this radius in px, as the other commands' "
                        "--refine, instead of the model's own still recipe refinement if it has one (0: the "
                        "model's own map and recipe)")


@command("eval", "score an ONNX model on image/mask folders as `humanseg image` segments them (overall and per "
         "source); prints one JSON line", eval_args, canvas_args("still"))
def cmd_eval(a):
    from .evaluation.evaluate import evaluate
    from .runtime.postprocess import PostProcess

    print(json.dumps(evaluate(a.model, a.data, a.csv, a.threads, canvas_pixels=a.canvas_pixels or "still",
                              postprocess=PostProcess(refine=a.refine), mirror_average=mirror_average(a, "still"),
                              photo_recipe=a.photo_recipe)))
    return 0


def export_args(p):
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx path")
    p.add_argument("--int8", action="store_true", help="also write a static INT8 model next to it (<name>.int8.onnx)")
    p.add_argument("--calib", type=Path, default=None, help="folder of calibration images for --int8")
    p.add_argument("--canvas", choices=["adaptive", "fixed"], default=None,
                   help="canvas the runtime gives the model: adaptive (each frame's shape at the training "
                        "canvas's pixel budget) or fixed (the training canvas, letterboxed); default: the canvas "
                        "the checkpoint was trained on")
    p.add_argument("--still-scale", type=still_scales, default=None, metavar="S[,S...]",
                   help="adaptive models: canvas budget for still images as a multiple of the model's own, stored "
                        "in the ONNX metadata (measure it: humanseg eval --canvas-pixels N); several, comma-"
                        "separated (e.g. 1.25,2): photos are segmented at each and the maps averaged, the first "
                        "being the main one; default: the runtime's (2)")
    p.add_argument("--still-prior", type=probability, default=None, metavar="W",
                   help="models with the previous mask as input: segment still images twice, the second time with "
                        "W (0 < W <= 1) times the first output as the previous mask, stored in the ONNX metadata "
                        "(measure it: benchmarks/still_scales.py); default: one pass")
    p.add_argument("--still-refine", type=refine_fraction, default=None, metavar="F",
                   help="refine still images' maps with a colour-guided filter of radius F x the photo's long side "
                        "(0 < F <= 0.1), stored in the ONNX metadata (measure it: benchmarks/still_scales.py "
                        "--refine); default: none")
    p.add_argument("--still-zoom", type=zoom_share, default=None, metavar="A",
                   help="when everything called person in a still image fits in a box (plus a 20%% margin) under A "
                        "of the photo (0.005 < A <= 0.9), segment that box again and use its map there (small people "
                        "get the whole canvas), stored in the ONNX metadata; default: never")


@command("export", "export a training checkpoint to ONNX (needs humanseg[train])", export_args)
def cmd_export(a):
    from .training.export import calibration_images, export_checkpoint, quantize_int8

    if a.int8 and not a.calib:
        raise InputError("--int8 needs --calib DIR with a few representative images")
    if a.int8:
        calibration_images(a.calib)   # before the FP32 export: a wrong --calib writes nothing
    report = export_checkpoint(a.checkpoint, a.onnx, a.canvas, a.still_scale, a.still_prior, a.still_refine,
                               a.still_zoom)
    if a.int8:
        report.update(quantize_int8(a.onnx, a.onnx.with_suffix(".int8.onnx"), a.calib))
    print(json.dumps(report))
    return 0


def train_args(p):
    from .training.cli_train import add_train_arguments

    add_train_arguments(p)


@command("train", "train a model on image/mask folders (needs humanseg[train])", train_args)
def cmd_train(a):
    from .training.cli_train import config_from_args
    from .training.trainer import train

    try:
        train(config_from_args(a), resume=a.resume)
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from exc
    except KeyboardInterrupt:   # unlike the converters, training keeps what it wrote: its checkpoints
        print(f"humanseg: interrupted; the checkpoints written so far are in {a.out} (continue with --resume)",
              file=sys.stderr)
        return 130
    return 0


def serve_args(p):
    from .server.config import ServerConfig

    d = ServerConfig()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port_number, default=8000, help="TCP port, checked to be free before starting")
    p.add_argument("--model", default=d.model, help="default model: a shipped name, or an .onnx file served under "
                                                    "its file name's stem")
    p.add_argument("--workers", type=positive_int, default=d.workers, help="inference threads (1 or more)")
    p.add_argument("--queue", type=non_negative_int, default=d.queue,
                   help="requests that may wait for a worker; more get 503")
    p.add_argument("--max-upload-mb", type=positive_float, default=d.max_upload_bytes / 2**20)
    p.add_argument("--max-pixels", type=positive_int, default=d.max_pixels)


@command("serve", "HTTP service: POST /v1/segment, GET /v1/models, /healthz, docs at /docs (needs humanseg[serve])",
         serve_args, canvas_args("still"))
def cmd_serve(a):
    import uvicorn

    from .server.app import create_app
    from .server.config import ServerConfig

    check_port_free(a.host, a.port)
    app = create_app(ServerConfig(model=a.model, workers=a.workers, queue=a.queue,
                                  max_upload_bytes=int(a.max_upload_mb * 2**20), max_pixels=a.max_pixels,
                                  canvas_pixels=a.canvas_pixels, mirror_average=mirror_average(a, "still"),
                                  photo_recipe=a.photo_recipe))
    print(f"humanseg serving on http://{a.host}:{a.port} (docs: /docs)", flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def check_port_free(host: str, port: int) -> None:
    """Raise InputError when host:port cannot be listened on (bind a socket the way uvicorn does, then close it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: not an address of this machine ({exc.strerror})") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "is in use" if exc.errno == errno.EADDRINUSE else "needs more privileges"
                raise InputError(f"port {port} {reason}; pick another with --port") from exc
            raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); check --host") from exc


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = OneLineParser(prog="humanseg", description="Human segmentation: cut out, blur or replace backgrounds.")
    parser.add_argument("--version", action="version", version=f"humanseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    commands = parser.commands = {}
    for name, (fn, help_text, groups) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        for group in groups:
            group(p)
        p.set_defaults(func=fn)
        commands[name] = p
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return int(args.func(args) or 0)
    except HumansegError as exc:
        print(f"humanseg: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"humanseg: error: {exc.name or exc} is not installed; `{args.command}` needs it: "
              f"{install_hint(exc.name, args.command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("humanseg: interrupted; nothing half-written was left (outputs finished before it are kept)", file=sys.stderr)
        return 130
    except BrokenPipeError:     # the reader of stdout went away (`humanseg models | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # so the exit flush cannot fail again
        return 141
