"""``build_slack_app(settings)``: the Bolt app of the Headroom Slack bot.

- @mentions, direct messages and follow-ups in threads the bot is in: answered in the thread;
  the thread is the conversation (``slack:<team>:<channel>:<thread_ts>``), so follow-ups keep
  their context.
- ``/headroom <question>``: answered privately, with a button to share the answer in the channel.
- feedback buttons record to the same store as the web app (:mod:`assistant.feedback`).

Every listener acknowledges at once and does its work in a lazy listener (Slack's 3-second
rule); repeated deliveries are dropped by ``event_id``, claimed in the shared store so that
several replicas answer each event once (:mod:`ui.slack.dedupe`, :mod:`ui.slack.state`); the Web API
client waits out HTTP 429 (``Retry-After``); the bot's own and other bots' messages are ignored.
"""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from .blocks import ACTION_FEEDBACK_DOWN, ACTION_FEEDBACK_UP, ACTION_SHARE, lang_of, render_answer
from .dedupe import Seen, dedupe_middleware
from .mrkdwn import escape, truncate, unescape
from .responder import FeedbackRecorder, Pipeline, Responder, send_all, webhook
from .settings import SlackSettings
from .state import SlackState

log = logging.getLogger("headroom.slack")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]+))?>")
_SLACK_CHANNEL = re.compile(r"<#C[A-Z0-9]+\|([^>]*)>")
_SLACK_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^>|]*)?(?:\|[^>]*)?>")
_ANSWERED_SUBTYPES = {None, "file_share", "thread_broadcast"}
_FEEDBACK = re.compile(f"^({ACTION_FEEDBACK_UP}|{ACTION_FEEDBACK_DOWN})$")
_THANKS = {"en": "Thanks, your feedback is recorded.", "zh": "谢谢，反馈已记录。"}
_USAGE = ("Ask me a GPU-memory question, e.g. `/headroom can I fine-tune a 13B model on one A10?`"
          " (or paste `nvidia-smi` output).")


def question_text(text: str, bot_user_id: str | None) -> str:
    """What the user typed: the bot's mention removed, Slack's links and escaping undone."""
    if bot_user_id:
        text = re.sub(rf"<@{bot_user_id}(?:\|[^>]*)?>", " ", text)
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SLACK_SPECIAL.sub(r"@\1", _SLACK_CHANNEL.sub(r"#\1", text))
    return unescape(text).strip()


def make_client(settings: SlackSettings) -> WebClient:
    """The Web API client (``settings.api_url`` overrides Slack's default base URL)."""
    kwargs: dict[str, Any] = {"token": settings.bot_token}
    if settings.api_url:
        kwargs["base_url"] = settings.api_url.rstrip("/") + "/"
    return WebClient(**kwargs)


def with_rate_limit_retries(client: WebClient, retries: int = 3) -> WebClient:
    """Make ``client`` wait out HTTP 429 (``Retry-After``) and retry, unless it already does."""
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=retries))
    return client


def default_pipeline() -> Pipeline:
    """``Assistant().stream``: the one answer pipeline (offline, or LLM when configured)."""
    from assistant import Assistant

    return Assistant().stream


def default_feedback() -> FeedbackRecorder:
    from assistant.feedback import record_feedback

    return record_feedback


def default_state(home: Path) -> SlackState:
    """Threads, turns and claims in the configured store: ``HEADROOM_DB_URL``, or the SQLite
    file under the bot's ``home``."""
    from dataclasses import replace

    from assistant.config import load_settings
    from assistant.memory import open_database

    return SlackState(open_database(replace(load_settings(), home=home)))


def build_slack_app(settings: SlackSettings, *, pipeline: Pipeline | None = None,
                    client: WebClient | None = None, feedback: FeedbackRecorder | None = None,
                    state: SlackState | None = None, seen: Seen | None = None,
                    token_verification: bool = True) -> App:
    """The Bolt app. Calls ``auth.test`` once (to learn its own user id) unless told not to."""
    client = with_rate_limit_retries(client or make_client(settings))
    # process_before_response: each ack runs on the request's own thread, so a pool busy with
    # slow answers (lazy listeners) can never delay an acknowledgement past Slack's 3 seconds
    bolt_logger = logging.getLogger("headroom.slack.bolt")
    for logger in (bolt_logger, logging.getLogger("slack_bolt.RequestVerification")):
        for kind in (_DropTokenSkippedWarning, QuietRejections):
            if not any(isinstance(f, kind) for f in logger.filters):
                logger.addFilter(kind())
    app = App(client=client, signing_secret=settings.signing_secret, logger=bolt_logger,
              process_before_response=True, token_verification_enabled=token_verification)
    state = state or default_state(settings.home)
    seen = seen or state  # claims in the shared store: answered once across replicas
    bot = Listeners(settings, Responder(pipeline or default_pipeline(), state, settings), state,
                    seen, feedback or default_feedback())
    app.middleware(dedupe_middleware(seen))
    app.event("app_mention")(ack=ack_now, lazy=[bot.answer_mention])
    app.event("message")(ack=ack_now, lazy=[bot.answer_message])
    app.command(settings.command)(ack=ack_command, lazy=[bot.answer_command])
    app.action(ACTION_SHARE)(ack=ack_now, lazy=[bot.share])
    app.action(_FEEDBACK)(ack=ack_now, lazy=[bot.record_vote])
    return app


class _DropTokenSkippedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (same token) wins; noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class QuietRejections(logging.Filter):
    """Bolt logs a request whose signature is forged, stale or missing with its whole body, at
    INFO (``slack_bolt/middleware/request_verification/request_verification.py``,
    ``_debug_log_error``, slack_bolt 1.2x): anyone could write into our log without the secret.
    The record becomes one line that names the timestamp and leaves the body and signature out."""

    _PREFIX = "Invalid request signature detected"
    _TIMESTAMP = re.compile(r"timestamp: ([^,)]{0,20})")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(self._PREFIX):
            m = self._TIMESTAMP.search(message)
            stamp = m.group(1) if m and m.group(1).isdigit() else "missing or malformed"
            record.msg = "rejected a Slack request: invalid or stale signature (timestamp %s)"
            record.args = (stamp,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def ack_now(ack: Ack) -> None:
    """Acknowledge at once; the lazy listener does the work."""
    ack()


def ack_command(ack: Ack, command: dict[str, Any]) -> None:
    """Acknowledge ``/headroom`` with a private "working on it" (or the usage when empty)."""
    question = question_text(command.get("text", ""), None)
    if not question:
        ack(text=_USAGE, response_type="ephemeral")
        return
    working = "思考中…" if lang_of(question) == "zh" else "Working on it…"
    ack(text=f"⏳ {working} _{escape(truncate(question, 200))}_", response_type="ephemeral")


class Listeners:
    """The lazy listeners: they run after the acknowledgement, on Bolt's worker threads."""

    def __init__(self, settings: SlackSettings, responder: Responder, state: SlackState,
                 seen: Seen, record: FeedbackRecorder) -> None:
        self.settings = settings
        self.responder = responder
        self.state = state
        self.seen = seen
        self.record = record

    def answer_mention(self, event: dict[str, Any], context: BoltContext,
                       client: WebClient) -> None:
        if event.get("bot_id") or not self.seen.first(f"msg:{event['channel']}:{event['ts']}"):
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        _answer_thread(self.responder, client, context, event, thread_ts)

    def answer_message(self, event: dict[str, Any], context: BoltContext,
                       client: WebClient) -> None:
        if event.get("bot_id") or event.get("subtype") not in _ANSWERED_SUBTYPES:
            return
        if not event.get("user") or event.get("user") == context.bot_user_id:
            return
        channel, thread_ts = event["channel"], event.get("thread_ts")
        if event.get("channel_type") != "im":
            mentioned = context.bot_user_id and f"<@{context.bot_user_id}" in event.get("text", "")
            if mentioned or not thread_ts or not self.state.in_thread(channel, thread_ts):
                return  # mentions come as app_mention; other channel talk is not for us
        if not self.seen.first(f"msg:{channel}:{event['ts']}"):
            return
        _answer_thread(self.responder, client, context, event, thread_ts or event["ts"])

    def answer_command(self, command: dict[str, Any]) -> None:
        question = question_text(command.get("text", ""), None)
        if not question:
            return
        conversation_id = (f"slack:{command.get('team_id', '')}:{command.get('channel_id', '')}"
                           f":cmd-{uuid.uuid4().hex[:12]}")
        self.responder.answer_command(response_url=command["response_url"], question=question,
                                      conversation_id=conversation_id)

    def share(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        turn = self.state.turn(action.get("value", ""))
        hook = webhook(body["response_url"])
        if turn is None:
            hook.send(text="This answer has expired; please ask again.",
                      response_type="ephemeral", replace_original=False)
            return
        messages = render_answer(turn.answer, turn_id=turn.id, docs_url=self.settings.docs_url,
                                 asked_by=body["user"]["id"], question=turn.question)
        send_all(hook, messages, response_type="in_channel", budget=4)
        hook.send(delete_original=True)

    def record_vote(self, body: dict[str, Any], action: dict[str, Any],
                    client: WebClient) -> None:
        turn = self.state.turn(action.get("value", ""))
        text = "This answer has expired."
        if turn is not None:
            rating = "up" if action["action_id"] == ACTION_FEEDBACK_UP else "down"
            try:
                self.record(turn.conversation_id, self.state.message_index(turn.id), rating,
                            text=turn.answer.answer, source="slack")
                log.info("feedback %s on %s", rating, turn.conversation_id)
                text = _THANKS.get(turn.answer.lang, _THANKS["en"])
            except Exception as err:  # a failed vote must not break the bot
                log.error("feedback not stored: %s", err)
                text = f"Sorry, your feedback was not stored ({type(err).__name__})."
        if body.get("container", {}).get("is_ephemeral") or "channel" not in body:
            webhook(body["response_url"]).send(text=text, response_type="ephemeral",
                                               replace_original=False)
            return
        client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"],
                                  text=text, thread_ts=body.get("message", {}).get("thread_ts"))


def _answer_thread(responder: Responder, client: WebClient, context: BoltContext,
                   event: dict[str, Any], thread_ts: str) -> None:
    question = question_text(event.get("text", ""), context.bot_user_id)
    channel = event["channel"]
    if not question:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=_USAGE)
        return
    conversation_id = f"slack:{context.team_id or ''}:{channel}:{thread_ts}"
    responder.answer_in_thread(client, channel=channel, thread_ts=thread_ts, question=question,
                               conversation_id=conversation_id)
