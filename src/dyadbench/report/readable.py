"""What makes a report readable in a minute: a header, the best system per metric, a glossary,
cautions on degenerate results, and numbers rounded to what their interval supports."""

from __future__ import annotations

import html
import math

ESC = html.escape


def fmt_number(value: float, low: float | None = None, high: float | None = None, scale: float | None = None) -> str:
    """``value`` rounded to the precision its interval supports (2 significant digits of the width);
    round-off noise (below 1e-9 of the scale of the numbers around it) printed as 0."""
    scale = scale if scale is not None else max(abs(value), abs(low or 0.0), abs(high or 0.0))
    if abs(value) <= 1e-9 * max(scale, 1e-300) or abs(value) < 1e-12:
        return "0"
    if low is not None and high is not None and high > low:
        width = high - low
        decimals = max(0, 1 - int(math.floor(math.log10(width))))
        if decimals <= 6 and abs(value) >= 10 ** -decimals:
            return f"{value:.{decimals}f}"
    return f"{value:.4g}"


def fmt_metric(m: dict | None) -> str:
    """A table cell: value, interval and the ground truth's own value where it is the target."""
    if not m or m.get("value") is None:
        return "–"
    lo, hi = m.get("low"), m.get("high")
    scale = max(abs(m["value"]), abs(lo or 0.0), abs(hi or 0.0), abs(m.get("reference") or 0.0))
    text = fmt_number(m["value"], lo, hi, scale)
    if lo is not None and hi is not None:
        text += f' <span class="ci">[{fmt_number(lo, lo, hi, scale)}, {fmt_number(hi, lo, hi, scale)}]</span>'
    if m.get("reference") is not None:
        text += f' <span class="ci">ref {fmt_number(m["reference"], lo, hi, scale)}</span>'
    return text


def _badness(m: dict) -> float | None:
    """Smaller is better, whatever the metric's direction."""
    v = m.get("value")
    if v is None:
        return None
    better = m.get("better")
    if better == "higher":
        return -v
    if better == "closer to reference":
        return abs(v - m["reference"]) if m.get("reference") is not None else None
    return v


def best_systems(runs: list[dict], names: list[str]) -> dict[str, dict]:
    """Per metric: the best system and whether its interval overlaps the runner-up's."""
    out = {}
    for name in names:
        ranked = sorted((b, r["system"], r["metrics"][name]) for r in runs if name in r["metrics"]
                        if (b := _badness(r["metrics"][name])) is not None)
        if len(ranked) < 2:
            continue
        (_, best, m1), (_, second, m2) = ranked[0], ranked[1]
        overlap = None
        if None not in (m1.get("low"), m1.get("high"), m2.get("low"), m2.get("high")):
            overlap = m1["low"] <= m2["high"] and m2["low"] <= m1["high"]
        out[name] = {"system": best, "runner_up": second, "overlap": overlap}
    return out


def cautions(report: dict) -> list[str]:
    """Results a reader should not take at face value."""
    notes = []
    n = report.get("n_items", 0)
    if n < 10:
        notes.append(f"only {n} items: intervals and slices say little")
    for name, m in report["metrics"].items():
        lo, hi, v = m.get("low"), m.get("high"), m.get("value")
        if v is None:
            continue
        if lo is not None and hi is not None and hi - lo <= 1e-12 * max(1.0, abs(v)):
            notes.append(f"{name}: zero-width interval (every resample gives the same value)")
        if m.get("better") == "lower" and abs(v) < 1e-9 and "rank" not in name:
            notes.append(f"{name}: a perfect score — is the submission a copy of the ground truth?")
        if m.get("better") == "higher" and name.startswith("recall") and v >= 1.0:
            notes.append(f"{name}: every query within k (k = {m.get('k')}) — the bank may be too small to tell systems apart")
    return notes


def header(runs: list[dict]) -> str:
    """Who made this, when, from what: version, date, command, data root, and the retrieval set-up."""
    r = runs[0]
    rows = [("dyadbench", r.get("dyadbench_version", "?")), ("created", r.get("created", "?")),
            ("command", r.get("command") or "(not recorded)"), ("data root", r.get("data_root", "?")),
            ("items", str(r.get("n_items", "?")))]
    extras = r.get("extras") or {}
    if "bank_size" in extras:
        recall = r["metrics"].get("recall_at_500") or {}
        rows.append(("bank", f"{extras['bank_size']} clips, {extras.get('queries', '?')} queries; k used {recall.get('k', '?')} "
                             f"(chance recall {recall.get('chance', float('nan')):.2f})"))
    cells = "".join(f"<tr><th class='l'>{ESC(k)}</th><td class='l'><code>{ESC(str(v))}</code></td></tr>" for k, v in rows)
    return f"<table class='header'>{cells}</table>"


def glossary(runs: list[dict], names: list[str]) -> str:
    """What each metric measures, which way is better, the convention and the code it follows."""
    from ..metrics.registry import METRICS, get_metric

    rows = []
    for name in names:
        m = next((r["metrics"][name] for r in runs if name in r["metrics"]), {})
        base = m.get("part_of") or name
        try:
            what = get_metric(base).description
        except KeyError:
            what = METRICS.get(base).description if base in METRICS else ""
        rows.append(f"<tr><td class='l'><b>{ESC(name)}</b></td><td class='l'>{ESC(what)}</td><td>{ESC(str(m.get('better', '')))}</td>"
                    f"<td class='l'>{ESC(str(m.get('convention', '')))}</td><td class='l'>{ESC(str(m.get('reference_code', '')))}</td></tr>")
    return ("<details class='glossary'><summary>Glossary: what each metric measures</summary><table><tr><th class='l'>metric</th>"
            "<th class='l'>measures</th><th>better</th><th class='l'>convention</th><th class='l'>follows</th></tr>"
            + "".join(rows) + "</table></details>")
