"""Each use gets its shipped default: photos ("still") and video can have different models (weights.default_model).

The tests add a second shipped model for photos (a copy of the real one under another name) and check that
every surface picks it for photos and keeps `portrait` for video, unless a model is named."""
import dataclasses
import shutil

import cv2
import numpy as np
import pytest

from humanseg import weights
from humanseg.weights import CATALOGUE, SHIPPED, default_model
from tests.conftest import make_video


@pytest.fixture
def photo_model(tmp_path, monkeypatch):
    """`portrait-photo`, the default for photos; `portrait` stays the default for video."""
    path = tmp_path / "portrait-photo.onnx"
    shutil.copyfile(SHIPPED["portrait"], path)
    portrait = CATALOGUE["portrait"]
    monkeypatch.setitem(CATALOGUE, "portrait", dataclasses.replace(portrait, default_for=("video",)))
    monkeypatch.setitem(CATALOGUE, "portrait-photo", dataclasses.replace(
        portrait, name="portrait-photo", file=path, use="photos", default_for=("still",)))
    monkeypatch.setitem(SHIPPED, "portrait-photo", path)
    return path


@pytest.fixture
def opened(monkeypatch):
    """The model files the Segmenters open, in order."""
    from humanseg.runtime import session

    seen, real = [], session.resolve_model
    monkeypatch.setattr(session, "resolve_model", lambda model: seen.append(str(model)) or real(model))
    return seen


def test_one_model_is_the_default_of_both_uses():
    assert default_model("still") == default_model("video") == "portrait"
    with pytest.raises(ValueError, match="use 'audio'"):
        default_model("audio")


def test_a_photo_model_is_the_default_for_photos_only(photo_model):
    assert default_model("still") == "portrait-photo" and default_model("video") == "portrait"
    assert weights.resolve_model("portrait-photo") == photo_model


def test_the_cli_picks_the_default_of_each_command(photo_model, opened, tmp_path, capsys):
    from humanseg.cli import main

    image = tmp_path / "in.png"
    cv2.imwrite(str(image), np.full((36, 48, 3), 120, np.uint8))
    assert main(["image", str(image), str(tmp_path / "out.png"), "--mirror-average", "off"]) == 0
    clip = make_video(tmp_path / "in.mp4", n=2, audio=False)
    assert main(["video", str(clip), str(tmp_path / "out.mp4")]) == 0
    assert main(["image", str(image), str(tmp_path / "out2.png"), "--model", "portrait"]) == 0
    assert opened == ["portrait-photo", "portrait", "portrait"]


def test_the_api_and_batch_pick_the_default_of_each_kind(photo_model, opened, tmp_path):
    from humanseg.api import convert_image, convert_video
    from humanseg.batch.work import BatchSettings

    image = tmp_path / "in.png"
    cv2.imwrite(str(image), np.full((36, 48, 3), 120, np.uint8))
    convert_image(image, tmp_path / "out.png")
    convert_video(make_video(tmp_path / "in.mp4", n=2, audio=False), tmp_path / "out.mp4", progress=False)
    assert opened == ["portrait-photo", "portrait"]
    settings = BatchSettings()
    assert (settings.model_for("image"), settings.model_for("video")) == ("portrait-photo", "portrait")
    assert BatchSettings(model="portrait").model_for("image") == "portrait"
    assert "portrait-photo.onnx" in settings.describe("image") and "portrait.onnx" in settings.describe("video")


def test_the_service_segments_photos_with_the_photo_model_and_the_page_runs_the_video_one(photo_model):
    from fastapi.testclient import TestClient

    from humanseg.server.app import create_app
    from humanseg.server.config import ServerConfig

    listing = TestClient(create_app(ServerConfig(workers=1, queue=1))).get("/v1/models").json()
    assert listing["default"] == "portrait-photo" and listing["live_default"] == "portrait"
    named = TestClient(create_app(ServerConfig(model="portrait", workers=1, queue=1))).get("/v1/models").json()
    assert named["default"] == named["live_default"] == "portrait"   # a model the service was started with
