"""The assistant's evaluation set (``questions.jsonl``) and its runner (``headroom bench answers``)."""
