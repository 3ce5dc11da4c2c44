"""Training configuration: one dataclass, saved inside every checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class TrainConfig:
    model: str = "pphumanseg-v2"
    model_kwargs: dict = field(default_factory=dict)
    data: str = "../shared/data"          # holds train/ and val/ (each <source>/{images,masks}) and optional backgrounds/
    out: str = "runs/portrait"
    size: tuple[int, int] = (256, 144)   # long x short side: the canvas (fixed) or its pixel budget (adaptive)
    canvas: str = "fixed"                # fixed: landscape/portrait long x short; adaptive: runtime.canvas per batch
    stride: int = 16                     # adaptive canvas sides are multiples of this
    epochs: int = 100
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 2.0
    losses: dict = field(default_factory=lambda: {"ce": 0.8, "lovasz": 0.2})
    class_weights: list | None = None
    synth_prob: float = 0.5              # share of samples pasted onto a new background
    webcam_prob: float = 0.5             # of those, share cut to head and shoulders (doubled on landscape canvases)
    quarter_turn_prob: float = 0.0       # share of photos turned 90 degrees (people lying down); 0: none
    small_person_prob: float = 0.0       # of whole pasted people, share placed small (12-40% of the canvas height)
    side_cut_prob: float = 0.0           # share of photos zoomed in and pushed sideways so a side edge cuts the person
    keep_bottom_prob: float = 0.0        # of photos that cut the person off at the bottom, share whose bottom edge
                                         # stays on the canvas bottom (no padding below the cut body)
    empty_prob: float = 0.0              # of pasted samples, share shown without the person: a people-free
                                         # scene whose target is background everywhere
    hard_share: float = 0.0              # share of the labelled samples drawn by each photo's recent loss
                                         # (hard_examples.py); 0: all uniform
    source_weights: dict = field(default_factory=dict)  # {train source folder: draw weight} for the labelled
                                         # photos (sources not named: 1), e.g. to draw a small source more often
    hold_out_backgrounds: float = 0.0    # share of <data>/backgrounds left out of training (chosen by file
                                         # name, see data/sources.py), so empty scenes can be measured on them
    budget_scale: tuple[float, float] = (1.0, 1.0)  # adaptive canvas: each batch's pixel budget x a factor drawn
                                         # in this range (photos are segmented at 1.25x the video budget)
    self_prior_prob: float = 0.0         # 4-channel models: share of samples whose previous mask is the network's
                                         # own map (x 0.4-1) instead of a synthetic one (training/self_prior.py)
    pseudo_share: float = 0.25           # share of each batch from <data>/pseudo (teacher labels only); 0: none
    clip_share: float = 0.0              # share of each batch from <data>/pseudo/**/videos frames (real previous masks)
    hold_out_clips: list[str] = field(default_factory=list)  # clip stems left out of training (kept for evaluation)
    distill_weight: float = 0.5          # weight of BCE to the mean teacher label (0: no distillation)
    teacher_model: str = ""              # a trained checkpoint (.pt) whose probability on each batch is a further
                                         # distillation target (training/model_teacher.py); "": none
    teacher_model_weight: float = 1.0    # weight of BCE to that network's probability
    teacher_gate: bool = False           # photos with a human mask: where the teacher differs from it by 0.5 or
                                         # more (bystanders, teacher errors) the distillation target is the mask
    matting_losses: dict = field(default_factory=lambda: {"l1": 1.0, "comp": 0.5, "grad": 0.5, "lap": 1.0})
                                         # matting models only (losses/matting.py), on alpha vs the alpha target
    matting_seg_weight: float = 0.25     # matting models: the segmentation losses above (GT + distillation) x this
    freeze: list[str] = field(default_factory=list)  # top-level model parts kept fixed (weights and BN statistics)
    store_size: int = 320                # images are kept on the device letterboxed into size x size uint8 slots
    steps_per_epoch: int = 0             # 0: labelled images // batch size
    cache: str = ""                      # folder to cache decoded stores in ("" : decode every run)
    portrait_share: float = 0.5
    workers: int = -1                    # threads decoding the dataset once at start (-1: one per CPU core)
    seed: int = 0
    device: str = "auto"                 # auto: cuda when present, else cpu
    amp: bool = True                     # bfloat16 autocast on CUDA
    limit_train: int = 0                 # >0: use only the first N training pairs (smoke tests)
    max_minutes: float = 0.0             # >0: stop when this wall-clock budget is spent; the LR schedule
                                         #     then follows elapsed time (runs are no longer bit-reproducible)
    init: str = ""                       # start from this checkpoint's or humanseg ONNX's weights (fresh optimizer)
    checkpoint_minutes: float = 3.0      # write last.pt when this long has passed since the last one (and at
                                         # every validation and the end), so a cut-off run loses little
    val_every: int = 1                   # validate (and plot) every N epochs, and after the last

    def to_dict(self) -> dict:
        return asdict(self)
