"""The loss picture: projections are marked where the loss jumps by design."""

import matplotlib

matplotlib.use("Agg")

from amnst_lib import plots  # noqa: E402
from amnst_lib.pipeline import projection_every  # noqa: E402


def _history(n):
    return [{"step": i, "total": 10.0 / (i + 1), "content": 0.1, "style": 1.0 / (i + 1)} for i in range(n)]


def _marks(fig):
    ax = fig.axes[0]
    return sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "-.")


def test_loss_picture_marks_each_projection_before_its_step():
    # 62 steps, a projection every 15: before steps 15, 30, 45 and 60 (never after the last).
    fig = plots.plot_loss(_history(62), projection_every=15)
    assert _marks(fig) == [15, 30, 45, 60]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels.count("projection") == 1 and {"total", "content", "style"} <= set(labels)
    # 60 steps: the projection due before step 60 never happens (no step 60 follows it).
    assert _marks(plots.plot_loss(_history(60), projection_every=15)) == [15, 30, 45]
    assert _marks(plots.plot_loss(_history(62))) == []  # none asked, none drawn
    assert _marks(plots.plot_loss(_history(10), projection_every=15)) == []  # none within the steps run


def test_loss_legend_sits_beside_the_axes_and_covers_no_line():
    fig = plots.plot_loss(_history(92), projection_every=15)
    fig.draw_without_rendering()  # lays the figure out (constrained layout), legend included
    ax = fig.axes[0]
    legend, axes_box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes_box.x1  # right of the plotting area, not inside it
    assert legend.x1 <= fig.bbox.x1 and legend.y0 >= fig.bbox.y0  # and still on the figure


def test_projection_every_is_read_from_a_run_record_old_or_new():
    assert projection_every({"config": {"transfer": {"projection_every": 15}}}) == 15
    assert projection_every({"config": {"transfer": {}}}) == 0
    assert projection_every({}) == 0


def test_frontier_colours_settings_and_shapes_ambiences_without_crowded_labels():
    rows = [{"content": "mus01", "style": sty, "settings": s, "chroma_similarity": 0.9 - 0.01 * i,
             "mfcc_gap_closed": 0.5 + 0.01 * i} for i, (s, sty) in
            enumerate((s, sty) for s in ("content_weight=2.0", "content_weight=5.0") for sty in ("amb04", "amb07"))]
    rows.append({"content": "mus01", "style": "amb04", "settings": "content_weight=9.0",
                 "chroma_similarity": float("nan"), "mfcc_gap_closed": None})  # a failed job: not drawn
    fig = plots.plot_frontier(rows)
    ax = fig.axes[0]
    assert "4 of 5 jobs" in ax.get_title()
    legends = [a for a in ax.get_children() if isinstance(a, matplotlib.legend.Legend)]
    titles = {lg.get_title().get_text(): [t.get_text() for t in lg.get_texts()] for lg in legends}
    assert titles == {"settings": ["content_weight=2.0", "content_weight=5.0"], "ambience": ["amb04", "amb07"]}
    assert not ax.texts  # no label on every point
    shapes = {str(c.get_paths()[0].vertices.round(2).tolist()) for c in ax.collections}
    assert len(ax.collections) == 4 and len(shapes) == 2
    # One setting: each point is named by its pair, and no legend is needed.
    one = plots.plot_frontier([r for r in rows if r["settings"] == "content_weight=2.0"]).axes[0]
    assert sorted(t.get_text() for t in one.texts) == ["mus01 x amb04", "mus01 x amb07"]
    one_legends = [a for a in one.get_children() if isinstance(a, matplotlib.legend.Legend)]
    assert [lg.get_title().get_text() for lg in one_legends] == ["ambience"]
    # Long settings are cut in the legend; more than ten ambiences share one shape, without a legend.
    many = [{"content": "m", "style": f"amb{i:02d}", "settings": s, "chroma_similarity": 0.9, "mfcc_gap_closed": 0.5}
            for i in range(12) for s in ("content_weight=2.0,style_weight=16.0,iterations=90", "content_weight=5.0")]
    ax = plots.plot_frontier(many).axes[0]
    legends = {lg.get_title().get_text(): [t.get_text() for t in lg.get_texts()]
               for lg in ax.get_children() if isinstance(lg, matplotlib.legend.Legend)}
    assert list(legends) == ["settings"] and all(len(t) <= 40 for t in legends["settings"])
    assert legends["settings"][0].endswith("…")


def test_learning_curves_of_one_epoch_show_their_points():
    """Notebook 02 in CI trains one epoch: each curve is one point, drawn with a marker."""
    from amnst_lib.training import plot_learning_curves

    fig = plot_learning_curves({"loss": [2.1], "val_loss": [2.2], "accuracy": [0.2], "val_accuracy": [0.15]})
    lines = [ln for ax in fig.axes for ln in ax.lines if ln.get_label() in ("loss", "val_loss", "accuracy", "val_accuracy")]
    assert len(lines) == 4 and all(ln.get_marker() not in (None, "None", "") for ln in lines)
