"""The whole chain on a tiny dataset the test makes: train -> export (+INT8) -> eval."""
import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")


def run(*args):
    return subprocess.run([sys.executable, "-m", "humanseg", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_train_export_eval_end_to_end(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    r = run("train", "--model", "pphumanseg-lite", "--data", tiny_dataset, "--out", out, "--epochs", "2",
            "--batch-size", "4", "--size", "96x64", "--workers", "0", "--losses",
            '{"ce": 0.8, "lovasz": 0.2, "scl": 0.5, "dice": 0.1}', "--device", "cpu")
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("best.pt", "last.pt", "log.csv", "log.png", "config.json"):
        assert (out / name).exists(), name
    rows = (out / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,train_loss,val_miou") and len(rows) == 3

    r = run("train", "--model", "pphumanseg-lite", "--data", tiny_dataset, "--out", out, "--epochs", "3",
            "--batch-size", "4", "--size", "96x64", "--workers", "0", "--device", "cpu", "--resume")
    assert r.returncode == 0 and "resumed" in r.stdout
    assert len((out / "log.csv").read_text().splitlines()) == 4

    onnx_path = tmp_path / "m.onnx"
    r = run("export", out / "best.pt", "--onnx", onnx_path, "--int8", "--calib", tiny_dataset / "val")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["parity_max_abs_diff"] < 1e-3 and report["canvas"] == "96x64"
    assert report["int8_bytes"] < report["fp32_bytes"]
    assert isinstance(report["miou_change"], float) and 0 <= report["int8_miou"] <= 1

    # cumulative training: continue from the exported ONNX; the history of samples and runs carries over
    import onnx
    import torch

    meta = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    before = int(meta["humanseg.training_samples"])
    assert before == torch.load(out / "best.pt", weights_only=False)["training_samples"] > 0
    r = run("train", "--model", "pphumanseg-lite", "--data", tiny_dataset, "--out", tmp_path / "run2", "--epochs", "1",
            "--batch-size", "4", "--size", "96x64", "--workers", "0", "--device", "cpu", "--init", onnx_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"initialised from {onnx_path} ({before} earlier training samples, 1 runs)" in r.stdout
    second = torch.load(tmp_path / "run2" / "best.pt", weights_only=False)
    assert second["training_samples"] == before + 8  # 8 images, batch 4: 2 steps of 4
    assert [run_["init"] for run_ in second["training_runs"]] == ["", str(onnx_path)]

    for model in (onnx_path, tmp_path / "m.int8.onnx"):
        r = run("eval", "--model", model, "--data", tiny_dataset / "val")
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads(r.stdout)["n_images"] == 4


def test_train_reports_missing_data_in_one_line(tmp_path):
    r = run("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "o", "--epochs", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "missing" in r.stderr
    assert not (tmp_path / "o").exists()  # no empty run folder left behind


def test_interrupted_training_says_its_checkpoints_are_kept(tmp_path, capsys, monkeypatch):
    import humanseg.training.trainer
    from humanseg.cli import main

    def interrupted(cfg, resume=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(humanseg.training.trainer, "train", interrupted)
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 130 and err == (f"humanseg: interrupted; the checkpoints written so far are in {tmp_path / 'run'} "
                                   "(continue with --resume)")


def test_training_skips_bad_files_and_counts_them(tiny_dataset, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    (data / "train" / "toy" / "images" / "zz_bad.jpg").write_bytes(b"junk")
    (data / "train" / "toy" / "masks" / "zz_bad.png").write_bytes(b"junk")
    r = run("train", "--model", "pphumanseg-lite", "--data", data, "--out", tmp_path / "o", "--epochs", "1",
            "--batch-size", "4", "--size", "64x48", "--workers", "0", "--device", "cpu")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "zz_bad.jpg" in r.stdout and "8 pairs, 1 skipped" in r.stdout


def test_training_is_deterministic_with_a_seed(tiny_dataset, tmp_path):
    logs = []
    for run_name in ("a", "b"):
        r = run("train", "--model", "pphumanseg-lite", "--data", tiny_dataset, "--out", tmp_path / run_name,
                "--epochs", "1", "--batch-size", "4", "--size", "64x48", "--workers", "0", "--device", "cpu",
                "--seed", "7", "--losses", '{"ce": 0.8, "lovasz": 0.2}')
        assert r.returncode == 0, r.stderr[-2000:]
        logs.append((tmp_path / run_name / "log.csv").read_text().splitlines()[1].split(",")[:3])
    assert logs[0] == logs[1]


@pytest.mark.slow
def test_temporal_prior_model_trains_on_adaptive_canvases_and_exports(tiny_dataset, tmp_path):
    out = tmp_path / "prior"
    r = run("train", "--model", "fast-portrait-prior", "--data", tiny_dataset, "--out", out, "--epochs", "1",
            "--batch-size", "4", "--size", "96x64", "--canvas", "adaptive", "--clip-share", "0.25",
            "--pseudo-share", "0.25", "--self-prior-prob", "0.5", "--workers", "0", "--device", "cpu")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "clips: 2 video frames" in r.stdout
    assert json.loads((out / "config.json").read_text())["self_prior_prob"] == 0.5
    r = run("export", out / "best.pt", "--onnx", tmp_path / "prior.onnx", "--still-scale", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["parity_max_abs_diff"] < 1e-3 and report["still_budget_scale"] == 1.0
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "prior.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1] == 4
    assert session.get_modelmeta().custom_metadata_map["humanseg.still_budget_scale"] == "1.0"
    from humanseg import Segmenter

    assert Segmenter(tmp_path / "prior.onnx", canvas_pixels="still").budget() == 96 * 64   # the measured scale
    r = run("export", out / "best.pt", "--onnx", tmp_path / "x.onnx", "--still-scale", "-2")
    assert r.returncode == 2 and "error" in r.stderr and "Traceback" not in r.stderr
    for bad in ("1,2,3,4,5", "1,,2", "1,0"):
        r = run("export", out / "best.pt", "--onnx", tmp_path / "x.onnx", "--still-scale", bad)
        assert r.returncode == 2 and "error" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    r = run("export", out / "best.pt", "--onnx", tmp_path / "x.onnx", "--still-prior", "0")
    assert r.returncode == 2 and "--still-prior" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    r = run("export", out / "best.pt", "--onnx", tmp_path / "multi.onnx", "--still-scale", "1,1.5", "--still-prior", "0.5")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["still_budget_scale"] == 1.0 and report["still_budget_scales"] == [1.0, 1.5]
    assert report["still_prior_weight"] == 0.5
    meta = ort.InferenceSession(str(tmp_path / "multi.onnx"), providers=["CPUExecutionProvider"]
                                ).get_modelmeta().custom_metadata_map
    assert meta["humanseg.still_budget_scale"] == "1.0" and meta["humanseg.still_budget_scales"] == "1.0,1.5"
    assert meta["humanseg.still_prior_weight"] == "0.5"
    multi = Segmenter(tmp_path / "multi.onnx", canvas_pixels="still")
    assert multi.budgets() == [96 * 64, 96 * 96] and multi.prior_weight() == 0.5
    assert multi.refine_fraction() == 0.0 and "humanseg.still_refine" not in meta
    for bad in ("0", "0.2", "x"):
        r = run("export", out / "best.pt", "--onnx", tmp_path / "x.onnx", "--still-refine", bad)
        assert r.returncode == 2 and "--still-refine" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    for bad in ("0.005", "1", "x"):
        r = run("export", out / "best.pt", "--onnx", tmp_path / "x.onnx", "--still-zoom", bad)
        assert r.returncode == 2 and "--still-zoom" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.onnx").exists()
    r = run("export", out / "best.pt", "--onnx", tmp_path / "refined.onnx", "--still-refine", "0.01", "--still-zoom", "0.5")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["still_refine"] == 0.01 and report["still_zoom"] == 0.5
    refined = Segmenter(tmp_path / "refined.onnx", canvas_pixels="still")
    assert refined.refine_fraction() == 0.01 and refined.zoom_share() == 0.5


def test_train_keeps_earlier_runs_and_refuses_what_it_cannot_continue_in_one_line(tiny_dataset, tmp_path, capsys):
    import torch

    from humanseg.cli import main
    from humanseg.training.models import create_model

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    last = run_dir / "last.pt"
    torch.save({"model": "pphumanseg-lite", "model_kwargs": {},
                "state_dict": create_model("pphumanseg-lite").state_dict()}, last)   # e.g. a best.pt copied over
    kept = last.read_bytes()
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    common = ["train", "--data", str(tiny_dataset), "--epochs", "1", "--batch-size", "4", "--size", "64x48",
              "--workers", "0", "--device", "cpu"]
    cases = [
        (["--model", "pphumanseg-lite", "--out", str(run_dir)], "holds an earlier run (last.pt)"),
        (["--model", "pphumanseg-lite", "--out", str(run_dir), "--init", str(last)], "holds an earlier run"),
        (["--model", "fast-portrait", "--out", str(run_dir), "--resume"], "holds pphumanseg-lite {}, not fast-portrait"),
        (["--model", "pphumanseg-lite", "--out", str(run_dir), "--resume"], "has no optimizer"),
        (["--out", str(tmp_path / "new"), "--resume"], "new/last.pt not found"),
        (["--out", str(tmp_path / "a_file")], "is a file"),
        (["--out", str(tmp_path / "a_file" / "run")], f"{tmp_path / 'a_file'} is a file, not a folder"),
        (["--out", str(tmp_path / "new"), "--device", "banana"], "--device banana: cannot use it"),
        (["--out", str(tmp_path / "new"), "--init", str(tmp_path / "junk.onnx")], "not an ONNX model"),
        (["--model", "fast-portrait", "--out", str(tmp_path / "new"), "--init", str(last)],
         "holds pphumanseg-lite {}, not fast-portrait {}"),
    ]
    for extra, says in cases:
        assert main(common + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("humanseg: error:") and says in err and err.count("\n") == 1, (extra, err)
    assert last.read_bytes() == kept and sorted(p.name for p in run_dir.iterdir()) == ["last.pt"]
    assert not (tmp_path / "new").exists()   # refused before the data loads: no empty run folder


def test_train_names_a_data_folder_without_masks_and_a_cache_path_that_is_a_file(tiny_dataset, tmp_path, capsys):
    import shutil

    from humanseg.cli import main

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    shutil.rmtree(data / "train" / "toy" / "masks")
    (tmp_path / "a_file").write_text("x")
    common = ["train", "--model", "pphumanseg-lite", "--epochs", "1", "--batch-size", "4", "--size", "64x48",
              "--workers", "0", "--device", "cpu", "--out", str(tmp_path / "run")]
    for extra, says in ((["--data", str(data)], f"{data / 'train'}: no image with a mask"),
                        (["--data", str(tiny_dataset), "--cache", str(tmp_path / "a_file")], "--cache")):
        assert main(common + extra) == 2
        err = capsys.readouterr().err
        assert err.startswith("humanseg: error:") and says in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_a_missing_val_folder_is_said_before_the_training_set_is_decoded(tiny_dataset, tmp_path, capsys):
    """It was said only after the training photos had been decoded (minutes on real data)."""
    import shutil

    from humanseg.cli import main

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    shutil.rmtree(data / "val")
    assert main(["train", "--model", "pphumanseg-lite", "--epochs", "1", "--batch-size", "4", "--size", "64x48",
                 "--workers", "0", "--device", "cpu", "--data", str(data), "--out", str(tmp_path / "run")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("humanseg: error:") and f"{data / 'val'}: missing" in captured.err
    assert "labelled" not in captured.out and not (tmp_path / "run").exists()   # no training photo was decoded
