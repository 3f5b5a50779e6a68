"""The leaderboard's HTML page: one compact table per comparable group (same task, conventions
and data manifest), systems ranked by the group's headline metric, every value with its 95 %
interval, ★ where a paired comparison names a best system, † where a value is degenerate by
construction. The full per-run pages stay in each run's report.html."""

from __future__ import annotations

import html

from .html import CSS
from .leaderboard import comparable_groups
from .output import GENERATOR
from .readable import best_systems, ranked_by
from .readable import fmt_metric as _fmt


def render_leaderboard(reports: list[dict], title: str = "dyadbench leaderboard") -> str:
    esc = html.escape
    groups = comparable_groups(reports)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'>{GENERATOR}<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             "<p class='note'>One table per task and comparable set of runs (same conventions, same data manifest); rows "
             "ranked by the first metric; values with 95 % intervals over items. ★: best by a paired comparison on the same "
             "items; †: degenerate by construction (e.g. the ground truth itself).</p>"]
    for group, runs in sorted(groups.items()):
        names = list(dict.fromkeys(k for r in runs for k in r["metrics"]))
        best = best_systems(runs, names)
        manifest = (runs[0].get("manifest") or {}).get("hash")
        about = f"{runs[0].get('n_items', '?')} items" + (f"; data manifest <code>{esc(manifest[:16])}</code>" if manifest else "")
        head = "".join(f"<th>{esc(n)}<br><span class='ci'>{esc(str(next(r['metrics'][n] for r in runs if n in r['metrics']).get('better', '')))}</span></th>"
                       for n in names)
        rows = []
        for r in ranked_by(runs, names[0]):
            cells = []
            for n in names:
                b = best.get(n) or {}
                mark = " ★" if b.get("system") == r["system"] else (" †" if r["system"] in b.get("excluded", {}) else "")
                cells.append(f"<td{' class=best' if mark == ' ★' else ''}>{_fmt(r['metrics'].get(n))}{mark}</td>")
            rows.append(f"<tr><td class='l'>{esc(r['system'])}</td>{''.join(cells)}</tr>")
        parts.append(f"<h2>{esc(group)}</h2><p class='note'>{about}</p>"
                     f"<table class='metrics'><tr><th class='l'>system</th>{head}</tr>{''.join(rows)}</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
