"""`evaluate` goes through Segmenter.segment with the still-image budget and reports per source."""
import pytest

from humanseg.evaluation.evaluate import evaluate
from humanseg.runtime.postprocess import PostProcess


@pytest.fixture(scope="module")
def adaptive_model(tmp_path_factory):
    from tests.runtime.tiny_models import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("eval") / "tiny.onnx")


def test_evaluate_uses_the_still_budget_and_reports_each_source(tiny_dataset, adaptive_model, monkeypatch):
    import humanseg.evaluation.evaluate as module

    canvases = []
    original = module.Segmenter.canvas_input

    def spy(self, frame, *args, **kwargs):
        canvas, box = original(self, frame, *args, **kwargs)
        canvases.append(canvas.shape[1] * canvas.shape[0])
        return canvas, box

    monkeypatch.setattr(module.Segmenter, "canvas_input", spy)
    scores = evaluate(adaptive_model, tiny_dataset / "val")
    assert scores["canvas_pixels"] == 2 * 256 * 144
    assert len(canvases) == 4 and all(0.8 * 2 * 256 * 144 <= c <= 2 * 256 * 144 for c in canvases)
    assert set(scores["per_source"]) == {"toy"}
    toy = scores["per_source"]["toy"]
    assert toy["n_images"] == 4 and toy["miou"] == scores["miou"] and toy["boundary_f"] == scores["boundary_f"]
    small = evaluate(adaptive_model, tiny_dataset / "val", canvas_pixels=5000)
    assert small["canvas_pixels"] == 5000 and canvases[-1] <= 5000 and "canvas_budgets" not in small


def test_evaluate_reports_every_budget_of_a_multi_scale_model(tiny_dataset, tmp_path):
    from tests.runtime.tiny_models import write_tiny_model

    multi = write_tiny_model(tmp_path / "multi.onnx", extra_metadata={"humanseg.still_budget_scale": "1",
                                                                       "humanseg.still_budget_scales": "1,1.5"})
    scores = evaluate(multi, tiny_dataset / "val")
    assert scores["canvas_pixels"] == 256 * 144 and scores["canvas_budgets"] == [256 * 144, round(1.5 * 256 * 144)]
    single = evaluate(multi, tiny_dataset / "val", canvas_pixels=256 * 144)   # a pixel-wise model: about the same
    assert "canvas_budgets" not in single and abs(scores["miou"] - single["miou"]) < 0.02
    assert "prior_weight" not in scores
    twice = write_tiny_model(tmp_path / "twice.onnx", channels=4, extra_metadata={"humanseg.still_prior_weight": "0.5"})
    assert evaluate(twice, tiny_dataset / "val")["prior_weight"] == 0.5
    assert "refine_fraction" not in scores
    refined = write_tiny_model(tmp_path / "refined.onnx", extra_metadata={"humanseg.still_refine": "0.01"})
    assert evaluate(refined, tiny_dataset / "val")["refine_fraction"] == 0.01
    assert "refine_fraction" not in evaluate(refined, tiny_dataset / "val", postprocess=PostProcess(refine=4))
    assert "zoom_share" not in scores
    zoomed = write_tiny_model(tmp_path / "zoomed.onnx", extra_metadata={"humanseg.still_zoom": "0.5"})
    assert evaluate(zoomed, tiny_dataset / "val")["zoom_share"] == 0.5


def _matting_folder(root, rng):
    """<root>/{matched,shifted}/{images,masks,alpha} and plain/{images,masks}: soft discs whose red channel is
    the tiny model's probability; `matched`'s alpha is the disc itself, `shifted`'s is moved 6 px."""
    import cv2
    import numpy as np

    for source in ("matched", "shifted", "plain"):
        for i in range(2):
            h, w = 48, 64
            yy, xx = np.mgrid[:h, :w]
            radius = np.hypot(xx - 30 - 4 * i, yy - 24)
            alpha = np.clip((14 - radius) / 4, 0, 1)               # opaque core, 4 px soft ramp
            image = np.dstack([rng.integers(0, 60, (h, w)), rng.integers(0, 60, (h, w)),
                               np.round(alpha * 255)]).astype(np.uint8)  # BGR: red = alpha
            gt = np.roll(alpha, 6, axis=1) if source == "shifted" else alpha
            for sub in ("images", "masks") + (("alpha",) if source != "plain" else ()):
                (root / source / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / source / "images" / f"{i}.png"), image)
            cv2.imwrite(str(root / source / "masks" / f"{i}.png"), ((gt > 0.5) * 255).astype(np.uint8))
            if source != "plain":
                cv2.imwrite(str(root / source / "alpha" / f"{i}.png"), np.round(gt * 255).astype(np.uint8))
    return root


def test_evaluate_scores_alpha_where_a_source_has_alpha(tmp_path, adaptive_model):
    import csv

    import cv2
    import numpy as np

    from humanseg.evaluation.matting import MattingScores
    from humanseg.runtime.segmenter import Segmenter

    data = _matting_folder(tmp_path / "val", np.random.default_rng(0))
    scores = evaluate(adaptive_model, data, csv_path=tmp_path / "rows.csv", band_radius=3)
    alpha = scores["alpha"]
    assert alpha["n_images"] == 4 and alpha["band_radius"] == 3
    assert set(alpha["whole"]) == set(alpha["band"]) == {"sad", "mse", "grad", "conn"}
    matched, shifted = scores["per_source"]["matched"]["alpha"], scores["per_source"]["shifted"]["alpha"]
    assert "alpha" not in scores["per_source"]["plain"]
    for region in ("whole", "band"):
        for metric in ("sad", "mse", "grad", "conn"):
            assert 0 <= matched[region][metric] < shifted[region][metric]
    # the predicted alpha is the model's person probability, as Segmenter.segment gives it
    segmenter, expected = Segmenter(adaptive_model, canvas_pixels="still"), MattingScores(band_radius=3)
    for i in range(2):
        image = cv2.imread(str(data / "matched" / "images" / f"{i}.png"))
        gt = cv2.imread(str(data / "matched" / "alpha" / f"{i}.png"), cv2.IMREAD_GRAYSCALE) / 255.0
        expected.add(segmenter.segment(image), gt)
    for region in ("whole", "band"):
        for metric, value in expected.summary()[region].items():
            assert matched[region][metric] == pytest.approx(value, rel=1e-4, abs=1e-9)
    rows = list(csv.DictReader(open(tmp_path / "rows.csv")))
    assert len(rows) == 6 and all(r["band_sad"] == "" for r in rows if r["source"] == "plain")
    assert all(float(r["band_sad"]) >= 0 for r in rows if r["source"] != "plain")


def test_csv_path_is_checked_before_scoring_and_never_replaces_an_input(tmp_path, adaptive_model, capsys,
                                                                        monkeypatch):
    import os

    import numpy as np

    import humanseg.evaluation.evaluate as module
    from humanseg.cli import main

    data = _matting_folder(tmp_path / "val", np.random.default_rng(0))
    image, mask, alpha = (data / "matched" / sub / "0.png" for sub in ("images", "masks", "alpha"))
    os.link(image, tmp_path / "hard.png")
    (tmp_path / "soft.png").symlink_to(image)
    (tmp_path / "notes.txt").write_text("mine\n")
    files = {p: p.read_bytes() for p in (image, mask, alpha, tmp_path / "notes.txt")}
    refused = {image: "data being scored", mask: "data being scored", alpha: "data being scored",
               data / "matched" / "images" / "rows.csv": "data being scored", tmp_path / "hard.png": "data being",
               tmp_path / "soft.png": "data being", tmp_path / "missing" / "x.csv": "does not exist",
               data: "is a folder", tmp_path / "notes.txt": "not a CSV"}
    real_segmenter = module.Segmenter
    monkeypatch.setattr(module, "Segmenter", lambda *a, **k: pytest.fail("scored before the --csv path was checked"))
    for path, why in refused.items():
        assert main(["eval", "--model", str(adaptive_model), "--data", str(data), "--csv", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("humanseg: error:") and why in err, err
    assert {p: p.read_bytes() for p in files} == files
    assert not list(tmp_path.rglob("*.part"))

    monkeypatch.setattr(module, "Segmenter", real_segmenter)
    rows = tmp_path / "rows.csv"
    for _ in range(2):   # the second run replaces the first run's CSV
        assert main(["eval", "--model", str(adaptive_model), "--data", str(data), "--csv", str(rows)]) == 0
        assert len(rows.read_text().splitlines()) == 7
    assert not list(tmp_path.rglob("*.part")) and capsys.readouterr().err == ""


def test_masks_stored_as_0_1_label_maps_are_scored_like_0_255(tiny_dataset, adaptive_model, tmp_path):
    import shutil

    import cv2
    import numpy as np

    from humanseg.evaluation.evaluate import read_label

    labels = tmp_path / "val" / "toy"
    shutil.copytree(tiny_dataset / "val" / "toy" / "images", labels / "images")
    (labels / "masks").mkdir()
    for mask in sorted((tiny_dataset / "val" / "toy" / "masks").iterdir()):
        cv2.imwrite(str(labels / "masks" / mask.name), (cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8))
    plain, zero_one = evaluate(adaptive_model, tiny_dataset / "val"), evaluate(adaptive_model, tmp_path / "val")
    assert zero_one["fg_iou"] > 0 and zero_one["miou"] == plain["miou"] and zero_one["fg_iou"] == plain["fg_iou"]
    path = tmp_path / "m.png"
    for stored, person in (([0, 1, 2], [False, True, True]), ([0, 100, 200], [False, False, True]),
                           ([0, 0, 0], [False, False, False])):
        cv2.imwrite(str(path), np.array([stored], np.uint8))
        assert read_label(path, (1, 3)).tolist() == [person]


def test_a_pair_that_cannot_be_scored_is_skipped_with_a_warning_and_counted(tmp_path, adaptive_model, capsys):
    import json

    import cv2
    import numpy as np

    from humanseg.cli import main
    from humanseg.io.folders import Pair
    from humanseg.training.data.folders import BadSample, load_pair

    data = _matting_folder(tmp_path / "val", np.random.default_rng(0))   # 6 pairs, 64x48
    turned = data / "plain" / "masks" / "1.png"
    cv2.imwrite(str(turned), np.zeros((64, 48), np.uint8))                # a mask of another size
    short = data / "matched" / "alpha" / "1.png"
    cv2.imwrite(str(short), np.zeros((40, 64), np.uint8))                 # an alpha of another size
    rows = tmp_path / "rows.csv"
    assert main(["eval", "--model", str(adaptive_model), "--data", str(data), "--csv", str(rows)]) == 0
    out, err = capsys.readouterr()
    scores = json.loads(out)
    assert scores["n_images"] == 4 and scores["n_skipped"] == 2 and len(rows.read_text().splitlines()) == 5
    assert scores["per_source"]["plain"]["n_images"] == 1 and scores["alpha"]["n_images"] == 3
    assert err.splitlines() == [f"humanseg: warning: skipped: {short}: alpha is 64x40, image is 64x48",
                                f"humanseg: warning: skipped: {turned}: mask is 48x64, image is 64x48"]
    with pytest.raises(BadSample) as training:   # training says the same of the same pair
        load_pair(Pair(data / "plain" / "images" / "1.png", turned))
    assert err.splitlines()[1].endswith(f"skipped: {training.value}")

    for mask in data.glob("*/masks/*.png"):   # nothing left to score: an error, exit 2, no CSV written
        cv2.imwrite(str(mask), np.zeros((64, 48), np.uint8))
    rows.unlink()
    assert main(["eval", "--model", str(adaptive_model), "--data", str(data), "--csv", str(rows)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 6 + 1 and lines[-1] == (f"humanseg: error: {data}: none of the 6 image/mask pairs could be "
                                                 "scored (see the warnings)")
    assert not rows.exists() and not list(tmp_path.rglob("*.part"))


def test_a_missing_data_folder_or_a_file_is_told_as_such(tmp_path, adaptive_model, capsys, monkeypatch):
    from pathlib import Path

    from humanseg.cli import main

    (tmp_path / "notes.txt").write_text("x")
    for data, why in ((tmp_path / "nosuch", "no such folder"), (tmp_path / "notes.txt", "is a file")):
        assert main(["eval", "--model", str(adaptive_model), "--data", str(data)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"humanseg: error: {data}: {why}"), err
    (tmp_path / "val" / "s" / "images").mkdir(parents=True)
    (tmp_path / "val" / "s" / "masks").mkdir()
    real = Path.iterdir

    def locked(self):   # a masks folder this user may not list (tests may run as root, where chmod is ignored)
        if self.name == "masks":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", locked)
    assert main(["eval", "--model", str(adaptive_model), "--data", str(tmp_path / "val")]) == 2
    err = capsys.readouterr().err
    assert err == f"humanseg: error: {tmp_path / 'val' / 's' / 'masks'}: permission denied; check that you can read it\n"
