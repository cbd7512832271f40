"""The books chart's label placement: fast, and the same placements as before.

`old_place_labels` is the placement as it was before the collision grid: the same places in the
same order, each checked against every label placed and every point. The grid must give the very
same result, and no two labels may overlap.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from pipelines.report import charts

pytestmark = pytest.mark.fast


def old_place_labels(frame: pd.DataFrame, x: str, y: str, x_max: float, y_max: float,
                     width: float = charts.WIDTH,
                     height: float = charts.BOOK_HEIGHT) -> pd.DataFrame:
    """The placement as it was before the collision grid: the same places tried in the same
    order (`charts.label_places`), each checked against every label placed and every point."""
    boxes: list[tuple[float, float, float, float]] = []
    points = [(float(r[x]) / x_max * width, (1 - float(r[y]) / y_max) * height)
              for _, r in frame.iterrows()]
    line = charts.LABEL_SIZE + 3
    pad = charts.POINT_CLEARANCE

    def free(box: tuple[float, float, float, float]) -> bool:
        clash = any(not (box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3])
                    for b in boxes)
        return not clash and not any(box[0] - pad <= qx <= box[2] + pad
                                     and box[1] - pad <= qy <= box[3] + pad
                                     for qx, qy in points)

    placed: dict[int, tuple[float, float, str, bool]] = {}
    for i in sorted(range(len(frame)), key=lambda i: (points[i][1], points[i][0])):
        px, py = points[i]
        w = len(str(frame.iloc[i]["label"])) * charts.LABEL_CHAR
        choice = next((c for c in charts.label_places(px, py, w, line, width, height)
                       if free(c[0])), None)
        if choice is None:  # nowhere free: below everything else
            low = max((b[3] for b in boxes), default=py)
            choice = ((px + charts.LABEL_GAP, low, px + charts.LABEL_GAP + w, low + line),
                      low + line / 2 - py, "right")
        box, dy, side = choice
        boxes.append(box)
        anchor_x = box[0] if side == "right" else box[2]
        placed[i] = (anchor_x / width * x_max, (1 - (py + dy) / height) * y_max, side, dy != 0)
    result = frame.copy()
    for n, column in enumerate(("label_x", "label_y", "side", "moved")):
        result[column] = [placed[i][n] for i in range(len(frame))]
    return result


def books(n: int, seed: int, clustered: bool) -> pd.DataFrame:
    """`n` CSMs with books, in clusters (many near one point, some on the very same point)
    when `clustered`, spread over the plot otherwise; names of varied length."""
    rng = random.Random(seed)
    centres = [(rng.uniform(5, 95), rng.uniform(2e5, 4e6)) for _ in range(6)]
    rows = []
    for i in range(n):
        if clustered:
            cx, cy = centres[i % len(centres)]
            accounts = cx if i % 17 == 0 else max(0.0, rng.gauss(cx, 4))
            arr = cy if i % 17 == 0 else max(0.0, rng.gauss(cy, 1.5e5))
        else:
            accounts, arr = rng.uniform(0, 100), rng.uniform(0, 5e6)
        name = "CSM " + "x" * rng.randint(0, 30) + f" {i}"
        rows.append({"csm_name": name, "accounts_managed": round(accounts),
                     "arr_managed": round(arr, 2),
                     "label": charts.short(name) + " (" + charts.money(arr) + ")"})
    return pd.DataFrame(rows)


def limits(frame: pd.DataFrame) -> tuple[float, float]:
    return (float(frame["accounts_managed"].max()) * 1.15,
            float(frame["arr_managed"].max()) * 1.15)


def label_boxes(placed: pd.DataFrame, x_max: float, y_max: float) -> list[tuple[float, ...]]:
    """Each label's box in px, back from its anchor (data units) as the chart draws it."""
    line = charts.LABEL_SIZE + 3
    boxes = []
    for _, r in placed.iterrows():
        w = len(str(r["label"])) * charts.LABEL_CHAR
        ax = r["label_x"] / x_max * charts.WIDTH
        ay = (1 - r["label_y"] / y_max) * charts.BOOK_HEIGHT
        left = ax if r["side"] == "right" else ax - w
        boxes.append((left, ay - line / 2, left + w, ay + line / 2))
    return boxes


@pytest.mark.parametrize(("n", "seed", "clustered"), [
    (300, 1, True), (300, 2, False), (120, 3, True), (40, 4, True), (1, 5, False)])
def test_the_grid_places_every_label_where_the_old_check_did(n: int, seed: int,
                                                            clustered: bool) -> None:
    frame = books(n, seed, clustered)
    x_max, y_max = limits(frame)
    new = charts.place_labels(frame, "accounts_managed", "arr_managed", x_max, y_max)
    old = old_place_labels(frame, "accounts_managed", "arr_managed", x_max, y_max)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    if clustered and n >= 120:  # the case exercises moved labels and both sides
        assert new["moved"].any() and set(new["side"]) == {"right", "left"}


@pytest.mark.parametrize(("n", "seed", "clustered"), [
    (300, 1, True), (300, 2, False), (40, 4, True)])
def test_no_two_labels_overlap_and_none_covers_a_point(n: int, seed: int,
                                                       clustered: bool) -> None:
    frame = books(n, seed, clustered)
    x_max, y_max = limits(frame)
    placed = charts.place_labels(frame, "accounts_managed", "arr_managed", x_max, y_max)
    boxes = label_boxes(placed, x_max, y_max)
    eps = 1e-6  # px: the round trip through data units
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert (a[2] <= b[0] + eps or b[2] <= a[0] + eps or a[3] <= b[1] + eps
                    or b[3] <= a[1] + eps), (a, b)
    points = [(r["accounts_managed"] / x_max * charts.WIDTH,
               (1 - r["arr_managed"] / y_max) * charts.BOOK_HEIGHT)
              for _, r in placed.iterrows()]
    # A label with nowhere free within LABEL_TRIES lines goes right of its point, its top at
    # the bottom of the lowest label placed before it (points are placed top to bottom): such
    # a label clears the labels, not the points. Every other label clears every point.
    pad = charts.POINT_CLEARANCE - eps
    lowest, below = None, 0
    for i in sorted(range(len(points)), key=lambda i: (points[i][1], points[i][0])):
        box, label = boxes[i], placed.iloc[i]["label"]
        if (lowest is not None and abs(box[1] - lowest) < eps and placed.iloc[i]["side"] == "right"
                and abs(box[0] - points[i][0] - charts.LABEL_GAP) < eps):
            below += 1
        else:
            assert not any(box[0] - pad <= qx <= box[2] + pad
                           and box[1] - pad <= qy <= box[3] + pad for qx, qy in points), label
        lowest = box[3] if lowest is None else max(lowest, box[3])
    # 300 labels do not fit in the plot (most go below it); 40 do.
    assert below == 0 if n <= 40 else below > 0
