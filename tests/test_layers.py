"""The import layers of ../shared/DESIGN.md, checked by import-linter (contracts in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")


def run(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--config", str(config)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_no_import_runs_against_the_layers():
    res = run(ROOT / "pyproject.toml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_a_layer_violation_fails(tmp_path):
    """A contract the code breaks (tasks use metrics) must fail the check: the checker is live."""
    cfg = tmp_path / "layers.toml"
    cfg.write_text('[tool.importlinter]\nroot_package = "dyadbench"\n\n[[tool.importlinter.contracts]]\n'
                   'name = "broken on purpose"\ntype = "forbidden"\nsource_modules = ["dyadbench.tasks"]\n'
                   'forbidden_modules = ["dyadbench.metrics"]\n')
    res = run(cfg)
    assert res.returncode != 0 and "BROKEN" in res.stdout
