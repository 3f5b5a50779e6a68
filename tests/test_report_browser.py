"""report.html opened in headless Chromium (Debian's, driven by Playwright): tables and plots render."""

from dyadbench.baselines import run_baseline
from dyadbench.runner import evaluate
from dyadbench.report.html import render


def test_report_html_renders_tables_and_plots(browser, seamless_root, realtalk_root, tmp_path):
    reports = []
    for task, name, root in (("seamless/facial-motion", "mean", seamless_root), ("seamless/facial-motion", "mirror", seamless_root),
                             ("realtalk/listener-retrieval", "random", realtalk_root)):
        run_baseline(task, name, root, tmp_path / name)
        reports.append(evaluate(task, root, tmp_path / name, system=name, n_boot=20, slice_boot=5))
    page_path = tmp_path / "report.html"
    page_path.write_text(render(reports))
    page = browser.new_page()
    page.goto(page_path.as_uri())
    assert page.locator("table.metrics:not(.goals)").count() == 2  # one per task
    tables = page.locator("table.metrics:not(.goals)")
    goals = page.locator("table.goals tr")  # header, the random system's two goals, six published rows
    assert goals.count() == 1 + 2 + 6 and "published" in goals.nth(3).inner_text()
    # Tasks in name order: realtalk (header + 1 system), then seamless (header + 2 systems).
    assert [tables.nth(i).locator("tr").count() for i in range(2)] == [2, 3]
    plots = page.locator("figure.plot svg")
    assert plots.count() >= 10
    box = plots.first.bounding_box()
    assert box["width"] > 100 and box["height"] > 50  # drawn, not collapsed
    assert page.locator("table.slices").count() >= 3
    assert page.locator("figure.rank-histogram svg").count() == 1
    text = page.inner_text("body")
    assert "mirror" in text and "paired_fd" in text and "skipped" in text
    assert page.locator("img").count() == 0  # no participant frames embedded
