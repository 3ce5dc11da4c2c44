"""The per-image rows of `humanseg eval --csv`: where they may be written (checked before scoring) and the
atomic write."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ..errors import OutputError
from ..io.images import atomic_write_bytes, same_file

HEADER_START = "image,source,"   # the first columns of every CSV written here


def check_csv_path(path: str | Path, inputs: list[Path]) -> None:
    """Refuse (OutputError) a CSV path that cannot or must not be written: a folder, a path in a missing or
    read-only folder, an input file (`inputs`: every image, mask and alpha file scored; by resolved path and
    by identity, so links count) or a path in a folder that holds them (images/, masks/, alpha/), or an
    existing file that is not a CSV an earlier eval wrote (that one is replaced)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give --csv a file path such as {path / 'rows.csv'}")
    if not path.parent.is_dir():
        raise OutputError(f"{path.parent}: folder for the --csv file does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path.parent}: folder for the --csv file is not writable")
    data_folders = {os.path.realpath(folder) for folder in {p.parent for p in inputs}}
    if os.path.dirname(os.path.realpath(path)) in data_folders or any(same_file(path, p) for p in inputs):
        raise OutputError(f"{path}: is in the data being scored (images, masks or alpha); write the --csv elsewhere")
    if path.exists() and not _is_rows_csv(path):
        raise OutputError(f"{path}: exists and is not a CSV that humanseg eval wrote; kept: choose another --csv "
                          "path or move the file away")


def write_rows_csv(path: str | Path, rows: list[dict]) -> None:
    """rows (dicts, the union of their keys as columns, in first-seen order) as CSV, written atomically."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(dict.fromkeys(k for r in rows for k in r)), restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, text.getvalue().encode("utf-8"))


def _is_rows_csv(path: Path) -> bool:
    """Whether the file is empty or its first line is our header."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(HEADER_START))
    except OSError:
        return False
    return head in (b"", HEADER_START.encode())
