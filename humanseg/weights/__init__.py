"""Shipped models: a name resolves to an ONNX file inside the package; each has a model card and
states the licences of the data its weights learned from (`humanseg models` prints them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

WEIGHTS_DIR = Path(__file__).resolve().parent

# what the project's training data is, by licence (details: each model card and ../shared/data/README.md)
PORTRAIT_DATA = ("EG1800 portraits (Flickr, no licence stated; research use only), CCP full-body photos "
                 "(Apache-2.0), Vikram Shenoy human-segmentation images (no licence stated; remove.bg masks), "
                 "backgrounds (per file: GPL-2+, GPL-2, CC-BY-4.0, CC-BY-SA-3.0/4.0, CC0-1.0, Expat, public domain)")
# models distilled from the teacher labels also learned from the unlabelled people in <data>/pseudo
DISTILLED_DATA = (PORTRAIT_DATA + "; unlabelled CCP photos (Apache-2.0); LivePortrait example clips and stills "
                  "(repository MIT, the clips' own origin not stated: research use); teacher labels: MediaPipe "
                  "Selfie probability (Apache-2.0 model) and Robust Video Matting alpha (outputs of a GPL-3.0 "
                  "program, used as data)")


@dataclass(frozen=True)
class ShippedModel:
    name: str
    file: Path
    card: Path
    data_licences: str
    use: str  # what the model is the default for


CATALOGUE = {
    "portrait": ShippedModel("portrait", WEIGHTS_DIR / "portrait.onnx", WEIGHTS_DIR / "portrait.md",
                             DISTILLED_DATA, "default of every command"),
}
SHIPPED = {name: m.file for name, m in CATALOGUE.items()}
DEFAULT_MODEL = "portrait"


def resolve_model(model: str | Path) -> Path:
    """A shipped model name or a path to an .onnx file -> existing path."""
    if str(model) in SHIPPED:
        path = SHIPPED[str(model)]
        if not path.is_file():
            raise ModelError(f"shipped model '{model}' is missing from the installation ({path}); reinstall humanseg")
        return path
    path = Path(model)
    if path.is_file():
        return path
    raise ModelError(f"unknown model '{model}': not one of {sorted(SHIPPED)} and not an existing .onnx file")
