"""The answer chart's data (``ui.charts``), its HTML (``ui.web.chart_html``) and the web app's
two languages (``ui.web.i18n``): numbers copied from the estimator, both string tables complete."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from assistant.events import Answer, Option
from tools.estimator import estimate
from ui import charts
from ui.web import i18n
from ui.web.chart_html import chart_html


def _option(workload: str, fits: bool, terms: dict[str, float], capacity: float = 22.1) -> Option:
    return Option(workload=workload, fits=fits, total_gib=round(sum(terms.values()), 3),
                  capacity_gib=capacity, model="13B", gpu="NVIDIA A10", terms=terms)


def test_chart_of_an_estimate_copies_its_terms() -> None:
    est = estimate(model="llama-2-13b", workload="qlora", gpu="A10")
    data = charts.from_estimate(est)
    (bar,) = data.bars
    assert bar.total_gib == est.total_gib and bar.capacity_gib == est.capacity_gib
    assert sum(s.gib for s in bar.segments) == pytest.approx(est.total_gib, abs=0.05)
    assert {s.key for s in bar.segments} <= set(est.per_gpu.model_dump())
    assert data.axis_gib >= max(est.total_gib, est.capacity_gib)


def test_one_bar_per_option_and_none_without_options() -> None:
    answer = Answer(verdict="yes", answer="x", options=[
        _option("lora", False, {"weights_gib": 24.0, "activations_gib": 4.0}),
        _option("qlora", True, {"weights_gib": 10.4, "activations_gib": 2.8})])
    data = charts.from_answer(answer)
    assert data is not None and [b.workload for b in data.bars] == ["lora", "qlora"]
    assert data.where == "one NVIDIA A10"
    assert charts.from_answer(Answer(verdict=None, answer="x")) is None


def test_terms_that_do_not_add_up_are_drawn_as_the_total() -> None:
    opt = Option(workload="lora", fits=True, total_gib=30.0, capacity_gib=80.0,
                 terms={"weights_gib": 5.0})
    data = charts.from_answer(Answer(verdict="yes", answer="x", options=[opt]))
    assert data is not None
    assert [s.key for s in data.bars[0].segments] == ["total"]


def test_html_marks_fit_and_cuts_long_bars() -> None:
    answer = Answer(verdict="no", answer="x", lang="zh", options=[
        _option("full", False, {"weights_gib": 200.0, "optimizer_gib": 35.0})])
    data = charts.from_answer(answer)
    assert data is not None
    html = chart_html(data)
    assert "hr-chart" in html and "放不下" in html and "hr-cut" in html
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", html)]
    assert widths and all(0 <= w <= 100 for w in widths) and sum(widths) <= 100.01


def test_both_string_tables_have_the_same_keys() -> None:
    raw = tomllib.loads(resources.files("ui.web").joinpath("strings.toml").read_text("utf-8"))
    assert set(raw["en"]) == set(raw["zh"])
    assert set(raw["en"]["field"]) == set(raw["zh"]["field"])
    for key, value in raw["en"].items():
        if isinstance(value, str):
            assert set(re.findall(r"{(\w+)}", value)) == set(
                re.findall(r"{(\w+)}", raw["zh"][key])), key


@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9,zh;q=0.8", "en"),
    ("fr-FR,zh;q=0.5", "zh"), ("", "en"), (None, "en"), ("zh;q=0,en", "en"),
    ("de, fr;q=bad", "en")])
def test_accept_language(header: str | None, lang: str) -> None:
    assert i18n.pick_lang(header) == lang


def test_text_fills_values_and_falls_back_to_english() -> None:
    assert i18n.text("zh", "tab_chat") == "对话"
    assert i18n.text("xx", "tab_chat") == "Chat"
    assert "13B" in i18n.text("en", "pick_model")
    assert i18n.field_text("zh", "seq_len")[0] == "序列长度"


def test_the_chart_goes_under_the_verdict_not_between_it_and_the_understood_line() -> None:
    from ui.web.chat import with_chart

    md = "_Understood: Llama 2 13B, QLoRA, 1x A10._\n\n**Yes.** It fits.\n\n| table |"
    parts = with_chart(md, "<div>chart</div>").split("\n\n")
    assert parts == ["_Understood: Llama 2 13B, QLoRA, 1x A10._", "**Yes.** It fits.",
                     "<div>chart</div>", "| table |"]
    assert with_chart("**No.** Too big.", "<c>").split("\n\n") == ["**No.** Too big.", "<c>"]
