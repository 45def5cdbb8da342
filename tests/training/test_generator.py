import math

import pytest
import torch

from tests.conftest import english_corpus
from training.generator import (
    LABEL_POSITION,
    NULL_LABEL_TOKEN,
    PREFIX_LENGTH,
    DiffusionExample,
    GeneratorConfig,
    MaskedLMRunner,
    ScheduleConfig,
    add_label_tokens,
    context_free_prior,
    load_base_mlm,
    make_training_batch,
    masked_diffusion_loss,
    prior_shift,
    train_generator,
    validation_loss,
)
from training.text import TextCodec

CPU = torch.device("cpu")


def test_a_base_without_mlm_head_gets_a_tied_head(tiny_encoder_without_head):
    model, created = load_base_mlm(tiny_encoder_without_head, CPU)
    assert created
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def test_a_base_with_mlm_head_is_loaded_as_is(tiny_mlm):
    _, created = load_base_mlm(tiny_mlm, CPU)
    assert not created


def test_label_tokens_start_at_the_mean_embedding_of_their_name(tiny_mlm, english_tokenizer):
    import copy

    model, _ = load_base_mlm(tiny_mlm, CPU)
    tokenizer = copy.deepcopy(english_tokenizer)
    before = model.get_input_embeddings().weight.detach().clone()
    ids = add_label_tokens(model, tokenizer, ["happy", "sad"])
    vocab = tokenizer.get_vocab()
    rows = model.get_input_embeddings().weight.detach()
    assert torch.allclose(rows[ids["[LABEL=happy]"]], before[vocab["happy"]])
    assert torch.allclose(rows[ids["[LABEL=sad]"]], before[vocab["sad"]])
    assert torch.allclose(rows[ids[NULL_LABEL_TOKEN]], (before[vocab["happy"]] + before[vocab["sad"]]) / 2)
    assert torch.equal(rows[: before.shape[0]], before)  # existing rows untouched
    assert add_label_tokens(model, tokenizer, ["happy", "sad"]) == ids  # idempotent
    assert model.get_output_embeddings().weight.shape[0] == len(tokenizer)  # the tied head grew too


def test_runner_logits_at_positions_equal_the_full_forward(tiny_mlm):
    model, _ = load_base_mlm(tiny_mlm, CPU)
    model.eval()
    ids = torch.randint(5, 50, (2, 7))
    attention = torch.ones_like(ids)
    positions = torch.tensor([[0, 3], [1, 6], [1, 0]])
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=attention).logits
        got = MaskedLMRunner(model, precision="fp32")(ids, attention, positions)
        mixed = MaskedLMRunner(model, precision="bf16")(ids, attention, positions)
    assert torch.allclose(got, full[positions[:, 0], positions[:, 1]], atol=1e-5)
    assert mixed.dtype == torch.float32 and torch.allclose(mixed, got, atol=0.1)  # bf16 products


def test_masked_diffusion_loss_hand_computed():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    loss = masked_diffusion_loss(logits, torch.tensor([1, 0]))
    assert loss.item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)


@pytest.fixture(scope="module")
def examples(english_tokenizer):
    codec = TextCodec(english_tokenizer)
    encoded = codec.encode([t for t, _ in english_corpus(per_label=8)], 60)
    return codec, [DiffusionExample(e, 1000 + i % 3, torch.rand(len(e))) for i, e in enumerate(encoded)]


def test_training_batch_masks_content_only_and_keeps_the_label(examples):
    codec, items = examples
    gen = torch.Generator().manual_seed(0)
    ids, attention, positions, targets = make_training_batch(
        items, codec, ScheduleConfig(), null_label_id=1999, label_dropout=0.0, generator=gen
    )
    assert (ids[:, LABEL_POSITION] == torch.tensor([e.label_id for e in items])).all()
    assert (positions[:, 1] >= PREFIX_LENGTH).all()
    for row, ex in enumerate(items):
        rows = positions[positions[:, 0] == row, 1]
        assert len(rows) >= 1  # every row carries loss
        assert (rows < PREFIX_LENGTH + len(ex.encoded)).all()  # never the closing [SEP] or padding
        assert targets[positions[:, 0] == row].tolist() == [
            ex.encoded.ids[p - PREFIX_LENGTH] for p in rows.tolist()
        ]
    assert (ids[positions[:, 0], positions[:, 1]] == codec.mask_id).all()
    assert attention.sum().item() == sum(len(e.encoded) + 4 for e in items)


def test_label_dropout_swaps_in_the_null_label(examples):
    codec, items = examples
    gen = torch.Generator().manual_seed(0)
    ids, *_ = make_training_batch(
        items, codec, ScheduleConfig(), null_label_id=1999, label_dropout=1.0, generator=gen
    )
    assert (ids[:, LABEL_POSITION] == 1999).all()


def test_training_lowers_the_held_out_loss(tiny_mlm, english_tokenizer):
    import copy

    model, _ = load_base_mlm(tiny_mlm, CPU)
    tokenizer = copy.deepcopy(english_tokenizer)
    ids = add_label_tokens(model, tokenizer, ["joy", "anger", "sad"])
    codec = TextCodec(english_tokenizer)
    rows = english_corpus(per_label=20)
    encoded = codec.encode([t for t, _ in rows], 60)
    examples = [
        DiffusionExample(e, ids[f"[LABEL={lbl}]"], torch.zeros(len(e)))
        for e, (_, lbl) in zip(encoded, rows, strict=True)
    ]
    train, held_out = examples[:48], examples[48:]
    null = ids[NULL_LABEL_TOKEN]
    before = validation_loss(model, codec, held_out, null_label_id=null, schedule=ScheduleConfig(), seed=0)
    config = GeneratorConfig(epochs=3, lr=2e-3, batch_size=16, draws_per_example=2)
    report = train_generator(
        model,
        codec,
        train,
        null_label_id=null,
        schedule=ScheduleConfig(),
        config=config,
        seed=0,
        progress=False,
        validation=held_out,
    )
    after = validation_loss(model, codec, held_out, null_label_id=null, schedule=ScheduleConfig(), seed=0)
    assert after < before - 0.5
    assert len(report["history"]) == 3 and report["history"][-1]["val_loss"] == pytest.approx(after)


def test_precision_resolution():
    from training.common import native_bf16, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) else "fp32")
    with pytest.raises(ValueError):
        resolve_precision("fp8", cpu)


def test_auto_precision_keeps_float32_for_tiny_inputs():
    from training.common import AUTO_BF16_MIN_TOKENS, autocast, native_bf16

    cpu = torch.device("cpu")
    auto_bf16 = native_bf16(cpu)

    def enabled(precision, tokens):
        with autocast(cpu, precision, tokens=tokens):
            return torch.is_autocast_enabled("cpu")

    assert enabled("auto", AUTO_BF16_MIN_TOKENS - 1) is False  # the cast costs more than it saves
    assert enabled("auto", AUTO_BF16_MIN_TOKENS) is auto_bf16
    assert enabled("auto", None) is auto_bf16
    assert enabled("bf16", 1) is True and enabled("fp32", 10_000) is False  # explicit choices stand
    # uses_bf16 is what the traced classifier forward asks before it skips autocast: the same answer
    from training.common import uses_bf16

    for precision in ("auto", "bf16", "fp32"):
        for tokens in (1, AUTO_BF16_MIN_TOKENS - 1, AUTO_BF16_MIN_TOKENS, 10_000, None):
            assert uses_bf16(cpu, precision, tokens) is enabled(precision, tokens)


def test_training_masks_cover_whole_words(english_tokenizer):
    codec = TextCodec(english_tokenizer)
    encoded = codec.encode(["the shows was lovely again", "the shows was sad tonight"] * 20, 60)
    items = [DiffusionExample(e, 1000, torch.rand(len(e))) for e in encoded]
    gen = torch.Generator().manual_seed(0)
    _, _, positions, _ = make_training_batch(
        items, codec, ScheduleConfig(), null_label_id=1999, label_dropout=0.0, generator=gen
    )
    for row in range(len(items)):
        masked = set((positions[positions[:, 0] == row, 1] - PREFIX_LENGTH).tolist())
        assert (1 in masked) == (2 in masked)  # 'show' and '##s' go together


def test_prior_shift_is_the_rise_in_log_probability_and_never_negative():
    before = torch.tensor([0.5, 0.25, 0.25, 0.0])
    after = torch.tensor([0.25, 0.5, 0.25, 0.0])
    # token 0 fell (left alone), token 1 doubled (ln 2), token 2 kept, token 3 never predicted (0, not nan)
    assert torch.allclose(prior_shift(before, after), torch.tensor([0.0, math.log(2.0), 0.0, 0.0]))


def test_context_free_prior_is_a_distribution_averaged_over_all_mask_prompts(tiny_mlm, english_tokenizer):
    model, _ = load_base_mlm(tiny_mlm, CPU)
    model.train()
    tok = english_tokenizer
    ids = dict(
        label_id=tok.cls_token_id, cls_id=tok.cls_token_id, sep_id=tok.sep_token_id, mask_id=tok.mask_token_id
    )
    prior = context_free_prior(model, lengths=(3, 5), **ids)
    assert prior.shape == (model.get_input_embeddings().num_embeddings,)
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-5) and (prior >= 0).all()
    assert model.training  # the mode it was called in is given back
    # the mean over lengths of the mean over positions, by hand from the runner
    runner = MaskedLMRunner(model.eval(), precision="fp32")
    by_length = []
    for n in (3, 5):
        prompt = torch.tensor(
            [
                [
                    tok.cls_token_id,
                    tok.cls_token_id,
                    tok.sep_token_id,
                    *[tok.mask_token_id] * n,
                    tok.sep_token_id,
                ]
            ]
        )
        positions = torch.tensor([[0, PREFIX_LENGTH + i] for i in range(n)])
        with torch.no_grad():
            by_length.append(torch.softmax(runner(prompt, torch.ones_like(prompt), positions), -1).mean(0))
    assert torch.allclose(prior, (by_length[0] + by_length[1]) / 2, atol=1e-6)
    # dropout is off while measuring: the same model gives the same prior, so an unchanged one no shift
    assert torch.equal(
        prior_shift(prior, context_free_prior(model, lengths=(3, 5), **ids)), torch.zeros_like(prior)
    )
