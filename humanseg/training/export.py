"""Checkpoint -> ONNX (opset 17, dynamic batch/height/width), parity-checked, simplified;
optional static INT8 quantisation with ONNX Runtime."""
from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..errors import InputError, ModelError, OutputError
from ..io.images import atomic_write_bytes, is_same_path
from ..runtime.postprocess import MAX_REFINE_FRACTION
from ..runtime.zoom import MAX_ZOOM_SHARE, MIN_ZOOM_SHARE
from .checkpoint_file import read_checkpoint
from .models import create_model, input_channels

PARITY_TOLERANCE = 1e-3  # max abs difference of logits between PyTorch and ONNX Runtime
DEFAULT_STRIDE = 16      # adaptive canvas sides are multiples of this (training's default too)


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """Returns (model in eval mode, checkpoint dict without weights)."""
    path = Path(path)
    state = read_checkpoint(path)
    try:
        model = create_model(state["model"], **state.get("model_kwargs", {}))
        model.load_state_dict(state["state_dict"])
    except (KeyError, RuntimeError, TypeError) as exc:  # weights or kwargs that do not fit the named model
        raise ModelError(f"{path}: not a humanseg checkpoint ({exc.__class__.__name__})") from exc
    model.eval()
    return model, {k: v for k, v in state.items() if k not in ("state_dict", "optimizer")}


def _canvas(info: dict) -> tuple[int, int]:
    size = info.get("config", {}).get("size", (256, 144))
    return max(size), min(size)


def _canvas_mode(info: dict) -> tuple[bool, int]:
    """(adaptive, stride) of the canvas the checkpoint was trained on (config "canvas"; older
    checkpoints have none and were trained on the fixed letterbox)."""
    config = info.get("config", {})
    return config.get("canvas", "fixed") == "adaptive", int(config.get("stride", DEFAULT_STRIDE))


def canvas_metadata(model: torch.nn.Module, canvas: tuple[int, int], adaptive: bool = True,
                    stride: int = DEFAULT_STRIDE) -> dict[str, str]:
    """What the runtime (runtime/session.py) reads: the canvas, its pixel budget and stride for an
    adaptive model (none: a legacy fixed canvas), and the number of input channels."""
    meta = {"humanseg.canvas": f"{canvas[0]}x{canvas[1]}", "humanseg.input_channels": str(input_channels(model))}
    if adaptive:
        meta.update({"humanseg.canvas_pixels": str(canvas[0] * canvas[1]), "humanseg.stride": str(stride)})
    return meta


def onnx_bytes(model: torch.nn.Module, canvas: tuple[int, int], metadata: dict, adaptive: bool = True,
               stride: int = DEFAULT_STRIDE) -> bytes:
    """The model as a serialised ONNX file. Input 'image' NxCxHxW: RGB [-1, 1] (+ for C = 4 the previous
    person probability in [0, 1]); output 'logits' Nx2xHxW. canvas: (long, short) side of the training
    canvas; adaptive: the model was trained on runtime.canvas.adaptive_canvas at that many pixels (else on
    the fixed landscape/portrait letterbox)."""
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, torch.zeros(1, input_channels(model), canvas[1], canvas[0]), str(raw), opset_version=17,
                              input_names=["image"], output_names=["logits"], dynamo=False,
                              dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                            "logits": {0: "batch", 2: "height", 3: "width"}})
        proto = onnx.load(str(raw))
    try:
        import onnxslim

        proto = onnxslim.slim(proto)
    except ImportError:
        pass
    meta = {**canvas_metadata(model, canvas, adaptive, stride),
            "humanseg.input": "RGB NCHW float32 in [-1, 1]" + (
                ", channel 4: previous frame's person probability in [0, 1] (zeros: none)"
                if input_channels(model) == 4 else ""),
            "humanseg.output": "2-class logits NCHW, channel 1 = person"}
    meta.update({f"humanseg.{k}": (v if isinstance(v, str) else json.dumps(v)) for k, v in metadata.items()})
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    return proto.SerializeToString()


def _make_parent(out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:   # a file where a folder of the path should be, no permission
        blocking = next((p for p in out.parents if p.is_file()), None)
        raise OutputError(f"{out}: {blocking} is a file, not a folder" if blocking else
                          f"{out}: cannot make its folder ({exc.strerror or exc})") from None


def export_onnx(model: torch.nn.Module, out: Path, canvas: tuple[int, int], metadata: dict, adaptive: bool = True,
                stride: int = DEFAULT_STRIDE) -> None:
    """Write model as ONNX to `out` (atomically; `onnx_bytes` says what the file holds)."""
    out = Path(out)
    _make_parent(out)
    atomic_write_bytes(out, onnx_bytes(model, canvas, metadata, adaptive, stride))


def parity(model: torch.nn.Module, onnx_model: Path | bytes, sizes=((144, 256), (256, 144), (97, 131))) -> float:
    """Max abs logit difference between PyTorch and ONNX Runtime (a file or its bytes) over a few input sizes
    (batch 2)."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_model if isinstance(onnx_model, bytes) else str(onnx_model),
                                   providers=["CPUExecutionProvider"])
    worst = 0.0
    gen = torch.Generator().manual_seed(0)
    for h, w in sizes:
        x = torch.rand(2, 3, h, w, generator=gen) * 2 - 1
        if input_channels(model) == 4:  # + the previous frame's person probability in [0, 1]
            x = torch.cat([x, torch.rand(2, 1, h, w, generator=gen)], 1)
        with torch.no_grad():
            ref = model(x).numpy()
        got = session.run(None, {"image": x.numpy()})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def _still_metadata(scales: list[float]) -> dict[str, str]:
    from ..runtime.budget import still_scales_problem

    if not scales:
        return {}
    if still_scales_problem(scales):
        raise InputError(f"still scales {scales}: {still_scales_problem(scales)}")
    meta = {"still_budget_scale": str(scales[0])}
    if len(scales) > 1:
        meta["still_budget_scales"] = ",".join(str(v) for v in scales)
    return meta


def export_checkpoint(ckpt: str | Path, out: str | Path, canvas_mode: str | None = None,
                      still_scale: float | Sequence[float] | None = None, still_prior: float | None = None,
                      still_refine: float | None = None, still_zoom: float | None = None) -> dict:
    """Export, check parity, return a report dict (printed by the CLI).

    canvas_mode: "adaptive" or "fixed" metadata; None: what the checkpoint was trained with.
    still_scale: adaptive models: the still-image budget as a multiple of the model's own
    (metadata humanseg.still_budget_scale); None: the runtime's default (runtime/budget.py). Several
    (a sequence): a still image is segmented at each budget and the maps averaged; the first is the
    main one (metadata humanseg.still_budget_scales, runtime/session.py).
    still_prior: 4-channel models: segment stills twice, the second time with this weight (0, 1] times
    the first output as the previous mask (metadata humanseg.still_prior_weight).
    still_refine: refine still maps with a colour-guided filter of this radius, a fraction (0, 0.1] of the
    photo's long side (metadata humanseg.still_refine).
    still_zoom: when everything called person in a still fits in a box (plus a margin) under this share of
    the photo, segment that box again (metadata humanseg.still_zoom, runtime/zoom.py).
    """
    scales = [float(still_scale)] if isinstance(still_scale, (int, float)) else [float(v) for v in still_scale or ()]
    if is_same_path(ckpt, out):
        raise OutputError(f"{out}: is the checkpoint being exported; give --onnx another path so the checkpoint is kept")
    if Path(out).is_dir():   # said before the export and its parity check, not as a write failure after them
        raise OutputError(f"{out}: is a folder; give --onnx a file path, e.g. {Path(out) / 'model.onnx'}")
    model, info = load_checkpoint(ckpt)
    if still_prior is not None and not (input_channels(model) == 4 and 0 < still_prior <= 1):
        raise InputError(f"--still-prior {still_prior}: needs a model with the previous mask as input (4 channels, "
                         f"this one has {input_channels(model)}) and a weight in (0, 1]")
    if still_refine is not None and not 0 < still_refine <= MAX_REFINE_FRACTION:
        raise InputError(f"--still-refine {still_refine}: give a fraction of the photo's long side in "
                         f"(0, {MAX_REFINE_FRACTION}]")
    if still_zoom is not None and not MIN_ZOOM_SHARE < still_zoom <= MAX_ZOOM_SHARE:
        raise InputError(f"--still-zoom {still_zoom}: give a share of the photo in ({MIN_ZOOM_SHARE}, {MAX_ZOOM_SHARE}]")
    canvas = _canvas(info)
    adaptive, stride = _canvas_mode(info)
    if canvas_mode is not None:
        adaptive = canvas_mode == "adaptive"
    out = Path(out)
    data = onnx_bytes(model, canvas, {"architecture": info["model"], "model_kwargs": info.get("model_kwargs", {}),
                                      "training_samples": str(info.get("training_samples", 0)),
                                      "training_runs": info.get("training_runs", []),
                                      **(_still_metadata(scales) if adaptive else {}),
                                      **({"still_prior_weight": str(still_prior)} if still_prior else {}),
                                      **({"still_refine": str(still_refine)} if still_refine else {}),
                                      **({"still_zoom": str(still_zoom)} if still_zoom else {})},
                      adaptive, stride)
    diff = parity(model, data)   # before writing: a file at `out` is replaced only by a model that passed
    if diff > PARITY_TOLERANCE:
        raise ModelError(f"ONNX output differs from PyTorch by {diff:.2e} (> {PARITY_TOLERANCE}); nothing written")
    _make_parent(out)
    atomic_write_bytes(out, data)
    report = {"onnx": str(out), "bytes": out.stat().st_size, "parity_max_abs_diff": diff,
              "canvas": f"{canvas[0]}x{canvas[1]}", "input_channels": input_channels(model)}
    if adaptive:
        report.update(canvas_pixels=canvas[0] * canvas[1], stride=stride)
        if scales:
            report.update(still_budget_scale=scales[0], **({"still_budget_scales": scales} if len(scales) > 1 else {}))
    if still_prior:
        report.update(still_prior_weight=still_prior)
    if still_refine:
        report.update(still_refine=still_refine)
    if still_zoom:
        report.update(still_zoom=still_zoom)
    return report


class _LetterboxCalibration:
    """Feeds calibration images to ONNX Runtime's static quantiser, prepared as the runtime prepares a
    still image for this model (its canvas, adaptive or fixed, at the model's own budget; an all-zero
    previous mask for 4-channel models)."""

    def __init__(self, model: Path, images: list[Path], limit: int = 64):
        from ..io.images import read_image
        from ..runtime.preprocess import model_input
        from ..runtime.segmenter import Segmenter

        segmenter = Segmenter(model, providers=["CPUExecutionProvider"])
        self.batches = []
        for path in images[:limit]:
            canvas, _ = segmenter.canvas_input(read_image(path))
            self.batches.append({segmenter.session.input_name: model_input(canvas, segmenter.input_channels)})
        self.iter = iter(self.batches)

    def get_next(self):
        return next(self.iter, None)

    def rewind(self):
        self.iter = iter(self.batches)


def calibration_images(calib_dir: Path) -> list[Path]:
    """The images of a calibration folder (any depth, masks/ left out); InputError when there are none."""
    from .data.folders import find_images

    images = [p for p in find_images(Path(calib_dir)) if "masks" not in p.parts]
    if not images:
        raise InputError(f"{calib_dir}: no calibration images found")
    return images


def quantize_int8(fp32: Path, out: Path, calib_dir: Path) -> dict:
    """Static INT8 (QDQ, per-channel weights) from calibration images; returns size and speed."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    import onnx

    from .data.folders import find_pairs

    images = calibration_images(calib_dir)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        part = Path(tmp) / "int8.onnx"
        meta = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
        quantize_static(str(pre), str(part), _LetterboxCalibration(fp32, images), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        proto = onnx.load(str(part))
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    _make_parent(out)
    atomic_write_bytes(out, proto.SerializeToString())   # beside `out`: the temporary folder may be another disk
    report = {"int8": str(out), "int8_bytes": out.stat().st_size, "fp32_bytes": fp32.stat().st_size,
              "fp32_ms": _model_ms(fp32), "int8_ms": _model_ms(out), "calibration_images": min(len(images), 64)}
    if find_pairs(calib_dir):  # the calibration folder has masks: report the mIoU change on it
        from ..evaluation.evaluate import evaluate

        report["fp32_miou"] = evaluate(fp32, calib_dir)["miou"]
        report["int8_miou"] = evaluate(out, calib_dir)["miou"]
        report["miou_change"] = round(report["int8_miou"] - report["fp32_miou"], 5)
    else:
        report["miou_change"] = "not measured: the calibration folder has no <source>/masks"
    return report


def _model_ms(path: Path, runs: int = 50) -> float:
    """Median ms of the network alone on the canvas of a 1280x720 frame (all its input channels)."""
    from ..runtime.session import ModelSession

    session = ModelSession(path, ["CPUExecutionProvider"])
    w, h = session.canvas(1280, 720)
    x = np.zeros((1, session.input_channels, h, w), np.float32)
    for _ in range(5):
        session.run(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(x)
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1e3, 3)
