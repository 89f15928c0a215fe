"""Run the answer pipeline for one Slack question and post the result.

In a thread: post a "thinking" message, edit it in place as tools start and finish (at most once
per ``update_interval_s``, chat.update is rate limited), then replace it with the answer and post
any further parts below it. For ``/headroom``: answer through the command's ``response_url``
(ephemeral, at most 5 posts per response URL).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from assistant.events import Answer, Event, Final, Notice, ToolFinished, ToolStarted

from .blocks import Progress, SlackMessage, lang_of, render_answer, section
from .mrkdwn import escape
from .settings import SlackSettings
from .state import SlackState

Pipeline = Callable[[str, str], Iterable[Event]]
"""``assistant.stream(message, conversation_id)``: progress events, then one :class:`Final`."""
FeedbackRecorder = Callable[..., Any]
"""``assistant.feedback.record_feedback(conversation_id, message_index, rating, *, text, source)``."""

MAX_RESPONSE_URL_POSTS = 5
log = logging.getLogger("headroom.slack")


class PipelineFailed(RuntimeError):
    """The pipeline raised or ended without a final answer."""


def failure_text(lang: str, err: BaseException) -> str:
    """One line for the user; the exception type only (details stay in the server log)."""
    kind = type(err.__cause__ or err).__name__
    if lang == "zh":
        return f"抱歉，这个问题我没能回答（{kind}）。请换个说法再试一次。"
    return f"Sorry, I could not answer that ({kind}). Please try rephrasing."


def webhook(url: str) -> WebhookClient:
    """A response_url client that waits out HTTP 429 (Retry-After) like the Web API client."""
    return WebhookClient(url=url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])


class Responder:
    """Turns a question into Slack messages through the pipeline."""

    def __init__(self, pipeline: Pipeline, state: SlackState, settings: SlackSettings) -> None:
        self.pipeline = pipeline
        self.state = state
        self.settings = settings

    def run(self, question: str, conversation_id: str,
            on_progress: Callable[[Progress], None] | None = None) -> Answer:
        """The final answer; ``on_progress`` sees the progress after each tool event."""
        progress = Progress(lang=lang_of(question))
        final: Answer | None = None
        try:
            for event in self.pipeline(question, conversation_id):
                if isinstance(event, Final):
                    final = event.answer
                    continue
                if isinstance(event, ToolStarted):
                    progress.started(event.name)
                elif isinstance(event, ToolFinished):
                    progress.finished(event.name, event.ok)
                elif isinstance(event, Notice):
                    progress.notices.append(event.text)
                else:
                    continue  # tokens: the final answer replaces them
                if on_progress is not None:
                    on_progress(progress)
        except Exception as err:
            raise PipelineFailed("the answer pipeline raised") from err
        if final is None:
            raise PipelineFailed("the answer pipeline ended without an answer")
        return final

    def answer_in_thread(self, client: WebClient, *, channel: str, thread_ts: str,
                         question: str, conversation_id: str) -> None:
        """Answer in a thread: thinking message, edited in place, then the answer."""
        started = time.monotonic()
        self.state.remember_thread(channel, thread_ts)
        first = Progress(lang=lang_of(question)).message()
        posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, **first.payload())
        ts = str(posted["ts"])
        last_update = [time.monotonic()]

        def show(progress: Progress) -> None:
            if time.monotonic() - last_update[0] < self.settings.update_interval_s:
                return
            last_update[0] = time.monotonic()
            try:
                client.chat_update(channel=channel, ts=ts, **progress.message().payload())
            except SlackApiError as err:  # a missed progress edit must not cost the answer
                log.warning("progress update failed: %s", err.response.get("error"))

        try:
            answer = self.run(question, conversation_id, show)
        except PipelineFailed as err:
            log.exception("no answer for conversation %s", conversation_id)
            text = failure_text(lang_of(question), err)
            client.chat_update(channel=channel, ts=ts, text=text, blocks=[section(escape(text))])
            return
        turn_id = self.state.save_turn(conversation_id, question, answer)
        messages = render_answer(answer, turn_id=turn_id, docs_url=self.settings.docs_url)
        client.chat_update(channel=channel, ts=ts, **messages[0].payload())
        for message in messages[1:]:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                    unfurl_media=False, **message.payload())
        log.info("answered in %s thread %s: %d message(s) in %.2f s", channel, thread_ts,
                 len(messages), time.monotonic() - started)

    def answer_command(self, *, response_url: str, question: str, conversation_id: str) -> None:
        """Answer ``/headroom`` privately, below the "working on it" acknowledgement.

        A slash command's response URL cannot replace the acknowledgement (bolt-python #1268,
        bolt-js #2287), so the answer is a new ephemeral message.
        """
        hook = webhook(response_url)
        try:
            answer = self.run(question, conversation_id)
        except PipelineFailed as err:
            log.exception("no answer for conversation %s", conversation_id)
            hook.send(text=failure_text(lang_of(question), err), response_type="ephemeral")
            return
        turn_id = self.state.save_turn(conversation_id, question, answer)
        messages = render_answer(answer, turn_id=turn_id, docs_url=self.settings.docs_url,
                                 share=True)
        send_all(hook, messages, response_type="ephemeral")


def send_all(hook: WebhookClient, messages: list[SlackMessage], *, response_type: str,
             budget: int = MAX_RESPONSE_URL_POSTS) -> int:
    """Post ``messages`` through a response URL within its budget of posts; returns posts made.

    When there are more parts than posts allowed, the last post carries the last part (it holds
    the buttons) and the middle parts are dropped with a note. ``replace_original`` is false:
    on a button's response URL that keeps the message the button was on.
    """
    if len(messages) > budget:
        note = SlackMessage(text="…", blocks=[section("_… (answer shortened: ask in a DM or "
                                                      "mention me for the full text)_")])
        messages = [*messages[: budget - 2], note, messages[-1]]
    for i, message in enumerate(messages):
        response = hook.send(response_type=response_type, replace_original=False,
                             unfurl_links=False, unfurl_media=False, **message.payload())
        if response.status_code != 200:
            log.warning("response_url post %d of %d failed: HTTP %s %s", i + 1, len(messages),
                        response.status_code, response.body[:200])
    return len(messages)
