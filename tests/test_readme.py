"""README's Python example runs as written (in a temporary folder with the example files it names;
the clip is cut to a few frames to keep the test fast), and its demo command's output is git-ignored."""
import re
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from tests.conftest import REPO

README = REPO / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def copy_example(name: str, dest: Path, max_frames: int = 8) -> None:
    src = REPO / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix != ".mp4":
        shutil.copy(src, dest)
        return
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        v_in = inp.streams.video[0]
        v = out.add_stream("libx264", rate=v_in.average_rate)
        v.width, v.height, v.pix_fmt = v_in.codec_context.width, v_in.codec_context.height, "yuv420p"
        for i, frame in enumerate(inp.decode(video=0)):
            if i == max_frames:
                break
            frame.pts = i
            for packet in v.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="bgr24"), format="bgr24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) == 1
    code = blocks[0]
    for name in sorted(set(re.findall(r"""["'](examples/[^"']+)["']""", code))):
        copy_example(name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    written = re.findall(r"""cv2\.imwrite\(["']([^"']+)["']""", code)
    assert written and all((tmp_path / name).stat().st_size > 0 for name in written)


def test_readme_demo_output_is_ignored_by_git():
    """The first command of the README writes its output into the clone; git must not offer to commit it."""
    demo = re.search(r"humanseg video examples/astronaut\.mp4 (\S+)", README.read_text())
    assert demo, "the README's demo command"
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    r = subprocess.run(["git", "check-ignore", "-q", demo[1]], cwd=REPO)
    assert r.returncode == 0, f"{demo[1]} is not in .gitignore"
