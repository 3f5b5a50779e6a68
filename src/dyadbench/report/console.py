"""Reports as Rich tables for the terminal: numbers as a person reads them (round-off as 0)."""

from __future__ import annotations

from rich.table import Table

from .readable import best_systems, fmt_number, ranked_by, shown


def metrics_table(report: dict) -> Table:
    """One run's metrics: value, 95 % interval, which way is better; skipped metrics with the reason."""
    table = Table(title=f"{report['task']} — {report['system']} ({report['n_items']} items)")
    for col in ("metric", "value", "95% CI", "better"):
        table.add_column(col)
    for name, m in report["metrics"].items():
        v, lo, hi = shown(m), shown(m, "low"), shown(m, "high")  # round-off prints as 0
        ci = f"[{fmt_number(lo, lo, hi)}, {fmt_number(hi, lo, hi)}]" if lo is not None else ""
        label = f"{name} (k={m['k']} here)" if m.get("k") is not None and not name.endswith(f"_{m['k']}") else name
        table.add_row(label, "–" if v is None else fmt_number(v, lo, hi), ci, str(m.get("better", "")))
    for name, reason in report["skipped"].items():
        table.add_row(name, "skipped", reason[:80], "")
    left_out = report.get("excluded_items") or {}
    if left_out:  # never silent: which items the split has that this task did not score, and why
        table.caption = (f"left out of the task: {sum(left_out.values())} item(s) — "
                         + "; ".join(f"{n} {why}" for why, n in left_out.items()))
    if report.get("manifest"):
        table.caption = ((table.caption + "\n") if table.caption else "") + f"data manifest {report['manifest']['hash'][:16]}"
    return table


def paired_table(report: dict) -> Table:
    """``report["compared_to"]``: each metric's paired difference to the other system, with its interval."""
    c = report["compared_to"]
    table = Table(title=f"paired difference {report['system']} − {c['system']} (same items)")
    for col in ("metric", "difference", "95% CI", "excludes 0", "method"):
        table.add_column(col)
    for name, d in c["differences"].items():
        if d is None or "error" in d:
            table.add_row(name, "–", "", "", (d or {}).get("error", "no interval to pair"))
            continue
        table.add_row(name, fmt_number(d["difference"], d["low"], d["high"]),
                      f"[{fmt_number(d['low'], d['low'], d['high'])}, {fmt_number(d['high'], d['low'], d['high'])}]",
                      "yes" if d["excludes_zero"] else "no", d["method"])
    return table


def _cell(m: dict | None, mark: str) -> str:
    v, lo, hi = shown(m), shown(m, "low"), shown(m, "high")
    if v is None:
        return "–"
    ci = f"\n[{fmt_number(lo, lo, hi)}, {fmt_number(hi, lo, hi)}]" if lo is not None and hi is not None else ""
    return fmt_number(v, lo, hi) + mark + ci


def summary_table(title: str, runs: list[dict], *, metrics: int = 3) -> Table:
    """One task's systems in one table a terminal shows whole: ranked by the headline (first)
    metric, the first ``metrics`` metrics with their 95 % intervals, ★ on the best system where a
    paired comparison on the same items names one, † on values degenerate by construction."""
    names = [n for n in dict.fromkeys(k for r in runs for k, m in r["metrics"].items() if m.get("value") is not None)][:metrics]
    best = best_systems(runs, names)
    arrow = {"lower": " ↓", "higher": " ↑"}
    table = Table(title=f"{title} — {runs[0].get('n_items', '?')} items")
    table.add_column("system", no_wrap=True)  # a name is never cut; the number columns wrap their intervals
    for n in names:
        m = next(r["metrics"][n] for r in runs if n in r["metrics"])
        k = f"\n(k={m['k']} here)" if m.get("k") is not None and not n.endswith(f"_{m['k']}") else ""
        table.add_column(n + arrow.get(m.get("better", ""), "") + k, justify="right")
    for r in ranked_by(runs, names[0]) if names else runs:
        cells = []
        for n in names:
            b = best.get(n) or {}
            cells.append(_cell(r["metrics"].get(n), " ★" if b.get("system") == r["system"]
                               else (" †" if r["system"] in b.get("excluded", {}) else "")))
        table.add_row(r["system"], *cells)
    verdict = best.get(names[0], {}) if names else {}
    head = (f"best on {names[0]}: {verdict['system']} (paired difference to {verdict['runner_up']} excludes 0)"
            if verdict.get("system") else f"{names[0]}: {verdict.get('verdict', 'no verdict')}" if names else "no metric")
    table.caption = head + " · ★ best by a paired comparison · † degenerate by construction"
    return table
