"""Generation backends: one interface over vLLM (offline, GPU clusters), Hugging Face transformers (any device)
and any OpenAI-compatible HTTP server, so difficulty annotation and evaluation share one code path.

Every backend takes chat messages and applies the model's own chat template, exactly as veRL does in training;
every backend returns ``n`` completions per request, in request order. Randomness is a function of the
run's seed and each request's content only (:func:`request_seed`), which is what lets a resumed run reproduce
an uninterrupted one. Heavy libraries (vllm, torch, transformers, openai) are imported only by the backend chosen.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from alphamed.recipe.model_source import resolve_model

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]

BACKENDS = ("vllm", "hf", "openai")
SAMPLES_HELP = "completions sampled per item"
#: Items per generate call by default. On a CPU a batch of 32 items x max_tokens takes long enough that the
#: progress bar (which moves once per batch) sits at 0% for minutes; a small batch shows rate and ETA early.
BATCH_SIZE, CPU_BATCH_SIZE = 32, 4
#: A CPU run that may take longer than this (seconds) is announced with its estimate before it starts.
SLOW_RUN_S = 600


@dataclass(frozen=True)
class SamplingConfig:
    """How responses are sampled; part of a run's identity (a resumed run must use the same settings)."""

    n: int
    max_tokens: int
    temperature: float
    top_p: float
    seed: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n (samples per item) must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


class GenerationError(RuntimeError):
    """A backend could not produce completions; the message says where, which request and why.

    ``request`` is the failing request's position in the call when one request is to blame: the engine, which
    knows what each request is, names the item instead (:meth:`naming`).
    """

    def __init__(self, message: str, *, where: str = "", request: int | None = None):
        self.message, self.where, self.request = message, where, request
        super().__init__(self._text(f"request {request}" if request is not None else ""))

    def _text(self, who: str) -> str:
        prefix = ", ".join(part for part in (self.where, who) if part)
        return f"{prefix}: {self.message}" if prefix else self.message

    def naming(self, who: str) -> GenerationError:
        """This error with the failing request called ``who`` (an item id, say) instead of its position."""
        return GenerationError(self._text(who))


@runtime_checkable
class GenerationBackend(Protocol):
    """What annotation and evaluation need from a model: ``sampling.n`` completions per chat, in order.

    ``sampling.seed`` is the run's seed; a backend derives each request's own seed from it and the request's
    content (:func:`request_seed`), so an item's samples do not depend on its batch.
    """

    name: str
    model: str

    def generate(self, requests: Sequence[Messages], sampling: SamplingConfig) -> list[list[str]]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]: ...


#: One generated batch as the engine receives it: its index, ``n`` completions per request, and the token count
#: of every completion (flattened in request order).
BatchOutput = tuple[int, list[list[str]], list[int | None]]


@runtime_checkable
class BatchDispatcher(Protocol):
    """A backend that spreads the engine's batches over several workers (:mod:`alphamed.recipe.replicas`).

    It only decides *where* each batch runs: it gets the engine's fixed batches by index and yields each one
    back, generated and token-counted, in whatever order they complete.
    """

    def generate_batches(
        self, batches: Mapping[int, Sequence[Messages]], sampling: SamplingConfig
    ) -> Iterator[BatchOutput]: ...


def token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int | None]:
    """Lengths of ``texts`` in tokens with one batched tokenizer call (per-text calls are slow on big runs);
    None each when there is no tokenizer."""
    if tokenizer is None:
        return [None] * len(texts)
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


def derive_seed(seed: int, *keys: object) -> int:
    """A stable 31-bit seed for ``keys`` under ``seed`` (hash-based: no collisions between nearby batches)."""
    digest = hashlib.blake2b(repr((seed, *keys)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**31 - 1)


def request_seed(seed: int, messages: Messages) -> int:
    """The seed of one request: derived from its content, so an item's samples do not depend on its position in
    the input, on ``--batch_size`` or on what else is annotated with it (vLLM and servers seed per request)."""
    return derive_seed(seed, json.dumps(list(messages), sort_keys=True, ensure_ascii=False))


def load_tokenizer(path: str) -> Any:
    """A tokenizer from a local path or hub id; failures become one ValueError naming the path."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(resolve_model(path))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot load a tokenizer from {path!r}: {err}") from err


def _chat_texts(tokenizer: Any, requests: Sequence[Messages], model: str) -> list[str]:
    """Requests rendered with the model's chat template (a model without one would be prompted wrongly)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{model}: the tokenizer has no chat template; use an instruct/chat model")
    return [tokenizer.apply_chat_template(list(msgs), tokenize=False, add_generation_prompt=True) for msgs in requests]


class HfBackend:
    """transformers ``generate`` on any device: batched, left-padded, chat template applied.

    Deterministic for a given seed and batch: the RNG is seeded inside a forked RNG state, so the caller's
    global torch RNG is left untouched. ``temperature == 0`` is greedy decoding (one decode, repeated n times).
    """

    name = "hf"

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", tokenizer: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM

        self.model = resolve_model(model)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        else:
            torch_dtype = getattr(torch, dtype, None)
            if not isinstance(torch_dtype, torch.dtype):
                raise ValueError(f"unknown --dtype {dtype!r}; use auto, float32, bfloat16 or float16")
        self.tokenizer = load_tokenizer(tokenizer or self.model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        try:
            self._lm = AutoModelForCausalLM.from_pretrained(self.model, dtype=torch_dtype)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot load a causal LM from {self.model!r}: {err}") from err
        self._lm.to(self.device).eval()

    def seconds_per_step(self) -> float:
        """Time of one decoding step (one forward pass over one token), measured once: what a run's length scales
        with on a CPU, where reading the weights once per generated token is the cost."""
        import torch

        token = torch.tensor([[self.tokenizer.pad_token_id]], device=self.device)
        with torch.inference_mode():
            started = time.perf_counter()
            self._lm(input_ids=token)
            return time.perf_counter() - started

    def generate(self, requests: Sequence[Messages], sampling: SamplingConfig) -> list[list[str]]:
        import torch

        if not requests:
            return []
        texts = _chat_texts(self.tokenizer, requests, self.model)
        inputs = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        n, greedy = sampling.n, sampling.temperature == 0
        options: dict[str, Any] = (
            {"do_sample": False}
            if greedy
            else {
                "do_sample": True,
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "top_k": 0,
                "num_return_sequences": n,
            }
        )
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            # One generator for the whole padded batch: HF sampling cannot be seeded per request, so the batch's
            # content picks the seed (the engine's batches are fixed by input order, which keeps resumes exact).
            seed = sampling.seed
            torch.manual_seed(derive_seed(seed, *(request_seed(seed, messages) for messages in requests)))
            output = self._lm.generate(
                **inputs, max_new_tokens=sampling.max_tokens, pad_token_id=self.tokenizer.pad_token_id, **options
            )
        decoded = self.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        if greedy:
            return [[text] * n for text in decoded]
        return [decoded[i * n : (i + 1) * n] for i in range(len(requests))]

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        return token_counts(self.tokenizer, texts)


class VllmBackend:
    """Offline ``vllm.LLM`` (GPU): all requests of a call go to the engine at once; one seed per request.

    ``distributed_executor_backend`` is vLLM's own (None = vLLM chooses); a replica actor sets ``"mp"`` for
    tensor parallelism inside the GPUs Ray gave it, as veRL's vLLM servers do.
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        tokenizer: str | None = None,
        *,
        distributed_executor_backend: str | None = None,
    ):
        try:
            import vllm
        except ImportError as err:
            raise ImportError(
                "the vllm backend needs vLLM, which is not installed in this environment "
                f"({err}). Install the vllm version pinned beside veRL (see README), or use --backend hf "
                "(any device) or --backend openai (a running `vllm serve` / SGLang server)."
            ) from err
        self.model = resolve_model(model)
        self._vllm = vllm
        engine_args: dict[str, Any] = {
            "model": self.model,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
        }
        if tokenizer:
            engine_args["tokenizer"] = tokenizer
        if max_model_len:
            engine_args["max_model_len"] = max_model_len
        if distributed_executor_backend:
            engine_args["distributed_executor_backend"] = distributed_executor_backend
        self._llm = vllm.LLM(**engine_args)
        self.tokenizer = self._llm.get_tokenizer()

    def generate(self, requests: Sequence[Messages], sampling: SamplingConfig) -> list[list[str]]:
        if not requests:
            return []
        params = [
            self._vllm.SamplingParams(
                n=sampling.n,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                seed=request_seed(sampling.seed, messages),
            )
            for messages in requests
        ]
        outputs = self._llm.chat([list(msgs) for msgs in requests], sampling_params=params, use_tqdm=False)
        return [[choice.text for choice in sorted(out.outputs, key=lambda c: c.index)] for out in outputs]

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        return token_counts(self.tokenizer, texts)


class OpenAIBackend:
    """Any OpenAI-compatible ``/v1/chat/completions`` server (``vllm serve``, SGLang, TGI, a hosted API).

    Requests run on up to ``max_concurrency`` threads. Retrying is the openai SDK's own (429, 5xx, timeouts and
    dropped connections; exponential backoff with jitter, ``Retry-After`` honoured), and each retry is logged as
    a warning; what still fails after ``max_retries`` retries, and 401/403/404 or any other 4xx at once, becomes
    one :class:`GenerationError` saying what to check. A reply without choices (or not JSON) is an error naming
    the request; a choice whose ``content`` is null counts as an empty response (it then scores as an unreadable
    answer, which is what it is). When the server returns fewer than ``n`` choices (some ignore ``n``), the rest
    are fetched one per call, each with its own derived seed.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "http://localhost:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        request_timeout: float = 600.0,
        max_retries: int = 5,
        tokenizer: str | None = None,
    ):
        import openai

        if not model:
            raise ValueError("a model name (as the server knows it) is required")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.model = model
        self.base_url = base_url
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self._openai = openai
        # Local servers accept any key; "EMPTY" is what vLLM's own docs use when none is configured.
        api_key = os.environ.get(api_key_env) or "EMPTY"
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=request_timeout,
            max_retries=max_retries,
            http_client=openai.DefaultHttpxClient(event_hooks={"request": [self._log_retry]}),
        )
        self.tokenizer = load_tokenizer(tokenizer) if tokenizer else None

    def _log_retry(self, request: Any) -> None:
        """The SDK retries silently; a run waiting on a struggling server should say so, not look hung."""
        retry = request.headers.get("x-stainless-retry-count", "0")
        if retry.isdigit() and int(retry) > 0:
            logger.warning("%s model %r: retrying (retry %s of %d)", self.base_url, self.model, retry, self.max_retries)

    def generate(self, requests: Sequence[Messages], sampling: SamplingConfig) -> list[list[str]]:
        if not requests:
            return []
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests)))
        try:
            futures = [pool.submit(self._complete, pos, messages, sampling) for pos, messages in enumerate(requests)]
            return [future.result() for future in futures]
        finally:  # on the first failure, queued requests are dropped instead of sent
            pool.shutdown(wait=False, cancel_futures=True)

    def count_tokens(self, texts: Sequence[str]) -> list[int | None]:
        return token_counts(self.tokenizer, texts)

    def _complete(self, position: int, messages: Messages, sampling: SamplingConfig) -> list[str]:
        seed = request_seed(sampling.seed, messages)
        texts = self._call(position, messages, sampling, sampling.n, seed)
        extra = 0
        while len(texts) < sampling.n:
            extra += 1
            texts += self._call(position, messages, sampling, 1, derive_seed(seed, "extra", extra))
        return texts[: sampling.n]

    def _call(self, position: int, messages: Messages, sampling: SamplingConfig, n: int, seed: int) -> list[str]:
        openai = self._openai

        def fail(message: str) -> GenerationError:
            return GenerationError(message, where=f"{self.base_url} model {self.model!r}", request=position)

        try:
            reply = self._client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=list(messages),
                n=n,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                seed=seed,
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
            raise fail(
                f"the server refused the credentials (HTTP {err.status_code}); set the API key in the environment "
                f"variable named by --api_key_env. Server said: {err.message}"
            ) from err
        except openai.NotFoundError as err:
            raise fail(
                "HTTP 404 -- check --base_url (usually ends in /v1) and that the server serves this model name. "
                f"Server said: {err.message}"
            ) from err
        except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as err:
            # What the SDK retries (APITimeoutError is an APIConnectionError; InternalServerError is any 5xx).
            raise fail(f"gave up after {self.max_retries + 1} attempts: {err}") from err
        except openai.APIStatusError as err:
            raise fail(f"HTTP {err.status_code}: {err.message}") from err
        # Parsed here, not by the SDK: bytes that are not UTF-8 become U+FFFD instead of failing the whole run.
        try:
            body = json.loads(reply.content.decode("utf-8", errors="replace"))
        except json.JSONDecodeError as err:
            raise fail(f"malformed reply from the server: {err}") from err
        try:
            return _choice_texts(body)
        except ValueError as err:
            raise fail(f"malformed reply, {err}") from err


def _choice_texts(body: Any) -> list[str]:
    """The texts of a chat-completion reply's choices, by index; a null content is an empty response."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"without choices: {str(body)[:300]!r}")
    texts: list[str] = []
    for choice in sorted(choices, key=lambda c: (c.get("index") or 0) if isinstance(c, dict) else 0):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            raise ValueError(f"a choice has no message: {str(choice)[:300]!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise ValueError(f"content is not text: {content!r:.300}")
        texts.append(content or "")
    return texts


def _backend_class(name: str) -> type:
    classes = {"vllm": VllmBackend, "hf": HfBackend, "openai": OpenAIBackend}
    if name not in classes:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return classes[name]


def build_backend(name: str, model: str, **options: Any) -> GenerationBackend:
    """The backend called ``name`` for ``model``; ``options`` are that backend's constructor keywords."""
    return _backend_class(name)(model, **options)


# ---------------------------------------------------------------- command line (annotate, eval, this module)


def add_generation_args(
    parser: argparse.ArgumentParser, *, samples_flag: str, default_samples: int, default_temperature: float
) -> None:
    """The model, backend and sampling flags, spelled the same in every command (annotate, eval).

    Backend-specific flags carry their constructor keyword's name: :func:`backend_from_args` passes each
    backend exactly the flags its constructor takes. The samples flag is ``--k`` or ``--n`` by command, but
    always lands in ``args.n``.
    """
    group = parser.add_argument_group("generation")
    group.add_argument("--model", help="model: local checkpoint path or hub id (for openai: the served name)")
    group.add_argument("--backend", choices=BACKENDS, default="hf", help="vllm (GPU), hf (any device), openai")
    metavar = samples_flag.lstrip("-").upper()
    group.add_argument(samples_flag, dest="n", metavar=metavar, type=int, default=default_samples, help=SAMPLES_HELP)
    group.add_argument("--max_tokens", type=int, default=4096, help="max new tokens per completion")
    group.add_argument("--temperature", type=float, default=default_temperature, help="0 = greedy")
    group.add_argument("--top_p", type=float, default=1.0)
    group.add_argument("--seed", type=int, default=0, help="the run's seed; every batch's seed derives from it")
    group.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help=f"items per generate call and per sidecar flush (default: {BATCH_SIZE}; hf on a CPU: {CPU_BATCH_SIZE})",
    )
    group.add_argument("--tokenizer", default=None, help="tokenizer path (openai: enables token counts)")
    group.add_argument("--tensor_parallel_size", type=int, default=1, help="vllm: GPUs per model")
    group.add_argument("--gpu_memory_utilization", type=float, default=0.9, help="vllm: KV-cache memory share")
    group.add_argument("--max_model_len", type=int, default=None, help="vllm: context length cap")
    group.add_argument("--device", default="auto", help="hf: cpu, cuda, cuda:1, mps or auto")
    group.add_argument("--dtype", default="auto", help="hf/vllm: auto, bfloat16, float16, float32")
    group.add_argument("--base_url", default="http://localhost:8000/v1", help="openai: server URL")
    group.add_argument("--api_key_env", default="OPENAI_API_KEY", help="openai: env var holding the API key")
    group.add_argument("--max_concurrency", type=int, default=16, help="openai: requests in flight")
    group.add_argument("--request_timeout", type=float, default=600.0, help="openai: seconds per request")
    group.add_argument(
        "--max_retries",
        type=int,
        default=5,
        help="openai: retries per request on 429/5xx/timeouts; replicas: retries per batch when its replica dies",
    )
    group.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="copies of the backend as Ray actors, each generating whole batches (vllm: --tensor_parallel_size "
        "GPUs each; hf: one GPU, or one CPU); 1 = in this process, without Ray",
    )
    group.add_argument(
        "--ray_address",
        default=None,
        help="Ray cluster for the replicas (host:port or auto; default: $RAY_ADDRESS, else a local cluster that "
        "lives as long as the run); given with --replicas 1, runs the one replica there",
    )


def backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor keywords of ``args.backend`` taken from the flags of :func:`add_generation_args`.

    Keyword-only constructor parameters are not flags: they are set by code that knows the process layout
    (the replica actors).
    """
    parameters = list(inspect.signature(_backend_class(args.backend)).parameters.values())[1:]  # after the model
    return {p.name: getattr(args, p.name) for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD}


def backend_from_args(args: argparse.Namespace) -> GenerationBackend:
    """The backend the flags of :func:`add_generation_args` describe, in this process."""
    if not args.model:
        raise ValueError("--model is required (a local checkpoint path or hub id; for openai the served name)")
    return build_backend(args.backend, args.model, **backend_options(args))


def uses_ray(args: argparse.Namespace) -> bool:
    """Replicas, or one replica on a named cluster; ``RAY_ADDRESS`` alone does not move a run off this process."""
    if args.replicas < 1:
        raise ValueError(f"--replicas must be >= 1, got {args.replicas}")
    return args.replicas > 1 or bool(args.ray_address)


@contextmanager
def open_backend(args: argparse.Namespace) -> Iterator[GenerationBackend]:
    """The backend of ``args`` for the length of a run: in this process, or (``--replicas`` > 1 or
    ``--ray_address``) a pool of Ray replicas whose actors, and the cluster if the run started it, end with it."""
    if not uses_ray(args):
        yield backend_from_args(args)
        return
    from alphamed.recipe.replicas import replicas_from_args  # Ray is imported only when replicas are asked for

    with replicas_from_args(args) as pool:
        yield pool


def batch_size_from_args(args: argparse.Namespace, backend: GenerationBackend) -> int:
    """``--batch_size``, or a default sized for where the backend runs (see :data:`CPU_BATCH_SIZE`)."""
    if args.batch_size is not None:
        return args.batch_size
    device = getattr(backend, "device", None)
    return CPU_BATCH_SIZE if getattr(device, "type", None) == "cpu" else BATCH_SIZE


def warn_if_slow(backend: GenerationBackend, items: Sequence[int], sampling: SamplingConfig, batch_size: int) -> None:
    """hf on a CPU: say once, before generating, how long the run may take (every response using all of
    ``max_tokens``: one timed decoding step x steps per batch x batches), so a slow run is a choice, not a hang.

    ``items``: the item count of each input that is batched on its own (a file, a benchmark)."""
    if not isinstance(backend, HfBackend) or backend.device.type != "cpu":
        return
    worst_s = sum(-(-count // batch_size) for count in items) * sampling.max_tokens * backend.seconds_per_step()
    if worst_s >= SLOW_RUN_S:
        print(
            f"note: the hf backend on a CPU may take up to {worst_s / 3600:.1f} h here ({sum(items)} items in "
            f"batches of {batch_size}, up to {sampling.max_tokens} new tokens each); --max_samples and --max_tokens "
            "bound it, a GPU (--device cuda, or --backend vllm) is far faster",
            file=sys.stderr,
        )


def sampling_from_args(args: argparse.Namespace) -> SamplingConfig:
    """The :class:`SamplingConfig` the flags of :func:`add_generation_args` describe."""
    return SamplingConfig(
        n=args.n,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
    )


def main(argv: list[str] | None = None) -> int:
    """Smoke-test a backend by hand: ``python recipe/generate.py --backend hf --model M --prompt "..."``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--prompt", required=True, help="one user message")
    add_generation_args(parser, samples_flag="--n", default_samples=1, default_temperature=0.0)
    args = parser.parse_args(argv)
    sampling = sampling_from_args(args)
    with open_backend(args) as backend:
        [responses] = backend.generate([[{"role": "user", "content": args.prompt}]], sampling)
        counts = backend.count_tokens(responses)
    for i, (text, tokens) in enumerate(zip(responses, counts, strict=True)):
        print(f"--- sample {i} ({tokens} tokens)\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
