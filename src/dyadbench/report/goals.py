"""The goal-conditioned retrieval table, laid out like RealTalk's Table 1, with the published rows
beside ours (marked as published numbers, never mixed with ours)."""

from __future__ import annotations

import html

COLUMNS = (("recall_at_500", "R@500"), ("recall_at_1000", "R@1000"), ("median_rank", "median rank"),
           ("delta_median_rank", "Δ median rank"), ("moved_share", "moved the goal's way"))


def goal_table(runs: list[dict], fmt) -> str:
    rows = [(r["system"], goal, entry) for r in runs for goal, entry in (r.get("extras", {}).get("goals") or {}).items()]
    if not rows:
        return ""
    first = rows[0][2]["metrics"]
    k = {name: first[name].get("k") for name in ("recall_at_500", "recall_at_1000") if name in first}
    head = "".join(f"<th>{html.escape(label)}{' (k=' + str(k[n]) + ')' if k.get(n) not in (None, 500, 1000) else ''}</th>"
                   for n, label in COLUMNS)
    body = "".join(f"<tr><td class='l'>{html.escape(system)}</td><td class='l'>{html.escape(goal)} "
                   f"<span class='ci'>(true listener {'high' if e['direction'] == 'high' else 'pushed down'})</span></td>"
                   + "".join(f"<td>{fmt(e['metrics'].get(n)) if n in e['metrics'] else '—'}</td>" for n, _ in COLUMNS) + "</tr>"
                   for system, goal, e in rows)
    published = runs[0].get("extras", {}).get("published") or {}
    body += "".join(f"<tr class='published'><td class='l'><i>{html.escape(name)}</i></td><td class='l'><i>published</i></td>"
                    f"<td>{r500:.2f}</td><td>{r1000:.2f}</td><td>{rank:g}</td><td>—</td><td>—</td></tr>"
                    for name, (r500, r1000, rank) in published.items())
    note = ("Rows in italics are the published numbers (RealTalk, Geng et al. 2023, Table 1: 407 queries, bank 1,896), "
            "not ours. Δ median rank and 'moved the goal's way' compare each goal with the reference goal "
            f"({html.escape(rows[0][2]['reference_goal'])}) on the same queries; a rude goal should give Δ > 0 and a share "
            "above 0.5.")
    return (f"<h3>Goal-conditioned retrieval</h3><table class='metrics goals'><tr><th class='l'>system</th><th class='l'>goal</th>"
            f"{head}</tr>{body}</table><p class='note'>{note}</p>")
