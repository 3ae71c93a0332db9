"""The coverage picture: a grid drawn as a PNG with Pillow, imported only when a picture is drawn.

Levels are rows (in the catalog's order, with their scale), periods are columns. A rated cell is filled
with the colour of its rounded mean and shows the mean; "asked, too few answers to show" is grey with
diagonal lines; "not asked" is white with a dot. Rows of marks (meetings held, actions done) count events
along the time axis. The palette is viridis (safe for colour-blind readers, and its lightness rises with
the rating, so it reads in greyscale print too); every cell also carries words or a number.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.coverage import FEW, RATED, STATE_WORDS, Grid, format_mean

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont, ImageFont

    Font = FreeTypeFont | ImageFont

# Rating 1..5: viridis, dark (not at all) to light (very much).
PALETTE = {1: (68, 1, 84), 2: (59, 82, 139), 3: (33, 145, 140), 4: (94, 201, 98), 5: (253, 231, 37)}
FEW_FILL, NOT_ASKED_FILL, LINE, INK, GRID = (
    (215, 215, 215),
    (255, 255, 255),
    (150, 150, 150),
    (20, 20, 20),
    (190, 190, 190),
)
LABELS = {1: "1 Not at all", 2: "2 A little", 3: "3 Somewhat", 4: "4 Mostly", 5: "5 Very much"}
MARGIN, LABEL_W, HEAD_H, ROW_H, MARK_H, TITLE_H, LEGEND_H = 24, 330, 44, 72, 44, 56, 120
MAX_W = 1800


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    cell_w: int
    cells: dict[tuple[str, int], tuple[int, int, int, int]]  # (level id, period) -> (x0, y0, x1, y1)
    marks_top: int
    legend_top: int


def colour(cell_state: str, mean: float | None) -> tuple[int, int, int]:
    """A cell's fill: the rounded mean's colour, or the grey / white of the other states."""
    if cell_state == RATED and mean is not None:
        return PALETTE[min(5, max(1, int(mean + 0.5)))]
    return FEW_FILL if cell_state == FEW else NOT_ASKED_FILL


def layout(grid: Grid) -> Layout:
    columns = max(1, len(grid.periods))
    cell_w = max(44, min(120, (MAX_W - 2 * MARGIN - LABEL_W) // columns))
    top = MARGIN + TITLE_H + HEAD_H
    cells = {}
    for r, level in enumerate(grid.levels):
        for i in range(len(grid.periods)):
            x0 = MARGIN + LABEL_W + i * cell_w
            y0 = top + r * ROW_H
            cells[(level.id, i)] = (x0, y0, x0 + cell_w, y0 + ROW_H)
    marks_top = top + len(grid.levels) * ROW_H + 8
    legend_top = marks_top + len(grid.marks) * MARK_H + 16
    width = MARGIN * 2 + LABEL_W + columns * cell_w
    return Layout(max(width, 1000), legend_top + LEGEND_H + MARGIN, cell_w, cells, marks_top, legend_top)


def draw(grid: Grid) -> bytes:
    """The picture as PNG bytes."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - Pillow only when a picture is drawn

    box = layout(grid)
    image = Image.new("RGB", (box.width, box.height), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    title, text, small = (ImageFont.load_default(size=s) for s in (30, 22, 17))
    pen.text((MARGIN, MARGIN), grid.title, font=title, fill=INK)
    head_y = MARGIN + TITLE_H + HEAD_H // 2
    every = max(1, -(-len(grid.periods) * 60 // max(1, len(grid.periods) * box.cell_w)))  # labels that fit
    for i, period in enumerate(grid.periods):
        if i % every == 0:
            x = MARGIN + LABEL_W + i * box.cell_w + box.cell_w // 2
            pen.text((x, head_y), period.label, font=small, fill=INK, anchor="mm")
    for level in grid.levels:
        x0, y0, _, y1 = box.cells[(level.id, 0)] if grid.periods else (MARGIN + LABEL_W, 0, 0, 0)
        pen.text((MARGIN, y0 + 14), level.name, font=text, fill=INK)
        pen.text((MARGIN, y0 + 42), level.scale, font=small, fill=LINE)
        for i in range(len(grid.periods)):
            cell = grid.cell(level.id, i)
            _cell(pen, box.cells[(level.id, i)], cell.state, cell.mean, small)
    for n, (label, per) in enumerate(grid.marks.items()):
        y = box.marks_top + n * MARK_H
        pen.text((MARGIN, y + 10), label, font=small, fill=INK)
        for i, count in enumerate(per):
            if count:
                cx = MARGIN + LABEL_W + i * box.cell_w + box.cell_w // 2
                pen.ellipse((cx - 14, y + 6, cx + 14, y + 34), outline=INK, width=2)
                pen.text((cx, y + 20), str(count), font=small, fill=INK, anchor="mm")
    _legend(pen, box.legend_top, small)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _cell(pen: ImageDraw, rect: tuple[int, int, int, int], state: str, mean: float | None, font: Font) -> None:
    x0, y0, x1, y1 = rect
    fill = colour(state, mean)
    pen.rectangle((x0, y0, x1 - 1, y1 - 1), fill=fill, outline=GRID)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    if state == RATED and mean is not None:
        dark = sum(fill) < 380
        pen.text((cx, cy), format_mean(mean), font=font, fill=(255, 255, 255) if dark else INK, anchor="mm")
    elif state == FEW:
        w, h = x1 - x0, y1 - y0
        for d in range(0, w + h, 12):  # lines down and to the left, clipped to the cell
            t0, t1 = max(0, d - (w - 1)), min(h - 1, d)
            if t0 <= t1:
                pen.line(((x0 + d - t0, y0 + t0), (x0 + d - t1, y0 + t1)), fill=LINE, width=1)
        pen.rectangle((cx - 6, cy - 6, cx + 6, cy + 6), fill=fill)  # the sample point stays the fill colour
    else:
        pen.ellipse((cx - 3, cy - 3, cx + 3, cy + 3), fill=LINE)


def _legend(pen: ImageDraw, top: int, font: Font) -> None:
    x = MARGIN
    for rating, label in LABELS.items():
        pen.rectangle((x, top, x + 28, top + 28), fill=PALETTE[rating], outline=GRID)
        pen.text((x + 36, top + 14), label, font=font, fill=INK, anchor="lm")
        x += 190
    y = top + 48
    pen.rectangle((MARGIN, y, MARGIN + 28, y + 28), fill=FEW_FILL, outline=GRID)
    pen.text((MARGIN + 36, y + 14), STATE_WORDS[FEW], font=font, fill=INK, anchor="lm")
    pen.rectangle((MARGIN + 420, y, MARGIN + 448, y + 28), fill=NOT_ASKED_FILL, outline=GRID)
    pen.text((MARGIN + 456, y + 14), "not asked", font=font, fill=INK, anchor="lm")
