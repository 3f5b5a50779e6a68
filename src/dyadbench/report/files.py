"""report.json: its schema, writing and reading (report/ is the only code that touches report files)."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA = "dyadbench.report/1"


def write_report(report: dict, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def load_report(path: Path) -> dict:
    doc = json.loads(Path(path).read_text())
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a dyadbench report (schema {doc.get('schema')!r}, expected {SCHEMA!r})")
    return doc
