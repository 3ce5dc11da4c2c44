"""A checkpoint named by the user is read safely and refused in one line when it is not one of ours."""
import pickle

import pytest
import torch

from humanseg.errors import InputError, ModelError
from humanseg.training.checkpoint_file import read_checkpoint

RAN = []


class Payload:
    """Unpickling this calls RAN.append: a file that would run code when loaded."""

    def __reduce__(self):
        return (RAN.append, ("code ran",))


def test_a_checkpoint_reads_back_as_its_dict(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"model": "fast-portrait", "model_kwargs": {}, "state_dict": {"w": torch.ones(2)}}, path)
    state = read_checkpoint(path)
    assert state["model"] == "fast-portrait" and torch.equal(state["state_dict"]["w"], torch.ones(2))


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "none.pt")


@pytest.mark.parametrize("content", [b"x", b"", b"PK\x03\x04 truncated zip"])
def test_bytes_that_are_not_a_torch_file_are_a_model_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="not a humanseg checkpoint") as caught:
        read_checkpoint(path)
    assert "\n" not in str(caught.value)


def test_a_torch_file_of_something_else_is_a_model_error(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.ones(1)], path)
    with pytest.raises(ModelError, match="no model name and weights"):
        read_checkpoint(path)


def test_a_file_that_would_run_code_is_refused_without_running_it(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": "x", "state_dict": {}, "extra": Payload()}, path, pickle_module=pickle)
    with pytest.raises(ModelError, match="torch cannot read it"):
        read_checkpoint(path)
    assert RAN == []


@pytest.mark.parametrize("command", [["export", "{bad}", "--onnx", "{out}/m.onnx"],
                                     ["train", "--init", "{bad}", "--data", "{data}", "--out", "{out}/run"]])
def test_commands_refuse_a_file_that_is_not_a_checkpoint_in_one_line(tmp_path, capsys, command, tiny_dataset):
    from humanseg.cli import main

    bad = tmp_path / "photo.pt"
    bad.write_bytes(b"\xff\xd8\xff not a checkpoint")
    args = [a.format(bad=bad, out=tmp_path, data=tiny_dataset) for a in command]
    code = main([*args, "--device", "cpu"] if command[0] == "train" else args)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "not a humanseg checkpoint" in err, err
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "run").exists()
