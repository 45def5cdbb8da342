import json
import shutil

import pytest
import torch

from training.checkpoint import (
    SETTINGS_FILE,
    CheckpointError,
    CheckpointSettings,
    load_checkpoint,
    read_settings,
    write_checkpoint,
)


def _logits(model, vocab_size):
    torch.manual_seed(0)
    ids = torch.randint(5, vocab_size - 5, (2, 9))
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits


def test_round_trip_preserves_settings_and_weights(tiny_checkpoint, tmp_path):
    first = load_checkpoint(tiny_checkpoint)
    assert first.settings.labels == ["anger", "joy", "sad"]
    assert first.settings.components == ["generator", "proxy", "classifier"]
    assert (
        set(first.label_ids) == {"anger", "joy", "sad"}
        and first.null_label_id not in first.label_ids.values()
    )
    from transformers import AutoTokenizer

    generator_tokenizer = AutoTokenizer.from_pretrained(str(tiny_checkpoint / "generator"))
    copy = write_checkpoint(
        tmp_path / "copy",
        first.settings,
        first.tokenizer,
        models={"generator": first.generator, "proxy": first.proxy, "classifier": first.classifier},
        generator_tokenizer=generator_tokenizer,
        prior_shift=first.prior_shift,
    )
    second = load_checkpoint(copy)
    assert second.settings.to_json() == first.settings.to_json()
    assert torch.equal(second.prior_shift, first.prior_shift)
    assert second.label_ids == first.label_ids
    vocab = len(first.tokenizer)
    assert torch.equal(_logits(first.generator, vocab), _logits(second.generator, vocab))
    assert torch.equal(_logits(first.proxy, vocab), _logits(second.proxy, vocab))
    assert torch.equal(_logits(first.classifier, vocab), _logits(second.classifier, vocab))
    assert second.proxy.config.id2label == {0: "anger", 1: "joy", 2: "sad"}


def test_settings_file_records_what_the_worker_needs(tiny_checkpoint):
    body = json.loads((tiny_checkpoint / SETTINGS_FILE).read_text())
    assert body["format_version"] == 1
    assert body["label_tokens"] == {"anger": "[LABEL=anger]", "joy": "[LABEL=joy]", "sad": "[LABEL=sad]"}
    assert body["schedule"] == {"total_steps": 32, "lam": 0.5, "importance_scaling": "max"}
    assert body["sampler"]["steps"] == [13, 16]
    assert {"torch", "transformers", "diffusioncls"} <= set(body["versions"])
    assert body["data"]["train"] + body["data"]["validation"] == 72
    assert body["proxy"]["history"] and body["generator"]["history"] and body["classifier"]["history"]
    assert body["generator"]["label_prompt"] is True
    assert body["classifier"]["noise_resistance"] == {"weight": 1.0, "temperature": 0.1}
    assert body["classifier"]["pseudo_samples"]["n"] == 2


def test_an_existing_folder_is_only_replaced_on_request(tiny_checkpoint, tmp_path):
    target = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, target)
    loaded = load_checkpoint(target, components=("generator",))
    with pytest.raises(CheckpointError, match="already exists"):
        write_checkpoint(target, loaded.settings, loaded.tokenizer, models={"generator": loaded.generator})
    write_checkpoint(
        target, loaded.settings, loaded.tokenizer, models={"generator": loaded.generator}, overwrite=True
    )
    assert read_settings(target).components == ["generator"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no staging or backup left behind


def test_a_failed_write_leaves_nothing_behind(tiny_checkpoint, tmp_path):
    loaded = load_checkpoint(tiny_checkpoint, components=("generator",))

    class Broken:
        def save_pretrained(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_checkpoint(
            tmp_path / "ckpt",
            loaded.settings,
            loaded.tokenizer,
            models={"generator": loaded.generator, "proxy": Broken()},
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_checkpoints_are_refused_with_a_reason(tiny_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(tmp_path)
    target = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, target)
    body = json.loads((target / SETTINGS_FILE).read_text())
    (target / SETTINGS_FILE).write_text(json.dumps({**body, "format_version": 99}))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(target)
    (target / SETTINGS_FILE).write_text(json.dumps(body))
    shutil.rmtree(target / "proxy")
    with pytest.raises(CheckpointError, match="proxy"):
        load_checkpoint(target)
    assert load_checkpoint(target, components=("generator",)).generator is not None


def test_a_checkpoint_from_before_the_repetition_penalty_decodes_without_it():
    from training.checkpoint import SamplerDefaults
    from training.defaults import NO_REPETITION_PENALTY

    settings = CheckpointSettings(
        labels=["a", "b"], base_model="base", sampler=SamplerDefaults(repetition_penalty=3.0)
    )
    body = settings.to_json()
    assert CheckpointSettings.from_json(body).sampler.repetition_penalty == 3.0
    del body["sampler"]["repetition_penalty"]  # as written before the knob existed
    assert CheckpointSettings.from_json(body).sampler.repetition_penalty == NO_REPETITION_PENALTY


def test_fit_stores_the_generators_prior_shift_and_the_augmenter_decodes_with_it(tiny_checkpoint, tmp_path):
    from training.augmenters.diffusion import DiffusionAugmenter
    from training.checkpoint import PRIOR_SHIFT_FILE
    from training.defaults import DEFAULT_PRIOR_CORRECTION

    loaded = load_checkpoint(tiny_checkpoint)
    assert (tiny_checkpoint / "generator" / PRIOR_SHIFT_FILE).is_file()
    shift = loaded.prior_shift
    assert shift.shape == (loaded.generator.get_input_embeddings().num_embeddings,)
    assert (shift >= 0).all() and shift.max() > 0  # two epochs of fine-tuning raised some tokens' prior
    assert loaded.settings.sampler.prior_correction == DEFAULT_PRIOR_CORRECTION
    assert torch.equal(DiffusionAugmenter.from_checkpoint(loaded).prior_shift, shift)
    # a checkpoint fitted before the shift was measured loads without one
    old = tmp_path / "old"
    shutil.copytree(tiny_checkpoint, old)
    (old / "generator" / PRIOR_SHIFT_FILE).unlink()
    assert load_checkpoint(old).prior_shift is None
    # asking such a checkpoint for the correction is refused with the reason, not ignored
    from training.augmenters.diffusion import DiffusionOptions
    from training.sampler import DecodeConfig

    without = DiffusionAugmenter.from_checkpoint(load_checkpoint(old))
    with pytest.raises(ValueError, match="lacks"):
        without.augment(
            ["a b c"],
            ["joy"],
            [1],
            seed=0,
            options=DiffusionOptions(decode=DecodeConfig(prior_correction=0.5)),
        )


def test_a_checkpoint_from_before_the_prior_correction_decodes_without_it():
    from training.checkpoint import SamplerDefaults
    from training.defaults import NO_PRIOR_CORRECTION

    body = CheckpointSettings(
        labels=["a", "b"], base_model="base", sampler=SamplerDefaults(prior_correction=2.0)
    ).to_json()
    assert CheckpointSettings.from_json(body).sampler.prior_correction == 2.0
    del body["sampler"]["prior_correction"]  # as written before the knob existed
    assert CheckpointSettings.from_json(body).sampler.prior_correction == NO_PRIOR_CORRECTION
