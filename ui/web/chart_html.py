"""The stacked memory chart as HTML (no Gradio here): the chat answer's and the Estimator tab's.

HTML rather than a picture so that it reflows to any width with real text (labels stay at the
page's font size, at least 12 px, on a 390 px phone as on a desktop) and takes the theme's text
colour in light and dark mode. Widths are percentages of the axis; the dashed line marks the
GPU's usable memory. Only inline ``style`` widths and colours are set here; the rest is the
``hr-chart`` CSS in :mod:`ui.web.app` (Gradio's sanitizer keeps ``class`` and ``style``).
"""

from __future__ import annotations

from html import escape

from ui.charts import CAPACITY_COLOR, COLORS, ChartData, term_label, word


def _pct(value: float, axis: float) -> str:
    return f"{max(0.0, min(value / axis, 1.0)) * 100:.2f}%"


def _row(bar_index: int, data: ChartData) -> str:
    bar = data.bars[bar_index]
    lang, axis = data.lang, data.axis_gib
    segs = []
    left = 0.0
    for s in bar.segments:
        if left >= axis:
            break
        tip = f"{term_label(s.key, lang)} {s.gib:.2f} GiB"
        segs.append(f'<span class="hr-seg" style="width:{_pct(min(s.gib, axis - left), axis)};'
                    f'background:{COLORS[s.key]}" title="{escape(tip)}"></span>')
        left += s.gib
    cut = '<span class="hr-cut" title="axis cut">⋯</span>' if bar.total_gib > axis else ""
    state = "hr-fit" if bar.fits else "hr-nofit"
    mark = "✓" if bar.fits else "✗"
    value = (f"{bar.total_gib:.2f} / {bar.capacity_gib:.2f} GiB "
             f'<b class="{state}">{mark} {escape(word(lang, "fits" if bar.fits else "nofit"))}</b>')
    return (f'<div class="hr-row"><div class="hr-label">{escape(bar.label(lang))}</div>'
            f'<div class="hr-track">{"".join(segs)}{cut}'
            f'<span class="hr-cap" style="left:{_pct(bar.capacity_gib, axis)};'
            f'border-color:{CAPACITY_COLOR}"></span></div>'
            f'<div class="hr-value">{value}</div></div>')


def chart_html(data: ChartData) -> str:
    """The chart as one HTML block (a ``div.hr-chart`` with a row per bar and a legend)."""
    lang = data.lang
    caps = sorted({round(b.capacity_gib, 2) for b in data.bars})
    usable = " / ".join(f"{c:.2f}" for c in caps)
    legend = "".join(f'<span><i style="background:{COLORS[k]}"></i>{escape(term_label(k, lang))}'
                     f"</span>" for k in data.keys())
    legend += (f'<span><i class="hr-cap-key" style="border-color:{CAPACITY_COLOR}"></i>'
               f"{escape(word(lang, 'usable'))} {usable} GiB</span>")
    rows = "".join(_row(i, data) for i in range(len(data.bars)))
    summary = "; ".join(f"{b.label(lang)} {b.total_gib:.2f} of {b.capacity_gib:.2f} GiB"
                        for b in data.bars)
    caption = f" · {escape(data.caption())}" if data.where else ""
    return (f'<div class="hr-chart" role="img" aria-label="{escape(summary)}">'
            f'<div class="hr-chart-title">{escape(word(lang, "title"))}{caption}</div>'
            f'<div class="hr-rows">{rows}</div><div class="hr-legend">{legend}</div></div>')


CHART_CSS = """
.hr-chart { font-size: 13px; line-height: 1.35; margin: 6px 0 10px; max-width: 640px; }
.hr-chart-title { font-weight: 600; margin-bottom: 4px; font-size: 13px; }
.hr-rows { display: grid; grid-template-columns: minmax(3.5em, max-content) minmax(0, 1fr);
           gap: 1px 8px; align-items: center; }
.hr-row { display: contents; }
.hr-label { font-size: 13px; white-space: nowrap; }
.hr-track { position: relative; display: flex; height: 16px; border-radius: 3px;
            background: rgba(127, 127, 127, 0.16); overflow: visible; }
.hr-seg { display: block; height: 100%; min-width: 1px; }
.hr-cut { position: absolute; right: -2px; top: -3px; font-weight: 700; font-size: 13px; }
.hr-cap { position: absolute; top: -3px; bottom: -3px; width: 0; border-left: 2px dashed; }
.hr-value { grid-column: 2; font-size: 12px; opacity: 0.9; margin-bottom: 3px; }
.hr-fit { color: #1a7f37; } .dark .hr-fit { color: #3fb950; }
.hr-nofit { color: #b42318; } .dark .hr-nofit { color: #ff7b72; }
.hr-legend { display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 12px; margin-top: 4px; }
.hr-legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
               border-radius: 2px; vertical-align: -1px; }
.hr-legend i.hr-cap-key { width: 0; height: 11px; border-left: 2px dashed; border-radius: 0; }
"""
