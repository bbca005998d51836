"""Charts: valid files, and the plotted values are the computed counts."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from qualcode import charts, themes
from qualcode.errors import InputError, OverwriteRefused
from tests.conftest import code_phrase


@pytest.fixture
def coded(tiny_project):
    with tiny_project.transaction() as conn:
        code_phrase(conn, "consensus", "work.caseload", "SF1.txt", "forty people")
        code_phrase(conn, "consensus", "work.toll", "TL1.txt", "people burn out")
        code_phrase(conn, "consensus", "sup.peer", "SF2.txt", "we cover for each other")
        code_phrase(conn, "consensus", "sup.supervision", "SF2.txt", "Monthly supervision")
    return tiny_project


def bar_widths(figure):
    axes = figure.axes[0]
    return [patch.get_width() for patch in axes.patches]


def test_themes_chart_bars_equal_counts(coded, tmp_path):
    conn = coded.connect()
    figure = charts.themes_chart(conn)
    expected = themes.compute_counts(conn, level="theme").table["n"].tolist()
    assert expected == [2, 1]
    # bars are drawn bottom-up so the first theme is at the top
    bars = sorted(figure.axes[0].patches, key=lambda p: -p.get_y())
    assert [bar.get_width() for bar in bars] == expected
    axes = figure.axes[0]
    top_down = sorted(zip(axes.get_yticks(), (t.get_text() for t in axes.get_yticklabels())), reverse=True)
    assert [label for _, label in top_down] == ["Workload and capacity", "Support for staff"]
    path = charts.save_figure(figure, tmp_path / "themes.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OverwriteRefused):
        charts.save_figure(figure, path)


def test_themes_chart_split_by_attribute_stacks_to_the_total(coded, tmp_path):
    conn = coded.connect()
    figure = charts.themes_chart(conn, by="role", level="code")
    counts = themes.compute_counts(conn, by="role", level="code").table
    patches = figure.axes[0].patches
    rows = len(counts)
    # one series per attribute value; within it, top to bottom is the table's order
    support_workers = sorted(patches[:rows], key=lambda p: -p.get_y())
    not_recorded = sorted(patches[rows:], key=lambda p: -p.get_y())
    assert [p.get_width() for p in support_workers] == counts["n (Support worker)"].tolist()
    assert [p.get_width() for p in not_recorded] == counts["n (not recorded)"].tolist()
    assert all(b.get_x() == a.get_width() for a, b in zip(support_workers, not_recorded))  # stacked
    assert [a.get_width() + b.get_width() for a, b in zip(support_workers, not_recorded)] == counts["n"].tolist()
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["Support worker (N = 2)", "not recorded (N = 1)"]
    path = charts.save_figure(figure, tmp_path / "themes.svg")
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")


def test_cooccurrence_heatmap_holds_the_matrix(coded, tmp_path):
    conn = coded.connect()
    figure = charts.cooccurrence_chart(conn, by="respondents")
    expected = themes.cooccurrence(conn, by="respondents")
    assert (figure.axes[0].images[0].get_array() == expected.to_numpy()).all()
    assert expected.loc["sup.supervision", "sup.peer"] == 1
    annotations = [t.get_text() for t in figure.axes[0].texts]
    assert annotations == [str(v) for v in expected.to_numpy().ravel()]
    by_units = charts.cooccurrence_chart(conn, by="units")
    assert (by_units.axes[0].images[0].get_array() == themes.cooccurrence(conn, by="units").to_numpy()).all()
    assert charts.save_figure(figure, tmp_path / "co.png").read_bytes()[:4] == b"\x89PNG"


def test_labels_fit_inside_the_saved_image(coded, tmp_path):
    """Long labels are wrapped and the layout keeps them inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from qualcode.codebook import store_nodes

    with coded.transaction() as conn:
        store_nodes(conn, [{"key": "sup.long", "parent": "support",
                            "label": "Informal support from colleagues outside the team and from managers in other services"}])
    figure = charts.themes_chart(coded.connect(), level="code")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = figure.axes[0].get_yticklabels()
    assert any("\n" in label.get_text() for label in labels)  # the long label is wrapped
    for label in labels:
        box = label.get_window_extent(renderer)
        assert box.x0 >= figure.bbox.x0 - 1 and box.x1 <= figure.bbox.x1 + 1
        assert box.y0 >= figure.bbox.y0 - 1 and box.y1 <= figure.bbox.y1 + 1


def test_bad_chart_inputs(coded, tmp_path):
    conn = coded.connect()
    with pytest.raises(InputError, match=r"use \.png, \.svg or \.pdf"):
        charts.save_figure(charts.themes_chart(conn), tmp_path / "chart.gif")
    with pytest.raises(InputError, match="choose respondents or units"):
        charts.cooccurrence_chart(conn, by="documents")
