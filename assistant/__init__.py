"""Headroom's assistant: one answer pipeline (offline or LLM) for the CLI, web app and Slack bot.

    from assistant import Assistant
    answer = Assistant().ask("Can I fine-tune a 13B model on one A10?", "conv-1")
    answer.verdict, answer.options, answer.answer, answer.sources

Importing this package is cheap; LangChain is imported only when LLM mode runs.
"""

from .events import Answer, Event, Final, Notice, Option, Source, Token, ToolFinished, ToolStarted
from .pipeline import Assistant

__all__ = ["Answer", "Assistant", "Event", "Final", "Notice", "Option", "Source", "Token",
           "ToolFinished", "ToolStarted"]
