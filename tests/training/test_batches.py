"""The on-device batch pipeline: store decoding, runtime letterbox geometry, compositing, labels,
photometric ops and determinism."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from humanseg.cli import main  # noqa: E402
from humanseg.runtime.letterbox import letterbox, letterbox_box  # noqa: E402
from humanseg.training.data import batch_photometric as photo  # noqa: E402
from humanseg.training.data.batch_geometry import (inside, letterbox_maps, placed_boxes, slot_points,  # noqa: E402
                                                   warp)
from humanseg.training.data.batches import IGNORE, BatchMaker, BatchSettings  # noqa: E402
from humanseg.training.data.sources import load_training_stores  # noqa: E402
from humanseg.training.data.tensor_store import build_store, cached, find_items, load_store  # noqa: E402


def test_placed_boxes_match_the_runtime_letterbox_box():
    sizes = [(600, 800), (800, 600), (37, 91), (320, 1), (1, 320), (255, 144), (144, 256), (500, 500)]
    w = torch.tensor([float(s[0]) for s in sizes])
    h = torch.tensor([float(s[1]) for s in sizes])
    for cw, ch in [(256, 144), (144, 256), (97, 61), (160, 224)]:
        for stretch in (0.0, 0.1):
            x, y, pw, ph = placed_boxes(w, h, cw, ch, stretch)
            for i, (sw, sh) in enumerate(sizes):
                b = letterbox_box(sw, sh, cw, ch, max_stretch=stretch)
                assert (int(x[i]), int(y[i]), int(pw[i]), int(ph[i])) == (b.x, b.y, b.width, b.height), \
                    (sw, sh, cw, ch, stretch)


def test_unaugmented_map_reproduces_the_runtime_letterbox():
    # a smooth image whose values encode position, stored in a 64x64 slot, then put on a 96x64 canvas
    yy, xx = np.mgrid[0:40, 0:30].astype(np.float32)
    image = np.dstack([xx * 8, yy * 6, np.full_like(xx, 100)]).astype(np.uint8)
    slot, box = letterbox(image, (64, 64), 0)
    boxes = torch.tensor([[box.x, box.y, box.width, box.height]], dtype=torch.float32)
    theta = letterbox_maps(boxes, 96, 64, torch.Generator(), augment=False)
    points = slot_points(theta, 96, 64)
    got = warp(torch.from_numpy(slot).permute(2, 0, 1)[None], points)[0].permute(1, 2, 0).numpy()
    expected, ebox = letterbox(slot[box.y:box.y + box.height, box.x:box.x + box.width], (96, 64), 0)
    content = inside(points, boxes)[0, 0].numpy()
    rows, cols = np.nonzero(content)
    assert (cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()) == \
        (ebox.x, ebox.y, ebox.width, ebox.height)
    core = content.copy()
    core[[rows.min(), rows.max()], :] = False  # edge rows/cols mix with the zero border when sampling
    core[:, [cols.min(), cols.max()]] = False
    assert np.abs(got[core] - expected[core].astype(np.float32)).max() <= 2.0


@pytest.fixture(scope="module")
def stores(tiny_dataset):
    return load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1)


def test_stores_hold_masks_teachers_and_pseudo(stores, tiny_dataset):
    lab = stores.labelled
    assert len(lab) == 8 and lab.images.dtype == torch.uint8 and lab.images.shape == (8, 3, 64, 64)
    assert bool(lab.has_gt.all()) and int(lab.has_soft.sum()) == 6
    assert set(torch.unique(lab.masks).tolist()) <= set(range(256)) and int(lab.masks.max()) == 255
    # the teacher label is read from the BGRA file and resized to the image: it overlaps the mask
    i = int(torch.nonzero(lab.has_soft)[0])
    m, s = lab.masks[i, 0].float() / 255, lab.soft[i].float().mean(0) / 255
    assert float((m * s).sum() / ((m + s) / 2).sum()) > 0.8
    assert stores.pseudo is not None and len(stores.pseudo) == 3 and not bool(stores.pseudo.has_gt.any())
    assert stores.backgrounds is not None and len(stores.backgrounds) == 3
    x0, y0, x1, y1 = lab.person[i].tolist()
    ys, xs = torch.nonzero(lab.masks[i, 0] > 127, as_tuple=True)
    assert (x0, y0, x1, y1) == (xs.min().item(), ys.min().item(), xs.max().item() + 1, ys.max().item() + 1)


def test_unreadable_files_are_skipped_with_their_name(tmp_path, capsys):
    for sub in ("images", "masks"):
        (tmp_path / "s" / sub).mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "s" / "images" / "a.jpg"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "s" / "masks" / "a.png"), np.zeros((20, 30), np.uint8))
    (tmp_path / "s" / "images" / "b.jpg").write_bytes(b"junk")
    cv2.imwrite(str(tmp_path / "s" / "masks" / "b.png"), np.zeros((20, 30), np.uint8))
    # a mask of another size than its image, and a teacher label that is not 2-channel
    cv2.imwrite(str(tmp_path / "s" / "images" / "c.jpg"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "s" / "masks" / "c.png"), np.zeros((21, 30), np.uint8))
    cv2.imwrite(str(tmp_path / "s" / "images" / "d.jpg"), np.zeros((20, 30, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "s" / "masks" / "d.png"), np.zeros((20, 30), np.uint8))
    (tmp_path / "s" / "soft").mkdir()
    cv2.imwrite(str(tmp_path / "s" / "soft" / "d.png"), np.zeros((15, 22), np.uint8))
    store = build_store(find_items(tmp_path, need_mask=True), 32, threads=1)
    out = capsys.readouterr().out
    assert store.names == [str(tmp_path / "s" / "images" / "a.jpg")]
    for name in ("b.jpg", "c.png", "d.png"):
        assert f"skipped: {tmp_path / 's'}" in out and name in out, name
    assert f"skipped: {tmp_path / 's' / 'masks' / 'c.png'}: mask is 30x21, image is 30x20\n" in out  # as eval says


def test_a_video_that_does_not_decode_is_skipped_with_its_name(tmp_path, capsys):
    from humanseg.training.data.clip_store import build_clip_store, find_clips

    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 100)
    labels = tmp_path / "video_soft" / "broken"
    labels.mkdir(parents=True)
    for index in (0, 4):
        cv2.imwrite(str(labels / f"{index:06d}.png"), np.zeros((8, 8, 4), np.uint8))
    clips = find_clips(tmp_path)
    assert len(clips) == 1
    assert build_clip_store(clips, 32) is None
    assert "broken.mp4" in capsys.readouterr().out


def make(stores, seed=3, step=0, **kw):
    settings = BatchSettings(size=(64, 48), **kw)
    return BatchMaker(stores.labelled, 6, settings, seed, stores.pseudo, stores.backgrounds).make(step)


def test_batches_have_the_contracted_shapes_and_ranges(stores):
    b = make(stores, pseudo_share=0.34)
    assert b.x.shape[0] == 6 and b.x.shape[2:] in ((48, 64), (64, 48))
    assert float(b.x.min()) >= -1.0 and float(b.x.max()) <= 1.0
    assert set(torch.unique(b.labels).tolist()) <= {0, 1, IGNORE}
    assert b.labels.shape == b.soft.shape == b.soft_valid.shape == (6,) + tuple(b.x.shape[2:])
    assert float(b.soft.min()) >= 0 and float(b.soft.max()) <= 1
    assert b.has_gt.tolist() == [True] * 4 + [False] * 2  # 2 of 6 from the unlabelled store
    assert bool((b.labels[~b.has_gt] == IGNORE).all())  # no human mask: only the teacher teaches
    assert bool(b.soft_valid[~b.has_gt].any())


def test_same_seed_and_step_give_the_same_batch_other_steps_differ(stores):
    a, b, c = make(stores, step=5), make(stores, step=5), make(stores, step=6)
    assert torch.equal(a.x, b.x) and torch.equal(a.labels, b.labels) and torch.equal(a.soft, b.soft)
    assert a.x.shape != c.x.shape or not torch.equal(a.x, c.x)


def test_composited_people_keep_their_label_and_padding_is_ignored(stores):
    # all pasted onto backgrounds: no padding, every pixel scored, people present
    b = make(stores, synth_prob=1.0, photometric=False, pseudo_share=0.0)
    assert not bool((b.labels == IGNORE).any())
    assert float((b.labels == 1).float().mean()) > 0.05
    # never pasted, strong shrink: the letterbox padding is ignored, the content is scored
    settings = BatchSettings(size=(64, 48), synth_prob=0.0, photometric=False)
    maker = BatchMaker(stores.labelled, 6, settings, 0, None, None)
    plain = maker.make(0)
    assert bool((plain.labels == IGNORE).any()) and bool((plain.labels != IGNORE).any())
    pad = (plain.labels == IGNORE)[0]
    pixel = ((plain.x[0] + 1) * 127.5)[:, pad]
    assert float((pixel - 127).abs().max()) < 1.0  # the runtime's grey padding value


def test_photometric_ops_keep_shape_and_range_and_pass_through_when_off():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 24, 40, generator=gen) * 255
    for op in (photo.color_jitter, photo.lighting, photo.blur, photo.noise, photo.grayscale, photo.compression,
               photo.low_resolution):
        y = op(x, torch.Generator().manual_seed(1), p=1.0)
        assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 255, op.__name__
        assert not torch.allclose(y, x), op.__name__
        same = op(x, torch.Generator().manual_seed(1), p=0.0)
        assert torch.allclose(same, x, atol=1e-3), op.__name__


def test_compression_quantises_8x8_blocks():
    gen = torch.Generator().manual_seed(0)
    flat = torch.full((1, 3, 16, 16), 100.0)
    noisy = flat + torch.randn(1, 3, 16, 16, generator=gen) * 3  # fine detail lives in high frequencies
    out = photo.compression(noisy, torch.Generator().manual_seed(2), p=1.0)
    assert float((out - flat).abs().mean()) < float((noisy - flat).abs().mean())  # detail removed
    assert abs(float(out.mean()) - 100.0) < 2.0  # DC kept


def test_clip_frames_carry_the_previous_labelled_frames_teacher_mask(tiny_dataset):
    from humanseg.training.data.clip_store import build_clip_store, find_clips

    clips = find_clips(tiny_dataset / "pseudo")
    store = build_clip_store(clips, 64)
    assert len(store) == 2 and store.prev is not None  # frames 4 and 8 have a labelled predecessor
    assert not bool(store.has_gt.any()) and bool(store.has_soft.all())
    # the blob moves right by 4 px a label: the previous mask's centre lies left of the current one
    cols = torch.arange(64, dtype=torch.float32)
    now = (store.soft[0].float().mean(0).sum(0) * cols).sum() / store.soft[0].float().mean(0).sum()
    before = (store.prev[0, 0].float().sum(0) * cols).sum() / store.prev[0, 0].float().sum()
    assert float(before) < float(now)


def test_held_out_clips_stay_out_of_training(tiny_dataset, capsys):
    stores = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, use_clips=True,
                                  hold_out_clips=("c0",))
    assert stores.clips is None                    # c0 is the only clip: nothing of it is trained on
    assert "clips held out of training: c0" in capsys.readouterr().out
    other = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, use_clips=True,
                                 hold_out_clips=("lp_d11",))
    assert other.clips is not None and len(other.clips) == 2
    assert "(no such clip: lp_d11)" in capsys.readouterr().out   # a mistyped name is said, not silently ignored


def test_a_mistyped_held_out_clip_is_refused_before_decoding(tiny_dataset, tmp_path, capsys):
    code = main(["train", "--model", "fast-portrait-prior", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"),
                 "--clip-share", "0.2", "--hold-out-clips", "c0,lp_d11", "--cache", str(tmp_path / "cache")])
    assert code != 0
    err = capsys.readouterr().err
    assert "--hold-out-clips: no clip named lp_d11" in err and "clips: c0" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def test_prior_batches_feed_a_fourth_channel_empty_wrong_or_moved(tiny_dataset):
    stores = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, use_clips=True)
    assert stores.clips is not None and len(stores.clips) == 2
    settings = BatchSettings(size=(64, 48), canvas="adaptive", prior=True, pseudo_share=0.2, clip_share=0.2)
    maker = BatchMaker(stores.labelled, 10, settings, 0, stores.pseudo, stores.backgrounds, stores.clips)
    empties = 0
    for step in range(6):
        b = maker.make(step)
        assert b.prior is not None and b.prior.shape == (10, 1) + tuple(b.x.shape[2:])
        assert float(b.prior.min()) >= 0 and float(b.prior.max()) <= 1
        assert b.model_input().shape[1] == 4
        empties += int((b.prior.flatten(1).amax(1) == 0).sum())
    assert 5 <= empties <= 40  # about 30% of 60 samples start from an empty prior


def test_synthetic_prior_stays_close_to_the_target_when_moved():
    from humanseg.training.data.batch_prior import synthetic_prior

    target = torch.zeros(64, 1, 48, 64)
    target[:, :, 10:40, 20:44] = 1.0
    prior = synthetic_prior(target, torch.Generator().manual_seed(0), p_empty=0.0, p_wrong=0.0)
    iou = ((prior > 0.5) & (target > 0.5)).flatten(1).sum(1) / ((prior > 0.5) | (target > 0.5)).flatten(1).sum(1)
    assert float(iou.min()) > 0.5 and float(iou.mean()) > 0.7 and float(iou.max()) < 1.0


def test_adaptive_batches_use_the_runtime_canvas():
    from humanseg.runtime.canvas import adaptive_canvas

    shapes = set()
    for aspect in (16 / 9, 9 / 16, 1.0):
        shapes.add(adaptive_canvas(round(1000 * aspect), 1000, 256 * 144, 16))
    assert shapes == {(256, 144), (144, 256), (192, 192)}


@pytest.mark.parametrize("clockwise, k", [(True, -1), (False, 1)])
def test_a_quarter_turn_map_turns_the_photo_by_90_degrees(clockwise, k):
    from humanseg.training.data.batch_geometry import _turned_letterbox_matrix

    # a 30 x 40 (w x h) photo at (5, 7) in its slot, on a 40 x 30 canvas: turned, it fills the canvas exactly
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (40, 30, 3)).astype(np.float32)
    slot = np.zeros((64, 64, 3), np.float32)
    slot[7:47, 5:35] = photo
    one = torch.ones(1)
    theta = _turned_letterbox_matrix(5 * one, 7 * one, 30 * one, 40 * one, 40, 30, 0.0,
                                     torch.tensor([clockwise]))[:, :2]
    got = warp(torch.from_numpy(slot).permute(2, 0, 1)[None], slot_points(theta, 40, 30))[0].permute(1, 2, 0).numpy()
    assert got.shape == (30, 40, 3)
    assert np.abs(got - np.rot90(photo, k)).max() < 1e-3  # np.rot90 k=-1: clockwise


def test_quarter_turns_are_off_by_default_and_keep_the_batch_contract_when_on(stores):
    plain, again = make(stores, step=2), make(stores, step=2, quarter_turn_prob=0.0)
    assert torch.equal(plain.x, again.x)  # the default draws nothing more: earlier runs stay reproducible
    turned = make(stores, step=2, quarter_turn_prob=1.0, synth_prob=0.0)
    assert turned.x.shape == plain.x.shape and not torch.equal(turned.x, plain.x)
    assert set(torch.unique(turned.labels).tolist()) <= {0, 1, IGNORE}
    assert bool((turned.labels == 1).any())


def edge_shares(stores, option: str, touches_edge, steps: int, **kw) -> dict:
    """{p: share of photo samples whose person touches the edge `touches_edge` (labels -> N bool) tests} for the
    batch option at 0 and 1, after checking that the option's default draws nothing more (earlier runs stay
    reproducible)."""
    assert torch.equal(make(stores, step=steps).x, make(stores, step=steps, **{option: 0.0}).x)
    shares = {}
    for p in (0.0, 1.0):
        touches = []
        for step in range(steps):
            b = make(stores, step=step, synth_prob=0.0, **{option: p}, **kw)
            touches += touches_edge(b.labels == 1).tolist()
            assert set(torch.unique(b.labels).tolist()) <= {0, 1, IGNORE}
        shares[p] = sum(touches) / len(touches)
    return shares


def test_side_cuts_are_off_by_default_and_push_the_person_onto_a_side_edge_when_on(stores):
    share = edge_shares(stores, "side_cut_prob", lambda person: person[:, :, 0].any(1) | person[:, :, -1].any(1), 6)
    assert share[1.0] >= 0.8 and share[1.0] > share[0.0] + 0.3, share


def test_keep_bottom_is_off_by_default_and_keeps_a_cut_off_body_on_the_canvas_bottom_when_on(stores):
    """The toy photos cut their person off at the bottom (a close portrait). A random shift up or zoom-out leaves
    padding under the cut body, which the runtime's canvas never shows; with keep_bottom_prob 1 every such
    sample keeps the body running off the canvas bottom edge."""
    share = edge_shares(stores, "keep_bottom_prob", lambda person: person[:, -1, :].any(1), 8, canvas="adaptive")
    assert share[1.0] == 1.0 and share[0.0] < 0.9, share


def test_keep_bottom_moves_only_cut_off_unturned_photos():
    from humanseg.training.data.batch_geometry import letterbox_maps, slot_points

    n = 64
    boxes = torch.tensor([[0.0, 0.0, 40.0, 60.0]]).repeat(n, 1)      # a 40 x 60 photo at the slot's corner
    cut_off = torch.arange(n) % 2 == 0
    theta = letterbox_maps(boxes, 32, 48, torch.Generator().manual_seed(0), keep_bottom_prob=1.0, cut_off=cut_off)
    bottom_y = slot_points(theta, 32, 48)[:, -1, :, 1]                 # slot y of the canvas's bottom row
    assert bool((bottom_y[cut_off] < 60).all())       # inside the photo: no padding under the cut body
    assert bool((bottom_y[~cut_off] > 60).any())      # the others still move freely, padding below some


def test_budget_scale_draws_adaptive_canvases_within_the_scaled_budget(stores):
    settings = BatchSettings(size=(64, 48), canvas="adaptive", budget_scale=(1.0, 2.0))
    maker = BatchMaker(stores.labelled, 6, settings, 0, None, None)
    areas = {w * h for w, h in (maker.canvas(maker.generator(step)) for step in range(40))}
    assert max(areas) <= 2 * 64 * 48 and max(areas) > 64 * 48  # some batches above the plain budget
    plain = BatchMaker(stores.labelled, 6, BatchSettings(size=(64, 48), canvas="adaptive"), 0, None, None)
    assert max(w * h for w, h in (plain.canvas(plain.generator(s)) for s in range(40))) <= 64 * 48
    fixed = BatchMaker(stores.labelled, 6, BatchSettings(size=(64, 48), canvas="adaptive", budget_scale=(1.0, 1.0)),
                       0, None, None)
    assert [fixed.canvas(fixed.generator(s)) for s in range(10)] == [plain.canvas(plain.generator(s)) for s in range(10)]


def test_small_people_are_placed_at_street_scene_size():
    from humanseg.training.data.batch_geometry import person_maps

    n = 200
    person = torch.tensor([[10.0, 10.0, 60.0, 110.0]]).repeat(n, 1)  # 50 x 100 person box in its slot
    webcam = torch.zeros(n, dtype=torch.bool)
    heights = {}
    for name, small in (("plain", None), ("small", torch.ones(n, dtype=torch.bool))):
        theta, _ = person_maps(person, 160, 120, webcam, torch.Generator().manual_seed(1), None, small)
        heights[name] = 100 / theta[:, 1, 1]  # slot pixels per canvas pixel -> the person's canvas height
    assert float(heights["plain"].min()) >= 0.4 * 120 - 1e-3 and float(heights["plain"].max()) <= 0.95 * 120 + 1e-3
    assert float(heights["small"].min()) >= 0.12 * 120 - 1e-3 and float(heights["small"].max()) <= 0.4 * 120 + 1e-3


def test_small_people_are_off_by_default_and_keep_the_batch_contract_when_on(stores):
    plain, again = make(stores, step=2), make(stores, step=2, small_person_prob=0.0)
    assert torch.equal(plain.x, again.x)  # the default draws nothing more: earlier runs stay reproducible
    small = make(stores, step=2, small_person_prob=1.0, synth_prob=1.0, webcam_prob=0.0, pseudo_share=0.0)
    big = make(stores, step=2, synth_prob=1.0, webcam_prob=0.0, pseudo_share=0.0)
    assert small.x.shape == big.x.shape
    assert float((small.labels == 1).float().mean()) < float((big.labels == 1).float().mean())


def test_teacher_gate_lets_the_human_mask_win_where_the_teacher_disagrees(stores):
    import dataclasses
    wrong = dataclasses.replace(stores.labelled, soft=torch.full_like(stores.labelled.soft, 255),
                                has_soft=torch.ones_like(stores.labelled.has_soft))  # the teacher calls all person
    made = {}
    for gate in (False, True):
        settings = BatchSettings(size=(64, 48), synth_prob=0.5, teacher_gate=gate)
        made[gate] = BatchMaker(wrong, 6, settings, 3, None, stores.backgrounds).make(1)
    plain, gated = made[False], made[True]
    assert torch.equal(plain.x, gated.x) and torch.equal(plain.labels, gated.labels)  # the gate draws nothing
    background = (gated.labels == 0) & gated.soft_valid
    person = (gated.labels == 1) & gated.soft_valid
    assert bool(background.any()) and bool(person.any())
    assert float((plain.soft[background] > 0.5).float().mean()) > 0.5  # ungated: towards the wrong teacher
    assert float(gated.soft[background].max()) == 0.0  # gated: towards the mask
    assert torch.equal(gated.soft[person], plain.soft[person])  # where they agree the teacher stays


def test_gated_teacher_keeps_soft_edges_and_ungated_samples():
    from humanseg.training.data.batches import gated_teacher
    teacher = torch.tensor([0.9, 0.6, 0.55, 0.1]).view(1, 1, 1, 4).repeat(2, 1, 1, 1)
    mask = torch.tensor([0.0, 1.0, 1.0, 1.0]).view(1, 1, 1, 4).repeat(2, 1, 1, 1)
    got = gated_teacher(teacher, mask, torch.tensor([True, False]))
    assert got[0].flatten().tolist() == pytest.approx([0.0, 0.6, 0.55, 1.0])  # 0.6, 0.55 within 0.5 of 1
    assert torch.equal(got[1], teacher[1])


def test_empty_scenes_are_backgrounds_alone_with_background_targets(stores):
    full = make(stores, synth_prob=1.0, pseudo_share=0.34)
    b = make(stores, synth_prob=1.0, pseudo_share=0.34, empty_prob=1.0)
    assert bool(b.has_gt.all())                        # teacher-only samples get a target too: nobody is there
    assert set(torch.unique(b.labels).tolist()) == {0}
    assert float(b.soft[b.soft_valid].max()) == 0.0
    assert int((full.labels == 1).sum()) > 0            # the same draw with people in it has person pixels
    assert not torch.equal(b.x, full.x)


def test_no_empty_scenes_unless_asked_and_the_random_stream_is_kept(stores):
    a, b = make(stores, synth_prob=1.0), make(stores, synth_prob=1.0, empty_prob=0.0)
    assert torch.equal(a.x, b.x) and torch.equal(a.labels, b.labels)
    assert int((a.labels == 1).sum()) > 0


def test_held_out_backgrounds_are_chosen_by_file_name(tiny_dataset, capsys):
    from humanseg.training.data.sources import held_out_background

    names = [tiny_dataset / "backgrounds" / f"bg{i}.jpg" for i in range(3)]
    out = [n for n in names if held_out_background(n, 0.5)]
    assert out == [n for n in names if held_out_background(Path("elsewhere") / n.name, 0.5)]  # the name decides
    every = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, hold_out_backgrounds=1.0)
    assert every.backgrounds is None and "backgrounds held out of training: 3 of 3" in capsys.readouterr().out
    half = load_training_stores(tiny_dataset, 64, torch.device("cpu"), threads=1, hold_out_backgrounds=0.5)
    assert len(half.backgrounds) == 3 - len(out)
    assert sorted(half.backgrounds.names) == sorted(str(n) for n in names if n not in out)


def test_cache_reuses_a_store_and_leaves_another_runs_partial_file_alone(tiny_dataset, tmp_path):
    """Two runs started together both build a missing store: each must write its own temporary file."""
    items = find_items(tiny_dataset / "train", need_mask=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    key = "k" * 16
    # another run is writing the same store right now: its partial files sit in the cache
    partials = [cache / f"store-{key}.tmp", cache / f"store-{key}.pt.{os.getpid() + 1}.tmp"]
    for partial in partials:
        partial.write_bytes(b"half written")
    first = cached(cache, key, lambda: build_store(items, 32, threads=1))
    for partial in partials:   # neither renamed nor overwritten
        assert partial.read_bytes() == b"half written"
    assert sorted(p.name for p in cache.iterdir()) == sorted([p.name for p in partials] + [f"store-{key}.pt"])
    again = cached(cache, key, lambda: pytest.fail("the cached store should be reused"))
    assert again.names == first.names and torch.equal(again.images, first.images)
    assert load_store(items, 32, None, threads=1).names == first.names
