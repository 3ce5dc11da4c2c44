"""The records of a run: the JSON-lines manifest (one record per input, this run) and the resume journal
(what finished, over all runs). Both are written and flushed line by line, so a run that is interrupted
or killed leaves whole records of what it finished; a torn last line is ignored when read back."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import OutputError
from ..io.images import atomic_write_bytes
from .outdir import file_identity, output_named

MANIFEST = "manifest.jsonl"
RESUME_JOURNAL = ".humanseg-batch-resume.jsonl"
STATUSES = ("done", "skipped", "failed", "ignored")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def make_record(inp: str, out: str | None, kind: str | None, status: str, reason: str | None, frames: int,
                seconds: float, warnings: list[str] | None = None) -> dict:
    """One manifest line: input, output (None when no output path exists), kind ("image", "video" or None),
    status (done, skipped, failed, or ignored: a file in the input folder that is not an image or video),
    reason (one line, None when done or skipped), frames written (1 for an image), seconds spent on it,
    warnings (one line each)."""
    assert status in STATUSES
    return {"input": inp, "output": out, "kind": kind, "status": status, "reason": reason, "frames": int(frames),
            "seconds": round(float(seconds), 4), "warnings": list(warnings or [])}


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write ({exc.strerror or exc}); check free space and permissions")


def _open(path: Path, mode: str):
    try:
        return open(path, mode, encoding="utf-8")
    except OSError as exc:
        raise _cannot_write(path, exc) from exc


def _close(file, path: Path) -> None:
    """Close `file` (at `path`): lines still buffered that a full disk refuses are an OutputError."""
    try:
        file.close()   # closes the file even when its last flush fails
    except OSError as exc:
        raise _cannot_write(path, exc) from exc


def _append(file, path: Path, text: str, sync: bool = False) -> None:
    """Write and flush `text` (whole lines) to the open `file` at `path`; a full disk is an OutputError."""
    try:
        file.write(text)
        file.flush()
        if sync:
            os.fsync(file.fileno())
    except OSError as exc:
        raise _cannot_write(path, exc) from exc


class Manifest:
    """`path` as JSON lines, started afresh by each run; each record is flushed as it is written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = _open(self.path, "w")

    def write(self, record: dict) -> None:
        _append(self._file, self.path, json.dumps(record) + "\n")

    def close(self) -> None:
        _close(self._file, self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def is_manifest(path: Path) -> bool:
    """Whether the file at `path` is empty or starts with whole manifest records (the first 64 KiB are
    read): what an earlier batch wrote, so a new run may replace it."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    lines = head.split(b"\n")[:-1]   # whole lines only: the last piece may be cut or torn
    if not head:
        return True
    if not lines:
        return False
    for line in lines:
        try:
            value = json.loads(line.decode("utf-8"))
        except ValueError:   # UnicodeDecodeError too
            return False
        if not isinstance(value, dict) or value.get("status") not in STATUSES or "input" not in value:
            return False
    return True


def check_manifest_path(path: Path, out: Path, inputs: list[str], output_names: list[str],
                        kept: dict[str, Path]) -> None:
    """Refuse (OutputError), before anything is written, a manifest path that would replace what the run
    reads or writes, or a file that is not ours: one of `inputs`, a planned output (`output_names`, relative
    to `out`), a file of `kept` ({what it is: path}, e.g. the resume journal), a folder, a path in a missing
    folder other than `out` (made by the run), or an existing file that is not a manifest an earlier run
    wrote (that is replaced). Compared by resolved path and, where the file exists, by identity (hard links)."""
    path = Path(path)
    real, inode = os.path.realpath(path), file_identity(path)

    def matches(candidate: str | Path) -> bool:
        return os.path.realpath(candidate) == real or (inode is not None and file_identity(candidate) == inode)

    what = next((what for what, p in kept.items() if matches(p)), None)
    if what is None and inode is not None and any(file_identity(p) == inode for p in inputs):
        what = "an input of this run"
    if what is None and output_named(path, out, output_names) is not None:
        what = "an output of this run"
    if what is not None:
        raise OutputError(f"{path}: the manifest would overwrite {what}; choose another --manifest path")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give --manifest a file path such as {path / MANIFEST}")
    if not path.parent.is_dir() and os.path.realpath(path.parent) != os.path.realpath(out):
        raise OutputError(f"{path.parent}: manifest folder does not exist")
    if inode is not None and not is_manifest(path):
        raise OutputError(f"{path}: exists and is not a manifest an earlier humanseg batch wrote; kept: choose "
                          "another --manifest path or move the file away")


def read_manifest(path: Path) -> list[dict]:
    """The whole records of a manifest (a torn last line left out)."""
    return list(_read_lines(Path(path)))


def _read_lines(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


STARTED = ""   # the key of an output a run set out to make: never a finished key


class ResumeJournal:
    """`{"name": output name, "key": resume key, "frames": n}` lines appended as each output is in place,
    and `{"name", "key": "", "frames": 0}` lines (started) written before any output is begun. On open the
    lines are read (the last for a name wins) and the file rewritten compactly (atomically). An output whose
    done record was lost (killed between rename and record) has its started line: it is simply made again.
    A file at an output path that no line names is not ours (a user's file): see `knows`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.entries: dict[str, dict] = {}
        for entry in _read_lines(self.path):
            if isinstance(entry.get("name"), str) and isinstance(entry.get("key"), str):
                self.entries[entry["name"]] = {"key": entry["key"], "frames": int(entry.get("frames") or 0)}
        compact = "".join(json.dumps({"name": n, **e}) + "\n" for n, e in sorted(self.entries.items()))
        atomic_write_bytes(self.path, compact.encode())
        self._file = _open(self.path, "a")

    def finished(self, name: str, key: str) -> dict | None:
        """The entry ({"key", "frames"}) when `name` was last made with this key, else None."""
        entry = self.entries.get(name)
        return entry if entry and entry["key"] == key and key != STARTED else None

    def knows(self, name: str) -> bool:
        """Whether a run into this folder made, or set out to make, the output `name`."""
        return name in self.entries

    def start(self, names: list[str]) -> None:
        """Say these outputs are about to be (re)made, before any of them is written."""
        lines = []
        for name in names:
            self.entries[name] = {"key": STARTED, "frames": 0}
            lines.append(json.dumps({"name": name, "key": STARTED, "frames": 0}) + "\n")
        _append(self._file, self.path, "".join(lines), sync=True)

    def record(self, name: str, key: str, frames: int) -> None:
        self.entries[name] = {"key": key, "frames": frames}
        _append(self._file, self.path, json.dumps({"name": name, "key": key, "frames": frames}) + "\n")

    def close(self) -> None:
        _close(self._file, self.path)
