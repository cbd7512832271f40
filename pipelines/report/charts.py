"""The report's charts: Vega-Altair specifications rendered to SVG by vl-convert, inlined.

vl-convert renders in-process (no browser, no network), so the page carries its charts as plain
<svg> and opens offline. Every chart stays readable without colour: marks also differ by shape
or dash, bars and points carry their numbers, and the series are named in a legend or a label.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
WIDTH = 760
# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#BBBBBB"]
UP, DOWN, TOTAL = "#009E73", "#D55E00", "#5f6b7a"


# Whether each chart's specification is checked against the Vega-Lite schema as it is drawn.
# The specifications are this module's code, not data: tests/test_report.py draws the whole page
# with the check on; a run skips it (jsonschema took a third of the page's time).
VALIDATE = False


def spec_of(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite specification as drawn: the page's font, no view frame, and its
    inline data sets cut to the columns the specification names (`prune_data`)."""
    spec = chart.to_dict(validate=VALIDATE)
    config = spec.setdefault("config", {})
    config["font"] = FONT
    config.setdefault("view", {})["stroke"] = None
    return prune_data(spec)


def svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an inline SVG element (no XML prolog, no external reference)."""
    return vl_convert.vegalite_to_svg(spec_of(chart))


def _strings(node: object, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(str(key))
            _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)
    elif isinstance(node, str):
        out.add(node)
    return out


def prune_data(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with each inline data set's columns cut to those whose name occurs in a string
    of the rest of the specification (a field, a sort, an expression such as `datum.rank`):
    a frame's other columns (ids, bands, flags) only made the data vl-convert parses larger.
    Keeping every name that occurs anywhere keeps more than needed, never less."""
    datasets = spec.get("datasets")
    if not datasets:
        return spec
    text = "\n".join(_strings({k: v for k, v in spec.items() if k != "datasets"}, set()))
    for name, rows in datasets.items():
        columns = {c for row in rows for c in row}
        unused = {c for c in columns if c not in text}
        if unused:
            datasets[name] = [{c: v for c, v in row.items() if c not in unused} for row in rows]
    return spec


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with dates and times as ISO text: what a Vega-Lite data set can carry."""
    out = frame.copy()
    for name in out.columns:
        if out[name].map(lambda v: isinstance(v, (date, datetime))).any():
            out[name] = out[name].map(lambda v: v.isoformat() if v is not None else None)
    return out


def _chart(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(_plain(frame))


NAME_LIMIT = 40  # characters of a CRM name shown; the page's tables carry the whole in a title


def short(text: object, limit: int = NAME_LIMIT) -> str:
    """A CRM name cut to `limit` characters (an ellipsis marks the cut): one unbroken
    3,000-character name must not widen a chart or the page."""
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def money(value: float) -> str:
    """1,234,567 -> 1.23M; 12,345 -> 12.3k: short enough to label a bar."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.2f}M"
    if size >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


AXIS_FORMAT = {"percent": ".1~%", "money": "~s", "number": ",.2~f"}
LABEL_FORMAT = {"percent": ".1%", "money": ",.0f", "number": ",.3~f"}


def control_chart(series: pd.DataFrame, label: str, kind: str) -> alt.TopLevelMixin:
    """An XmR chart of one KPI: value, centre (solid), natural process limits (dashed), each
    point's shape saying which signal fired, the latest value labelled."""
    frame = series.copy()
    frame["month"] = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m")
    frame["signal"] = frame.apply(_signal, axis=1)
    base = _chart(frame).encode(x=alt.X("month:O", title=None,
                                           axis=alt.Axis(labelAngle=-45, labelFontSize=9)))
    y = alt.Y("value:Q", title=None, scale=alt.Scale(zero=False),
              axis=alt.Axis(format=AXIS_FORMAT[kind]))
    line = base.mark_line(color="#444", strokeWidth=1.5).encode(y=y)
    points = base.mark_point(filled=True, size=70, opacity=1).encode(
        y="value:Q",
        shape=alt.Shape("signal:N", scale=alt.Scale(
            domain=SIGNAL_WORDS, range=["circle", "triangle-up", "square"]),
            legend=alt.Legend(title=None, orient="top")),
        color=alt.Color("signal:N", scale=alt.Scale(
            domain=SIGNAL_WORDS, range=["#444", DOWN, "#0072B2"]),
            legend=alt.Legend(title=None, orient="top")))
    centre = base.mark_line(color="#0072B2", strokeWidth=1).encode(y="centre:Q")
    upper = base.mark_line(color="#888", strokeDash=[5, 3]).encode(y="unpl:Q")
    lower = base.mark_line(color="#888", strokeDash=[5, 3]).encode(y="lnpl:Q")
    last = base.transform_window(rank="rank()", sort=[alt.SortField("month", "descending")]
                                 ).transform_filter("datum.rank == 1").mark_text(
        dy=-12, fontSize=11, fontWeight="bold").encode(
        y="value:Q", text=alt.Text("value:Q", format=LABEL_FORMAT[kind]))
    return alt.layer(upper, lower, centre, line, points, last).properties(
        width=330, height=120, title=alt.Title(label, fontSize=12, anchor="start"))


SIGNAL_WORDS = ["usual variation", "outside its usual range", "trending"]


def _signal(row: pd.Series) -> str:
    if row.get("beyond_limits") is True:
        return SIGNAL_WORDS[1]
    if any(row.get(s) is True for s in ("run_of_8", "two_of_three_beyond_2sigma",
                                        "four_of_five_beyond_1sigma")):
        return SIGNAL_WORDS[2]
    return SIGNAL_WORDS[0]


BOOK_HEIGHT = 420
LABEL_SIZE = 10  # px: the book chart's label font size
LABEL_CHAR = 6.2  # px per character at LABEL_SIZE in DejaVu Sans (a wide estimate)


LABEL_GAP = 8  # px between a point and its label
POINT_CLEARANCE = 4  # px every label keeps from every point
LABEL_TRIES = 40  # lines up and down a label may move before it goes below every other
GRID_CELL = 64.0  # px: the side of a cell of the collision grid


class _Grid:
    """Boxes (left, top, right, bottom) filed by GRID_CELL-sized cells, so a collision check
    reads the few boxes in the cells a candidate touches instead of every box placed. A box is
    filed in every cell its closed extent touches: any two boxes that overlap, or touch, share a
    cell, so the check finds exactly what a check against every box finds."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}

    @staticmethod
    def _span(low: float, high: float) -> range:
        return range(math.floor(low / GRID_CELL), math.floor(high / GRID_CELL) + 1)

    def add(self, box: tuple[float, float, float, float]) -> None:
        for cx in self._span(box[0], box[2]):
            for cy in self._span(box[1], box[3]):
                self.cells.setdefault((cx, cy), []).append(box)

    def near(self, left: float, top: float, right: float,
             bottom: float) -> Iterator[tuple[float, float, float, float]]:
        """The boxes filed in the cells [left, right] x [top, bottom] touches (some twice)."""
        cells = self.cells
        for cx in self._span(left, right):
            for cy in self._span(top, bottom):
                yield from cells.get((cx, cy), ())


def place_labels(frame: pd.DataFrame, x: str, y: str, x_max: float, y_max: float,
                 width: float = WIDTH, height: float = BOOK_HEIGHT) -> pd.DataFrame:
    """Each point's label placed where it overlaps no other label and no point: right of the
    point, else left, else moved up or down in steps of a line. Adds the label's anchor in
    data units (`label_x`, `label_y`), its side (`side`: left/right) and whether it moved.

    Points are placed top to bottom (then left to right); each takes the first free place in
    the order right, left, a line up (right, left), a line down, two lines up ... Placed labels
    and the points are kept in grids (`_Grid`), so a check costs the labels nearby, not all of
    them: 300 CSMs took seconds when every check read every label."""
    points = [(float(vx) / x_max * width, (1 - float(vy) / y_max) * height)
              for vx, vy in zip(frame[x], frame[y], strict=True)]
    labels = [str(v) for v in frame["label"]]
    line = LABEL_SIZE + 3
    pad = POINT_CLEARANCE
    dots = _Grid()
    for qx, qy in points:
        dots.add((qx, qy, qx, qy))
    boxes = _Grid()
    lowest: float | None = None  # the bottom of the lowest label placed
    order = sorted(range(len(frame)), key=lambda i: (points[i][1], points[i][0]))
    placed: dict[int, tuple[float, float, str, bool]] = {}
    for i in order:
        px, py = points[i]
        w = len(labels[i]) * LABEL_CHAR
        choice = next((c for c in label_places(px, py, w, line, width, height)
                       if _free(c[0], boxes, dots, pad)), None)
        if choice is None:  # nowhere free within LABEL_TRIES lines: below everything else
            low = py if lowest is None else lowest
            choice = ((px + LABEL_GAP, low, px + LABEL_GAP + w, low + line),
                      low + line / 2 - py, "right")
        box, dy, side = choice
        boxes.add(box)
        lowest = box[3] if lowest is None else max(lowest, box[3])
        anchor_x = box[0] if side == "right" else box[2]
        placed[i] = (anchor_x / width * x_max, (1 - (py + dy) / height) * y_max, side, dy != 0)
    out = [placed[i] for i in range(len(frame))]
    result = frame.copy()
    result["label_x"] = [p[0] for p in out]
    result["label_y"] = [p[1] for p in out]
    result["side"] = [p[2] for p in out]
    result["moved"] = [p[3] for p in out]
    return result


def label_places(px: float, py: float, w: float, line: float, width: float, height: float
                 ) -> Iterator[tuple[tuple[float, float, float, float], float, str]]:
    """The places a label `w` px wide may take beside the point (px, py), in the order they are
    tried: right, left, a line up (right, left), a line down, two lines up ...; each as its box
    (left, top, right, bottom), its move `dy` and its side. Only places inside the plot (clear
    of the axes' labels), or past its right edge."""
    for step in range(LABEL_TRIES):
        for dy in ([0] if step == 0 else [-step * line, step * line]):
            for side in ("right", "left"):
                left = px + LABEL_GAP if side == "right" else px - LABEL_GAP - w
                top = py + dy - line / 2
                box = (left, top, left + w, top + line)
                if left < 0 or box[1] < 0 or box[3] > height or box[2] > width + 160:
                    continue
                yield box, dy, side


def _free(box: tuple[float, float, float, float], boxes: _Grid, dots: _Grid, pad: float) -> bool:
    """Whether `box` overlaps no placed label (touching edges do not overlap) and has no point
    within `pad` px of it."""
    left, top, right, bottom = box
    for b in boxes.near(left, top, right, bottom):
        if not (right <= b[0] or left >= b[2] or bottom <= b[1] or top >= b[3]):
            return False
    for qx, qy, _, _ in dots.near(left - pad, top - pad, right + pad, bottom + pad):
        if left - pad <= qx <= right + pad and top - pad <= qy <= bottom + pad:
            return False
    return True


def book_chart(books: pd.DataFrame, arr_band: tuple[float, float],
               accounts_band: tuple[float, float], arr_target: float | None = None,
               accounts_target: float | None = None) -> alt.TopLevelMixin:
    """ARR managed against accounts managed per CSM, the benchmark bands shaded, the targets
    (when set) as dashed lines, every point named by a label that overlaps no other."""
    frame = books.copy()
    frame["in_bands"] = frame.apply(
        lambda r: "within both bands" if r["arr_band"] == r["accounts_band"] == "within"
        else "outside a band", axis=1)
    frame["label"] = frame["csm_name"].map(short) + " (" + frame["arr_managed"].map(money) + ")"
    x_max = max(float(frame["accounts_managed"].max()), accounts_band[1],
                accounts_target or 0) * 1.15
    y_max = max(float(frame["arr_managed"].max()), arr_band[1], arr_target or 0) * 1.15
    frame = place_labels(frame, "accounts_managed", "arr_managed", x_max, y_max)
    bands = pd.DataFrame([
        {"x": accounts_band[0], "x2": accounts_band[1], "y": 0.0, "y2": y_max,
         "band": f"accounts band {accounts_band[0]:g}-{accounts_band[1]:g}"},
        {"x": 0.0, "x2": x_max, "y": arr_band[0], "y2": arr_band[1],
         "band": f"ARR band {money(arr_band[0])}-{money(arr_band[1])}"},
    ])
    x_scale = alt.Scale(domain=[0, x_max], nice=False)
    y_scale = alt.Scale(domain=[0, y_max], nice=False)
    shade = _chart(bands).mark_rect(opacity=0.18).encode(
        x=alt.X("x:Q", scale=x_scale, title="accounts managed"), x2="x2",
        y=alt.Y("y:Q", scale=y_scale, title="ARR managed", axis=alt.Axis(format="~s")), y2="y2",
        color=alt.Color("band:N", scale=alt.Scale(range=["#56B4E9", "#E69F00"]),
                        legend=alt.Legend(title="benchmark bands", orient="top")))
    points = _chart(frame).mark_point(filled=True, size=90, color="#222").encode(
        x=alt.X("accounts_managed:Q", scale=x_scale),
        y=alt.Y("arr_managed:Q", scale=y_scale),
        shape=alt.Shape("in_bands:N", scale=alt.Scale(
            domain=["within both bands", "outside a band"], range=["circle", "diamond"]),
            legend=alt.Legend(title=None, orient="top")))
    layers: list[alt.TopLevelMixin] = [shade, points]
    moved = frame[frame["moved"]]
    if not moved.empty:  # a leader line from each point whose label had to move
        layers.append(_chart(moved).mark_rule(color="#888", strokeWidth=0.7).encode(
            x=alt.X("accounts_managed:Q", scale=x_scale), y=alt.Y("arr_managed:Q",
                                                                  scale=y_scale),
            x2="label_x:Q", y2="label_y:Q"))
    for side in ("right", "left"):
        part = frame[frame["side"] == side]
        if not part.empty:
            layers.append(_chart(part).mark_text(
                align="left" if side == "right" else "right", baseline="middle",
                fontSize=LABEL_SIZE).encode(
                x=alt.X("label_x:Q", scale=x_scale), y=alt.Y("label_y:Q", scale=y_scale),
                text="label:N"))
    targets = []
    if arr_target is not None:
        targets.append({"x": 0.0, "x2": x_max, "y": arr_target, "y2": arr_target,
                        "text": f"target ARR per CSM {money(arr_target)}"})
    if accounts_target is not None:
        targets.append({"x": accounts_target, "x2": accounts_target, "y": 0.0, "y2": y_max,
                        "text": f"target customers per CSM {accounts_target:g}"})
    if targets:
        lines = pd.DataFrame(targets)
        layers.append(_chart(lines).mark_rule(color="#CC79A7", strokeWidth=2,
                                              strokeDash=[8, 4]).encode(
            x=alt.X("x:Q", scale=x_scale), x2="x2:Q", y=alt.Y("y:Q", scale=y_scale), y2="y2:Q"))
        layers.append(_chart(lines).mark_text(align="right", baseline="bottom", dx=-4, dy=-3,
                                              fontSize=10, color="#8a2f6b").encode(
            x=alt.X("x2:Q", scale=x_scale), y=alt.Y("y2:Q", scale=y_scale), text="text:N"))
    return alt.layer(*layers).resolve_scale(color="independent", shape="independent"
                                            ).properties(width=WIDTH, height=BOOK_HEIGHT)


def retention_chart(retention: pd.DataFrame) -> alt.TopLevelMixin:
    """NRR and GRR by month: two lines told apart by dash and point shape, every value labelled."""
    frame = retention.melt(id_vars=["period_start"], value_vars=["nrr", "grr"],
                           var_name="measure", value_name="rate").dropna(subset=["rate"])
    frame["measure"] = frame["measure"].str.upper()
    frame["month"] = pd.to_datetime(frame["period_start"]).dt.strftime("%Y-%m")
    base = _chart(frame).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("rate:Q", title="retention", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")))
    return alt.layer(*_nrr_grr_layers(base)).properties(width=WIDTH, height=260)


def _nrr_grr_layers(base: alt.Chart) -> list[alt.Chart]:
    """NRR and GRR over `base` (columns measure, rate): lines told apart by dash, points by
    shape (not by colour alone), every value labelled, NRR's above and GRR's below."""
    domain = ["NRR", "GRR"]
    lines = base.mark_line(strokeWidth=2).encode(
        color=alt.Color("measure:N", scale=alt.Scale(domain=domain, range=PALETTE[:2]),
                        legend=alt.Legend(title=None, orient="top")),
        strokeDash=alt.StrokeDash("measure:N", scale=alt.Scale(domain=domain,
                                                               range=[[1, 0], [6, 3]]),
                                  legend=None))
    points = base.mark_point(filled=True, size=60).encode(
        color=alt.Color("measure:N", scale=alt.Scale(domain=domain, range=PALETTE[:2]),
                        legend=None),
        shape=alt.Shape("measure:N", scale=alt.Scale(domain=domain,
                                                     range=["circle", "square"]),
                        legend=alt.Legend(title=None, orient="top")))
    labels = [base.transform_filter(alt.datum.measure == name).mark_text(
        fontSize=9, dy=dy).encode(text=alt.Text("rate:Q", format=".1%"))
        for name, dy in zip(domain, (-11, 13), strict=True)]
    return [lines, points, *labels]


def waterfall_frame(retention: pd.DataFrame) -> pd.DataFrame:
    """The ARR bridge: the first month's starting ARR, each month's gains (new, reactivation,
    expansion) and losses (contraction, churn) as floating bars, the last month's ARR."""
    rows = []
    if retention.empty:
        return pd.DataFrame(rows)
    level = float(retention.iloc[0]["starting_arr"])
    first = pd.Timestamp(retention.iloc[0]["period_start"]).strftime("%Y-%m")
    rows.append({"step": f"start {first}", "start": 0.0, "end": level, "kind": "ARR",
                 "amount": level, "text": money(level)})
    for _, r in retention.iterrows():
        month = pd.Timestamp(r["period_start"]).strftime("%Y-%m")
        gain = float(r["new_arr"] + r["reactivation_arr"] + r["expansion_arr"])
        loss = float(r["contraction_arr"] + r["churned_arr"])
        rows.append({"step": f"{month} +", "start": level, "end": level + gain, "kind": "gained",
                     "amount": gain, "text": "+" + money(gain)})
        level += gain
        rows.append({"step": f"{month} -", "start": level, "end": level - loss, "kind": "lost",
                     "amount": -loss, "text": "-" + money(loss)})
        level -= loss
    last = pd.Timestamp(retention.iloc[-1]["period_start"]).strftime("%Y-%m")
    rows.append({"step": f"end {last}", "start": 0.0, "end": level, "kind": "ARR",
                 "amount": level, "text": money(level)})
    return pd.DataFrame(rows)


def waterfall_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    order = list(frame["step"])
    low = float(frame[["start", "end"]].where(frame["kind"] != "ARR").min().min())
    top = float(frame[["start", "end"]].max().max())
    floor = max(0.0, low - (top - low) * 0.5) if not math.isnan(low) else 0.0
    frame = frame.assign(start=frame["start"].where(frame["kind"] != "ARR", floor),
                         top=frame[["start", "end"]].max(axis=1))
    scale = alt.Scale(domain=[floor, top + (top - floor) * 0.12], nice=False)
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=-60, labelFontSize=9))
    bars = _arr_bars(frame, x, scale)
    text = _chart(frame).mark_text(angle=270, align="left", baseline="middle", dx=4,
                                   fontSize=9).encode(
        x=x, y=alt.Y("top:Q", scale=scale), text="text:N")
    return alt.layer(bars, text).properties(width=WIDTH, height=300)


ACTIVITY_ORDER = ["onboarding", "training", "business_review", "support", "renewal",
                  "expansion", "internal", "other"]


def hours_chart(hours: pd.DataFrame) -> alt.TopLevelMixin:
    """Each person's hours by activity: stacked bars, each segment labelled with its hours
    and the activity's initials, so the legend's colours are not needed to read it."""
    frame = hours.copy()
    frame["csm_name"] = frame["csm_name"].map(short)
    known = [a for a in ACTIVITY_ORDER if a in set(frame["activity"])]
    domain = known + sorted(set(frame["activity"]) - set(known))
    frame["order"] = frame["activity"].map({a: i for i, a in enumerate(domain)})
    frame["tag"] = frame["activity"].map(_initials)
    widest = float(frame.groupby("csm_name")["hours"].sum().max())
    frame["label"] = frame.apply(
        lambda r: f"{r['tag']} {r['hours']:.0f}" if r["hours"] >= widest * 0.06 else "", axis=1)
    totals = frame.groupby("csm_name", as_index=False)["hours"].sum()
    totals["label"] = totals["hours"].map(lambda h: f"{h:,.1f} h")
    y = alt.Y("csm_name:N", title=None, sort=alt.EncodingSortField("hours", op="sum",
                                                                    order="descending"))
    bars = _chart(frame).mark_bar(stroke="white", strokeWidth=0.7).encode(
        y=y, x=alt.X("sum(hours):Q", title="hours in the month", stack="zero"),
        color=alt.Color("activity:N", scale=alt.Scale(domain=domain,
                                                      range=PALETTE[:len(domain)]),
                        legend=alt.Legend(title=None, orient="top", columns=4,
                                          labelExpr="datum.label + ' (' + "
                                                    "upper(slice(datum.label, 0, 2)) + ')'")),
        order=alt.Order("order:Q"))
    labels = _chart(frame).mark_text(align="center", fontSize=9, color="black").encode(
        y=y, x=alt.X("sum(hours):Q", stack="zero", bandPosition=0.5),
        detail="activity:N", order=alt.Order("order:Q"), text="label:N")
    total = _chart(totals).mark_text(align="left", dx=4, fontSize=10).encode(
        y=alt.Y("csm_name:N", sort=alt.EncodingSortField("hours", op="sum", order="descending")),
        x="hours:Q", text="label:N")
    return alt.layer(bars, labels, total).properties(
        width=WIDTH - 140, height=max(120, 24 * frame["csm_name"].nunique()))


def _initials(activity: str) -> str:
    return activity[:2].upper()


def capacity_frame(capacity: pd.DataFrame) -> pd.DataFrame:
    """FTE available, and FTE needed split by segment (the segment row's own fte_needed, else
    the team's in proportion to the segment's account hours, which is how fte_needed is
    defined), plus the planned book's need when set."""
    all_row = capacity[capacity["segment"] == "all"]
    if all_row.empty:
        return pd.DataFrame()
    total = all_row.iloc[0]
    segments = capacity[capacity["segment"] != "all"]
    hours_all = float(total["account_hours"] or 0.0)
    rows = [{"bar": "available", "part": "FTE available", "fte": float(total["fte_available"]),
             "order": 0}]
    needed = float(total["fte_needed"]) if pd.notna(total["fte_needed"]) else float("nan")
    for i, (_, seg) in enumerate(segments.iterrows()):
        share = float(seg["account_hours"] or 0.0) / hours_all if hours_all else 0.0
        own = seg.get("fte_needed")
        rows.append({"bar": "needed", "part": str(seg["segment"]), "order": i + 1,
                     "fte": float(own) if pd.notna(own) else needed * share})
    if pd.notna(total.get("fte_needed_planned")):
        rows.append({"bar": "needed, planned book", "part": "planned book",
                     "fte": float(total["fte_needed_planned"]), "order": len(rows)})
    frame = pd.DataFrame(rows)
    widest = float(frame.groupby("bar")["fte"].sum().max())
    # A segment too narrow for its words is named by the legend and the bar's total instead.
    frame["label"] = frame.apply(
        lambda r: f"{r['part']} {r['fte']:.2f}" if r["fte"] >= widest * 0.12 else "", axis=1)
    return frame


def capacity_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    bars_order = ["available", "needed", "needed, planned book"]
    y = alt.Y("bar:N", sort=bars_order, title=None)
    parts = list(dict.fromkeys(frame.sort_values("order")["part"]))
    bars = _chart(frame).mark_bar(stroke="white", strokeWidth=1).encode(
        y=y, x=alt.X("sum(fte):Q", title="FTE", stack="zero"),
        color=alt.Color("part:N", scale=alt.Scale(domain=parts,
                                                  range=[TOTAL, *PALETTE][:len(parts)]),
                        legend=alt.Legend(title=None, orient="top")),
        order=alt.Order("order:Q"))
    labels = _chart(frame).mark_text(fontSize=10, color="black").encode(
        y=y, x=alt.X("sum(fte):Q", stack="zero", bandPosition=0.5), detail="part:N",
        order=alt.Order("order:Q"), text="label:N")
    totals = frame.groupby("bar", as_index=False)["fte"].sum()
    totals["label"] = totals["fte"].map(lambda f: f"{f:.2f} FTE")
    total = _chart(totals).mark_text(align="left", dx=4, fontSize=11,
                                        fontWeight="bold").encode(
        y=alt.Y("bar:N", sort=bars_order), x="fte:Q", text="label:N")
    return alt.layer(bars, labels, total).properties(width=WIDTH - 120, height=140)


def pareto_chart(reasons: pd.DataFrame) -> alt.TopLevelMixin:
    """Churn and contraction ARR by reason, largest first, with the cumulative share."""
    frame = reasons.copy()
    frame["reason"] = frame["reason"].map(short)
    frame["arr_label"] = frame["arr"].map(money)
    order = list(frame["reason"])
    x = alt.X("reason:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30))
    bars = _chart(frame).mark_bar(color="#0072B2").encode(
        x=x, y=alt.Y("arr:Q", title="ARR lost (bars)", axis=alt.Axis(format="~s")))
    bar_text = _chart(frame).mark_text(dy=-6, fontSize=10).encode(
        x=x, y="arr:Q", text="arr_label:N")
    share = alt.Y("cumulative_share:Q", title="cumulative share (line)",
                  scale=alt.Scale(domain=[0, 1.08]), axis=alt.Axis(format="%"))
    line = _chart(frame).mark_line(color=DOWN, strokeDash=[6, 3],
                                      point=alt.OverlayMarkDef(shape="diamond", size=60,
                                                               color=DOWN, filled=True)
                                      ).encode(x=x, y=share)
    line_text = _chart(frame).mark_text(dy=-12, dx=14, fontSize=10, fontWeight="bold",
                                        color="#8a3a00").encode(
        x=x, y=share, text=alt.Text("cumulative_share:Q", format=".0%"))
    return alt.layer(alt.layer(bars, bar_text), alt.layer(line, line_text)).resolve_scale(
        y="independent").properties(width=WIDTH - 60, height=280)


def drivers_frame(drivers: pd.DataFrame) -> pd.DataFrame:
    """Odds ratio per standard deviation with its 95% interval, from the coefficient and its
    standard error. The coefficient is per unit of the fitted input, so the interval is scaled
    by the same factor that turns it into the odds ratio per sd."""
    rows = []
    for _, r in drivers.iterrows():
        coef, se, ratio = r["coefficient"], r["std_error"], r["odds_ratio_per_sd"]
        if any(pd.isna(v) for v in (coef, se, ratio)) or ratio <= 0:
            continue
        scale = math.log(ratio) / coef if coef else 1.0
        low, high = sorted((math.exp((coef - 1.96 * se) * scale),
                            math.exp((coef + 1.96 * se) * scale)))
        rows.append({"input": r["input"], "odds_ratio": float(ratio), "low": low, "high": high,
                     "p_value": float(r["p_value"]),
                     "label": f"{ratio:.2f} [{low:.2f}-{high:.2f}]",
                     "direction": "more churn" if ratio > 1 else "less churn"})
    return pd.DataFrame(rows)


def drivers_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    low = min(float(frame["low"].min()), 0.8)
    high = max(float(frame["high"].max()), 1.25)
    scale = alt.Scale(type="log", domain=[low / 1.1, high * 1.6], nice=False)
    y = alt.Y("input:N", title=None, sort=list(frame.sort_values("odds_ratio")["input"]))
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#888", strokeDash=[4, 3]
                                                          ).encode(x=alt.X("x:Q", scale=scale))
    bars = _chart(frame).mark_errorbar(ticks=True, thickness=1.5, color="#333").encode(
        y=y, x=alt.X("low:Q", scale=scale, title="odds ratio of churn per standard deviation "
                                                  "(log scale, 95% interval)"), x2="high:Q")
    points = _chart(frame).mark_point(filled=True, size=80).encode(
        y=y, x=alt.X("odds_ratio:Q", scale=scale),
        shape=alt.Shape("direction:N", scale=alt.Scale(domain=["more churn", "less churn"],
                                                       range=["triangle-right",
                                                              "triangle-left"]),
                        legend=alt.Legend(title=None, orient="top")),
        color=alt.Color("direction:N", scale=alt.Scale(domain=["more churn", "less churn"],
                                                       range=[DOWN, "#0072B2"]),
                        legend=alt.Legend(title=None, orient="top")))
    labels = _chart(frame).mark_text(align="left", dx=6, dy=-9, fontSize=10).encode(
        y=y, x=alt.X("high:Q", scale=scale), text="label:N")
    return alt.layer(one, bars, points, labels).properties(
        width=WIDTH - 200, height=max(100, 34 * len(frame)))


BRIDGE_STEPS = [("start", "ARR at start"), ("new_arr", "new"), ("reactivation_arr",
                "reactivation"), ("expansion_arr", "expansion"), ("contraction_arr",
                "contraction"), ("churned_arr", "churn"), ("end", "ARR at end")]


def bridge_frame(row: dict) -> pd.DataFrame:
    """The twelve months' ARR bridge in seven bars: the starting ARR, the year's new,
    reactivation and expansion (up), contraction and churn (down), the ending ARR."""
    level = float(row["starting_arr"])
    rows = [{"step": "ARR at start", "start": 0.0, "end": level, "kind": "ARR",
             "amount": level, "text": money(level)}]
    for column, name in BRIDGE_STEPS[1:-1]:
        amount = float(row[column] or 0.0)
        sign = -1 if column in ("contraction_arr", "churned_arr") else 1
        rows.append({"step": name, "start": level, "end": level + sign * amount,
                     "kind": "gained" if sign > 0 else "lost", "amount": sign * amount,
                     "text": ("+" if sign > 0 else "-") + money(amount)})
        level += sign * amount
    total = float(row["total_arr"])
    rows.append({"step": "ARR at end", "start": 0.0, "end": total, "kind": "ARR",
                 "amount": total, "text": money(total)})
    return pd.DataFrame(rows)


def _arr_bars(frame: pd.DataFrame, x: alt.X, scale: alt.Scale) -> alt.Chart:
    """Floating bars from `start` to `end`: ARR levels grey, gains green, losses red."""
    return _chart(frame).mark_bar(stroke="#222", strokeWidth=0.5).encode(
        x=x, y=alt.Y("start:Q", scale=scale, title="ARR", axis=alt.Axis(format="~s")),
        y2="end:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=["ARR", "gained", "lost"],
                                                  range=[TOTAL, UP, DOWN]),
                        legend=alt.Legend(title=None, orient="top")))


def bridge_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    order = list(frame["step"])
    frame = frame.assign(top=frame[["start", "end"]].max(axis=1))
    top = float(frame["top"].max())
    scale = alt.Scale(domain=[0, top * 1.12], nice=False)
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=11))
    bars = _arr_bars(frame, x, scale)
    text = _chart(frame).mark_text(dy=-7, fontSize=11, fontWeight="bold").encode(
        x=x, y=alt.Y("top:Q", scale=scale), text="text:N")
    return alt.layer(bars, text).properties(width=WIDTH - 160, height=260)


def ttm_chart(series: pd.DataFrame, nrr_target: float | None,
              grr_target: float | None) -> alt.TopLevelMixin:
    """Trailing-twelve-month NRR and GRR at each month's end, the targets as dashed lines."""
    frame = series.melt(id_vars=["month"], value_vars=["nrr", "grr"], var_name="measure",
                        value_name="rate").dropna(subset=["rate"])
    frame["measure"] = frame["measure"].str.upper()
    base = _chart(frame).encode(
        x=alt.X("month:O", title="twelve months ending with", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("rate:Q", title="retention, trailing 12 months", scale=alt.Scale(zero=False),
                axis=alt.Axis(format="%")))
    layers = _nrr_grr_layers(base)
    targets = pd.DataFrame([{"rate": t, "text": f"{name} target {t:.0%}"}
                            for name, t in (("NRR", nrr_target), ("GRR", grr_target))
                            if t is not None])
    if not targets.empty:
        layers.append(_chart(targets).mark_rule(color="#CC79A7", strokeWidth=2,
                                                strokeDash=[8, 4]).encode(y="rate:Q"))
        layers.append(_chart(targets).mark_text(align="left", dx=4, dy=-6, fontSize=10,
                                                color="#8a2f6b").encode(
            y="rate:Q", x=alt.value(0), text="text:N"))
    return alt.layer(*layers).properties(width=WIDTH - 160, height=220)


def renewals_chart(renewals: pd.DataFrame) -> alt.TopLevelMixin:
    """ARR up for renewal in the next 90 and 180 days, stacked by risk band, each part named."""
    frame = renewals[renewals["arr_lapsing"] > 0].copy()
    frame["window"] = "next " + frame["days"].astype(int).astype(str) + " days"
    frame["order"] = frame["risk_band"].map({b: i for i, b in enumerate(
        ["high", "medium", "low", "unknown"])})
    widest = float(frame.groupby("window")["arr_lapsing"].sum().max() or 0.0)
    frame["label"] = frame.apply(
        lambda r: f"{r['risk_band']} {money(r['arr_lapsing'])}"
        if r["arr_lapsing"] >= widest * 0.12 else "", axis=1)
    y = alt.Y("window:N", title=None, sort=["next 90 days", "next 180 days"])
    bars = _chart(frame).mark_bar(stroke="white", strokeWidth=1).encode(
        y=y, x=alt.X("sum(arr_lapsing):Q", title="ARR up for renewal", stack="zero",
                     axis=alt.Axis(format="~s")),
        color=alt.Color("risk_band:N", scale=alt.Scale(
            domain=["high", "medium", "low", "unknown"],
            range=[DOWN, PALETTE[1], UP, "#BBBBBB"]),
            legend=alt.Legend(title="churn risk", orient="top")),
        order=alt.Order("order:Q"))
    labels = _chart(frame).mark_text(fontSize=10, color="black").encode(
        y=y, x=alt.X("sum(arr_lapsing):Q", stack="zero", bandPosition=0.5),
        detail="risk_band:N", order=alt.Order("order:Q"), text="label:N")
    totals = frame.groupby("window", as_index=False)["arr_lapsing"].sum()
    totals["label"] = totals["arr_lapsing"].map(money)
    total = _chart(totals).mark_text(align="left", dx=4, fontSize=11, fontWeight="bold").encode(
        y=alt.Y("window:N", sort=["next 90 days", "next 180 days"]), x="arr_lapsing:Q",
        text="label:N")
    return alt.layer(bars, labels, total).properties(width=WIDTH - 200, height=90)
