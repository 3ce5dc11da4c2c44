"""fast-portrait-matte: matting losses on hand-made tensors, matting batches, the model's output
contract, starting from a fast-portrait-prior checkpoint, and train -> export -> Segmenter."""
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanseg.training.data.batches import BatchMaker, BatchSettings, matting_target  # noqa: E402
from humanseg.training.data.sources import load_training_stores  # noqa: E402
from humanseg.training.losses.matting import (MattingLoss, alpha_l1, compositional, gradient,  # noqa: E402
                                              laplacian, laplacian_pyramid)
from humanseg.training.models import create_model, predicts_alpha  # noqa: E402


def ramp(h=20, w=24):
    """1xHxW alpha: 0 on the left, a soft edge, 1 on the right."""
    x = torch.linspace(-3, 3, w)
    return torch.sigmoid(x).expand(1, h, w).clone()


def test_identical_alpha_costs_nothing():
    a = ramp()
    fg, bg = torch.rand(1, 3, 20, 24) * 255, torch.rand(1, 3, 20, 24) * 255
    total, parts = MattingLoss()(a, a, fg, bg, torch.tensor([True]))
    assert float(total) == 0.0 and parts == {"l1": 0.0, "comp": 0.0, "grad": 0.0, "lap": 0.0}


def test_a_constant_offset_has_a_known_cost():
    a = ramp() * 0.8
    b = a + 0.1
    assert float(alpha_l1(b, a)) == pytest.approx(0.1, abs=1e-6)
    assert float(gradient(b, a)) == pytest.approx(0.0, abs=1e-6)  # a shift changes no gradient
    # band-pass levels ignore a constant, the low-pass rest (level 4, weight 2^4) carries it
    assert float(laplacian(b, a)) == pytest.approx(16 * 0.1, abs=1e-5)
    # comp: |0.1 (F - B)| / 255 with F - B = 51 everywhere -> 0.02
    fg, bg = torch.full((1, 3, 20, 24), 102.0), torch.full((1, 3, 20, 24), 51.0)
    assert float(compositional(b, a, fg, bg, torch.tensor([True]))) == pytest.approx(0.02, abs=1e-6)


def test_compositional_loss_is_zero_for_the_composite_made_with_the_same_alpha():
    gen = torch.Generator().manual_seed(0)
    alpha = torch.rand(2, 16, 16, generator=gen)
    fg, bg = torch.rand(2, 3, 16, 16, generator=gen) * 255, torch.rand(2, 3, 16, 16, generator=gen) * 255
    image = alpha[:, None] * fg + (1 - alpha[:, None]) * bg
    assert float((alpha[:, None] * fg + (1 - alpha[:, None]) * bg - image).abs().max()) == 0.0
    assert float(compositional(alpha, alpha, fg, bg, torch.tensor([True, True]))) == 0.0
    # samples that were not pasted (background unknown) are not scored
    wrong = 1 - alpha
    assert float(compositional(wrong, alpha, fg, bg, torch.tensor([False, False]))) == 0.0
    assert float(compositional(wrong, alpha, fg, bg, torch.tensor([True, False]))) > 0


def test_gradient_loss_sees_a_sharper_edge():
    soft = ramp()
    hard = (soft > 0.5).float()
    # a step of 1 between two columns: Sobel/8 gives 0.5 in two columns (x), for every row
    h, w = hard.shape[1:]
    assert float(gradient(hard, torch.zeros_like(hard))) == pytest.approx(2 * (2 * 0.5 * h) / (2 * h * w), abs=1e-6)
    assert float(gradient(soft, hard)) > 0


def test_laplacian_pyramid_reconstructs_and_handles_odd_sizes():
    a = torch.rand(1, 1, 33, 47, generator=torch.Generator().manual_seed(1))
    pyramid = laplacian_pyramid(a, 5)
    assert [p.shape[-2:] for p in pyramid] == [(33, 47), (17, 24), (9, 12), (5, 6), (3, 3)]
    rebuilt = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        rebuilt = band + torch.nn.functional.interpolate(rebuilt, size=band.shape[-2:], mode="bilinear",
                                                         align_corners=False)
    assert float((rebuilt - a).abs().max()) < 1e-5


def test_unknown_matting_loss_is_refused():
    with pytest.raises(ValueError, match="unknown matting loss"):
        MattingLoss({"l1": 1, "sad": 1})


def test_matting_target_takes_the_teacher_where_it_agrees_with_the_mask():
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4).repeat(3, 1, 1, 1)
    teacher = torch.tensor([0.9, 0.2, 0.3, 0.7]).view(1, 1, 1, 4).repeat(3, 1, 1, 1)
    has_gt, has_soft = torch.tensor([True, True, False]), torch.tensor([True, False, True])
    t = matting_target(mask, teacher, has_gt, has_soft)[:, 0, 0]
    assert t[0].tolist() == pytest.approx([0.9, 1.0, 0.3, 0.0])  # mask + teacher: teacher where it agrees
    assert t[1].tolist() == [1.0, 1.0, 0.0, 0.0]                 # mask, no teacher: the mask
    assert t[2].tolist() == pytest.approx([0.9, 0.2, 0.3, 0.7])  # teacher only: the teacher


@pytest.fixture(scope="module")
def stores(tiny_dataset):
    return load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1)


def test_matting_batches_carry_alpha_fg_bg_and_leave_plain_batches_alone(stores):
    def maker(**kw):
        return BatchMaker(stores.labelled, 6, BatchSettings(size=(64, 48), pseudo_share=0.34, **kw), 3,
                          stores.pseudo, stores.backgrounds)

    plain, matte = maker().make(2), maker(matting=True).make(2)
    assert plain.alpha is None and plain.fg is None and plain.bg is None and plain.pasted is None
    assert matte.x.shape == plain.x.shape  # the same random draws: same canvas
    assert torch.equal(plain.x[~matte.pasted], matte.x[~matte.pasted])  # only composites may change
    n, h, w = matte.labels.shape
    assert matte.alpha.shape == (n, h, w) and matte.alpha.dtype == torch.float32
    assert float(matte.alpha.min()) >= 0 and float(matte.alpha.max()) <= 1
    assert matte.fg.shape == matte.bg.shape == (n, 3, h, w) and float(matte.fg.max()) <= 255
    assert matte.pasted.dtype == torch.bool and matte.pasted.shape == (n,)
    assert bool((matte.bg[~matte.pasted] == 0).all())
    soft_edge = (matte.alpha > 0.02) & (matte.alpha < 0.98)
    assert bool(soft_edge.any())  # the teacher's soft alpha, not only a hard mask
    # a pasted sample, without photometrics, is exactly alpha F + (1 - alpha) B
    m = BatchMaker(stores.labelled, 6, BatchSettings(size=(64, 48), synth_prob=1.0, photometric=False, matting=True),
                   0, None, stores.backgrounds).make(0)
    assert bool(m.pasted.all())
    a = m.alpha[:, None]
    composite = a * m.fg + (1 - a) * m.bg
    assert float(((m.x + 1) * 127.5 - composite).abs().max()) < 1e-3
    # labels still follow the person: alpha > 0.5
    assert bool(((m.alpha > 0.5) == (m.labels == 1)).float().mean() > 0.99)


def test_matting_prior_batches_are_deterministic(stores):
    settings = BatchSettings(size=(64, 48), prior=True, matting=True)
    a, b = (BatchMaker(stores.labelled, 6, settings, 1, None, stores.backgrounds).make(4) for _ in range(2))
    assert torch.equal(a.model_input(), b.model_input()) and torch.equal(a.alpha, b.alpha)
    assert a.model_input().shape[1] == 4 and float(a.prior.max()) <= 1


def test_the_model_returns_alpha_as_two_class_logits():
    model = create_model("fast-portrait-matte").eval()
    assert predicts_alpha(model) and not predicts_alpha(create_model("fast-portrait-prior"))
    with torch.no_grad():
        y = model(torch.rand(2, 4, 61, 90) * 2 - 1)
    assert y.shape == (2, 2, 61, 90) and bool((y[:, 0] == 0).all())
    alpha = torch.softmax(y, 1)[:, 1]
    assert torch.allclose(alpha, torch.sigmoid(y[:, 1]))


def test_matting_loss_trains_the_detail_head():
    torch.manual_seed(0)
    from humanseg.training.data.batches import Batch
    from humanseg.training.losses import MixedLoss
    from humanseg.training.losses.distill import SoftTargetLoss
    from humanseg.training.trainer import batch_loss

    model = create_model("fast-portrait-matte")
    x = torch.rand(2, 4, 32, 48) * 2 - 1
    alpha = torch.rand(2, 32, 48)
    batch = Batch(x=x[:, :3], labels=(alpha > 0.5).long(), soft=alpha, soft_valid=torch.ones(2, 32, 48, dtype=torch.bool),
                  has_gt=torch.tensor([True, False]), prior=x[:, 3:], alpha=alpha, fg=torch.rand(2, 3, 32, 48) * 255,
                  bg=torch.rand(2, 3, 32, 48) * 255, pasted=torch.tensor([True, False]))
    loss = batch_loss(model(batch.model_input()), batch, MixedLoss({"ce": 0.8, "lovasz": 0.2}), SoftTargetLoss(), 0.5,
                      MattingLoss(), 0.25)
    loss.backward()
    assert float(model.detail.residual.weight.grad.abs().sum()) > 0


def test_init_from_a_fast_portrait_prior_checkpoint_shares_all_but_the_detail_head(tmp_path, capsys):
    from humanseg.training.config import TrainConfig
    from humanseg.training.trainer import initial_weights

    torch.manual_seed(0)
    prior = create_model("fast-portrait-prior")
    torch.save({"model": "fast-portrait-prior", "model_kwargs": {}, "state_dict": prior.state_dict(),
                "training_samples": 640}, tmp_path / "prior.pt")
    matte = create_model("fast-portrait-matte")
    history = initial_weights(matte, TrainConfig(model="fast-portrait-matte", init=str(tmp_path / "prior.pt")), [])
    assert history["samples"] == 640
    assert "detail left freshly initialised" in capsys.readouterr().out
    assert torch.equal(matte.state_dict()["encoder.stem.0.weight"], prior.state_dict()["encoder.stem.0.weight"])
    # the near-zero residual: the matte model starts as the segmentation model (up to the 1/2 resampling)
    x = torch.rand(1, 4, 64, 96) * 2 - 1
    with torch.no_grad():
        a = torch.softmax(matte.eval()(x), 1)[:, 1]
        p = torch.softmax(prior.eval()(x), 1)[:, 1]
    assert float((a - p).abs().mean()) < 0.02
    wide = create_model("fast-portrait-matte", width=0.5)
    with pytest.raises(FileNotFoundError, match="do not fit"):
        initial_weights(wide, TrainConfig(model="fast-portrait-matte", model_kwargs={"width": 0.5},
                                          init=str(tmp_path / "prior.pt")), [])


def run(*args):
    return subprocess.run([sys.executable, "-m", "humanseg", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_matte_model_trains_exports_and_runs_in_the_segmenter(tiny_dataset, tmp_path):
    out = tmp_path / "matte"
    r = run("train", "--model", "fast-portrait-matte", "--data", tiny_dataset, "--out", out, "--epochs", "1",
            "--batch-size", "4", "--size", "64x48", "--limit-train", "4", "--workers", "0", "--device", "cpu",
            "--matting-losses", json.dumps({"l1": 1, "comp": 0.5, "grad": 0.5, "lap": 1}))
    assert r.returncode == 0, r.stderr[-2000:]
    onnx_path = tmp_path / "matte.onnx"
    r = run("export", out / "best.pt", "--onnx", onnx_path)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["parity_max_abs_diff"] < 1e-3 and report["input_channels"] == 4

    from humanseg import Segmenter

    seg = Segmenter(model=onnx_path, threads=1)
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    mask = seg.segment(frame)
    assert mask.shape == (48, 64) and mask.dtype == np.float32
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1
    priors, outputs = [], []
    infer = seg.infer

    def spy(canvas, prior=None):
        priors.append(prior)
        outputs.append(infer(canvas, prior))
        return outputs[-1]

    seg.infer = spy
    stream = seg.stream(temporal="prior")
    stream.segment(frame), stream.segment(frame)
    assert priors[0] is None and priors[1] is not None
    assert np.array_equal(priors[1], outputs[0])  # the previous output is the next frame's 4th channel


def test_mse_has_a_hand_value_and_prefers_the_hedge_that_l1_does_not():
    from humanseg.training.losses.matting import alpha_mse

    a = torch.zeros(1, 2, 2)
    b = torch.tensor([[[0.0, 0.5], [1.0, 0.1]]])
    assert float(alpha_mse(b, a)) == pytest.approx((0.25 + 1.0 + 0.01) / 4, abs=1e-7)
    # half the pixels are hair (alpha 1), half background (0), and the model cannot tell which
    target = torch.tensor([[[0.0, 1.0, 0.0, 1.0]]])
    hedge, sure = torch.full_like(target, 0.5), torch.ones_like(target)
    assert float(alpha_l1(hedge, target)) == pytest.approx(float(alpha_l1(sure, target)))
    assert float(alpha_mse(hedge, target)) == pytest.approx(0.25) and float(alpha_mse(sure, target)) == 0.5
    _, parts = MattingLoss({"mse": 2.0})(b, a)
    assert parts == {"mse": pytest.approx(0.315)}  # parts are unweighted


def test_a_frozen_segmentation_network_keeps_its_weights_and_statistics_while_the_head_trains():
    from humanseg.training.freeze import freeze_parts, train_mode, trainable_parameters

    torch.manual_seed(0)
    model = create_model("fast-portrait-matte")
    frozen = freeze_parts(model, ["encoder", "context", "ups", "head"])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(trainable_parameters(model), lr=0.5)
    for _ in range(2):
        train_mode(model, frozen)
        alpha = torch.softmax(model(torch.rand(2, 4, 32, 48) * 2 - 1), 1)[:, 1]
        loss, _ = MattingLoss({"mse": 1.0})(alpha, torch.rand(2, 32, 48))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = model.state_dict()
    changed = {k.split(".")[0] for k in after if not torch.equal(after[k], before[k])}
    assert changed == {"detail"}  # running means/variances of the frozen parts included
    assert model.training and model.detail.training and not model.encoder.training


def test_freezing_an_unknown_part_or_everything_is_refused_in_one_line(tiny_dataset, tmp_path):
    from humanseg.training.freeze import freeze_parts

    with pytest.raises(ValueError, match="every part"):
        freeze_parts(create_model("fast-portrait"), ["encoder", "context", "ups", "head"])
    r = run("train", "--model", "fast-portrait-matte", "--data", tiny_dataset, "--out", tmp_path / "x",
            "--freeze", "encoder,backbone", "--device", "cpu")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("humanseg: error: --freeze: backbone is not a part")
    r = run("train", "--model", "fast-portrait-matte", "--data", tiny_dataset, "--out", tmp_path / "x",
            "--matting-losses", '{"sad": 1}', "--device", "cpu")
    assert r.returncode != 0 and "Traceback" not in r.stderr and "unknown matting loss" in r.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("coarse, band, expected", [(20.0, 4.0, 20.0), (20.0, 0.0, 25.0), (0.0, 4.0, 5.0),
                                                     (2.0, 4.0, 2.0 + 0.5 * 5.0)])
def test_the_band_gate_lets_the_head_change_only_uncertain_pixels(coarse, band, expected):
    """The segmentation head made constant (coarse person logit `coarse`) and the head's residual a
    constant 5: gated by band_logit, the residual fades linearly to 0 at |coarse| = band."""
    model = create_model("fast-portrait-matte", band_logit=band).eval()
    with torch.no_grad():
        model.head.weight.zero_(), model.head.bias.copy_(torch.tensor([-coarse / 2, coarse / 2]))
        model.detail.residual.weight.zero_(), model.detail.residual.bias.fill_(5.0)
        y = model(torch.rand(1, 4, 32, 48) * 2 - 1)
    assert torch.allclose(y[:, 1], torch.full_like(y[:, 1], expected), atol=1e-4)


def test_init_takes_a_checkpoint_of_the_same_model_whose_other_kwargs_keep_the_weights(tmp_path):
    from humanseg.training.config import TrainConfig
    from humanseg.training.trainer import initial_weights

    torch.manual_seed(0)
    plain = create_model("fast-portrait-matte")
    torch.save({"model": "fast-portrait-matte", "model_kwargs": {}, "state_dict": plain.state_dict(),
                "training_samples": 64}, tmp_path / "plain.pt")
    gated = create_model("fast-portrait-matte", band_logit=4.0)
    initial_weights(gated, TrainConfig(model="fast-portrait-matte", model_kwargs={"band_logit": 4.0},
                                       init=str(tmp_path / "plain.pt")), [])
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in gated.state_dict().items())
    narrow = create_model("fast-portrait-matte", detail_channels=4)
    with pytest.raises(FileNotFoundError, match="holds fast-portrait-matte"):
        initial_weights(narrow, TrainConfig(model="fast-portrait-matte", model_kwargs={"detail_channels": 4},
                                            init=str(tmp_path / "plain.pt")), [])
