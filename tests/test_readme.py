"""README's Python example runs as written (in a temporary folder with the example files it names;
the clip is cut to a few frames to keep the test fast), its demo command's output is git-ignored, and the
options README and docs/*.md give to a command are that command's."""
import re
import shutil
import subprocess
from pathlib import Path

import av
import pytest

from tests.conftest import REPO

README = REPO / "README.md"
DOCS = [README] + sorted((REPO / "docs").glob("*.md"))   # docs/training/ is a lab notebook, not user docs


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


def subcommand_options() -> dict[str, set[str]]:
    from humanseg.cli import build_parser

    subparsers = build_parser()._subparsers._group_actions[0].choices
    return {name: {o for o in p._option_string_actions if o.startswith("--")} for name, p in subparsers.items()}


def flags(text: str) -> list[str]:
    return re.findall(r"(?<![\w-])--[a-z][\w-]*", text)


def command_list(text: str, commands) -> list[str] | None:
    """"image, video and webcam" / "image, eval, serve" -> the names; None unless every item is a command."""
    names = [n.strip() for n in re.split(r",|\band\b", text) if n.strip()]
    return names if names and all(n in commands for n in names) else None


def command_lines(text: str) -> list[tuple[str, str]]:
    """(command, the rest) of every `humanseg COMMAND ...` in inline code and in code blocks."""
    spans = re.findall(r"```\w*\n(.*?)```", text, flags=re.S) + re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)
    return [(m[1], m[2]) for span in spans for line in span.splitlines()
            for m in re.finditer(r"\bhumanseg (\w+)([^#|&;]*)", line)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_options_given_to_a_command_are_in_its_parser(doc):
    """`humanseg CMD ... --flag` in a code span or block: CMD takes --flag."""
    options = subcommand_options()
    wrong = [f"humanseg {cmd} {flag}" for cmd, rest in command_lines(doc.read_text()) if cmd in options
             for flag in flags(rest) if flag not in options[cmd]]
    assert not wrong, f"{doc.name} gives options these commands do not have: {wrong}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_commands_listed_for_an_option_are_the_ones_that_take_it(doc):
    """"`--flag N` (image, video, eval; ...)": exactly the commands whose parser has --flag. "Mask options (image,
    video, webcam, batch): `--a`, `--b` ...": each of them takes each. "for every command": all of them."""
    options = subcommand_options()
    text = " ".join(doc.read_text().split())   # a sentence may run over lines
    problems = []
    for flag, listed in re.findall(r"`(--[a-z][\w-]*)[^`]*` \(([a-z ,]+)[;)]", text):
        names = command_list(listed, options)
        if names is not None:
            takes = {cmd for cmd, opts in options.items() if flag in opts}
            if set(names) != takes:
                problems.append(f"{flag} is said for ({listed}); the commands that take it: {sorted(takes)}")
    for listed, said in re.findall(r"(?:\(([a-z ,]+)\)|for every command):(.*?)(?:;|\. [A-Z]|$)", text):
        names = list(options) if not listed else command_list(listed, options)
        for cmd in names or []:
            problems += [f"{flag} is said for `{cmd}`" for flag in flags(said) if flag not in options[cmd]]
    assert not problems, f"{doc.name}: {problems}"


def test_every_option_in_readme_belongs_to_a_command():
    """A `--flag` of its own in README (not after a script or another program) is an option of some command."""
    known = set().union(*subcommand_options().values())
    spans = re.findall(r"(?<!`)`(--[a-z][^`]*)`", README.read_text())
    unknown = sorted({f for span in spans for f in flags(span)} - known)
    assert not unknown, f"README names options no command has: {unknown}"
