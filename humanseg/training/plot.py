"""PNG plot of the training log (loss and validation mIoU per epoch)."""
from __future__ import annotations

from pathlib import Path


def plot_log(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_miou) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [r["train_loss"] for r in rows])
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    ax_miou.plot(epochs, [r["val_miou"] for r in rows], color="tab:green")
    ax_miou.set(xlabel="epoch", ylabel="validation mIoU", title="mIoU")
    fig.tight_layout()
    tmp = Path(path).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)
