"""The diffusion LM generator (ALGORITHM.md sections 3-4).

A BERT-style masked LM, fine-tuned time-agnostically: no time embedding, the mask pattern carries
the time. Input layout: `[CLS] [LABEL=y] [SEP] x_1 .. x_n [SEP]`; the label token is never masked
and never written. Label dropout swaps in the null label `[LABEL=?]` so the same model also learns
p(x), which classifier-free guidance needs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from training.common import (
    adamw,
    autocast,
    bucketed_batches,
    linear_warmup_decay,
    optimiser_step,
    pad_batch,
    pretrained_kwargs,
    print_epoch,
    seeded,
)
from training.defaults import TOTAL_STEPS
from training.schedule import ensure_min_masked, keep_at, masks_from_uniform, unit_max
from training.text import EncodedText, TextCodec

NULL_LABEL_TOKEN = "[LABEL=?]"
LABEL_POSITION = 1  # index of the label token in the prompt
PREFIX_LENGTH = 3  # [CLS] [LABEL] [SEP] before the content


def label_token(label: str) -> str:
    return f"[LABEL={label}]"


@dataclass(frozen=True)
class ScheduleConfig:
    total_steps: int = TOTAL_STEPS  # T
    lam: float = 0.5  # weight of importance in the keep probability
    importance_scaling: str = "max"  # w_i = a_i / max_j a_j (see ALGORITHM 1)

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise ValueError("total_steps must be >= 1")
        if self.importance_scaling != "max":
            raise ValueError("only importance_scaling='max' is implemented")


@dataclass(frozen=True)
class GeneratorConfig:
    lr: float = 1e-4  # the paper's 4e-6 is for bert-base; a small base wants more
    epochs: int = 2
    draws_per_example: int = 2  # masks (t, u) drawn per example per epoch
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    label_dropout: float = 0.1
    max_length: int = 128  # whole prompt, specials included
    new_head_lr: float = 1e-3  # learning rate of an MLM head created because the base had none
    precision: str = "auto"  # fp32, bf16 (mixed precision) or auto (bf16 where the hardware has it)

    def __post_init__(self) -> None:
        if self.max_length <= PREFIX_LENGTH + 2:
            raise ValueError(f"max_length must exceed {PREFIX_LENGTH + 2}")
        if not 0.0 <= self.label_dropout < 1.0:
            raise ValueError("label_dropout must be in [0, 1)")

    @property
    def max_content(self) -> int:
        return self.max_length - PREFIX_LENGTH - 1

    def to_dict(self) -> dict:
        return asdict(self)


def load_base_mlm(name_or_path: str | Path, device: torch.device, seed: int = 0):
    """Load a masked LM; when the base has no MLM head, create one (drawn from `seed`) tied to the
    input embeddings.

    Returns (model, head_created). A created head is untrained: run `pretrain` on unlabelled text.
    """
    from transformers import AutoModelForMaskedLM

    with seeded(seed):
        model, info = AutoModelForMaskedLM.from_pretrained(
            str(name_or_path),
            dtype=torch.float32,
            output_loading_info=True,
            **pretrained_kwargs(name_or_path),
        )
    missing = [k for k in info["missing_keys"] if "pooler" not in k]
    head_created = bool(missing)
    if head_created:
        model.config.tie_word_embeddings = True
        model.tie_weights()
    return model.to(device), head_created


def head_prefix(model) -> str | None:
    """Name of the one child module that is the MLM head, if the model is encoder + one head."""
    base = model.base_model
    heads = [name for name, module in model.named_children() if module is not base]
    return heads[0] if len(heads) == 1 else None


def add_label_tokens(model, tokenizer, labels: Sequence[str]) -> dict[str, int]:
    """Add `[LABEL=y]` for each label plus the null label; return token -> id for all of them.

    New rows start at the mean embedding of the label name's word pieces (underscores and hyphens
    read as spaces); the null label starts at the mean of the label rows. Existing tokens are kept.
    """
    wanted = [label_token(lbl) for lbl in labels] + [NULL_LABEL_TOKEN]
    new = [tok for tok in wanted if tok not in tokenizer.get_vocab()]
    if new:
        tokenizer.add_tokens(new, special_tokens=True)
    vocab = tokenizer.get_vocab()
    ids = {tok: vocab[tok] for tok in wanted}
    if max(ids.values()) >= model.get_input_embeddings().num_embeddings:
        # Rows beyond the label rows (padding to a size) are never sampled; seed them anyway.
        with seeded(len(tokenizer)):
            model.resize_token_embeddings(
                max(len(tokenizer), model.get_input_embeddings().num_embeddings), mean_resizing=False
            )
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        label_rows = []
        for label in labels:
            pieces = tokenizer(label.replace("_", " ").replace("-", " "), add_special_tokens=False)[
                "input_ids"
            ]
            pieces = [p for p in pieces if p != tokenizer.unk_token_id and p < embeddings.shape[0]]
            row = embeddings[pieces].mean(0) if pieces else embeddings[: len(tokenizer)].mean(0)
            label_rows.append(row)
            if label_token(label) in new:
                embeddings[ids[label_token(label)]] = row
        if NULL_LABEL_TOKEN in new:
            embeddings[ids[NULL_LABEL_TOKEN]] = (
                torch.stack(label_rows).mean(0) if label_rows else embeddings.mean(0)
            )
    return ids


class MaskedLMRunner:
    """Logits at chosen positions only.

    The MLM head (a vocabulary-sized projection) costs about as much per token as the whole small
    encoder, so it is applied only where a prediction is needed.
    """

    def __init__(self, model, precision: str = "auto"):
        self.model = model
        self.precision = precision
        name = head_prefix(model)
        self.head = getattr(model, name) if name else None

    def __call__(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        with autocast(input_ids.device, self.precision):
            if self.head is None:
                logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits  # (B, L, V)
                return logits[positions[:, 0], positions[:, 1]].float()
            hidden = self.model.base_model(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            return self.head(hidden[positions[:, 0], positions[:, 1]]).float()  # (P, V)


def prompt_ids(content: Sequence[int], label_id: int, codec: TextCodec) -> list[int]:
    return [codec.cls_id, label_id, codec.sep_id, *content, codec.sep_id]


def masked_diffusion_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the masked tokens of the batch: (P, V), (P,) -> scalar."""
    return torch.nn.functional.cross_entropy(logits.float(), targets, reduction="mean")


@dataclass(frozen=True)
class DiffusionExample:
    encoded: EncodedText
    label_id: int
    importance: torch.Tensor  # (n,) in [0, 1]; zeros give the plain linear schedule


def make_training_batch(
    examples: Sequence[DiffusionExample],
    codec: TextCodec,
    schedule: ScheduleConfig,
    *,
    null_label_id: int,
    label_dropout: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw t ~ U{1..T} and one uniform per token, mask, and build the prompts.

    Returns (input_ids (B, L), attention_mask (B, L), positions (P, 2) of masked tokens, targets (P,)).
    Every row gets at least one masked token: an unmasked row would carry no loss.
    """
    b = len(examples)
    width = max(len(e.encoded) for e in examples)
    content = torch.full((b, width), codec.pad_id, dtype=torch.long)
    maskable = torch.zeros((b, width), dtype=torch.bool)
    weights = torch.zeros((b, width))
    units = torch.zeros((b, width), dtype=torch.long)  # padding joins unit 0 with weight 0, unmaskable
    for row, ex in enumerate(examples):
        n = len(ex.encoded)
        content[row, :n] = torch.tensor(ex.encoded.ids)
        maskable[row, :n] = torch.tensor(ex.encoded.maskable)
        weights[row, :n] = ex.importance[:n]
        units[row, :n] = ex.encoded.unit_index()
    steps = torch.randint(1, schedule.total_steps + 1, (b,), generator=generator)
    # Masks are drawn per unit (word), one uniform each, as at sampling time.
    uniform = torch.rand((b, width), generator=generator)  # (B, U) with U <= width
    unit_keep = keep_at(unit_max(weights, units, width), steps, schedule.total_steps, lam=schedule.lam)
    unit_maskable = unit_max(maskable.float(), units, width).bool()
    unit_mask = ensure_min_masked(
        masks_from_uniform(uniform, unit_keep) & unit_maskable, uniform, unit_keep, maskable=unit_maskable
    )
    mask = unit_mask.gather(1, units) & maskable
    drop = torch.rand((b,), generator=generator) < label_dropout
    prompts = [
        prompt_ids(ex.encoded.ids, null_label_id if bool(drop[row]) else ex.label_id, codec)
        for row, ex in enumerate(examples)
    ]
    input_ids, attention = pad_batch(prompts, codec.pad_id)
    full_mask = torch.zeros_like(input_ids, dtype=torch.bool)
    full_mask[:, PREFIX_LENGTH : PREFIX_LENGTH + width] = mask
    positions = full_mask.nonzero()  # (P, 2)
    targets = input_ids[positions[:, 0], positions[:, 1]]
    input_ids = input_ids.masked_fill(full_mask, codec.mask_id)
    return input_ids, attention, positions, targets


def train_generator(
    model,
    codec: TextCodec,
    examples: Sequence[DiffusionExample],
    *,
    null_label_id: int,
    schedule: ScheduleConfig,
    config: GeneratorConfig,
    seed: int,
    head_is_new: bool = False,
    desc: str = "generator",
    progress: bool = True,
    validation: Sequence[DiffusionExample] = (),
) -> dict:
    """Time-agnostic masked-diffusion fine-tuning; loss on masked content tokens only.

    Each example is drawn `draws_per_example` times per epoch with fresh (t, u). Returns the history
    (train loss per epoch and, when `validation` is given, its loss under fixed masks).
    """
    runner = MaskedLMRunner(model, config.precision)
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    items = [i for i in range(len(examples)) for _ in range(config.draws_per_example)]
    total = math.ceil(len(items) / config.batch_size) * config.epochs
    optimizer, scheduler = _optimiser(model, config, head_is_new=head_is_new, total_steps=total)
    history = []
    for epoch in range(1, config.epochs + 1):
        model.train()
        batches = list(bucketed_batches([len(examples[i].encoded) for i in items], config.batch_size, rng))
        bar = tqdm(batches, desc=f"{desc} epoch {epoch}/{config.epochs}", disable=not progress, leave=False)
        batch_examples = ([examples[items[i]] for i in batch] for batch in bar)
        train_loss = _generator_epoch(
            runner,
            batch_examples,
            codec=codec,
            schedule=schedule,
            null_label_id=null_label_id,
            config=config,
            generator=generator,
            step=lambda loss: optimiser_step(model, loss, optimizer, scheduler=scheduler),
            bar=bar,
        )
        record = {"epoch": epoch, "train_loss": train_loss}
        if validation:
            record["val_loss"] = validation_loss(
                model,
                codec,
                validation,
                null_label_id=null_label_id,
                schedule=schedule,
                seed=seed,
                precision=config.precision,
            )
        history.append(record)
        if progress:
            print_epoch(desc, record)
    model.eval()
    return {"history": history}


def _generator_epoch(
    runner,
    batches,
    *,
    codec: TextCodec,
    schedule: ScheduleConfig,
    null_label_id: int,
    config: GeneratorConfig,
    generator: torch.Generator,
    step,
    bar,
) -> float:
    """One epoch over `batches` (lists of examples): fresh (t, u) masks, the loss on masked content
    tokens, one optimiser `step` per batch; the mean loss per masked token."""
    device = next(runner.model.parameters()).device
    loss_sum, token_count = 0.0, 0
    for batch in batches:
        ids, attention, positions, targets = make_training_batch(
            batch,
            codec,
            schedule,
            null_label_id=null_label_id,
            label_dropout=config.label_dropout,
            generator=generator,
        )
        with torch.random.fork_rng(devices=[]):  # dropout draws from a local stream
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
            logits = runner(ids.to(device), attention.to(device), positions.to(device))
        loss = masked_diffusion_loss(logits, targets.to(device))
        step(loss)
        loss_sum += loss.item() * len(targets)
        token_count += len(targets)
        bar.set_postfix(loss=f"{loss_sum / max(1, token_count):.4f}")
    return loss_sum / max(1, token_count)


def _optimiser(model, config: GeneratorConfig, *, head_is_new: bool, total_steps: int):
    """AdamW (a new MLM head at its own, higher learning rate) with linear warm-up and decay."""
    head = head_prefix(model)
    fast = {head: config.new_head_lr} if head_is_new and head else None
    optimizer = adamw(model, lr=config.lr, weight_decay=config.weight_decay, fast_lr=fast)
    return optimizer, linear_warmup_decay(optimizer, total_steps, round(config.warmup_ratio * total_steps))


@torch.inference_mode()
def validation_loss(
    model,
    codec: TextCodec,
    examples: Sequence[DiffusionExample],
    *,
    null_label_id: int,
    schedule: ScheduleConfig,
    seed: int,
    batch_size: int = 64,
    precision: str = "auto",
) -> float:
    """Masked-token loss under masks drawn from a fixed seed (comparable across epochs)."""
    model.eval()
    device = next(model.parameters()).device
    runner = MaskedLMRunner(model, precision)
    generator = torch.Generator().manual_seed(seed + 7919)
    loss_sum, count = 0.0, 0
    for batch in bucketed_batches([len(e.encoded) for e in examples], batch_size, rng=None):
        ids, attention, positions, targets = make_training_batch(
            [examples[i] for i in batch],
            codec,
            schedule,
            null_label_id=null_label_id,
            label_dropout=0.0,
            generator=generator,
        )
        logits = runner(ids.to(device), attention.to(device), positions.to(device))
        loss_sum += float(masked_diffusion_loss(logits, targets.to(device))) * len(targets)
        count += len(targets)
    return loss_sum / max(1, count)


# Prompt lengths (content masks) whose predictions context_free_prior averages: about a short sentence
# and a tweet.
PRIOR_LENGTHS = (16, 32)


def context_free_prior(
    model, *, label_id: int, cls_id: int, sep_id: int, mask_id: int, lengths: Sequence[int] = PRIOR_LENGTHS
) -> torch.Tensor:
    """The model's average predicted distribution (V,) over the positions of all-mask prompts
    `[CLS] label [SEP] [MASK] x n [SEP]`, averaged over the lengths n: which words it writes when no
    word of the text is known, as the first decoding rounds nearly are."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    runner = MaskedLMRunner(model, precision="fp32")
    per_length = []
    with torch.inference_mode():
        for n in lengths:
            ids = torch.tensor([[cls_id, label_id, sep_id, *([mask_id] * n), sep_id]], device=device)
            positions = torch.stack(
                [torch.zeros(n, dtype=torch.long), torch.arange(PREFIX_LENGTH, PREFIX_LENGTH + n)], dim=1
            ).to(device)
            logits = runner(ids, torch.ones_like(ids), positions)  # (n, V)
            per_length.append(torch.softmax(logits.float(), dim=-1).mean(0))
    model.train(was_training)
    return torch.stack(per_length).mean(0).cpu()


def prior_shift(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """How much fine-tuning raised each token's context-free log-probability: max(0, ln after - ln
    before), per token (V,). Fine-tuning on a few hundred texts inflates their nouns ("house", "roof",
    "waiter" 6-36x on the sample) until rewrites of every label lean on them; subtracting a share of
    this at decoding time gives the base's broader prior back while keeping what fine-tuning learned
    about context and labels (guidance differences are unchanged: the same vector is subtracted
    from the labelled and the null-label logits). Tokens fine-tuning made rarer are left alone."""
    tiny = torch.finfo(torch.float32).tiny
    return (after.float().clamp_min(tiny).log() - before.float().clamp_min(tiny).log()).clamp_min(0.0)
