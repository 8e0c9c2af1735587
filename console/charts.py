"""Charts drawn on the server as inline SVG (no CDN, no scripts): a weekly line chart of rates
against their target, and horizontal bars of counts. Presentation attributes only, since the
console's CSP refuses inline style attributes."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#0f766e", "#2563eb", "#c2410c", "#7c3aed", "#a16207")


def _attrs(**kw) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in kw.items())


def line_chart(labels: list[str], series: list[dict], title: str, width: int = 480, height: int = 240) -> Markup:
    """series: [{"name", "values": [0..1 or None per label]}]; y axis 0–100%."""
    left, right, top = 44, 12, 16
    bottom = 34 + 16 * ((len(series) + 1) // 2)  # axis labels, then the legend in two columns
    height += bottom - 64
    w, h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + h * (1 - v)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="13" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0, 25, 50, 75, 100):
        yy = y(pct / 100)
        parts.append(f"<line {_attrs(x1=left, x2=left + w, y1=yy, y2=yy, stroke='#e3e7ec')}/>")
        parts.append(f"<text {_attrs(x=left - 6, y=yy + 4, text_anchor='end', fill='#6b7785')}>{pct}%</text>")
    for i, label in enumerate(labels):
        parts.append(
            f"<text {_attrs(x=x(i), y=top + h + 18, text_anchor='middle', fill='#6b7785')}>{escape(label)}</text>"
        )
    for k, s in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        points = [(x(i), y(v)) for i, v in enumerate(s["values"]) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f"<polyline {_attrs(points=path, fill='none', stroke=color, stroke_width=2.5)}/>")
        for i, v in enumerate(s["values"]):
            if v is not None:
                parts.append(
                    f"<circle {_attrs(cx=f'{x(i):.1f}', cy=f'{y(v):.1f}', r=4, fill=color)}>"
                    f"<title>{escape(s['name'])} {escape(labels[i])}：{v * 100:.1f}%</title></circle>"
                )
    # legend below the axis, wrapping in two columns
    for k, s in enumerate(series):
        lx = left + (k % 2) * (w / 2)
        ly = top + h + 36 + (k // 2) * 16
        parts.append(f"<rect {_attrs(x=lx, y=ly - 9, width=10, height=10, fill=PALETTE[k % len(PALETTE)])}/>")
        parts.append(f"<text {_attrs(x=lx + 14, y=ly, fill='#1f2933')}>{escape(s['name'])}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: list[tuple[str, int]], title: str, width: int = 480) -> Markup:
    """Horizontal bars, one per (label, count), longest first."""
    bar, gap, left, right = 22, 8, 104, 36
    height = max(len(rows), 1) * (bar + gap) + gap
    most = max((n for _, n in rows), default=0) or 1
    w = width - left - right
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="13" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(
            f"<text {_attrs(x=width / 2, y=height / 2 + 4, text_anchor='middle', fill='#6b7785')}>本月没有工单</text>"
        )
    for i, (label, n) in enumerate(rows):
        yy = gap + i * (bar + gap)
        parts.append(
            f"<text {_attrs(x=left - 8, y=yy + bar / 2 + 4, text_anchor='end', fill='#1f2933')}>{escape(label)}</text>"
        )
        parts.append(
            f"<rect {_attrs(x=left, y=yy, width=f'{max(w * n / most, 2):.1f}', height=bar, rx=3, fill=PALETTE[0])}/>"
        )
        parts.append(
            f"<text {_attrs(x=f'{left + w * n / most + 6:.1f}', y=yy + bar / 2 + 4, fill='#1f2933')}>{n}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
