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
           "plan_head": "| # | option | per GPU (GiB) | usable (GiB) |", "nearest": "Nearest miss: ",
           "unknown_model": "I do not know the model “{name}”. Did you mean: {near}? Give a catalog "
           "name (see `headroom models`), a size such as “14B”, or a config.json path.",
           "unknown_gpu": "I do not know the GPU “{name}”, so I did not reuse the previous one. "
           "Did you mean: {near}? Or give its memory, e.g. “a 12 GB card”.",
           "borderline": "**Borderline.**",
           "borderline_why": "The margin is {pct:+.1f}% of usable memory, inside the ±8% that "
           "allocator fragmentation, the framework version and your real sequence lengths can move "
           "the peak by. Measure one step, or leave headroom (shorter sequences, a smaller batch, "
           "gradient checkpointing, a smaller quantization).",
           "bare_yes": "**Yes.** Every catalog model of the {size} class fits on {where}: "
           "{low:.2f} GiB ({low_m}) to {high:.2f} GiB ({high_m}) per GPU of {cap:.2f} GiB usable.",
           "bare_no": "**No.** No catalog model of the {size} class fits on {where}: "
           "{low:.2f} GiB ({low_m}) to {high:.2f} GiB ({high_m}) per GPU of {cap:.2f} GiB usable.",
           "bare_border": "**Borderline.** The {size}-class models need {low:.2f} GiB ({low_m}) to "
           "{high:.2f} GiB ({high_m}) per GPU on {where}, of {cap:.2f} GiB usable: under 8% of "
           "margin for some of them.",
           "bare_dep": "**Depends on the model.** On {where} ({cap:.2f} GiB usable), {size}-class "
           "models need {low:.2f} GiB ({low_m}) to {high:.2f} GiB ({high_m}) per GPU: {fit} fit, "
           "{nofit} do not (vocabulary and KV heads differ). Name the model for one answer.",
           "bare_head": "| model | workload | per GPU (GiB) | usable (GiB) | fits |",
           "bare_num": "**{where} of a {size}-class model needs {low:.2f} GiB ({low_m}) to "
           "{high:.2f} GiB ({high_m}) on one GPU**, depending on the model (vocabulary and KV "
           "heads differ). Name a GPU for a verdict.",
           "bare_num_head": "| model | workload | per GPU (GiB) |"},
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
           "plan_head": "| # | 方案 | 每卡 (GiB) | 可用 (GiB) |", "nearest": "最接近的：",
           "unknown_model": "我不认识模型“{name}”，你是指：{near}？请给出目录中的名称（见 `headroom "
           "models`）、参数量（如“14B”）或 config.json 路径。",
           "unknown_gpu": "我不认识显卡“{name}”，所以没有沿用上一轮的显卡。你是指：{near}？也可以直接给出显存，"
           "例如“一张 12 GB 的卡”。",
           "borderline": "**临界（勉强）。**",
           "borderline_why": "余量为可用显存的 {pct:+.1f}%，在 ±8% 之内：分配器碎片、框架版本和实际序列长度"
           "都可能让峰值变化这么多。建议先实测一步，或留出余量（缩短序列、减小 batch、开梯度检查点、用更小的量化）。",
           "bare_yes": "**可以。** 目录里 {size} 量级的模型在 {where} 上都放得下：每张卡 {low:.2f} GiB"
           "（{low_m}）到 {high:.2f} GiB（{high_m}），可用 {cap:.2f} GiB。",
           "bare_no": "**不行。** 目录里 {size} 量级的模型在 {where} 上都放不下：每张卡 {low:.2f} GiB"
           "（{low_m}）到 {high:.2f} GiB（{high_m}），可用 {cap:.2f} GiB。",
           "bare_border": "**临界（勉强）。** {size} 量级的模型在 {where} 上每张卡需要 {low:.2f} GiB"
           "（{low_m}）到 {high:.2f} GiB（{high_m}），可用 {cap:.2f} GiB：部分模型余量不足 8%。",
           "bare_dep": "**取决于具体模型。** 在 {where}（可用 {cap:.2f} GiB）上，{size} 量级的模型每张卡需要 "
           "{low:.2f} GiB（{low_m}）到 {high:.2f} GiB（{high_m}）：{fit} 放得下，{nofit} 放不下（词表和 KV "
           "头数不同）。请说明具体模型。",
           "bare_head": "| 模型 | 方式 | 每卡 (GiB) | 可用 (GiB) | 放得下 |",
           "bare_num": "**{size} 量级模型的{where}单卡需要 {low:.2f} GiB（{low_m}）到 {high:.2f} GiB"
           "（{high_m}）**，取决于具体模型（词表和 KV 头数不同）。给出显卡即可判断能否放下。",
           "bare_num_head": "| 模型 | 方式 | 每卡 (GiB) |"},
}

