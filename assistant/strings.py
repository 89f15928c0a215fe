"""The words of offline answers, English and Chinese (data for :mod:`assistant.render`)."""

from __future__ import annotations

LABELS = {
    "en": {"full": "full fine-tuning", "lora": "LoRA", "qlora": "QLoRA", "inference": "inference",
           "serve": "vLLM-style serving"},
    "zh": {"full": "全参微调", "lora": "LoRA", "qlora": "QLoRA", "inference": "推理",
           "serve": "vLLM 部署"},
}
TERMS = {
    "en": [("weights", "weights_gib"), ("KV cache", "kv_cache_gib"),
           ("activations", "activations_gib"), ("gradients", "gradients_gib"),
           ("optimizer states", "optimizer_gib"), ("CUDA context + allocator", "overhead_gib")],
    "zh": [("权重", "weights_gib"), ("KV cache", "kv_cache_gib"), ("激活", "activations_gib"),
           ("梯度", "gradients_gib"), ("优化器状态", "optimizer_gib"),
           ("CUDA 上下文 + 分配器", "overhead_gib")],
}
TARGET_FIELD = {"kv_cache": "kv_cache_gib", "weights": "weights_gib",
                "activations": "activations_gib", "optimizer": "optimizer_gib",
                "gradients": "gradients_gib"}
T = {
    "en": {"sources": "**Sources**", "change": "**What to change**", "assume": "Assumptions: ",
           "fits": "yes", "nofit": "no", "still": " (still too big)", "use": "Use {x}.",
           "more": "**I need more information to answer.**", "fail": "**I could not size this.**",
           "guide": "From the Headroom guide, **{section}** ({title}):",
           "see_also": "See also:", "noguide": "I could not find this in the guide "
           "(the knowledge base is unavailable or has nothing on it). Try a sizing question such "
           "as “Can I fine-tune 13B on one A10?”.",
           "ask_model": "Which model? Give a name or a size, e.g. “Llama-3-8B” or “13B”.",
           "ask_size": "Which size of {f}? The catalog has: {names}.",
           "ask_gpu": "Which GPU, and how many? e.g. “one A10”, “2x A100 80GB”, or paste the "
           "output of `nvidia-smi`.",
           "plan_yes": "**Yes: {label}.** {model} needs {total:.2f} GiB per GPU of {cap:.2f} GiB "
           "usable. Options, best first ({objective}):",
           "plan_no": "**No.** Nothing checked fits {model} ({goal}).",
           "plan_head": "| # | option | per GPU (GiB) | usable (GiB) |", "nearest": "Nearest miss: "},
    "zh": {"sources": "**参考**", "change": "**怎么改**", "assume": "假设：", "fits": "是",
           "nofit": "否", "still": "（仍然放不下）", "use": "建议用{x}。",
           "more": "**还需要一些信息才能回答。**", "fail": "**无法估算。**",
           "guide": "指南中的相关内容，**{section}**（{title}）：", "see_also": "另见：", "noguide": "指南里没有找到相关内容（知识库不可用或没有"
           "这方面的内容）。可以问我具体的显存问题，例如“单张 A10 能微调 13B 吗？”",
           "ask_model": "哪个模型？请给出名称或参数量，例如“Llama-3-8B”或“13B”。",
           "ask_size": "{f} 的哪个尺寸？目录中有：{names}。",
           "ask_gpu": "哪种显卡、几张？例如“一张 A10”“两张 A100 80GB”，或贴上 `nvidia-smi` 的输出。",
           "plan_yes": "**可以：{label}。** {model} 每张卡需要 {total:.2f} GiB，可用 {cap:.2f} GiB。"
           "按 {objective} 排序的方案：",
           "plan_no": "**不行。** 检查过的方案都放不下 {model}（{goal}）。",
           "plan_head": "| # | 方案 | 每卡 (GiB) | 可用 (GiB) |", "nearest": "最接近的："},
}

