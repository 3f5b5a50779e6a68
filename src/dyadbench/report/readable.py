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


def shown(m: dict | None, key: str = "value") -> float | None:
    """A reported number as a person should read it: below the numerical tolerance of its
    computation (``tolerance``, set by the engine) it is 0. report.json keeps the raw value."""
    if not m or m.get(key) is None:
        return None
    v = m[key]
    return 0.0 if abs(v) <= (m.get("tolerance") or 0.0) else v


def fmt_metric(m: dict | None) -> str:
    """A table cell: value, interval and the ground truth's own value where it is the target."""
    if not m or m.get("value") is None:
        return "–"
    value, lo, hi = shown(m), shown(m, "low"), shown(m, "high")
    scale = max(abs(value), abs(lo or 0.0), abs(hi or 0.0), abs(m.get("reference") or 0.0))
    text = fmt_number(value, lo, hi, scale)
    if lo is not None and hi is not None:
        text += f' <span class="ci">[{fmt_number(lo, lo, hi, scale)}, {fmt_number(hi, lo, hi, scale)}]</span>'
    if m.get("reference") is not None:
        text += f' <span class="ci">ref {fmt_number(m["reference"], lo, hi, scale)}</span>'
    return text


def _badness(m: dict) -> float | None:
    """Smaller is better, whatever the metric's direction."""
    v = shown(m)
    if v is None:
        return None
    better = m.get("better")
    if better == "higher":
        return -v
    if better == "closer to reference":
        return abs(v - m["reference"]) if m.get("reference") is not None else None
    return v


def degenerate(system: str, m: dict) -> str | None:
    """Why a result cannot win by construction, if it cannot: the ground truth itself, or a value at
    the metric's ideal within its numerical tolerance (a copy of the partner on a marginal Fréchet
    distance reproduces the pooled true frames, so its FD is 0 by construction)."""
    if system in ("ground_truth", "ground-truth", "gt"):
        return "the ground truth itself"
    v, tol = m.get("value"), m.get("tolerance")
    if v is None or tol is None:
        return None
    ideal = {"lower": m.get("lower", 0.0), "closer to reference": m.get("reference")}.get(m.get("better"))
    if ideal is not None and abs(v - ideal) <= tol:
        return "reproduces the ground truth's value exactly (degenerate by construction: e.g. a copy of the true frames)"
    return None


def ranked_by(runs: list[dict], headline: str) -> list[dict]:
    """Runs best first by ``headline`` in its better direction (runs without it last; ties and
    metrics without a direction by system name)."""
    better = next((r["metrics"][headline].get("better") for r in runs if headline in r["metrics"]), None)
    if better not in ("lower", "higher"):
        return sorted(runs, key=lambda r: r["system"])

    def key(r):
        v = shown(r["metrics"].get(headline))
        return (v is None, (v if better == "lower" else -v) if v is not None else 0.0, r["system"])

    return sorted(runs, key=key)


def _distance_to_reference(entry: dict, ref: float) -> dict:
    """The linearisation of |v − ref| (ref fixed: the ground truth's value, the same for every system)."""
    lin = entry.get("linear")
    if entry.get("value") is None or not lin:
        return {"value": None, "linear": None}
    sign = 1.0 if entry["value"] >= ref else -1.0
    if lin["kind"] == "influence":
        lin = {**lin, "values": [sign * x for x in lin["values"]]}
    else:
        lin = {**lin, "values": [abs(x - ref) for x in lin["values"]]}
    return {"value": abs(entry["value"] - ref), "linear": lin}


def best_systems(runs: list[dict], names: list[str]) -> dict[str, dict]:
    """Per metric, a verdict a paper can print: the best system gets ★ only when its paired
    difference to the runner-up (same items, same resamples) excludes 0; otherwise "no clear
    winner" (ties alike). Results degenerate by construction never win and say why."""
    from ..metrics.compare import paired_difference
    from .paired import per_item_linear

    out = {}
    for name in names:
        excluded, ranked = {}, []
        for r in runs:
            m = r["metrics"].get(name)
            if not m or (b := _badness(m)) is None:
                continue
            why = degenerate(r["system"], m)
            if why:
                excluded[r["system"]] = why
            else:
                ranked.append((b, r["system"], r))
        ranked.sort(key=lambda t: (t[0], t[1]))
        verdict = {"system": None, "runner_up": None, "verdict": "no clear winner", "excluded": excluded}
        if len(ranked) >= 2:
            (b1, best, r1), (b2, second, r2) = ranked[0], ranked[1]
            verdict.update(runner_up=second)
            a, b = per_item_linear(r1, name), per_item_linear(r2, name)
            m1 = r1["metrics"][name]
            if m1.get("better") == "closer to reference" and m1.get("reference") is not None:
                a, b = _distance_to_reference(a, m1["reference"]), _distance_to_reference(b, m1["reference"])
            elif m1.get("better") == "higher":
                a = {"value": -a["value"], "linear": _negated(a["linear"])}
                b = {"value": -b["value"], "linear": _negated(b["linear"])}
            try:
                diff = paired_difference(a, b)
            except ValueError:
                diff = None
            if b1 == b2:
                verdict["verdict"] = "tie"
            elif diff is not None:
                verdict["difference"] = diff
                if diff["high"] < 0:
                    verdict.update(system=best, verdict="best")
            else:  # no linearisation (an older report): only intervals that do not overlap decide
                lo1, hi1, lo2, hi2 = (r1["metrics"][name].get("low"), r1["metrics"][name].get("high"),
                                      r2["metrics"][name].get("low"), r2["metrics"][name].get("high"))
                if None not in (lo1, hi1, lo2, hi2) and (hi1 < lo2 or hi2 < lo1):
                    verdict.update(system=best, verdict="best (intervals apart; not paired)")
        elif len(ranked) == 1 and excluded:
            verdict.update(verdict="no other system to compare")
        out[name] = verdict
    return out


def _negated(lin: dict | None) -> dict | None:
    return None if lin is None else {**lin, "values": [-x for x in lin["values"]]}


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
        if degenerate(report.get("system", ""), m):
            notes.append(f"{name}: {degenerate(report.get('system', ''), m)}; it is never starred")
        if m.get("better") == "higher" and name.startswith("recall") and v >= 1.0:
            notes.append(f"{name}: every query within k (k = {m.get('k')}) — the bank may be too small to tell systems apart")
    return notes


def header(runs: list[dict]) -> str:
    """Who made this, when, from what: version, date, command, data root, and the retrieval set-up."""
    r = runs[0]
    rows = [("dyadbench", r.get("dyadbench_version", "?")), ("created", r.get("created", "?")),
            ("command", r.get("command") or "(not recorded)"), ("data root", r.get("data_root", "?")),
            ("items", str(r.get("n_items", "?")))]
    if r.get("manifest"):
        rows.append(("data manifest", f"{r['manifest']['hash']} ({r['manifest']['n_items']} items, {r['manifest']['frames']:,} frames)"))
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
        shown_name = f"{name} ({m['also_known_as']})" if m.get("also_known_as") else name
        published_k = "".join(ch for ch in name.rsplit("_", 1)[-1] if ch.isdigit())
        if m.get("k") is not None and published_k and int(m["k"]) != int(published_k):  # the label says what the data used
            what = f"{what} On this bank: top {m['k']} (the published k = {published_k} scaled to the bank's size)."
        rows.append(f"<tr><td class='l'><b>{ESC(shown_name)}</b></td><td class='l'>{ESC(what)}</td><td>{ESC(str(m.get('better', '')))}</td>"
                    f"<td class='l'>{ESC(str(m.get('convention', '')))}</td><td class='l'>{ESC(str(m.get('reference_code', '')))}</td></tr>")
    return ("<details class='glossary' open><summary>Glossary: what each metric measures</summary><table><tr><th class='l'>metric</th>"
            "<th class='l'>measures</th><th>better</th><th class='l'>convention</th><th class='l'>follows</th></tr>"
            + "".join(rows) + "</table></details>")
