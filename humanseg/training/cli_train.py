"""Arguments of `humanseg train` (kept beside the config they fill)."""
from __future__ import annotations

import argparse
import json

from ..errors import OptionError
from .config import TrainConfig


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--model", default=d.model,
                   help="architecture from humanseg.training.models.MODELS: pphumanseg-lite, pphumanseg-v2, "
                        "deeplabv3p-mbv2, fast-portrait, fast-portrait-prior, fast-portrait-prior-wide (+ context from "
                        "1/32 and 1/64; grows from a fast-portrait-prior file), fast-portrait-prior-lean (no squeeze-excite "
                        "or context gate: faster; grow it with tools/fold_gates.py) or fast-portrait-matte "
                        "(default: %(default)s)")
    p.add_argument("--model-kwargs", default="{}", help='JSON keyword arguments for the model, e.g. \'{"width": 0.5}\'')
    p.add_argument("--data", default=d.data, help="folder with train/ and val/ (<source>/images + masks) and optional backgrounds/")
    p.add_argument("--out", default=d.out, help="run folder: checkpoints, log.csv, log.png")
    p.add_argument("--size", default=f"{d.size[0]}x{d.size[1]}", help="canvas long x short side, e.g. 256x144")
    p.add_argument("--canvas", choices=["fixed", "adaptive"], default=d.canvas,
                   help="fixed: --size landscape/portrait; adaptive: the runtime's aspect-adaptive canvas with "
                        "--size's pixel budget (default: %(default)s)")
    p.add_argument("--stride", type=int, default=d.stride, help="adaptive canvas sides are multiples of this")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--warmup-epochs", type=float, default=d.warmup_epochs)
    p.add_argument("--losses", default=json.dumps(d.losses), help='JSON weights, e.g. \'{"ce": 0.8, "lovasz": 0.2, "scl": 0.5}\'')
    p.add_argument("--class-weights", default=None, help="JSON list, e.g. [1.0, 2.0]")
    p.add_argument("--synth-prob", type=float, default=d.synth_prob, help="share of samples pasted onto a new background")
    p.add_argument("--webcam-prob", type=float, default=d.webcam_prob,
                   help="share of pasted samples cut to head and shoulders (doubled on landscape canvases)")
    p.add_argument("--quarter-turn-prob", type=float, default=d.quarter_turn_prob,
                   help="share of photos turned by 90 degrees either way, for people lying down or sideways "
                        "shots (default: %(default)s)")
    p.add_argument("--side-cut-prob", type=float, default=d.side_cut_prob,
                   help="share of photos zoomed in and pushed 20-40%% of the width sideways, so the frame's side edge "
                        "cuts through the person, as a face half out of a webcam frame (default: %(default)s)")
    p.add_argument("--keep-bottom-prob", type=float, default=d.keep_bottom_prob,
                   help="of the photos that cut the person off at the bottom (close portraits), share placed so the "
                        "photo's bottom edge stays on the canvas bottom, as the runtime shows them, instead of a "
                        "random shift or zoom-out leaving padding under the cut body (default: %(default)s)")
    p.add_argument("--small-person-prob", type=float, default=d.small_person_prob,
                   help="share of whole pasted people placed small, 12-40%% of the canvas height, as people in "
                        "street scenes (default: %(default)s)")
    p.add_argument("--self-prior-prob", type=float, default=d.self_prior_prob,
                   help="models with the previous mask as input: share of samples whose previous mask is the "
                        "network's own map (times 0.4-1) instead of a synthetic one, as at run time "
                        "(default: %(default)s)")
    p.add_argument("--budget-scale", default=",".join(f"{v:g}" for v in d.budget_scale),
                   help="adaptive canvas: each batch's pixel budget times a factor drawn from LOW,HIGH, e.g. 1,1.56 "
                        "to train for photos, which are segmented at 1.25x the video budget (default: %(default)s)")
    p.add_argument("--pseudo-share", type=float, default=d.pseudo_share,
                   help="share of each batch drawn from <data>/pseudo (teacher labels only; 0: none)")
    p.add_argument("--clip-share", type=float, default=d.clip_share,
                   help="share of each batch from video frames with teacher labels (real previous-frame masks)")
    p.add_argument("--hold-out-clips", default="",
                   help="comma-separated clip names (file stems, e.g. lp_d11) kept out of training for evaluation; "
                        "a name that is not a clip under <data>/pseudo is refused")
    p.add_argument("--distill-weight", type=float, default=d.distill_weight,
                   help="weight of the BCE to the mean teacher label (0: no distillation)")
    p.add_argument("--teacher-model", default=d.teacher_model,
                   help="a trained checkpoint (.pt, same number of input channels) whose person probability on each "
                        "augmented batch is a further distillation target, e.g. the gated model a "
                        "fast-portrait-prior-lean was folded from")
    p.add_argument("--teacher-model-weight", type=float, default=d.teacher_model_weight,
                   help="weight of the BCE to --teacher-model's probability (default: %(default)s)")
    p.add_argument("--teacher-gate", action="store_true",
                   help="photos with a human mask: where the teacher label differs from the mask by 0.5 or more "
                        "(bystanders the mask leaves out, teacher errors) distil towards the mask instead")
    p.add_argument("--matting-losses", default=json.dumps(d.matting_losses),
                   help="matting models: JSON weights of the alpha losses l1, mse, comp, grad, lap (default: %(default)s)")
    p.add_argument("--matting-seg-weight", type=float, default=d.matting_seg_weight,
                   help="matting models: weight of the segmentation losses (--losses + distillation); "
                        "default: %(default)s")
    p.add_argument("--freeze", default="",
                   help="comma-separated top-level parts of the model kept fixed, weights and batch-norm statistics "
                        "(e.g. encoder,context,ups,head: train only a matting model's detail head on a frozen "
                        "segmentation network)")
    p.add_argument("--store-size", type=int, default=d.store_size,
                   help="images live on the device letterboxed into SIZE x SIZE uint8 slots")
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch, help="0: training images // batch size")
    p.add_argument("--cache", default=d.cache, help="folder to cache the decoded dataset in (reused when unchanged)")
    p.add_argument("--workers", type=int, default=d.workers, help="threads that decode the dataset at start")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("--empty-prob", type=float, default=d.empty_prob,
                   help="of the samples pasted onto a background, share shown without the person: an empty scene "
                        "whose target is background everywhere (teaches the network not to find a person in "
                        "wallpapers and walls)")
    p.add_argument("--hard-share", type=float, default=d.hard_share,
                   help="share of each batch's labelled photos drawn in proportion to their recent loss (photos the "
                        "network still gets wrong come back more often; capped at 4x the mean); 0: uniform")
    p.add_argument("--source-weights", default="",
                   help="draw weights of the labelled photos by source folder, e.g. vikram_humanseg=3 (a source's "
                        "photos come up 3x as often as one of weight 1; sources not named: 1); default: uniform")
    p.add_argument("--hold-out-backgrounds", type=float, default=d.hold_out_backgrounds,
                   help="share of <data>/backgrounds left out of training, chosen by file name, so that "
                        "benchmarks/empty_scenes.py can measure false positives on unseen scenes")
    p.add_argument("--no-amp", action="store_true", help="on CUDA, train in float32 instead of bfloat16 autocast")
    p.add_argument("--limit-train", type=int, default=d.limit_train)
    p.add_argument("--max-minutes", type=float, default=d.max_minutes)
    p.add_argument("--val-every", type=int, default=d.val_every, help="validate every N epochs (and after the last)")
    p.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes,
                   help="write <out>/last.pt at least this often (and at every validation); default: %(default)s")
    p.add_argument("--init", default="", help="start from the weights of a checkpoint (.pt) or of a humanseg ONNX "
                   "export of the same architecture, e.g. humanseg/weights/portrait.onnx (cumulative training)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <out>/last.pt (same --model and --model-kwargs); without it, an --out that "
                        "holds an earlier run's checkpoints is refused rather than overwritten")


def _json(option: str, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OptionError(f"{option}: not valid JSON ({exc.msg} at character {exc.pos + 1}): {text}") from None


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise OptionError(f"--size: expected LONGxSHORT in pixels, e.g. 256x144, got {text!r}")
    long_side, short_side = (int(p) for p in parts)
    return long_side, short_side


def _pair(option: str, text: str) -> tuple[float, float]:
    try:
        low, high = (float(p) for p in text.split(","))
    except ValueError:
        raise OptionError(f"{option}: expected LOW,HIGH, e.g. 1,1.56, got {text!r}") from None
    return low, high


def _source_weights(text: str) -> dict:
    """--source-weights SOURCE=W[,SOURCE=W...] as {source: weight}; OptionError (one line) when it does not parse."""
    weights = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = None
        if not eq or not name.strip() or weight is None:
            raise OptionError(f"--source-weights: expected SOURCE=WEIGHT[,SOURCE=WEIGHT...], e.g. vikram_humanseg=3, "
                              f"got {part!r}")
        if name.strip() in weights:
            raise OptionError(f"--source-weights: {name.strip()} given twice")
        weights[name.strip()] = weight
    return weights


def config_from_args(a: argparse.Namespace) -> TrainConfig:
    """The config the arguments ask for; OptionError (one line) for a --size or JSON option that does not parse."""
    return TrainConfig(
        model=a.model, model_kwargs=_json("--model-kwargs", a.model_kwargs), data=a.data, out=a.out,
        size=_size(a.size), epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
        weight_decay=a.weight_decay, warmup_epochs=a.warmup_epochs, losses=_json("--losses", a.losses),
        class_weights=_json("--class-weights", a.class_weights) if a.class_weights else None, synth_prob=a.synth_prob,
        canvas=a.canvas, stride=a.stride, clip_share=a.clip_share,
        hold_out_clips=[c.strip() for c in a.hold_out_clips.split(",") if c.strip()],
        webcam_prob=a.webcam_prob, quarter_turn_prob=a.quarter_turn_prob,
        small_person_prob=a.small_person_prob, side_cut_prob=a.side_cut_prob, keep_bottom_prob=a.keep_bottom_prob, self_prior_prob=a.self_prior_prob, budget_scale=_pair("--budget-scale", a.budget_scale), pseudo_share=a.pseudo_share, distill_weight=a.distill_weight,
        teacher_model=a.teacher_model, teacher_model_weight=a.teacher_model_weight,
        teacher_gate=a.teacher_gate, empty_prob=a.empty_prob, hard_share=a.hard_share,
        source_weights=_source_weights(a.source_weights), hold_out_backgrounds=a.hold_out_backgrounds,
        matting_losses=_json("--matting-losses", a.matting_losses), matting_seg_weight=a.matting_seg_weight,
        freeze=[c.strip() for c in a.freeze.split(",") if c.strip()],
        store_size=a.store_size, steps_per_epoch=a.steps_per_epoch, cache=a.cache, workers=a.workers, seed=a.seed, device=a.device, amp=not a.no_amp, limit_train=a.limit_train, max_minutes=a.max_minutes,
        val_every=a.val_every, checkpoint_minutes=a.checkpoint_minutes, init=a.init)
