"""``dyadbench study ...``: create, serve and export 2AFC human-evaluation studies."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .common import app, console

from ..humaneval.study import DEFAULT_INSTRUCTIONS, DEFAULT_QUESTION

study_app = typer.Typer(help="2AFC human evaluation: create a study, serve the rating app, export results.",
                        no_args_is_help=True)
app.add_typer(study_app, name="study")


def _default_db(study: Path) -> str:
    return f"sqlite:///{(Path(study) / 'study.db').resolve()}"


def _named(specs: list[str] | None, option: str, what: str) -> dict[str, Path]:
    named = {}
    for spec in specs or []:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise typer.BadParameter(f"expected NAME={what}, got {spec!r}", param_hint=option)
        if name in named:
            raise typer.BadParameter(f"system {name!r} given twice", param_hint=option)
        named[name] = Path(folder)
    return named


@study_app.command("create")
def create(
    out: Path = typer.Argument(..., metavar="OUT", help="New folder for the study"),
    system: list[str] = typer.Option(None, "--system", help="NAME=FOLDER of <item_id>.mp4 clips (generation submissions); two or more"),
    from_retrieval: list[str] = typer.Option(None, "--from-retrieval", help="NAME=SUBMISSION (scores.npz or its folder) of a "
                                             "RealTalk retrieval system: its top-1 listener per query and goal; two or more"),
    data: Path = typer.Option(None, help="--from-retrieval: the RealTalk root the submissions rank"),
    goal: list[str] = typer.Option(None, help="--from-retrieval: goal(s) whose top-1 listeners are compared (default appropriate)"),
    context: Path = typer.Option(None, help="--system: folder of <item_id>.mp4 context clips (the speaker, with sound) shown in sync above the pair"),
    raters_per_pair: int = typer.Option(4, help="Distinct raters judging each comparison"),
    raters: int = typer.Option(None, help="Rater slots (default: raters-per-pair, so each rater sees every pair)"),
    attention_checks: int = typer.Option(2, help="Catch trials per rater (reference clip vs the same clip frozen)"),
    attention_system: str = typer.Option(None, help="System whose clips the catch trials use (default: the first)"),
    max_items: int = typer.Option(None, help="A seeded random subset of N items (--from-retrieval: N queries, e.g. 30 speakers)"),
    seed: int = typer.Option(0, help="Seed of the design (rater order, sides, catch-trial places) and of --max-items"),
    title: str = typer.Option("Video comparison study", help="Title raters see on the study page"),
    question: str = typer.Option(None, help="Question raters answer for each pair (default: one that fits the design; "
                                            "--from-retrieval: one per goal)"),
    mismatched: bool = typer.Option(False, "--mismatched", help="GENEA 2023's appropriateness test: each system's listener "
                                    "beside its own speaker vs beside another dialogue's speaker (needs --context, or "
                                    "--from-retrieval); the export gives each system's matched-preference rate"),
):
    """Build a balanced, counterbalanced design over the systems' clips and copy the clips in."""
    import tempfile

    import numpy as np

    from ..humaneval.design import balanced_design
    from ..humaneval.study import check_in_sync, system_clips, write_study

    systems, retrieval = _named(system, "--system", "FOLDER"), _named(from_retrieval, "--from-retrieval", "SUBMISSION")
    if bool(systems) == bool(retrieval):
        raise typer.BadParameter("give either --system NAME=FOLDER (two or more) or --from-retrieval NAME=SUBMISSION (two or more)")
    if len(systems or retrieval) < (1 if mismatched else 2):  # --mismatched compares pairings of one system's listener
        raise typer.BadParameter("a comparison needs two or more systems", param_hint="--system/--from-retrieval")
    contexts, item_goals, questions = None, None, None
    with tempfile.TemporaryDirectory(prefix="study-build-") as work:
        if retrieval:
            from ..humaneval.from_retrieval import question_for, retrieval_study_inputs

            if data is None:
                raise typer.BadParameter("--from-retrieval needs --data (the RealTalk root)", param_hint="--data")
            goals = tuple(goal or ("appropriate",))
            clips, contexts, item_goals = retrieval_study_inputs(data, retrieval, goals, Path(work), max_items=max_items, seed=seed)
            check_in_sync(clips, contexts)
            questions = {g: question_for(g) for g in goals}
            items = sorted(next(iter(clips.values())))
        else:
            clips = system_clips(systems)
            if context is not None:
                contexts = {p.stem: p for p in sorted(Path(context).glob("*.mp4"))}
                check_in_sync(clips, contexts)
            items = sorted(next(iter(clips.values())))
            if max_items and max_items < len(items):
                rng = np.random.default_rng(seed)
                items = sorted(rng.choice(items, size=max_items, replace=False).tolist())
        extra, instructions = None, DEFAULT_INSTRUCTIONS
        if mismatched:
            from ..humaneval import mismatched as MM

            if not contexts:
                raise typer.BadParameter("--mismatched needs the speakers: --context FOLDER of <item_id>.mp4 "
                                         "(or --from-retrieval)", param_hint="--context")
            generated = {name: {i: per[i] for i in items} for name, per in clips.items()}
            clips, item_systems, donors = MM.mismatched_inputs(generated, contexts, Path(work) / "pairings", seed=seed)
            extra = {"design": MM.DESIGN, "playback": "sequential", "item_systems": item_systems, "donors": donors,
                     "generated_systems": list(generated)}
            items, contexts, item_goals, questions = sorted(item_systems), None, None, None
            question, instructions = question or MM.QUESTION, MM.INSTRUCTIONS
            attention_system = attention_system or "matched"
        names = list(clips)
        trials = balanced_design(items, names, raters_per_pair=raters_per_pair, n_raters=raters,
                                 attention_checks=attention_checks, attention_system=attention_system, seed=seed)
        settings = {"raters_per_pair": raters_per_pair, "raters": raters or raters_per_pair,
                    "attention_checks": attention_checks, "seed": seed}
        path = write_study(out, clips, trials, title=title, question=question or DEFAULT_QUESTION, instructions=instructions,
                           settings=settings, contexts=contexts, item_goals=item_goals, questions=questions, extra=extra)
    what = (f"{len(extra['generated_systems'])} systems' listeners x matched/mismatched speaker" if extra
            else f"{len(names)} systems")
    console.print(f"[green]wrote[/green] {path}: {len(items)} items, {what}, "
                  f"{settings['raters']} raters, {len(trials)} trials" + (", speaker shown in sync" if contexts else ""))


@study_app.command("serve")
def serve(
    study: Path = typer.Argument(..., metavar="STUDY", exists=True, file_okay=False, help="Study folder (from `study create`)"),
    db: str = typer.Option(None, help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db (default: SQLite in the study folder)"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (127.0.0.1: this machine only)"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port to listen on"),
    base_url: str = typer.Option(None, help="Public address for the invite links (default http://HOST:PORT)"),
):
    """Serve the rating app. The first start loads the study into the database and writes
    invites.csv and admin_token (owner-only files in the study folder); tokens are never printed."""
    import uvicorn

    from ..humaneval.app import create_app
    from ..humaneval.db import connect, load_study
    from ..humaneval.study import read_study, write_secrets

    folder = read_study(study)
    engine = connect(db or _default_db(study))
    secrets = load_study(engine, folder.doc)
    if secrets is not None:
        invites, admin = write_secrets(study, secrets, base_url or f"http://{host}:{port}")
        console.print(f"study loaded: {len(secrets['raters'])} invite links in {invites}; admin token in {admin}")
    else:
        console.print("study already in the database; invite links are in invites.csv")
    uvicorn.run(create_app(engine, folder), host=host, port=port, log_level="info")


@study_app.command("export")
def export(
    study: Path = typer.Argument(..., metavar="STUDY", exists=True, file_okay=False, help="Study folder"),
    db: str = typer.Option(None, help="SQLAlchemy URL (default: SQLite in the study folder)"),
    out: Path = typer.Option(None, help="Output folder (default: <study>/results)"),
    max_failed_checks: int = typer.Option(0, help="Exclude raters failing more attention checks than this"),
    report: Path = typer.Option(None, help="Also add the results to this report.json (and re-render its report.html)"),
):
    """Votes -> votes.csv + human_eval.json (preference %, binomial test, Wilson interval, agreement,
    attention-check failures)."""
    from ..humaneval.analysis import analyze
    from ..humaneval.db import connect, export_rows
    from ..humaneval.study import read_study, votes_csv

    folder = read_study(study)
    rows = export_rows(connect(db or _default_db(study)), folder.id)
    from ..report.output import claim_folder

    out = claim_folder(out or study / "results", "study export", legacy_names=("votes.csv", "human_eval.json"),
                       protect=() if out is None else (study / "study.json", study / "media"))
    (out / "votes.csv").write_text(votes_csv(rows))
    result = {"study": folder.id, "title": folder.doc["title"], "question": folder.doc["question"],
              "design": folder.doc.get("design", "systems side by side"),
              **analyze(rows, max_failed_checks=max_failed_checks, item_goals=folder.doc.get("goals"),
                        item_systems=folder.doc.get("item_systems"))}
    (out / "human_eval.json").write_text(json.dumps(result, indent=2))
    for name, c in result["comparisons"].items():
        if c["judgements"]:
            console.print(f"{name}: {c['preference_a']:.1%} prefer {c['system_a']} [{c['low']:.1%}, {c['high']:.1%}], "
                          f"p = {c['p_value']:.3g}, n = {c['judgements']}")
    for g, per in (result.get("per_goal") or {}).items():
        for name, c in per.items():
            if c["judgements"]:
                console.print(f"  goal {g}: {name}: {c['preference_a']:.1%} prefer {c['system_a']} [{c['low']:.1%}, "
                              f"{c['high']:.1%}], p = {c['p_value']:.3g}, n = {c['judgements']}")
    for system, per in (result.get("per_system") or {}).items():  # mismatched-interlocutor: one rate per system
        for c in per.values():
            if c["judgements"]:
                console.print(f"  {system}: matched speaker preferred in {c['preference_a']:.1%} [{c['low']:.1%}, "
                              f"{c['high']:.1%}] of {c['judgements']} judgements, binomial p = {c['p_value']:.3g} (vs 50 %)")
    att = result["attention"]
    console.print(f"{result['answered']}/{result['trials']} trials answered; attention checks failed: "
                  f"{att['failed']}/{att['checks']}; excluded raters: {att['excluded_raters']}")
    if report:
        _attach(report, result)
    console.print(f"[green]wrote[/green] {out / 'votes.csv'} and {out / 'human_eval.json'}")


def _attach(report_path: Path, result: dict) -> None:
    from ..report.files import load_report
    from ..report.html import render

    report = load_report(report_path)
    report["human_eval"] = result
    report_path.write_text(json.dumps(report, indent=2))
    (report_path.parent / "report.html").write_text(render([report], title=f"{report['task']}: {report['system']}"))
