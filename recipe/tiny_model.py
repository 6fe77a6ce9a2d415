"""A tiny, randomly initialised causal LM and a tokenizer with a chat template, built offline.

There is no model hub here and no GPU, yet veRL's dataset classes, its reward loop and our ``hf`` generation
backend all need a real tokenizer (with a chat template: without one veRL drops every row) and a real model.
This builds both from nothing in about a second. The model is RANDOM: its answers mean nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

TINY_MODEL_NAME = "alphamed-tiny-random"

#: ChatML, as Qwen2.5 uses it: the layout veRL sees from the real models this project trains.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_BASE_CORPUS = (
    "A 45-year-old man presents to the emergency department with chest pain radiating to the left arm. "
    "Which of the following is the most likely diagnosis? Which of the following is the best next step in "
    "management? The answer is \\boxed{A}. <think> The patient has symptoms of myocardial infarction. </think> "
    "<answer> B </answer> Answer: C. Final answer: D. Options: A. B. C. D. E. F. G. H. I. J. yes no maybe "
    "Think it through step by step, then give the letter of the single best option as your final answer."
)


def build_tiny_tokenizer(corpus: Iterable[str] = (), vocab_size: int = 1024):
    """Byte-level BPE trained on ``corpus`` (plus a built-in medical paragraph), with a ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator([_BASE_CORPUS, *corpus], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(
    out_dir: str | Path,
    corpus: Iterable[str] = (),
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 1024,
) -> Path:
    """Save a random Qwen2-architecture model and its tokenizer under ``out_dir``; return the path.

    Loadable by ``AutoModelForCausalLM.from_pretrained(out_dir)`` and ``AutoTokenizer.from_pretrained(out_dir)``
    like any hub checkpoint, so every loading path that takes a model path is exercised for real.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(corpus, vocab_size=vocab_size)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "ALPHAMED_TINY_RANDOM_MODEL.json").write_text(
        json.dumps({"name": TINY_MODEL_NAME, "seed": seed, "note": "randomly initialised; answers mean nothing"})
    )
    return out
