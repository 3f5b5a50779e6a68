"""Merge ``report.json`` files into one leaderboard: a long table (task, system, metric, value,
low, high, …), one wide table per comparable group for people (same task, conventions and
items: runs on other items or under other conventions are never ranked together), and the
notes of what was left out.

Folders are searched for ``report.json`` files (other JSON there — sample data, training runs,
study exports — is counted in one note, never read); a demo bundle (``dyadbench.demo/1``)
contributes its reports; a named file that is not a dyadbench report is skipped with a note. The same (task, system) twice is
merged when the numbers are identical (the same report passed twice) and refused when they differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .files import SCHEMA

DEMO_SCHEMA = "dyadbench.demo/1"


def find_reports(paths: list[Path], notes: list[str] | None = None) -> list[Path]:
    """Files named directly, and the ``report.json`` files under the given folders."""
    out, others = [], 0
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.json"))
            out.extend(f for f in found if f.name == "report.json")
            others += sum(1 for f in found if f.name != "report.json")
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such report or folder")
    if others and notes is not None:
        notes.append(f"{others} other .json file(s) under the folders were not read (only report.json files are reports)")
    return out


def _load(path: Path, notes: list[str]) -> list[dict]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{path}: skipped, not readable JSON ({exc})")
        return []
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema == SCHEMA:
        return [{**doc, "_path": str(path)}]
    if schema == DEMO_SCHEMA:
        return [{**r, "_path": f"{path}#{i}"} for i, r in enumerate(doc.get("reports", []))]
    notes.append(f"{path}: skipped, not a dyadbench report (schema {schema!r})")
    return []


def leaderboard(paths: list[Path]) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """``(long table, reports, notes)``; raises ValueError on conflicting duplicates or no report."""
    notes: list[str] = []
    seen: dict[tuple, dict] = {}
    for path in find_reports(paths, notes):
        for r in _load(path, notes):
            key = (*comparable_key(r), r["system"])
            if key in seen:
                if seen[key]["metrics"] != r["metrics"]:
                    raise ValueError(f"{r['_path']} and {seen[key]['_path']} both report system {r['system']!r} on "
                                     f"{r['task']} with different numbers; rename one system (evaluate --system)")
                notes.append(f"{r['_path']}: same report as {seen[key]['_path']}, counted once")
                continue
            seen[key] = r
    if not seen:
        raise FileNotFoundError(f"no dyadbench report under {[str(p) for p in paths]}")
    reports = [seen[k] for k in sorted(seen)]
    group_of = {id(r): title for title, rs in comparable_groups(reports).items() for r in rs}
    rows = [{"group": group_of[id(r)], "task": r["task"], "system": r["system"], "metric": name, "value": m.get("value"),
             "low": m.get("low"), "high": m.get("high"), "better": m.get("better"), "convention": m.get("convention"),
             "n": m.get("n"), "items": r["n_items"], "report": r["_path"]}
            for r in reports for name, m in r["metrics"].items()]
    table = pd.DataFrame(rows)
    for col in ("value", "low", "high"):
        table[col] = pd.to_numeric(table[col])
    return table, [{k: v for k, v in r.items() if k != "_path"} for r in reports], notes


def comparable_key(report: dict) -> tuple:
    """Runs belong in one table only with the same task, conventions and data: the data manifest's
    hash (same items, same arrays); a report without one: its items' fingerprint, else its data
    root and item count."""
    manifest = (report.get("manifest") or {}).get("hash")
    data = (f"manifest {manifest[:12]}" if manifest else None) or report.get("items_fingerprint") \
        or f"{report.get('data_root', '?')} ({report.get('n_items', '?')} items)"
    return report["task"], json.dumps(report.get("conventions", {}), sort_keys=True), data


def comparable_groups(reports: list[dict]) -> dict[str, list[dict]]:
    """Reports grouped by ``comparable_key``, each group titled by its task and, when a task has
    several groups, by what differs between them (conventions, items)."""
    groups: dict[tuple, list[dict]] = {}
    for r in reports:
        groups.setdefault(comparable_key(r), []).append(r)
    per_task_keys: dict[str, list[tuple]] = {}
    for key in groups:
        per_task_keys.setdefault(key[0], []).append(key)
    out = {}
    for task, keys in sorted(per_task_keys.items()):
        for key in sorted(keys):
            if len(keys) == 1:
                out[task] = groups[key]
                continue
            conv = {k: v for k, v in json.loads(key[1]).items()
                    if any(json.loads(other[1]).get(k) != v for other in keys)}
            differs = []
            if conv:
                differs.append("conventions " + ", ".join(f"{k}={v}" for k, v in sorted(conv.items())))
            if any(other[2] != key[2] for other in keys):
                differs.append(f"data {key[2]} ({groups[key][0].get('n_items', '?')} items; "
                               "not comparable with the other data's runs)")
            out[f"{task} — {'; '.join(differs)}"] = groups[key]
    return out


def per_task(table: pd.DataFrame, intervals: bool = False) -> dict[str, pd.DataFrame]:
    """One wide table (systems x metrics) per comparable group, no columns of other tasks' NaN;
    rows ranked by the group's headline (first) metric in its better direction. ``intervals``:
    cells read "value [low, high]" (for people), else numbers."""
    from .readable import fmt_number

    out = {}
    for group, g in table.groupby("group", sort=True):
        metrics = list(dict.fromkeys(g["metric"]))
        wide = g.pivot(index="system", columns="metric", values="value")[metrics]
        head = g[g["metric"] == metrics[0]]
        better = head["better"].iloc[0] if len(head) else None
        if better in ("lower", "higher"):
            wide = wide.sort_values(metrics[0], ascending=better == "lower", na_position="last")
        if intervals:
            cells = {(r.system, r.metric): (r.value, r.low, r.high) for r in g.itertuples()}

            def cell(system, metric):
                v, lo, hi = cells.get((system, metric), (None, None, None))
                if v is None or pd.isna(v):
                    return "–"
                shown = fmt_number(v, lo, hi)
                return shown if lo is None or pd.isna(lo) else f"{shown} [{fmt_number(lo, lo, hi)}, {fmt_number(hi, lo, hi)}]"

            wide = pd.DataFrame({m: [cell(s, m) for s in wide.index] for m in metrics}, index=wide.index)
        out[group] = wide.reset_index()
    return out
