import numpy as np
import pytest

from humanseg import PostProcess, Segmenter
from humanseg.errors import InputError, ModelError


def test_shipped_model_finds_the_person_in_the_example(segmenter, example_image):
    mask = segmenter.segment(example_image)
    h, w = example_image.shape[:2]
    assert mask.shape == (h, w) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    face = mask[int(h * 0.1):int(h * 0.3), int(w * 0.36):int(w * 0.5)]     # the astronaut's face
    suit = mask[int(h * 0.6):int(h * 0.95), int(w * 0.15):int(w * 0.55)]  # the orange suit
    flag = mask[: h // 6, : w // 10]                                      # flag, top-left corner
    shuttle = mask[: h // 3, int(w * 0.75):]                              # shuttle model, top right
    assert face.mean() > 0.9 and suit.mean() > 0.9
    assert flag.mean() < 0.2 and shuttle.mean() < 0.2


@pytest.mark.parametrize("kind", ["gray", "rgba", "uint16", "odd"])
def test_any_frame_kind(segmenter, example_image, kind):
    img = example_image
    if kind == "gray":
        img = img[..., 0]
    elif kind == "rgba":
        img = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    elif kind == "uint16":
        img = img.astype(np.uint16) * 257
    else:
        img = img[:101, :77]
    mask = segmenter.segment(img)
    assert mask.shape == img.shape[:2]
    assert np.isfinite(mask).all()


def test_rgb_order_matches_bgr(segmenter, example_image):
    a = segmenter.segment(example_image)
    b = segmenter.segment(example_image[..., ::-1].copy(), order="rgb")
    assert np.abs(a - b).max() < 1e-5


def test_bad_frames_and_models_are_clear_errors(segmenter, tmp_path):
    with pytest.raises(InputError):
        segmenter.segment(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(ModelError):
        Segmenter("no-such-model")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ModelError):
        Segmenter(bad)


def test_postprocess_threshold_gives_binary_mask(example_image):
    seg = Segmenter("portrait", threads=2, postprocess=PostProcess(threshold=0.5, keep_largest=True))
    mask = seg.segment(example_image)
    assert set(np.unique(mask)) <= {0.0, 1.0}


@pytest.mark.parametrize("mode", ["none", "ema", "flow"])
def test_stream_modes_on_a_static_scene_are_stable(segmenter, example_image, mode):
    stream = segmenter.stream(mode)
    masks = [stream.segment(example_image) for _ in range(4)]
    single = segmenter.segment(example_image)
    assert np.abs(masks[-1] - single).mean() < 0.02
    assert np.abs(masks[-1] - masks[-2]).max() < 0.05


def test_stream_rejects_unknown_mode(segmenter):
    with pytest.raises(ValueError):
        segmenter.stream("magic")


def test_allocator_tuning_is_applied_on_linux():
    import sys

    from humanseg.runtime.allocator import reuse_large_buffers

    assert reuse_large_buffers() is sys.platform.startswith("linux")


@pytest.mark.parametrize("post", [PostProcess(threshold=5), PostProcess(threshold=float("nan")), PostProcess(feather=-1),
                                  PostProcess(gate=(1,)), PostProcess(gate=3), PostProcess(min_blob_fraction=2)])
def test_segmenter_checks_its_own_mask_options(post):
    """Not only the convert functions: unchecked, threshold=5 gave an all-background mask without a word and a
    negative feather or a one-number gate a raw OpenCV/TypeError traceback."""
    seg = Segmenter("portrait", threads=1, postprocess=post)
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(InputError):
        seg.segment(frame)
    with pytest.raises(InputError):
        seg.stream().segment(frame)
    with pytest.raises(InputError):
        seg.finish(np.zeros((48, 64), np.float32), frame)


@pytest.mark.parametrize("shape", [(20, 800, 1), (800, 20, 1), (20, 800), (20, 800, 3)])
def test_a_one_channel_frame_beyond_3_to_1_is_segmented(segmenter, shape):
    """A letterboxed HxWx1 frame (wider than 3:1 here; any frame off the canvas's aspect for a fixed-canvas model)
    was a raw NumPy 'could not broadcast (2,320) into (2,320,1)': OpenCV's resize drops a single channel."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, shape, dtype=np.uint8)
    mask = segmenter.segment(frame)
    assert mask.shape == shape[:2] and mask.dtype == np.float32
    if len(shape) == 3 and shape[2] == 1:
        np.testing.assert_array_equal(mask, segmenter.segment(frame[..., 0]))
        np.testing.assert_array_equal(mask, segmenter.stream().segment(frame))


@pytest.mark.parametrize("frame, order, words", [
    (np.zeros((8, 8, 3), np.uint8), "BGR", "order 'BGR'"),          # was a raw KeyError ('BGR', 3)
    (np.zeros((8, 8), np.uint8), "yuv", "order 'yuv'"),             # was accepted: gray frames never looked
    (np.full((8, 8, 3), np.nan, np.float32), "bgr", "NaN"),         # was a mask made of whatever NaN casts to
    (np.zeros((8, 8, 3), np.complex64), "bgr", "complex64"),        # was the real part, with a ComplexWarning
    (np.zeros((8, 8, 3), object), "bgr", "object"),
    (np.zeros((2, 8, 8, 3), np.uint8), "bgr", "got uint8 2x8x8x3"),
])
def test_bad_frames_and_orders_are_one_clear_error(segmenter, frame, order, words):
    for segment in (segmenter.segment, segmenter.stream().segment):
        with pytest.raises(InputError, match=words):
            segment(frame, order=order)


def test_a_reset_stream_segments_as_a_new_one(segmenter, example_image):
    """The only reset there was, stream.temporal.reset(), kept the previous mask the model is fed (shipped model:
    4 channels), so the frame after a scene cut still saw the old scene's person."""
    other = np.ascontiguousarray(example_image[:, ::-1])
    stream = segmenter.stream()
    for _ in range(3):
        stream.segment(example_image)
    stream.reset()
    np.testing.assert_array_equal(stream.segment(other), segmenter.stream().segment(other))
