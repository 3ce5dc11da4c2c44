"""A trained network as a further distillation teacher (--teacher-model)."""
import pytest

torch = pytest.importorskip("torch")

from humanseg.errors import OptionError  # noqa: E402
from humanseg.training.config import TrainConfig  # noqa: E402
from humanseg.training.losses.distill import SoftTargetLoss  # noqa: E402
from humanseg.training.model_teacher import load_model_teacher, model_teacher_loss  # noqa: E402
from humanseg.training.models import create_model  # noqa: E402

from .trained_like import as_if_trained  # noqa: E402


def _save(path, name="fast-portrait-prior", model=None):
    model = model or as_if_trained(create_model(name))
    torch.save({"model": name, "model_kwargs": {}, "state_dict": model.state_dict()}, path)
    return model


def test_the_teacher_is_frozen_and_its_loss_pulls_the_student_towards_it(tmp_path):
    torch.manual_seed(0)
    reference = _save(tmp_path / "t.pt")
    teacher = load_model_teacher(tmp_path / "t.pt", 4)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    student = create_model("fast-portrait-prior-lean")
    x = torch.rand(2, 4, 64, 96) * 2 - 1
    with torch.no_grad():
        assert torch.equal(teacher(x), reference(x))
    distill = SoftTargetLoss()
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)

    def gap():
        with torch.no_grad():
            return float((student(x).softmax(1)[:, 1] - teacher(x).softmax(1)[:, 1]).abs().mean())

    before = gap()
    for _ in range(30):
        loss = model_teacher_loss(teacher, x, student(x), distill)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert gap() < 0.5 * before
    assert all(p.grad is None for p in teacher.parameters())


@pytest.mark.parametrize("case, phrase", [("missing", "checkpoint not found"), ("channels", "takes 3 input channels"),
                                          ("matting", "is a matting model"), ("misfit", "--teacher-model:")])
def test_an_unusable_teacher_is_refused_in_one_line(tmp_path, case, phrase):
    path = tmp_path / "t.pt"
    if case == "channels":
        _save(path, "fast-portrait")
    elif case == "matting":
        _save(path, "fast-portrait-matte")
    elif case == "misfit":
        torch.save({"model": "fast-portrait-prior", "state_dict": create_model("pphumanseg-lite").state_dict()}, path)
    with pytest.raises(OptionError) as caught:
        load_model_teacher(path, 4)
    assert phrase in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_training_with_a_teacher_model_records_it(tiny_dataset, tmp_path):
    from humanseg.training.checkpoint_file import read_checkpoint
    from humanseg.training.trainer import train

    _save(tmp_path / "t.pt")
    cfg = TrainConfig(model="fast-portrait-prior-lean", data=str(tiny_dataset), out=str(tmp_path / "run"),
                      size=(64, 48), epochs=1, batch_size=4, steps_per_epoch=2, seed=1, workers=1, pseudo_share=0.0,
                      canvas="adaptive", teacher_model=str(tmp_path / "t.pt"), teacher_model_weight=2.0)
    train(cfg)
    state = read_checkpoint(tmp_path / "run" / "last.pt")
    assert state["training_runs"][-1]["teacher_model"] == str(tmp_path / "t.pt")
    with pytest.raises(OptionError, match="--teacher-model: .* takes 4 input channels, the student 3"):
        train(TrainConfig(model="fast-portrait", data=str(tiny_dataset), out=str(tmp_path / "run3"),
                          teacher_model=str(tmp_path / "t.pt")))
    assert not (tmp_path / "run3").exists()
