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


def test_projection_every_is_read_from_a_run_record_old_or_new():
    assert projection_every({"config": {"transfer": {"projection_every": 15}}}) == 15
    assert projection_every({"config": {"transfer": {}}}) == 0
    assert projection_every({}) == 0
