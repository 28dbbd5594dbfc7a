import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR / "examples"))

DOCS_EXAMPLE = (REPO / "examples" / "docs-example.json").read_text()


@pytest.fixture(scope="session")
def docs_example() -> str:
    return DOCS_EXAMPLE


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `accessrules` binary of this repository: $ACCESSRULES_BIN, else
    a build in target/, else built now (debug, feature `cli`)."""
    given = os.environ.get("ACCESSRULES_BIN")
    if given:
        return Path(given)
    for profile in ("release", "debug"):
        candidate = REPO / "target" / profile / "accessrules"
        if candidate.exists():
            return candidate
    subprocess.run(
        ["cargo", "build", "--features", "cli", "--bin", "accessrules"], cwd=REPO, check=True
    )
    return REPO / "target" / "debug" / "accessrules"
