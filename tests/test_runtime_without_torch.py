"""The runtime half must import and run with PyTorch absent."""
import subprocess
import sys

from tests.conftest import EXAMPLE_IMAGE

SCRIPT = f"""
import sys
sys.modules['torch'] = None            # any 'import torch' now fails
import cv2, humanseg
from humanseg import Segmenter, Blur
img = cv2.imread({str(EXAMPLE_IMAGE)!r})
mask = Segmenter().segment(img)
out = Blur()(img, mask)
assert out.shape == img.shape
assert not any(m.startswith('humanseg.training') for m in sys.modules)
print('ok')
"""


def test_runtime_imports_and_runs_without_torch():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_training_command_without_torch_says_what_to_install(tmp_path):
    code = "import sys; sys.modules['torch'] = None; from humanseg.cli import main; sys.exit(main(['train', '--data', '.']))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2 and "humanseg[train]" in r.stderr and "Traceback" not in r.stderr


def test_cli_parser_needs_no_optional_extras():
    """`pip install humanseg` alone: the CLI must start without torch, fastapi or uvicorn."""
    code = ("import sys\n"
            "for m in ('torch', 'fastapi', 'uvicorn', 'starlette'):\n"
            "    sys.modules[m] = None\n"
            "from humanseg.cli import main\n"
            "sys.exit(main(['models']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("portrait")
