"""Adaptive canvas, pixel budgets and the temporal prior, through `Segmenter` with tiny hand-made models
whose output is linear in their input (tests/runtime/tiny_models.py), so every pixel can be traced."""
import cv2
import numpy as np
import pytest

from humanseg import Segmenter
from humanseg.errors import InputError, ModelError
from humanseg.runtime.preprocess import person_probability
from humanseg.runtime.temporal import AUTO_FOR_PLAIN_MODELS, AUTO_FOR_PRIOR_MODELS
from tests.runtime.tiny_models import write_tiny_model

SIZES = [(1280, 720), (720, 1280), (600, 600), (97, 61), (1001, 333), (333, 1001), (641, 479), (1364, 720)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"adaptive": write_tiny_model(root / "adaptive.onnx"),
            "legacy": write_tiny_model(root / "legacy.onnx", adaptive=False),
            "prior": write_tiny_model(root / "prior.onnx", channels=4)}


class Recorder:
    """Wraps a segmenter's session.run and keeps every input and output."""

    def __init__(self, segmenter: Segmenter):
        self.inputs, self.outputs = [], []
        run = segmenter.session.run

        def recording_run(x):
            y = run(x)
            self.inputs.append(x.copy())
            self.outputs.append(y.copy())
            return y

        segmenter.session.run = recording_run


def rectangle_frame(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """A black frame with a white rectangle whose edges fall between canvas pixels; and the rectangle (bool)."""
    x0, x1 = int(w * 0.23) + 1, int(w * 0.71) + 2
    y0, y1 = int(h * 0.17) + 2, int(h * 0.83) + 1
    frame = np.zeros((h, w, 3), np.uint8)
    frame[y0:y1, x0:x1] = 255
    rect = np.zeros((h, w), bool)
    rect[y0:y1, x0:x1] = True
    return frame, rect


@pytest.mark.parametrize("kind", ["adaptive", "legacy"])
@pytest.mark.parametrize("w,h", SIZES)
def test_canvas_round_trip_does_not_shift_the_mask(models, kind, w, h):
    """Frame -> canvas -> frame: a sharp rectangle lands on the same pixels within 1 px at its edges."""
    seg = Segmenter(models[kind], threads=1)
    frame, rect = rectangle_frame(w, h)
    mask = seg.segment(frame) >= 0.5
    assert mask.shape == (h, w)
    # along the middle row and column, each edge of the mask is within 1 px of the rectangle's
    rows, cols = np.flatnonzero(rect.any(1)), np.flatnonzero(rect.any(0))
    middle_row, middle_col = mask[(rows[0] + rows[-1]) // 2], mask[:, (cols[0] + cols[-1]) // 2]
    for line, truth in ((middle_row, cols), (middle_col, rows)):
        found = np.flatnonzero(line)
        assert abs(found[0] - truth[0]) <= 1 and abs(found[-1] - truth[-1]) <= 1, (found[[0, -1]], truth[[0, -1]])
        assert len(found) == found[-1] - found[0] + 1                       # one run, no holes
    # everywhere else too, up to the rounding of the corners (1 px in both directions there)
    kernel = np.ones((5, 5), np.uint8)
    near_edge = cv2.dilate(rect.astype(np.uint8), kernel) > cv2.erode(rect.astype(np.uint8), kernel)
    wrong = mask != rect
    assert not (wrong & ~near_edge).any(), np.argwhere(wrong & ~near_edge)[:5]
    assert wrong.sum() <= 0.5 * (rows[-1] - rows[0] + cols[-1] - cols[0])   # most edge pixels exact


@pytest.mark.parametrize("w,h", [(600, 600), (600, 640), (640, 600), (597, 611), (800, 750), (720, 1280), (1280, 720)])
def test_a_body_cut_off_by_the_bottom_edge_has_no_padding_below_it(models, w, h):
    """The issue's case: a near-square photo whose person runs out of the bottom edge. The adaptive canvas
    puts the frame's bottom row on the canvas's bottom row (no grey padding there) and the mask holds
    to the last row; the legacy letterbox put a slightly tall photo on a portrait canvas with padding
    above and below."""
    frame = np.zeros((h, w, 3), np.uint8)
    cv2.ellipse(frame, (w // 2, int(h * 0.3)), (w // 8, h // 7), 0, 0, 360, (255, 255, 255), -1)   # head
    frame[int(h * 0.45):, w // 4: 3 * w // 4] = 255                                                # body, cut off
    seg = Segmenter(models["adaptive"], threads=1)
    canvas, box = seg.canvas_input(frame)
    assert box.y + box.height == canvas.shape[0] and box.y == 0 and box.x == 0 and box.width == canvas.shape[1]
    assert canvas[-1, canvas.shape[1] // 2].min() == 255        # the body reaches the canvas's last row
    assert seg.segment(frame)[-1, w // 2] > 0.99
    if abs(w / h - 1) < 0.1:  # the old fixed letterbox wastes most of its canvas on such a photo
        legacy_canvas, legacy_box = Segmenter(models["legacy"], threads=1).canvas_input(frame)
        assert legacy_box.width * legacy_box.height < 0.7 * legacy_canvas.shape[0] * legacy_canvas.shape[1]
        if h > w:  # a portrait canvas: grey padding right below the cut-off body
            assert legacy_box.y + legacy_box.height < legacy_canvas.shape[0]


def test_square_photos_use_the_whole_budget(models):
    seg = Segmenter(models["adaptive"], threads=1)
    canvas, box = seg.canvas_input(np.zeros((600, 600, 3), np.uint8))
    assert canvas.shape[:2] == (192, 192) and (box.width, box.height) == (192, 192)
    legacy_canvas, legacy_box = Segmenter(models["legacy"], threads=1).canvas_input(np.zeros((600, 600, 3), np.uint8))
    assert legacy_canvas.shape[:2] == (144, 256) and legacy_box.width == 144


def test_canvas_pixels_knob_and_defaults(models):
    seg = Segmenter(models["adaptive"], threads=1)
    assert seg.budget() == 256 * 144 and seg.canvas_size(1280, 720) == (256, 144)
    assert Segmenter(models["adaptive"], threads=1, canvas_pixels="still").budget() == 2 * 256 * 144
    big = Segmenter(models["adaptive"], threads=1, canvas_pixels=4 * 256 * 144)
    assert big.canvas_size(1280, 720) == (512, 288)
    frame, _ = rectangle_frame(1280, 720)
    assert big.canvas_input(frame)[0].shape[:2] == (288, 512)
    assert seg.canvas_input(frame, canvas_pixels=4 * 256 * 144)[0].shape[:2] == (288, 512)   # per call
    legacy = Segmenter(models["legacy"], threads=1, canvas_pixels=4 * 256 * 144)       # ignored: fixed canvas
    assert legacy.budget() is None and legacy.canvas_size(1280, 720) == (256, 144)
    for bad in (0, -5, 1.5, "huge", True, 10**12):
        with pytest.raises(InputError):
            Segmenter(models["adaptive"], threads=1, canvas_pixels=bad)


def test_a_model_can_state_its_own_still_image_budget(tmp_path):
    own = write_tiny_model(tmp_path / "own.onnx", extra_metadata={"humanseg.still_budget_scale": "1.5"})
    seg = Segmenter(own, threads=1, canvas_pixels="still")
    assert seg.budget() == round(1.5 * 256 * 144) and Segmenter(own, threads=1).budget() == 256 * 144
    assert Segmenter(own, threads=1, canvas_pixels=1000).budget() == 1000         # an explicit budget wins
    for bad in ("0", "-1", "many"):
        path = write_tiny_model(tmp_path / f"bad{bad}.onnx", extra_metadata={"humanseg.still_budget_scale": bad})
        with pytest.raises(ModelError):
            Segmenter(path, threads=1)


def test_a_model_can_average_several_still_scales(tmp_path):
    from humanseg.runtime.preprocess import move_to_canvas

    own = write_tiny_model(tmp_path / "multi.onnx", extra_metadata={"humanseg.still_budget_scale": "1",
                                                                     "humanseg.still_budget_scales": "1,2"})
    seg = Segmenter(own, threads=1, canvas_pixels="still", mirror_average=False)
    assert seg.budget() == 256 * 144 and seg.budgets() == [256 * 144, 2 * 256 * 144]
    assert Segmenter(own, threads=1).budgets() == [256 * 144]                      # video: one pass
    assert Segmenter(own, threads=1, canvas_pixels=1000).budgets() == [1000]       # an explicit budget: one pass
    frame, rect = rectangle_frame(640, 360)
    rec = Recorder(seg)
    prob, box, canvas = seg.canvas_probability(frame)
    assert [x.shape[2:] for x in rec.inputs] == [(208, 352), (144, 256)]          # largest canvas first
    big, big_box, _ = seg.canvas_probability(frame, canvas_pixels=2 * 256 * 144)
    small, small_box, _ = seg.canvas_probability(frame, canvas_pixels=256 * 144)
    expected = (big + move_to_canvas(small, small_box, (352, 208), big_box)) / 2
    assert canvas.shape[:2] == (208, 352) and box == big_box and np.allclose(prob, expected, atol=1e-6)
    assert not np.allclose(prob, big, atol=1e-3)                                   # both scales count
    mask = seg.segment(frame) >= 0.5
    assert mask.shape == rect.shape and (mask != rect).mean() < 0.01


def test_still_scales_metadata_is_checked(tmp_path):
    for scales in ("2,1", "1,2,3,4,5", "1,x", "1,-2"):
        path = write_tiny_model(tmp_path / "bad.onnx", extra_metadata={"humanseg.still_budget_scale": "1",
                                                                        "humanseg.still_budget_scales": scales})
        with pytest.raises(ModelError):
            Segmenter(path, threads=1)
    path = write_tiny_model(tmp_path / "alone.onnx", extra_metadata={"humanseg.still_budget_scales": "1,2"})
    with pytest.raises(ModelError):
        Segmenter(path, threads=1)


def test_a_still_can_be_segmented_again_with_its_own_map_as_the_prior(tmp_path):
    from humanseg.runtime.preprocess import person_probability

    path = write_tiny_model(tmp_path / "self.onnx", channels=4, extra_metadata={"humanseg.still_prior_weight": "0.6"})
    seg = Segmenter(path, threads=1, canvas_pixels="still", mirror_average=False)
    assert seg.prior_weight() == 0.6 and Segmenter(path, threads=1).prior_weight() == 0.0   # video: one pass
    frame, rect = rectangle_frame(1000, 300)         # wider than the stretch allows: the canvas has padding
    rec = Recorder(seg)
    prob, box, canvas = seg.canvas_probability(frame)
    assert len(rec.inputs) == 2 and not rec.inputs[0][0, 3].any()                # first pass: empty prior
    first = person_probability(rec.outputs[0])
    prior = rec.inputs[1][0, 3]
    inside = np.zeros(prior.shape, bool)
    inside[box.y:box.y + box.height, box.x:box.x + box.width] = True
    assert inside.any() and not inside.all()
    assert np.allclose(prior[inside], 0.6 * first[inside], atol=1e-6) and not prior[~inside].any()
    assert np.allclose(prob, person_probability(rec.outputs[1]), atol=1e-6)     # the second pass is kept
    assert not np.allclose(prob, first, atol=1e-3)
    Segmenter(path, threads=1).segment(frame)
    one = Recorder(explicit := Segmenter(path, threads=1, canvas_pixels="still", mirror_average=False))
    explicit.segment(frame, canvas_pixels=50000)                                  # an explicit budget: one pass
    assert len(one.inputs) == 1
    for bad, channels in (("1.5", 4), ("0", 4), ("x", 4), ("0.5", 3)):
        bad_path = write_tiny_model(tmp_path / "bad.onnx", channels=channels,
                                    extra_metadata={"humanseg.still_prior_weight": bad})
        with pytest.raises(ModelError):
            Segmenter(bad_path, threads=1)


def test_a_still_map_is_refined_when_the_model_says_so(tmp_path):
    from humanseg.runtime.postprocess import PostProcess, color_guided_refine, guided_refine

    path = write_tiny_model(tmp_path / "refined.onnx", extra_metadata={"humanseg.still_refine": "0.02"})
    still = Segmenter(path, threads=1, canvas_pixels="still")
    plain = Segmenter(write_tiny_model(tmp_path / "plain.onnx"), threads=1, canvas_pixels="still")
    assert still.refine_fraction() == 0.02 and plain.refine_fraction() == 0.0
    assert Segmenter(path, threads=1).refine_fraction() == 0.0                 # video: never
    assert still.refine_fraction(50000) == 0.0                                 # an explicit budget: none
    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8), (0, 0), 3)
    raw = plain.segment(frame)
    refined = still.segment(frame)
    assert np.allclose(refined, color_guided_refine(frame, raw, 0.02), atol=1e-5) and not np.allclose(refined, raw)
    assert np.allclose(still.segment(frame, still_refine=False), raw, atol=1e-6)
    assert np.allclose(still.segment(frame, canvas_pixels=256 * 144), plain.segment(frame, canvas_pixels=256 * 144))
    assert np.allclose(Segmenter(path, threads=1).segment(frame), Segmenter(plain.session.path, threads=1).segment(frame))
    own = Segmenter(path, threads=1, canvas_pixels="still", postprocess=PostProcess(refine=8))   # --refine 8
    assert own.refine_fraction() == 0.0
    assert np.allclose(own.segment(frame), guided_refine(frame, raw, 8), atol=1e-5)      # replaces the recipe's
    rgb = still.segment(np.ascontiguousarray(frame[..., ::-1]), order="rgb")
    assert np.allclose(rgb, refined, atol=1e-4)                                 # the guide is the same picture
    for bad in ("0", "0.5", "-0.01", "x"):
        with pytest.raises(ModelError):
            Segmenter(write_tiny_model(tmp_path / "bad.onnx", extra_metadata={"humanseg.still_refine": bad}), threads=1)


def test_the_fast_photo_recipe_runs_the_main_budget_once_and_keeps_the_refinement(tmp_path):
    meta = {"humanseg.still_budget_scale": "1.25", "humanseg.still_budget_scales": "1.25,2",
            "humanseg.still_prior_weight": "0.5", "humanseg.still_refine": "0.01"}
    path = write_tiny_model(tmp_path / "recipe.onnx", channels=4, extra_metadata=meta)
    full = Segmenter(path, threads=1, canvas_pixels="still", mirror_average=False)
    fast = Segmenter(path, threads=1, canvas_pixels="still", mirror_average=False, photo_recipe="fast")
    assert full.budgets() == [46080, 73728] and full.prior_weight() == 0.5
    assert fast.budgets() == [46080] and fast.prior_weight() == 0.0 and fast.refine_fraction() == 0.01
    frame, _ = rectangle_frame(640, 360)
    runs = Recorder(fast)
    fast.segment(frame)
    assert len(runs.inputs) == 1 and runs.inputs[0].shape[2:] == (160, 288)    # one pass at 46080 pixels
    every = Recorder(full)
    full.segment(frame)
    assert len(every.inputs) == 4                                                # two budgets, twice each
    assert Segmenter(path, threads=1, photo_recipe="fast").budgets() == [36864]  # video is one pass anyway
    with pytest.raises(InputError):
        Segmenter(path, threads=1, photo_recipe="quick")


def test_a_single_image_gets_an_all_zero_prior(models):
    seg = Segmenter(models["prior"], threads=1)
    rec = Recorder(seg)
    frame, _ = rectangle_frame(640, 360)
    seg.segment(frame)
    seg.segment(frame)
    assert [x.shape[1] for x in rec.inputs] == [4, 4]
    assert all(not x[0, 3].any() for x in rec.inputs)


def test_the_stream_feeds_its_previous_output(models):
    seg = Segmenter(models["prior"], threads=1)
    rec = Recorder(seg)
    stream = seg.stream("prior")
    frame, _ = rectangle_frame(640, 360)
    masks = [stream.segment(frame) for _ in range(3)]
    first, second, third = rec.inputs
    assert not first[0, 3].any()                                                    # nothing before frame 1
    np.testing.assert_array_equal(second[0, 3], person_probability(rec.outputs[0]))  # frame 1's canvas map
    np.testing.assert_array_equal(third[0, 3], person_probability(rec.outputs[1]))
    inside = (180, 320)
    assert masks[0][inside] < masks[1][inside] < masks[2][inside]                   # feedback is visible
    np.testing.assert_array_equal(first[0, :3], second[0, :3])                      # the image part is unchanged

    # a new canvas (another frame shape): the previous map is moved onto it, 0 in the letterbox padding
    wide = np.zeros((100, 800, 3), np.uint8)                                        # 8:1, beyond the 3:1 clamp
    stream.segment(wide)
    prior = rec.inputs[-1][0, 3]
    canvas, box = seg.canvas_input(wide)
    assert prior.shape == canvas.shape[:2] and box.height < canvas.shape[0]
    assert not prior[:box.y].any() and not prior[box.y + box.height:].any()
    assert prior[box.y:box.y + box.height].max() > 0.5


@pytest.mark.parametrize("scene_cuts", [True, False])
def test_a_hard_cut_starts_the_stream_again(models, scene_cuts):
    seg = Segmenter(models["prior"], threads=1)
    rec = Recorder(seg)
    stream = seg.stream("prior+flow", scene_cuts=scene_cuts)
    frame, _ = rectangle_frame(640, 360)
    rng = np.random.default_rng(0)
    for _ in range(3):   # the same shot with sensor noise: never a cut
        stream.segment(np.clip(frame.astype(int) + rng.integers(-8, 9, frame.shape), 0, 255).astype(np.uint8))
    assert stream.cuts == 0 and rec.inputs[-1][0, 3].max() > 0.5
    other = np.full_like(frame, 200)
    other[40:320, 400:600] = 30          # another shot of the same size
    stream.segment(other)
    if scene_cuts:
        assert stream.cuts == 1 and not rec.inputs[-1][0, 3].any()    # as a first frame: an empty previous mask
    else:
        assert stream.cuts == 0 and rec.inputs[-1][0, 3].max() > 0.5  # the old shot's mask fed on
    stream.segment(other)
    assert stream.cuts == (1 if scene_cuts else 0)


def test_fusion_modes_do_not_feed_back_and_prior_modes_need_a_fourth_channel(models):
    four = Segmenter(models["prior"], threads=1)
    rec = Recorder(four)
    stream = four.stream("flow")
    frame, _ = rectangle_frame(320, 180)
    for _ in range(3):
        stream.segment(frame)
    assert all(not x[0, 3].any() for x in rec.inputs)
    assert four.stream().temporal.mode == AUTO_FOR_PRIOR_MODELS
    assert four.stream("prior+ema").temporal.prior and four.stream("prior+ema").temporal.fusion == "ema"
    three = Segmenter(models["adaptive"], threads=1)
    assert three.stream().temporal.mode == AUTO_FOR_PLAIN_MODELS
    with pytest.raises(InputError, match="4th input channel"):
        three.stream("prior+flow")


@pytest.mark.parametrize("mode", ["prior", "prior+flow", "prior+ema"])
def test_prior_modes_are_stable_on_a_static_scene(models, mode):
    seg = Segmenter(models["prior"], threads=1)
    stream = seg.stream(mode)
    frame, rect = rectangle_frame(320, 180)
    masks = [stream.segment(frame) for _ in range(25)]
    assert np.abs(masks[-1] - masks[-2]).max() < 0.01
    assert ((masks[-1] >= 0.5) == rect).mean() > 0.98


def test_frame_kinds_are_converted_on_the_canvas(models):
    """Gray, gray + alpha, BGRA, RGB order and 16-bit frames give the same canvas as their BGR uint8 form."""
    seg = Segmenter(models["adaptive"], threads=1)
    rng = np.random.default_rng(0)
    bgr = cv2.resize(rng.integers(0, 255, (18, 32, 3), dtype=np.uint8), (640, 360))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    ref, _ = seg.canvas_input(bgr)
    assert np.array_equal(seg.canvas_input(bgr[..., ::-1], order="rgb")[0], ref)
    assert np.array_equal(seg.canvas_input(np.dstack([bgr, np.full_like(gray, 255)]))[0], ref)
    assert np.array_equal(seg.canvas_input(np.dstack([bgr[..., ::-1], gray]), order="rgb")[0], ref)
    assert np.abs(seg.canvas_input(bgr.astype(np.uint16) * 257)[0].astype(int) - ref).max() <= 1
    gray_ref = cv2.cvtColor(seg.canvas_input(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))[0], cv2.COLOR_BGR2GRAY)
    for g in (gray, gray[..., None], np.dstack([gray, gray])):
        assert np.array_equal(cv2.cvtColor(seg.canvas_input(g)[0], cv2.COLOR_BGR2GRAY), gray_ref)
    with pytest.raises(InputError):
        seg.segment(np.zeros((10, 10, 5), np.uint8))


def test_the_mask_is_never_the_stream_state(models):
    """A frame the size of its canvas: the returned mask is a copy, so editing it cannot change the next frame."""
    seg = Segmenter(models["prior"], threads=1)
    stream = seg.stream("prior")
    frame, _ = rectangle_frame(256, 144)
    a = stream.segment(frame)
    a[:] = 0
    assert stream.segment(frame).max() > 0.5
