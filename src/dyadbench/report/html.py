"""Self-contained HTML report: tables, interval plots, slices, retrieval rank histograms.

One file, no external resources (plots are inline SVG from matplotlib), so it opens offline and
can be attached to a paper review. Participant video frames are never embedded (CC-BY-NC data).
"""

from __future__ import annotations

import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CSS = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.ci{color:#777;font-size:.85em}.skip{color:#a40}
figure{display:inline-block;margin:.5rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem}
.note{color:#555;font-size:.9em}td.best{background:#eaf5e4;font-weight:600}.caution{color:#a40}
table.header th,table.header td{border:none;padding:.1rem .6rem}nav.toc{margin:1rem 0}"""


from .goals import goal_table
from .leaderboard import comparable_groups
from .paired import paired_to
from .output import GENERATOR
from .readable import best_systems, cautions, fmt_number, glossary, header, shown
from .readable import fmt_metric as _fmt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _interval_plot(metric: str, rows: list[tuple[str, dict]]) -> str:
    rows = [(name, m) for name, m in rows if m and m.get("value") is not None]
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(4.2, 0.45 * len(rows) + 0.9))
    for i, (name, m) in enumerate(rows):
        lo, hi = shown(m, "low"), shown(m, "high")
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [i, i], color="#4a7ab5", lw=3, solid_capstyle="butt")
        ax.plot([shown(m)], [i], "o", color="#1b3a5c")
        if m.get("reference") is not None:
            ax.axvline(m["reference"], color="#a40", lw=1, ls="--")
    # round-off values are shown as 0, so they never set a log axis
    values = [v for _, m in rows for v in (shown(m), shown(m, "low"), shown(m, "high")) if v is not None]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_xscale("log")  # values spanning decades: a linear axis hides all but the largest
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_title(f"{metric} ({rows[0][1].get('better', '')})", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return f'<figure class="plot" data-metric="{html.escape(metric)}">{_svg(fig)}</figure>'


def _rank_histogram(report: dict) -> str:
    ranks, bank = report["extras"].get("ranks"), report["extras"].get("bank_size")
    if not ranks:
        return ""
    fig, ax = plt.subplots(figsize=(4.2, 2.2))
    ax.hist(ranks, bins=min(50, max(5, bank // 10 or 1)), range=(1, bank), color="#4a7ab5")
    ax.axhline(len(ranks) / min(50, max(5, bank // 10 or 1)), color="#a40", ls="--", lw=1, label="chance")
    ax.set_xlabel("rank of the true listener")
    ax.set_title(f"{report['system']}: ranks (bank {bank})", fontsize=9)
    ax.legend(fontsize=7)
    return f'<figure class="plot rank-histogram">{_svg(fig)}</figure>'


def _paired_table(runs: list[dict], names: list[str], compare_to: str | None) -> str:
    """Each system's paired difference to ``compare_to`` per metric (system − reference), with its interval."""
    ref = next((r for r in runs if r["system"] == compare_to), None)
    others = [r for r in runs if r is not ref]
    if ref is None or not others:
        return ""
    rows = []
    for r in others:
        diffs = paired_to(r, ref)
        cells = []
        for n in names:
            d = diffs.get(n)
            if not d or "error" in d:
                cells.append(f"<td title='{html.escape((d or {}).get('error', ''))}'>–</td>")
                continue
            mark = " ✓" if d["excludes_zero"] else ""
            cells.append(f"<td title='{html.escape(d['method'])}'>{fmt_number(d['difference'], d['low'], d['high'])} "
                         f"<span class='ci'>[{fmt_number(d['low'], d['low'], d['high'])}, {fmt_number(d['high'], d['low'], d['high'])}]"
                         f"</span>{mark}</td>")
        rows.append(f"<tr><td class='l'>{html.escape(r['system'])}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    return (f"<h3>Paired differences to {html.escape(compare_to)}</h3><p class='note'>system − {html.escape(compare_to)} on "
            "the same items, 95 % interval of the difference (delta method or bootstrap on the same resampled items); "
            f"✓ the interval excludes 0.</p><table class='paired'><tr><th class='l'>system</th>{head}</tr>{''.join(rows)}</table>")


def render(reports: list[dict], title: str = "dyadbench report", compare_to: str | None = "random") -> str:
    by_task = comparable_groups(reports)  # one section per task; runs on other items or conventions apart
    parts = [f"<!doctype html><html><head><meta charset='utf-8'>{GENERATOR}<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             "<nav class='toc'>Tasks: " + " · ".join(f"<a href='#{html.escape(t)}'>{html.escape(t)}</a>" for t in sorted(by_task)) + "</nav>",
             "<p class='note'>Values with 95 % bootstrap intervals over items (clips); 'ref' is the ground truth's own value "
             "for metrics where closer-to-reference is better. No participant video frames are embedded.</p>"]
    for task, runs in sorted(by_task.items()):
        decl = runs[0]["task_declaration"]
        names = list(dict.fromkeys(k for r in runs for k in r["metrics"]))
        bank = (runs[0].get("extras") or {}).get("bank_size")
        scale = f"; this bank holds {bank} clips" if bank else ""  # the declaration states the release's bank
        parts.append(f"<h2 id='{html.escape(task)}'>{html.escape(task)}</h2><p>{html.escape(decl['description'])} "
                     f"({runs[0]['n_items']} items{scale})</p>" + header(runs))
        best = best_systems(runs, names)

        def cell(r, n):
            b = best.get(n) or {}
            if b.get("system") == r["system"]:
                d = b.get("difference")
                title = (f"best: paired difference to {b['runner_up']} {fmt_number(d['difference'])} "
                         f"[{fmt_number(d['low'])}, {fmt_number(d['high'])}]") if d else f"best: {b['verdict']}"
                return f"<td class='best' title='{html.escape(title)}'>{_fmt(r['metrics'].get(n))} ★</td>"
            why = b.get("excluded", {}).get(r["system"])
            if why:
                return f"<td title='{html.escape(why)}'>{_fmt(r['metrics'].get(n))} †</td>"
            return f"<td>{_fmt(r['metrics'].get(n))}</td>"

        def verdict(n):
            b = best.get(n) or {}
            return "" if b.get("system") or not b else f"<br><span class='ci'>{html.escape(b['verdict'])}</span>"

        head = "".join(f"<th>{html.escape(n)}<br><span class='ci'>{html.escape(str(next(r['metrics'][n] for r in runs if n in r['metrics']).get('better', '')))}</span>{verdict(n)}</th>"
                       for n in names)
        body = "".join(f"<tr><td class='l'>{html.escape(r['system'])}</td>" + "".join(cell(r, n) for n in names) + "</tr>" for r in runs)
        parts.append(f"<table class='metrics'><tr><th class='l'>system</th>{head}</tr>{body}</table>")
        if best:
            parts.append("<p class='note'>★ best system: its paired difference to the runner-up (same items, same "
                         "resamples) excludes 0 at 95 %; otherwise the column says \"no clear winner\" (or \"tie\"). "
                         "† degenerate by construction (hover for why): never starred.</p>")
        parts.append(_paired_table(runs, names, compare_to))
        parts.append(goal_table(runs, _fmt))
        parts.append(glossary(runs, names))
        grouped: dict[str, list[str]] = {}
        for r in runs:
            for note in cautions(r):
                grouped.setdefault(note, []).append(r["system"])
        for note, systems in grouped.items():
            who = "all systems" if len(systems) == len(runs) > 1 else ", ".join(systems)
            parts.append(f"<p class='caution'>caution ({html.escape(who)}): {html.escape(note)}</p>")
        skipped = {k: v for r in runs for k, v in r.get("skipped", {}).items()}
        for name, reason in skipped.items():
            parts.append(f"<p class='skip'>skipped <b>{html.escape(name)}</b>: {html.escape(reason)}</p>")
        excluded = runs[0].get("excluded_items") or {}
        for reason, count in excluded.items():
            parts.append(f"<p class='skip'>left out of this task: <b>{count}</b> item(s), {html.escape(reason)}</p>")
        parts.append("<div>" + "".join(_interval_plot(n, [(r["system"], r["metrics"].get(n)) for r in runs]) for n in names) + "</div>")
        parts.append("<div>" + "".join(_rank_histogram(r) for r in runs) + "</div>")
        parts.append(_slices(runs, names[0]))
        parts += [_human_eval(r["human_eval"]) for r in runs if r.get("human_eval")]
    parts.append("</body></html>")
    return "\n".join(parts)


def _slices(runs: list[dict], headline: str) -> str:
    out = [f"<h3>Slices (headline metric: {html.escape(headline)})</h3>"]
    columns = sorted({c for r in runs for c in r.get("slices", {})})
    if not columns:
        return out[0] + "<p class='note'>No grouping column has two or more groups in this split.</p>"
    for col in columns:
        groups = sorted({g for r in runs for g in r["slices"].get(col, {})})
        head = "".join(f"<th>{html.escape(g)}</th>" for g in groups)
        rows = []
        for r in runs:
            cells = []
            for g in groups:
                s = r["slices"].get(col, {}).get(g)
                small = s and (s["metrics"].get(headline) or {}).get("interval_note")
                mark = f" <span class='caution' title='{html.escape(small)}'>(small)</span>" if small else ""
                if s and s["n"] == 1:  # one item: a number, not an estimate of the group
                    mark = " <span class='caution' title='a single item: no interval, not a group estimate'>(one item)</span>"
                cells.append(f"<td>{_fmt(s['metrics'].get(headline)) if s else '–'}<br><span class='ci'>n={s['n'] if s else 0}</span>"
                             f"{mark}</td>")
            rows.append(f"<tr><td class='l'>{html.escape(r['system'])}</td>{''.join(cells)}</tr>")
        also = sorted({c for r in runs for c, same in (r.get("slices_same_as") or {}).items() if same == col})
        alias = f" (the same groups of items as by {', '.join(html.escape(a) for a in also)})" if also else ""
        out.append(f"<h4>by {html.escape(col)}{alias}</h4><table class='slices'><tr><th class='l'>system</th>{head}</tr>{''.join(rows)}</table>")
    return "\n".join(out)


def _human_eval(h: dict) -> str:
    """The 2AFC study section: preference for A with Wilson interval, binomial P, agreement."""
    esc = html.escape
    rows = []
    labelled = [(name, c) for name, c in h["comparisons"].items()]
    # a mismatched-interlocutor study: one row per generating system (its matched-preference rate)
    labelled += [(f"{system}: {name}", c) for system, per in (h.get("per_system") or {}).items() for name, c in per.items()]
    for name, c in labelled:
        if not c["judgements"]:
            continue
        ag = c["agreement"]
        fmt = lambda x: "–" if x is None else f"{x:.3f}"
        rows.append(f"<tr><td class='l'>{esc(name)}</td><td>{c['preference_a']:.1%}<br><span class='ci'>[{c['low']:.1%}, "
                    f"{c['high']:.1%}]</span></td><td>{c['p_value']:.3g}</td><td>{c['judgements']}</td><td>{c['items']}</td>"
                    f"<td>{c['raters']}</td><td>{fmt(ag['fleiss_kappa'])}</td><td>{fmt(ag['krippendorff_alpha'])}</td>"
                    f"<td>{c['left_rate']:.1%}</td></tr>")
    att = h["attention"]
    rate = "–" if att["failure_rate"] is None else f"{att['failure_rate']:.1%}"
    return (f"<h3>Human evaluation (2AFC): {esc(h.get('question', ''))}</h3>"
            "<table class='metrics'><tr><th class='l'>A vs B</th><th>prefer A<br><span class='ci'>Wilson 95 %</span></th>"
            "<th>binomial P</th><th>judgements</th><th>items</th><th>raters</th><th>Fleiss κ</th><th>Krippendorff α</th>"
            f"<th>chose left</th></tr>{''.join(rows)}</table>"
            f"<p class='note'>{h['answered']} of {h['trials']} trials answered by {h['raters']} raters. Attention checks "
            f"failed: {att['failed']} of {att['checks']} ({rate}); raters excluded (more than {att['max_failed_checks']} "
            f"failed): {len(att['excluded_raters'])}.</p>")
