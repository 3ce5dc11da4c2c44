import numpy as np

import cv2

from humanseg.runtime.postprocess import (PostProcess, color_guided_refine, filter_blobs, guided_refine,
                                         morphological_gate)
from humanseg.runtime.temporal import TemporalFilter


def blob_map():
    prob = np.zeros((100, 100), np.float32)
    prob[20:80, 30:70] = 0.9     # the person
    prob[5:7, 5:7] = 0.9         # a speck
    prob[85:95, 80:95] = 0.8     # a smaller second region
    return prob


def test_gate_removes_specks_and_keeps_the_body():
    out = morphological_gate(blob_map(), erode_px=2, dilate_px=4)
    assert out[5:7, 5:7].max() == 0
    assert out[40, 50] == np.float32(0.9)


def test_keep_largest_and_min_blob():
    assert filter_blobs(blob_map(), True, 0.0)[90, 90] == 0
    kept = filter_blobs(blob_map(), False, 0.01)
    assert kept[90, 90] > 0 and kept[6, 6] == 0


def test_guided_refine_follows_image_edges():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, 80:] = 255                     # a sharp edge at x = 80
    coarse = np.zeros((120, 160), np.float32)
    coarse[:, 70:] = 1.0                    # a mask 10 px off
    coarse = np.clip(coarse, 0, 1)
    refined = guided_refine(frame, coarse, radius=16)
    assert 0 <= refined.min() and refined.max() <= 1
    assert refined[:, 85:].mean() > refined[:, 60:75].mean()


def soft_edge_case(w: int, h: int, noise: float = 6) -> tuple[np.ndarray, np.ndarray, int]:
    """A red person on a green wall (with this much sensor noise), edge at 55 % of the width, and a map whose edge is soft (about the width of two canvas pixels) and half a canvas pixel off."""
    rng = np.random.default_rng(3)
    edge = int(0.55 * w)
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, :edge] = (40, 160, 40)
    frame[:, edge:] = (40, 40, 200)
    frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)   # sensor noise
    coarse = np.zeros((h, w), np.float32)
    coarse[:, int(0.545 * w):] = 1.0
    return frame, cv2.GaussianBlur(coarse, (0, 0), 0.01 * w), edge


def test_color_guided_refine_moves_a_soft_edge_onto_the_colour_edge_at_any_size():
    for w, h in ((160, 120), (800, 600), (2000, 1500)):
        frame, coarse, edge = soft_edge_case(w, h)
        refined = color_guided_refine(frame, coarse, 0.01)
        assert refined.shape == coarse.shape and refined.dtype == np.float32
        assert 0 <= refined.min() and refined.max() <= 1
        before = np.abs((coarse >= 0.5).mean(0) - (np.arange(w) >= edge)).sum()
        after = np.abs((refined >= 0.5).mean(0) - (np.arange(w) >= edge)).sum()
        assert after < 0.5 * before, (w, before, after)      # wrong columns: at least halved, at every size


def test_color_guided_refine_leaves_no_specks():
    frame, coarse, _ = soft_edge_case(800, 600, noise=25)
    hard = (color_guided_refine(frame, coarse, 0.01) >= 0.5).astype(np.uint8)
    assert cv2.connectedComponents(hard, connectivity=8)[0] - 1 == 1         # one person region
    assert cv2.connectedComponents(1 - hard, connectivity=8)[0] - 1 == 1     # one background region


def test_color_guided_refine_keeps_a_flat_map():
    frame, _, _ = soft_edge_case(320, 240)
    flat = np.full((240, 320), 0.8, np.float32)
    assert np.allclose(color_guided_refine(frame, flat, 0.01), 0.8, atol=1e-3)


def test_postprocess_chain_inactive_by_default():
    assert not PostProcess().active
    assert PostProcess(threshold=0.5).active


def test_flow_fusion_reduces_flicker_on_a_static_scene():
    rng = np.random.default_rng(0)
    canvas = rng.integers(0, 255, (144, 256, 3), dtype=np.uint8)
    base = np.zeros((144, 256), np.float32)
    base[30:120, 80:180] = 0.8
    noisy = [np.clip(base + rng.normal(0, 0.1, base.shape).astype(np.float32), 0, 1) for _ in range(10)]
    changes = {}
    for mode in ("none", "ema", "flow"):
        f = TemporalFilter(mode)
        outs = [f(p, canvas) for p in noisy]
        changes[mode] = np.mean([np.abs(a - b).mean() for a, b in zip(outs[1:], outs[:-1])])
    assert changes["ema"] < changes["none"] * 0.8
    assert changes["flow"] < changes["none"] * 0.8


def test_a_refine_radius_beyond_the_frame_costs_no_more_than_the_frame(monkeypatch):
    """PostProcess(refine=1_000_000) took two minutes on a 320x240 frame (the box filter's cost grows with its
    width); a box wider than the frame gives the same map, so the radius stops there."""
    import humanseg.runtime.postprocess as postprocess

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    prob = rng.random((240, 320)).astype(np.float32)
    at_frame = guided_refine(frame, prob, 320)
    sizes = []
    box_filter = cv2.boxFilter
    monkeypatch.setattr(postprocess.cv2, "boxFilter", lambda x, d, k, *a: sizes.append(k) or box_filter(x, d, k, *a))
    huge = guided_refine(frame, prob, 1_000_000)
    assert max(k[0] for k in sizes) <= 2 * 320 // 4 + 1
    assert np.abs(huge - at_frame).max() == 0
