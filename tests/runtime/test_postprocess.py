import numpy as np

from humanseg.runtime.postprocess import PostProcess, filter_blobs, guided_refine, morphological_gate
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
