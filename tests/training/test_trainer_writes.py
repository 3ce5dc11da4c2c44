"""The trainer's checkpoint and log writes: an interrupted write keeps the previous file and leaves no temporary."""
import pytest

torch = pytest.importorskip("torch")

from humanseg.training import trainer  # noqa: E402


def test_an_interrupted_checkpoint_save_keeps_the_last_one_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    trainer._atomic_save({"epoch": 1}, path)

    def cut_short(obj, f):
        open(f, "wb").write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.torch, "save", cut_short)
    with pytest.raises(KeyboardInterrupt):
        trainer._atomic_save({"epoch": 2}, path)
    assert torch.load(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_log_and_checkpoint_temporaries_do_not_share_a_name(tmp_path):
    trainer._write_log([{"epoch": 1, "val_miou": 0.5}], tmp_path / "log.csv")
    trainer._atomic_save({}, tmp_path / "last.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "log.csv"]
    with trainer._temporary_beside(tmp_path / "last.pt") as a, trainer._temporary_beside(tmp_path / "log.csv") as b:
        assert a != b and a.parent == b.parent == tmp_path
