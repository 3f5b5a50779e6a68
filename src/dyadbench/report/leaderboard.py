"""Merge several ``report.json`` files into one leaderboard (a pandas table and an HTML page)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..evaluation import load_report


def find_reports(paths: list[Path]) -> list[Path]:
    """report.json files named directly or found under the given folders."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("report.json")))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such report or folder")
    if not out:
        raise FileNotFoundError(f"no report.json under {[str(p) for p in paths]}")
    return out


def leaderboard(paths: list[Path]) -> tuple[pd.DataFrame, list[dict]]:
    reports = [load_report(p) for p in find_reports(paths)]
    rows = []
    for r in reports:
        row = {"task": r["task"], "system": r["system"], "items": r["n_items"]}
        for name, m in r["metrics"].items():
            row[name] = m.get("value")
            if m.get("low") is not None:
                row[f"{name} CI"] = f"[{m['low']:.3g}, {m['high']:.3g}]"
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["task", "system"]).reset_index(drop=True), reports
