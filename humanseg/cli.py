"""`humanseg` command line: one command, sub-commands mirroring the Python API (same names, same defaults)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import HumansegError, InputError

COMMANDS: dict[str, tuple] = {}


def command(name: str, help_text: str, *arg_groups):
    def register(fn):
        COMMANDS[name] = (fn, help_text, arg_groups)
        return fn
    return register


# ---- argument groups shared by several commands -------------------------------------------------

def model_args(p):
    p.add_argument("--model", default="portrait", help="shipped model name or path to an .onnx file (default: portrait)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: cores, at most 4)")


def effect_args(p):
    p.add_argument("--bg", default="blur",
                   help="blur | color:#RRGGBB | transparent | mask | overlay | PATH to an image or video (default: blur)")
    p.add_argument("--blur-strength", type=float, default=3.0, help="blur sigma in %% of the short side (default 3)")
    p.add_argument("--comments", nargs="+", default=None, help="texts that scroll behind the person")
    p.add_argument("--threshold", type=float, default=None, help="hard mask at this level (default: soft edges)")
    p.add_argument("--gate", type=int, nargs=2, metavar=("ERODE", "DILATE"), default=None,
                   help="morphological gate: erode/dilate radii in px")
    p.add_argument("--keep-largest", action="store_true", help="keep only the largest person region")
    p.add_argument("--refine", type=int, default=0, help="guided-filter edge refinement radius in px (0: off)")
    p.add_argument("--feather", type=float, default=0.0, help="Gaussian edge feathering sigma in px (0: off)")


def temporal_args(p):
    p.add_argument("--temporal", choices=["flow", "ema", "none"], default="flow",
                   help="temporal smoothing between frames (default: flow)")


def io_args(p):
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)


def _segmenter(a):
    from .api import PostProcess, Segmenter

    post = PostProcess(threshold=a.threshold, gate=tuple(a.gate) if a.gate else None, keep_largest=a.keep_largest,
                       refine=a.refine, feather=a.feather)
    return Segmenter(a.model, threads=a.threads, postprocess=post)


def _effect(a):
    from .effects import effect_from_spec

    return effect_from_spec(a.bg, a.blur_strength, a.comments)


# ---- commands ------------------------------------------------------------------------------------

@command("image", "segment an image file or a folder of images (resumes: finished outputs are skipped)",
         io_args, model_args, effect_args)
def cmd_image(a):
    from .api import convert_folder, convert_image

    effect = _effect(a)
    if a.input.is_dir():
        result = convert_folder(a.input, a.output, effect, _segmenter(a))
        for line in result["failed"]:
            print(f"humanseg: skipped: {line}", file=sys.stderr)
        print(json.dumps({k: (len(v) if k == "failed" else v) for k, v in result.items()}))
        return 1 if result["failed"] else 0
    print(convert_image(a.input, a.output, effect, _segmenter(a)))
    return 0


@command("video", "blur/replace the background of a video file (audio, frame rate and frame count kept)",
         io_args, model_args, effect_args, temporal_args)
def cmd_video(a):
    from .api import convert_video

    result = convert_video(a.input, a.output, _effect(a), _segmenter(a), temporal=a.temporal)
    print(f"{result['output']} ({result['frames']} frames{', audio copied' if result['audio_copied'] else ''})")
    return 0


def webcam_args(p):
    p.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    p.add_argument("--virtual-cam", action="store_true", help="send frames to a virtual camera (needs pyvirtualcam)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: until q or Ctrl-C)")


@command("webcam", "live background effect on a camera, in a window and/or a virtual camera",
         webcam_args, model_args, effect_args, temporal_args)
def cmd_webcam(a):
    from .io.webcam import run_webcam

    run_webcam(a.camera, _effect(a), _segmenter(a), a.temporal, a.virtual_cam, a.max_frames)
    return 0


@command("models", "list the shipped models with size and input shape")
def cmd_models(a):
    from .weights import SHIPPED
    from .runtime.session import ModelSession

    for name, path in SHIPPED.items():
        if not path.is_file():
            print(f"{name}\tmissing ({path})")
            continue
        s = ModelSession(name, threads=1)
        arch = s.metadata.get("humanseg.architecture", "?")
        print(f"{name}\t{arch}\t{path.stat().st_size / 1e6:.1f} MB\tinput 1x3x{s.short_side}x{s.long_side} "
              f"(landscape) / 1x3x{s.long_side}x{s.short_side} (portrait)\t{path}")
    return 0


def eval_args(p):
    p.add_argument("--model", default="portrait", help="shipped model name or .onnx path")
    p.add_argument("--data", required=True, type=Path, help="folder of <source>/images + masks")
    p.add_argument("--csv", type=Path, default=None, help="also write per-image rows here")
    p.add_argument("--threads", type=int, default=None)


@command("eval", "score an ONNX model on image/mask folders; prints one JSON line", eval_args)
def cmd_eval(a):
    from .evaluation.evaluate import evaluate

    print(json.dumps(evaluate(a.model, a.data, a.csv, a.threads)))
    return 0


def export_args(p):
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--onnx", type=Path, required=True, help="output .onnx path")
    p.add_argument("--int8", action="store_true", help="also write a static INT8 model next to it (<name>.int8.onnx)")
    p.add_argument("--calib", type=Path, default=None, help="folder of calibration images for --int8")


@command("export", "export a training checkpoint to ONNX (needs humanseg[train])", export_args)
def cmd_export(a):
    from .training.export import export_checkpoint, quantize_int8

    if a.int8 and not a.calib:
        raise InputError("--int8 needs --calib DIR with a few representative images")
    report = export_checkpoint(a.checkpoint, a.onnx)
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
    return 0


def serve_args(p):
    from .server.config import ServerConfig

    d = ServerConfig()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default=d.model, help="default model (shipped name)")
    p.add_argument("--workers", type=int, default=d.workers, help="inference threads")
    p.add_argument("--queue", type=int, default=d.queue, help="requests that may wait for a worker; more get 503")
    p.add_argument("--max-upload-mb", type=float, default=d.max_upload_bytes / 2**20)
    p.add_argument("--max-pixels", type=int, default=d.max_pixels)


@command("serve", "HTTP service: POST /v1/segment, GET /v1/models, /healthz, docs at /docs (needs humanseg[serve])",
         serve_args)
def cmd_serve(a):
    import uvicorn

    from .server.app import create_app
    from .server.config import ServerConfig

    app = create_app(ServerConfig(model=a.model, workers=a.workers, queue=a.queue,
                                  max_upload_bytes=int(a.max_upload_mb * 2**20), max_pixels=a.max_pixels))
    print(f"humanseg serving on http://{a.host}:{a.port} (docs: /docs)", flush=True)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="humanseg", description="Human segmentation: cut out, blur or replace backgrounds.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (fn, help_text, groups) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        for group in groups:
            group(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HumansegError as exc:
        print(f"humanseg: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        extra = "serve" if args.command == "serve" else "train"
        print(f"humanseg: error: {exc.name or exc} is not installed; `{args.command}` needs "
              f"`pip install 'humanseg[{extra}]'`", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("humanseg: interrupted; no partial output was kept", file=sys.stderr)
        return 130
