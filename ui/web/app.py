"""``build_demo()``: the Headroom web app as a ``gr.Blocks`` (built on call, never at import).

Four tabs: Chat (streamed answers with collapsible tool steps, cited guide sections, examples,
thumbs up/down stored with the conversation), Estimator (form, chart, fit matrix, planner),
My GPUs (the server's probe and a paste box) and Guide (browse and search the knowledge base).
The page URL selects a tab and fills it: ``?tab=estimator&model=llama-2-13b&gpu=a10`` or
``?tab=guide&doc=en/qlora.md&section=Bits per parameter``.

    from ui.web import build_demo, serve
    serve(build_demo(), host="127.0.0.1", port=7860)      # what `headroom ui` does
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import gradio as gr

from . import estimator_tab, gpus_tab, guide_tab
from .chart_html import CHART_CSS
from .chat import EXAMPLES, StreamFn, make_respond, message_text
from .i18n import items, text
from .localize import Localizer, merge, merged_outputs, page_lang, switch_markdown

if TYPE_CHECKING:
    from tools.probe import ProbeResult

log = logging.getLogger("headroom.web")
TABS = ("chat", "estimator", "gpus", "guide")
CSS = """
.gradio-container { max-width: min(1180px, 100vw) !important; margin: 0 auto; }
/* a fixed width: the page does not widen when the first answer arrives */
.gradio-container { width: min(1180px, 100%) !important; }
html, body { overflow-x: hidden; }
#chatbot { min-height: 360px; }
/* the share/clear/copy icons float over the top right: keep the question bubble below them */
#chatbot .bubble-wrap { padding-top: 40px; }
#chatbot .message-wrap { min-width: 0; }
/* tables scroll inside the answer, never the page; headers stay on one line */
#chatbot .message-content table { display: block; max-width: 100%; overflow-x: auto; }
#chatbot .message-content th { white-space: nowrap; }
#est-chart img { width: 100%; height: auto; }
#est-fit, #est-plan { max-width: 100% !important; overflow-x: auto; }
@media (max-width: 640px) {
  #chatbot .message-content table { font-size: 13px; }
  .gradio-container { padding: 4px !important; }
  #chatbot { height: 62vh !important; }
}
"""


# Runs once in the browser: after each question, keep the answer's top (the verdict) in view
# instead of Gradio's scroll to the bottom (``autoscroll=False`` on the chatbot). While the
# answer grows the question's bubble is pinned under the chatbot's top icons; a scroll of the
# visitor's own ends the pinning for that answer.
SCROLL_JS = """() => {
  let pinned = null, seen = 0, height = 0, ours = -1, bound = null;
  const scroller = () => document.querySelector('#chatbot .bubble-wrap');
  const pin = () => {
    const box = scroller(); if (!box) return;
    if (bound !== box) {  // any scroll that is not ours (wheel, touch, keys, a link) lets go
      bound = box;
      box.addEventListener('scroll', () => {
        if (Math.abs(box.scrollTop - ours) > 2) pinned = null; }, {passive: true});
    }
    const rows = box.querySelectorAll('.message-row.user-row');
    if (rows.length > seen) { pinned = rows[rows.length - 1]; height = 0; }
    seen = rows.length;
    if (!pinned || !pinned.isConnected || box.scrollHeight === height) return;
    height = box.scrollHeight;  // only while the answer grows
    const top = pinned.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += top - 44;
    ours = box.scrollTop;
  };
  new MutationObserver(pin).observe(document.body, {childList: true, subtree: true,
                                                    characterData: true});
}"""


class _MissingPipeline:
    """Stands in for the answer pipeline when it cannot be imported: says so in the chat."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, message: str, conversation_id: str) -> Iterable[object]:
        raise RuntimeError(self.reason)


def default_stream(allow_local_probe: bool = False) -> StreamFn:
    """``Assistant().stream``: the offline answerer, or the configured LLM.

    ``allow_local_probe`` lets questions about "my GPU" use the server's own GPUs (sensible
    when the app runs on the user's machine). A pipeline that cannot start (a bad config file)
    becomes a stream that reports why in the chat.
    """
    try:
        from assistant import Assistant

        return Assistant(allow_local_probe=allow_local_probe).stream
    except Exception as e:  # noqa: BLE001 - reported in the chat, not at start-up
        log.error("answer pipeline unavailable: %s", e)
        return _MissingPipeline(f"the answer pipeline cannot start: {e}")


def backend_line(lang: str = "en") -> str:
    """Which answerer the chat uses, for the page header."""
    try:
        from assistant.config import load_settings

        s = load_settings()
    except Exception as e:  # noqa: BLE001 - a bad config is shown, not raised
        return text(lang, "backend_problem", error=e)
    if s.llm_enabled:
        return text(lang, "backend_llm", model=s.llm_model)
    return text(lang, "backend_offline")


def header_markdown(title: str, lang: str) -> str:
    """The page header: title, answerer and the language switch."""
    return (f"{text(lang, 'header', title=title)}\n{backend_line(lang)} · "
            f"{switch_markdown(lang)}")


def record_like(conversation_id: str, data: gr.LikeData) -> None:
    """Store a thumbs up/down with the conversation (``assistant.feedback``)."""
    from assistant.feedback import record_feedback

    if not conversation_id:
        return
    index = data.index if isinstance(data.index, int) else int(data.index[0])
    liked = data.liked
    rating: str | bool | None = liked if isinstance(liked, bool) else (liked or None)
    try:
        record_feedback(conversation_id, index, rating, text=message_text(data.value), source="web")
    except Exception as e:  # noqa: BLE001 - a failed vote must not break the chat
        log.error("feedback not stored: %s", e)
        gr.Warning(f"Feedback not stored: {e}")


def _chat_tab(stream: StreamFn, loc: Localizer) -> Any:
    conversation = gr.State("")
    chatbot = gr.Chatbot(
        height=520, elem_id="chatbot", autoscroll=False, feedback_options=("Like", "Dislike"),
        show_label=False, placeholder=text("en", "chat_placeholder"))
    loc.add_fn(chatbot, lambda lang: {"placeholder": text(lang, "chat_placeholder"),
                                      "examples": [{"text": q} for q in items(lang, "examples")]})
    textbox = loc.add(gr.Textbox(placeholder=text("en", "chat_input"), elem_id="chat-input",
                                 show_label=False, submit_btn=True), placeholder="chat_input")
    gr.ChatInterface(
        make_respond(stream), chatbot=chatbot, textbox=textbox,
        additional_inputs=[conversation], additional_outputs=[conversation],
        examples=[[q, None] for q in EXAMPLES], cache_examples=False, api_name="chat",
        fill_height=False, autofocus=False)
    chatbot.like(record_like, conversation, None, api_visibility="undocumented")
    chatbot.clear(lambda: "", None, conversation, api_visibility="undocumented")
    return conversation


def build_demo(stream: StreamFn | None = None, *,
               probe: Callable[[], ProbeResult] | None = None,
               allow_local_probe: bool = False, title: str = "Headroom") -> gr.Blocks:
    """The app. ``stream(message, conversation_id)`` answers chat messages (default:
    :func:`default_stream`); ``probe`` replaces the GPU probe of the server machine (tests
    pass a fake)."""
    answer = stream if stream is not None else default_stream(allow_local_probe)
    demo: gr.Blocks
    loc = Localizer()
    with gr.Blocks(title=text("en", "page_title", title=title), analytics_enabled=False) as demo:
        loc.add_fn(gr.Markdown(header_markdown(title, "en"), elem_id="header"),
                   lambda lang: {"value": header_markdown(title, lang)})
        with gr.Tabs(selected="chat") as tabs:
            with loc.add(gr.Tab(text("en", "tab_chat"), id="chat"), label="tab_chat"):
                _chat_tab(answer, loc)
            with loc.add(gr.Tab(text("en", "tab_estimator"), id="estimator"),
                         label="tab_estimator"):
                est = estimator_tab.build(loc)
            with loc.add(gr.Tab(text("en", "tab_gpus"), id="gpus"), label="tab_gpus"):
                server_gpus, probe_server = gpus_tab.build(probe, loc)
            with loc.add(gr.Tab(text("en", "tab_guide"), id="guide"), label="tab_guide"):
                guide = guide_tab.build(loc)
        lang_state = gr.State("en")

        def on_load(request: gr.Request) -> list[Any]:
            params = dict(request.query_params) if request is not None else {}
            headers = dict(request.headers) if request is not None else {}
            lang = page_lang(params, headers)
            tab = params.get("tab")
            # only what the link asks for: a user who already clicked around keeps their view
            selected = gr.Tabs(selected=tab) if tab in TABS else gr.skip()
            if lang != "en" and not ({"q", "doc"} & set(params)):
                params = {**params, "doc": guide_tab.first_page(lang)}
            values = [selected, lang, *est.from_params(params), *guide.from_params(params)]
            return merge(base, values, loc, lang)

        base = [tabs, lang_state, *est.outputs, *guide.outputs]
        load = demo.load(on_load, None, merged_outputs(base, loc), api_visibility="undocumented")
        est.run_after(load)
        demo.load(probe_server, None, server_gpus, api_visibility="undocumented")
    return demo


def warm_up() -> None:
    """Load the estimator, chart library, knowledge index and answerer before the first user.

    The first knowledge search builds the index (seconds); the example questions then run once
    through a throwaway offline assistant with an in-memory store, so that the first real
    answer takes a fraction of a second.
    """
    from tools.estimator import estimate

    from .chart import breakdown_figure

    breakdown_figure(estimate(model="llama-2-13b", workload="qlora", gpu="A10"))
    try:
        from assistant import Assistant
        from assistant.memory import memory_store

        scratch = Assistant(store=memory_store(), backend="offline")
        for question in EXAMPLES:
            scratch.ask(question, "warm-up")
    except Exception as e:  # noqa: BLE001 - the chat reports its own problems later
        log.warning("warm-up incomplete: %s", e)


def serve(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = None,
          auth: tuple[str, str] | None = None, share: bool = False,
          prevent_thread_lock: bool = False, quiet: bool = False) -> Any:
    """Launch with the app's theme and CSS; returns what ``Blocks.launch`` returns."""
    demo.queue(default_concurrency_limit=8)
    return demo.launch(
        server_name=host, server_port=port, auth=auth, share=share,
        prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False,
        ssr_mode=False, css=CSS + CHART_CSS, js=SCROLL_JS, theme=gr.themes.Soft(), footer_links=[],
        auth_message="Headroom: sign in" if auth else None)

