"""What a wheel or an sdist gets, read from pyproject.toml and the package folder (no build here)."""
import fnmatch
import subprocess
import sys
import tomllib

import humanseg
from humanseg.weights import CATALOGUE
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_build_backend_reads_the_license_expression():
    """`license = "Apache-2.0"` (PEP 639) is refused by setuptools before 77: the build would fail there."""
    assert isinstance(PYPROJECT["project"]["license"], str)
    setuptools = [r for r in PYPROJECT["build-system"]["requires"] if r.replace(" ", "").startswith("setuptools")]
    assert setuptools == ["setuptools>=77"], setuptools
    assert (REPO / "LICENSE").is_file() and "Apache License" in (REPO / "LICENSE").read_text()[:200]


def test_every_data_file_in_the_package_is_package_data():
    """A non-Python file under humanseg/ that no package-data pattern names would be missing from the wheel."""
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    left_out = []
    for path in sorted((REPO / "humanseg").rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(REPO)
        owner = next((".".join(rel.parts[:i]) for i in range(len(rel.parts) - 1, 0, -1)
                      if (REPO.joinpath(*rel.parts[:i]) / "__init__.py").is_file()), None)
        inner = "/".join(rel.parts[len(owner.split(".")):]) if owner else str(rel)
        if not any(fnmatch.fnmatch(inner, pattern) for pattern in package_data.get(owner, [])):
            left_out.append(str(rel))
    assert not left_out, f"not in [tool.setuptools.package-data]: {left_out}"
    for entry in CATALOGUE.values():   # the shipped weights and their cards are among them
        assert entry.file.is_file() and entry.card.is_file()


def test_model_card_quotes_the_licences_humanseg_models_prints():
    for entry in CATALOGUE.values():
        assert entry.data_licences in entry.card.read_text(), f"{entry.card.name} does not state: {entry.data_licences}"


def test_version_is_the_one_in_pyproject():
    assert humanseg.__version__ == PYPROJECT["project"]["version"]
    r = subprocess.run([sys.executable, "-m", "humanseg", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"humanseg {PYPROJECT['project']['version']}", r


def test_sdist_carries_the_tests_and_what_they_read():
    """An sdist is what packagers run the tests from: MANIFEST.in must graft the tests and the repo folders they
    read (the bundled example, tools/ and benchmarks/ that some tests import)."""
    manifest = (REPO / "MANIFEST.in").read_text().splitlines()
    grafted = {line.split()[1] for line in manifest if line.startswith("graft ")}
    assert {"tests", "examples", "tools", "benchmarks"} <= grafted, grafted
    for folder in grafted:
        assert (REPO / folder).is_dir(), f"MANIFEST.in grafts {folder}, which does not exist"
