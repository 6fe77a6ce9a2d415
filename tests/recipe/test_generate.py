"""Generation backends: hf on the tiny random model (CPU), openai against a real local HTTP server."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
import time

import pytest
import torch

from alphamed.recipe.generate import (
    BATCH_SIZE,
    CPU_BATCH_SIZE,
    SLOW_RUN_S,
    GenerationBackend,
    GenerationError,
    HfBackend,
    SamplingConfig,
    add_generation_args,
    backend_from_args,
    batch_size_from_args,
    build_backend,
    derive_seed,
    load_tokenizer,
    request_seed,
    sampling_from_args,
    warn_if_slow,
)
from tests.conftest import REPO_ROOT
from tests.recipe.openai_stub_server import StubOpenAIServer, scripted_text

CHATS = [
    [{"role": "user", "content": "Which of the following is the most likely diagnosis?\nA. x\nB. y"}],
    [{"role": "system", "content": "Think first."}, {"role": "user", "content": "The answer is"}],
    [{"role": "user", "content": "Options: A. B. C. D."}],
]


@pytest.fixture(scope="module")
def hf(tiny_model_dir) -> HfBackend:
    return HfBackend(str(tiny_model_dir), device="cpu")


# ---------------------------------------------------------------- hf


def test_hf_returns_n_samples_per_request_in_order(hf: HfBackend) -> None:
    out = hf.generate(CHATS, SamplingConfig(n=3, max_tokens=6, temperature=1.0, top_p=1.0, seed=0))
    assert [len(samples) for samples in out] == [3, 3, 3]
    assert all(isinstance(text, str) for samples in out for text in samples)
    # each request's samples are its own: generating request 1 alone under the same seed is not required to
    # match (the batch shares one RNG), but the samples of one request must not all be identical at T=1
    assert any(len(set(samples)) > 1 for samples in out)
    assert isinstance(hf, GenerationBackend)


def test_hf_same_seed_same_text_other_seed_other_text(hf: HfBackend) -> None:
    first = hf.generate(CHATS, SamplingConfig(n=2, max_tokens=8, temperature=1.0, top_p=0.95, seed=7))
    again = hf.generate(CHATS, SamplingConfig(n=2, max_tokens=8, temperature=1.0, top_p=0.95, seed=7))
    other = hf.generate(CHATS, SamplingConfig(n=2, max_tokens=8, temperature=1.0, top_p=0.95, seed=8))
    assert first == again
    assert first != other


def test_hf_greedy_ignores_seed_and_repeats_the_decode(hf: HfBackend) -> None:
    greedy = hf.generate(CHATS, SamplingConfig(n=3, max_tokens=8, temperature=0.0, top_p=1.0, seed=1))
    assert greedy == hf.generate(CHATS, SamplingConfig(n=3, max_tokens=8, temperature=0.0, top_p=1.0, seed=99))
    assert all(len(set(samples)) == 1 for samples in greedy)


def test_hf_leaves_the_callers_rng_alone(hf: HfBackend) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    hf.generate(CHATS[:1], SamplingConfig(n=2, max_tokens=4, temperature=1.0, top_p=1.0, seed=5))
    assert torch.equal(torch.rand(3), expected)


def test_hf_counts_response_tokens_with_the_models_tokenizer(hf: HfBackend) -> None:
    text = "The answer is \\boxed{A}."
    assert hf.count_tokens([text, ""]) == [len(hf.tokenizer.encode(text, add_special_tokens=False)), 0]
    assert hf.count_tokens([text])[0] > 0 and hf.count_tokens([]) == []


def test_hf_refuses_a_tokenizer_without_chat_template(tiny_model_dir) -> None:
    backend = HfBackend(str(tiny_model_dir), device="cpu")
    backend.tokenizer.chat_template = None
    with pytest.raises(ValueError, match="no chat template"):
        backend.generate(CHATS, SamplingConfig(n=1, max_tokens=2, temperature=0.0, top_p=1.0, seed=0))


def test_hf_bad_model_path_and_dtype_are_clear(tmp_path, tiny_model_dir) -> None:
    with pytest.raises(ValueError, match=f"{tmp_path / 'nowhere'}: no such model folder"):
        HfBackend(str(tmp_path / "nowhere"), device="cpu")
    with pytest.raises(ValueError, match="cannot load a tokenizer from .*x/y/z'.*no such model folder"):
        load_tokenizer("x/y/z")
    with pytest.raises(ValueError, match="unknown --dtype"):
        HfBackend(str(tiny_model_dir), device="cpu", dtype="float7")


# ---------------------------------------------------------------- selection and flags


def test_build_backend_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown backend 'tgi'"):
        build_backend("tgi", "m")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_backend_without_vllm_says_what_to_do() -> None:
    with pytest.raises(ImportError, match="--backend hf"):
        build_backend("vllm", "some/model")


def _parse(argv: list[str], samples_flag: str = "--k") -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_generation_args(parser, samples_flag=samples_flag, default_samples=5, default_temperature=1.0)
    return parser.parse_args(argv)


def test_sampling_flags_are_shared_and_the_samples_flag_is_per_command() -> None:
    assert sampling_from_args(_parse([])) == SamplingConfig(n=5, max_tokens=4096, temperature=1.0, top_p=1.0, seed=0)
    args = _parse(["--n", "3", "--max_tokens", "9", "--temperature", "0", "--top_p", "0.5", "--seed", "4"], "--n")
    assert sampling_from_args(args) == SamplingConfig(n=3, max_tokens=9, temperature=0.0, top_p=0.5, seed=4)
    with pytest.raises(ValueError, match="top_p"):
        sampling_from_args(_parse(["--top_p", "0"]))


def test_backend_from_args_builds_the_chosen_backend(tiny_model_dir) -> None:
    backend = backend_from_args(_parse(["--model", str(tiny_model_dir), "--backend", "hf", "--device", "cpu"]))
    assert (backend.name, backend.model) == ("hf", str(tiny_model_dir.resolve()))
    with pytest.raises(ValueError, match="--model is required"):
        backend_from_args(_parse(["--backend", "hf"]))
    openai_backend = backend_from_args(_parse(["--model", "served", "--backend", "openai", "--max_retries", "2"]))
    assert (openai_backend.name, openai_backend.max_retries) == ("openai", 2)


def test_request_seed_depends_on_the_request_not_its_position() -> None:
    """An item's samples must not change when other rows are added before it or --batch_size changes."""
    assert request_seed(0, CHATS[1]) == request_seed(0, list(CHATS[1]))
    assert len({request_seed(0, chat) for chat in CHATS} | {request_seed(1, chat) for chat in CHATS}) == 2 * len(CHATS)


def test_derive_seed_is_stable_and_spreads() -> None:
    assert derive_seed(0, 1) == derive_seed(0, 1)
    seeds = {derive_seed(0, i) for i in range(1000)} | {derive_seed(1, i) for i in range(1000)}
    assert len(seeds) == 2000 and all(0 <= s < 2**31 for s in seeds)


def test_generate_module_runs_as_a_script(tiny_model_dir) -> None:
    argv = ["--backend", "hf", "--model", str(tiny_model_dir), "--device", "cpu", "--max_tokens", "3", "--n", "2"]
    result = subprocess.run(
        [sys.executable, "recipe/generate.py", "--prompt", "hello", *argv, "--temperature", "1"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("--- sample") == 2


# ---------------------------------------------------------------- openai against a real local server


def _openai(server: StubOpenAIServer, **options):
    defaults = {"base_url": server.base_url, "max_retries": 3}
    return build_backend("openai", "served-model", **{**defaults, **options})


def test_openai_returns_n_completions_per_request_in_order() -> None:
    with StubOpenAIServer() as server:
        out = _openai(server, max_concurrency=4).generate(
            CHATS, SamplingConfig(n=2, max_tokens=5, temperature=0.7, top_p=0.9, seed=3)
        )
    assert len(server.requests) == 3
    for chat, samples in zip(CHATS, out, strict=True):
        body = {"messages": chat, "seed": request_seed(3, chat)}
        assert samples == [scripted_text(body, 0), scripted_text(body, 1)]
    sent = server.requests[0]
    assert (sent["model"], sent["n"], sent["max_tokens"], sent["temperature"], sent["top_p"]) == (
        "served-model",
        2,
        5,
        0.7,
        0.9,
    )


@pytest.mark.parametrize("failure", [429, 500, 503, "slow"])
def test_openai_retries_transient_failures_with_backoff(failure, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with StubOpenAIServer(script=[failure, failure], delay_s=1.0) as server:
        backend = _openai(server, request_timeout=0.3)
        [samples] = backend.generate(CHATS[:1], SamplingConfig(n=1, max_tokens=5, temperature=1.0, top_p=1.0, seed=0))
    assert len(server.requests) == 3
    assert samples == [scripted_text({"messages": CHATS[0], "seed": request_seed(0, CHATS[0])}, 0)]
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.2 or failure == "slow"  # exponential: the second wait is longer
    assert gaps[0] >= 0.02
    assert "retrying" in caplog.text


def test_openai_gives_up_after_max_retries_naming_the_request() -> None:
    with StubOpenAIServer(script=[500] * 10) as server:
        with pytest.raises(GenerationError, match=r"request 0: gave up after 3 attempts"):
            _openai(server, max_retries=2).generate(
                CHATS[:1], SamplingConfig(n=1, max_tokens=5, temperature=1.0, top_p=1.0, seed=0)
            )
    assert len(server.requests) == 3


@pytest.mark.parametrize(("status", "hint"), [(401, "API key"), (403, "API key"), (404, "--base_url")])
def test_openai_auth_and_not_found_fail_at_once(status, hint) -> None:
    with StubOpenAIServer(script=[status] * 5) as server:
        with pytest.raises(GenerationError, match=f"HTTP {status}") as info:
            _openai(server).generate(CHATS[:1], SamplingConfig(n=1, max_tokens=5, temperature=1.0, top_p=1.0, seed=0))
    assert hint in str(info.value)
    assert len(server.requests) == 1


def test_openai_stops_sending_after_a_fatal_error() -> None:
    with StubOpenAIServer(script=[401] * 20) as server:
        with pytest.raises(GenerationError, match="HTTP 401"):
            _openai(server, max_concurrency=1).generate(
                CHATS * 5, SamplingConfig(n=1, max_tokens=5, temperature=1, top_p=1, seed=0)
            )
    assert len(server.requests) <= 2  # the queued requests were dropped, not sent


def test_openai_wrong_url_is_a_clear_404(tmp_path) -> None:
    with StubOpenAIServer() as server:
        backend = _openai(server, base_url=server.base_url.removesuffix("/v1") + "/v2")
        with pytest.raises(GenerationError, match="check --base_url"):
            backend.generate(CHATS[:1], SamplingConfig(n=1, max_tokens=5, temperature=1.0, top_p=1.0, seed=0))


@pytest.mark.parametrize("reply", ["malformed_json", "no_choices"])
def test_openai_malformed_reply_is_an_error_naming_the_request(reply) -> None:
    with StubOpenAIServer(script=["ok", reply]) as server:
        with pytest.raises(GenerationError, match=r"request 1: malformed reply"):
            _openai(server, max_concurrency=1).generate(
                CHATS[:2], SamplingConfig(n=1, max_tokens=5, temperature=1.0, top_p=1.0, seed=0)
            )
    assert len(server.requests) == 2  # not retried


def test_openai_null_content_counts_as_an_empty_response() -> None:
    with StubOpenAIServer(script=["null_content"]) as server:
        out = _openai(server).generate(CHATS[:1], SamplingConfig(n=2, max_tokens=5, temperature=1.0, top_p=1.0, seed=0))
    assert out == [["", ""]]


def test_openai_tops_up_when_the_server_returns_fewer_choices() -> None:
    with StubOpenAIServer(script=[("fewer_choices", 1)]) as server:
        [samples] = _openai(server).generate(
            CHATS[:1], SamplingConfig(n=3, max_tokens=5, temperature=1.0, top_p=1.0, seed=0)
        )
    assert [r["n"] for r in server.requests] == [3, 1, 1]
    assert len({r["seed"] for r in server.requests}) == 3
    assert len(set(samples)) == 3


def test_openai_token_counts_need_a_tokenizer(tiny_model_dir) -> None:
    with StubOpenAIServer() as server:
        assert _openai(server).count_tokens(["The answer is A", "B"]) == [None, None]
        assert _openai(server, tokenizer=str(tiny_model_dir)).count_tokens(["The answer is A"])[0] > 0


@pytest.mark.timeout(60)  # unchecked, the hub client retries for about a minute before failing
def test_a_hub_id_that_cannot_be_fetched_fails_fast(monkeypatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        ValueError, match=r"alphamed-tests/not-cached: .*not in the Hugging Face cache \(HF_HUB_OFFLINE"
    ):
        HfBackend("alphamed-tests/not-cached", device="cpu")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    started = time.monotonic()
    with pytest.raises(
        ValueError, match=r"http://127.0.0.1:9 cannot be reached .*hf download alphamed-tests/not-cached"
    ):
        HfBackend("alphamed-tests/not-cached", device="cpu")
    assert time.monotonic() - started < 10


def test_batch_size_defaults_to_a_small_batch_for_hf_on_a_cpu(hf: HfBackend) -> None:
    """A CPU run shows progress (rate, ETA) after a few items, not after 32 items x max_tokens."""
    assert batch_size_from_args(_parse([]), hf) == CPU_BATCH_SIZE < BATCH_SIZE
    assert batch_size_from_args(_parse(["--batch_size", "7"]), hf) == 7
    with StubOpenAIServer() as server:
        assert batch_size_from_args(_parse([]), _openai(server)) == BATCH_SIZE


def test_a_long_cpu_run_is_announced_with_its_estimate(hf: HfBackend, capsys) -> None:
    short = SamplingConfig(n=1, max_tokens=16, temperature=0.0, top_p=1.0, seed=0)
    warn_if_slow(hf, [8], short, 4)  # 2 batches x 16 steps of the tiny model: nothing to say
    sampling = SamplingConfig(n=1, max_tokens=4096, temperature=0.0, top_p=1.0, seed=0)
    assert capsys.readouterr().err == ""
    step_s = hf.seconds_per_step()
    items = int(SLOW_RUN_S / (4096 * step_s)) * 4 * 10  # ten times the threshold, by the model's own speed
    warn_if_slow(hf, [items], sampling, 4)
    assert f"{items} items in batches of 4, up to 4096 new tokens" in capsys.readouterr().err
