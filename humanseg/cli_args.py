"""The argument groups several `humanseg` sub-commands share (model, effect and finishing, canvas, temporal
smoothing, input/output), each a function that adds its options to a sub-command's parser."""
from __future__ import annotations

from pathlib import Path

from .arg_values import (
    LIGHT_WRAP_WIDTH, MAX_LIGHT_WRAP_WIDTH, blur_strength, canvas_pixels, feather_sigma, gate_radius,
    light_wrap_width, non_negative_int, positive_int, probability,
)


def model_args(p):
    p.add_argument("--model", default="portrait", help="shipped model name or path to an .onnx file (default: portrait)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for the model (default: cores, at most 4)")


def effect_args(p):
    from .effects.backgrounds import MAX_BLUR_STRENGTH
    from .runtime.postprocess import MAX_FEATHER, MAX_GATE_PX

    p.add_argument("--bg", "--background", dest="bg", default="blur",
                   help="blur | color:#RRGGBB | transparent | mask | overlay | PATH to an image or video (an animated "
                        "GIF plays like a video) (default: blur)")
    p.add_argument("--blur-strength", type=blur_strength, default=None,
                   help=f"blur sigma in %% of the short side, 0 to {MAX_BLUR_STRENGTH:g} (default 3); with --bg blur")
    p.add_argument("--comments", nargs="+", default=None,
                   help="texts behind the person: they scroll in on video and webcam and are laid out on a still "
                        "image; ASCII is drawn, accents are dropped and emoji left out (with a warning)")
    p.add_argument("--threshold", type=probability, default=None,
                   help="hard mask at this level in [0, 1] (default: soft edges)")
    p.add_argument("--gate", type=gate_radius, nargs=2, metavar=("ERODE", "DILATE"), default=None,
                   help=f"morphological gate: erode/dilate radii in px, 0 to {MAX_GATE_PX} each")
    p.add_argument("--keep-largest", action="store_true", help="keep only the largest person region")
    p.add_argument("--refine", type=non_negative_int, default=0,
                   help="guided-filter edge refinement radius in px (0: off)")
    p.add_argument("--feather", type=feather_sigma, default=0.0,
                   help=f"Gaussian edge feathering sigma in px, 0 to {MAX_FEATHER:g} (0: off)")
    finishing_args(p)


# the defaults of humanseg/effects/finishing.py, here so that building the parser imports no OpenCV (a test
# checks they agree)
FOREGROUND_METHODS = ("fast", "ml", "none")


def finishing_args(p):
    """Composite finishing (humanseg/effects/finishing.py), stacked in this order."""
    p.add_argument("--foreground", choices=FOREGROUND_METHODS, default="none",
                   help="estimate the person's own colour at soft edges before compositing, so they stop carrying "
                        "the old background's colour: fast (live video), ml (stills, slower; pip install "
                        "'humanseg[matte]') or none (default)")
    p.add_argument("--harmonize", type=probability, default=0.0, metavar="S",
                   help="match the person's colours (mean and spread of luma and colour difference, YCrCb) to the new "
                        "background, S in [0, 1] "
                        "(default 0: off)")
    p.add_argument("--poisson", action="store_true",
                   help="Poisson-blend the person into the new background (cv2.seamlessClone); still images only")
    p.add_argument("--light-wrap", type=probability, default=0.0, metavar="S",
                   help="the new background's light spilling over the person's edge, S in [0, 1] (default 0: off)")
    p.add_argument("--light-wrap-width", type=light_wrap_width, default=None, metavar="W",
                   help=f"how far the light wraps in, in %% of the short side, in (0, {MAX_LIGHT_WRAP_WIDTH:g}] "
                        f"(default {LIGHT_WRAP_WIDTH:g}); with --light-wrap")


def canvas_args(use: str):
    """--canvas-pixels for a command whose default budget is `use` ("still" or "video", runtime/budget.py)."""
    from .runtime.budget import BUDGET_SCALE, MAX_CANVAS_PIXELS

    scale = BUDGET_SCALE[use]
    default = ("the model's own budget, e.g. 36864 for a 256x144 model" if scale == 1 else
               "the model's still budget: its own budget times the still_budget_scale stored at export (1.25 "
               f"for the shipped portrait model), or {scale}x its own budget where a model stores none; a model "
               "that stores several still scales is run at each and the maps averaged, unless N is given")

    def add(p):
        p.add_argument("--canvas-pixels", type=canvas_pixels, default=None, metavar="N",
                       help=f"pixels of the model canvas for adaptive models, whose canvas follows each frame's "
                            f"shape (1 to {MAX_CANVAS_PIXELS}; default: {default}); legacy fixed-canvas models "
                            f"ignore it")
        mirror_average_arg(p, use)
        if use == "still":
            photo_recipe_arg(p)
    return add


def photo_recipe_arg(p) -> None:
    """--photo-recipe full|fast for the commands that segment photos."""
    p.add_argument("--photo-recipe", choices=("full", "fast"), default="full",
                   help="photos: full runs the model's whole still recipe (`humanseg models` shows it); fast only "
                        "its main canvas budget in one pass, mirror-averaged and refined (for the shipped model a "
                        "quarter of the network runs, about 0.3 mIoU points less on our validation photos; "
                        "default: full)")


def mirror_average_arg(p, use: str) -> None:
    """--mirror-average auto|on|off; auto is on for photos ("still") and off for live video."""
    auto = "on for images" if use == "still" else "off for video frames" if use == "video" else \
        "on for images, off for videos"
    p.add_argument("--mirror-average", choices=("auto", "on", "off"), default="auto",
                   help=f"also run the model on the mirror image and average the two (about +0.35 mIoU points on "
                        f"our validation photos, twice the model's time; default: auto, {auto})")


def mirror_average(a, use: str) -> bool | None:
    """The Segmenter's mirror_average for --mirror-average: True/False, or None (its own rule) for auto on a
    batch; auto on one command is on exactly for the "still" use."""
    choice = getattr(a, "mirror_average", "auto")
    if choice == "auto":
        return use == "still" if use in ("still", "video") else None
    return choice == "on"


def temporal_args(p):
    from .runtime.temporal import AUTO, AUTO_FOR_PLAIN_MODELS, AUTO_FOR_PRIOR_MODELS, TEMPORAL_MODES

    p.add_argument("--temporal", choices=(AUTO,) + TEMPORAL_MODES, default=AUTO,
                   help=f"temporal smoothing between frames: flow or ema fusion of the masks, prior (the previous "
                        f"mask fed to a model with a 4th input channel), or prior+flow / prior+ema (default: "
                        f"{AUTO}: {AUTO_FOR_PRIOR_MODELS} for models with the 4th channel, {AUTO_FOR_PLAIN_MODELS} "
                        f"otherwise)")


def io_args(p):
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
