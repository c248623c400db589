"""The zoo's architectures: real networks built from code with seeded random weights.

Each public function below (listed in ``ARCHITECTURES``) returns a ``torch.nn.Module`` in eval
mode whose ``forward`` takes the zoo inputs positionally and returns plain tensors (a tensor or
a tuple), so the same function is the PyTorch engine's factory (``pytorch: {factory:
zoo_models.py:<name>}``) and the source of the ONNX export. Nothing is downloaded: the
transformers models are built from their config classes (``Model(config)``, never
``from_pretrained``) and every weight comes from ``torch.manual_seed(SEED)`` before the
constructor runs, so a build is the same on every machine with the same library versions.

This file is copied next to the prepared models (``benchalign zoo prepare``); it needs torch
and, for all but ``lstm``, transformers (pinned in requirements-zoo.txt).

Attention runs the "eager" implementation (plain matmul + softmax), the form every converter
can take; the models' own dropout is off (eval mode).
"""

from __future__ import annotations

from typing import Any, Callable

SEED = 0


# -- helpers --------------------------------------------------------------------------------------
def _seeded(build: Callable[[], Any]) -> Any:
    import torch

    torch.manual_seed(SEED)
    with torch.no_grad():
        module = build()
    module.eval()
    return module


def _eager(config: Any) -> Any:
    config._attn_implementation = "eager"  # noqa: SLF001 - the documented switch for a config built by hand
    return config


def _calibrated(module: Any, size: int, batch: int = 8) -> Any:
    """Trained-like activation scales for a BatchNorm network with random weights: convolutions
    get He (fan-out) initialisation, each BatchNorm a random scale in [0.5, 1.5) and shift
    N(0, 0.1), and its running mean and variance are measured on a batch of seeded random images
    (one forward pass in training mode, cumulative averages), so that in eval mode every BatchNorm
    normalises and the outputs stay O(1) through the whole depth. Without it, the library's
    N(0, 0.02) initialisation makes e.g. MobileNetV2's logits about 1e-21, which any tolerance passes."""
    import torch

    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu", generator=gen)
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.normal_(0.0, 0.1, generator=gen)
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration pass
        module.train()
        module(torch.randn((batch, 3, size, size), generator=gen))
    module.eval()
    return module


def _image_wrap(model: Any, outputs: tuple[str, ...] = ("logits",)) -> Any:
    import torch

    class ImageModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values: Any) -> Any:
            out = self.model(pixel_values=pixel_values, return_dict=True)
            got = tuple(getattr(out, name) for name in outputs)
            return got[0] if len(got) == 1 else got

    w = ImageModel()
    w.eval()
    return w


def _text_wrap(model: Any, outputs: tuple[str, ...], with_mask: bool = True) -> Any:
    import torch

    if with_mask:

        class TextModel(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                # BERT's reference form of the padding mask: (1 - mask) * -10000 added to the attention
                # scores, passed as a 4-D float mask (transformers uses a 4-D mask as it is). Its own
                # boolean mask path exports Cast-to-bool/And/Where, which ncnn has no layers for.
                extended = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
                out = self.model(input_ids=input_ids, attention_mask=extended, return_dict=True)
                got = tuple(getattr(out, name) for name in outputs)
                return got[0] if len(got) == 1 else got

    else:

        class TextModel(torch.nn.Module):  # type: ignore[no-redef]
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any) -> Any:
                # an explicit all-ones mask: without one, transformers looks for packed sequences in the
                # position ids with torch.diff, which has no ONNX export
                mask = torch.ones_like(input_ids)
                out = self.model(input_ids=input_ids, attention_mask=mask, use_cache=False, return_dict=True)
                got = tuple(getattr(out, name) for name in outputs)
                return got[0] if len(got) == 1 else got

    w = TextModel()
    w.eval()
    return w


# -- CNNs -----------------------------------------------------------------------------------------
def resnet18() -> Any:
    from transformers import ResNetConfig, ResNetForImageClassification

    cfg = ResNetConfig(layer_type="basic", depths=[2, 2, 2, 2], hidden_sizes=[64, 128, 256, 512], embedding_size=64, num_labels=1000)
    return _image_wrap(_calibrated(_seeded(lambda: ResNetForImageClassification(cfg)), 224))


def resnet50() -> Any:
    from transformers import ResNetConfig, ResNetForImageClassification

    cfg = ResNetConfig(layer_type="bottleneck", depths=[3, 4, 6, 3], hidden_sizes=[256, 512, 1024, 2048], embedding_size=64, num_labels=1000)
    return _image_wrap(_calibrated(_seeded(lambda: ResNetForImageClassification(cfg)), 224))


def mobilenet_v2() -> Any:
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    cfg = MobileNetV2Config(depth_multiplier=1.0, image_size=224, num_labels=1000, tf_padding=False)
    return _image_wrap(_calibrated(_seeded(lambda: MobileNetV2ForImageClassification(cfg)), 224))


def efficientnet_b0() -> Any:
    from transformers import EfficientNetConfig, EfficientNetForImageClassification

    import torch

    cfg = EfficientNetConfig(width_coefficient=1.0, depth_coefficient=1.0, image_size=224, hidden_dim=1280, dropout_rate=0.2, num_labels=1000)
    model = _seeded(lambda: EfficientNetForImageClassification(cfg))
    # transformers pools with AvgPool2d(kernel_size=hidden_dim=1280, ceil_mode=True) over the 7x7 map:
    # the global average, written as a 1280x1280 window that OpenVINO refuses ("Kernel after dilation
    # has size (dim: 1280) larger than the data shape after padding (dim: 7)") and ncnn cannot run.
    # The same global average as the pool every other export uses (identical outputs):
    model.efficientnet.pooler = torch.nn.AdaptiveAvgPool2d(1)
    return _image_wrap(_calibrated(model, 224))


def convnext_tiny() -> Any:
    from transformers import ConvNextConfig, ConvNextForImageClassification

    cfg = ConvNextConfig(depths=[3, 3, 9, 3], hidden_sizes=[96, 192, 384, 768], num_labels=1000)
    return _image_wrap(_seeded(lambda: ConvNextForImageClassification(cfg)))


# -- vision transformers --------------------------------------------------------------------------
def vit_b_16() -> Any:
    from transformers import ViTConfig, ViTForImageClassification

    cfg = _eager(ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, image_size=224, patch_size=16, num_labels=1000))
    return _image_wrap(_seeded(lambda: ViTForImageClassification(cfg)))


def swin_tiny() -> Any:
    from transformers import SwinConfig, SwinForImageClassification

    cfg = _eager(SwinConfig(image_size=224, patch_size=4, embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7, num_labels=1000))
    return _image_wrap(_seeded(lambda: SwinForImageClassification(cfg)))


def segformer_b0() -> Any:
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    cfg = _eager(SegformerConfig(num_labels=150))  # the config's defaults are MiT-b0
    return _image_wrap(_calibrated(_seeded(lambda: SegformerForSemanticSegmentation(cfg)), 512))


def yolos_tiny() -> Any:
    from transformers import YolosConfig, YolosForObjectDetection

    # YOLOS-Ti: hidden 192, 12 layers, 3 heads, 100 detection tokens; built for 512x512 input so that
    # the position embeddings need no interpolation. Exported without post-processing: class
    # logits [1, 100, 92] and boxes [1, 100, 4] (cx, cy, w, h in 0..1).
    cfg = _eager(YolosConfig(hidden_size=192, num_hidden_layers=12, num_attention_heads=3, intermediate_size=768, image_size=[512, 512], num_detection_tokens=100, num_labels=91))
    return _image_wrap(_seeded(lambda: YolosForObjectDetection(cfg)), ("logits", "pred_boxes"))


# -- language models ------------------------------------------------------------------------------
def bert_tiny() -> Any:
    from transformers import BertConfig, BertModel

    cfg = _eager(BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512, max_position_embeddings=512))
    return _text_wrap(_seeded(lambda: BertModel(cfg, add_pooling_layer=True)), ("last_hidden_state", "pooler_output"))


def bert_base() -> Any:
    from transformers import BertConfig, BertModel

    cfg = _eager(BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512))
    return _text_wrap(_seeded(lambda: BertModel(cfg, add_pooling_layer=True)), ("last_hidden_state", "pooler_output"))


def gpt2_small() -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = _eager(GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, use_cache=False))
    return _text_wrap(_seeded(lambda: GPT2LMHeadModel(cfg)), ("logits",), with_mask=False)


# -- recurrent ------------------------------------------------------------------------------------
def lstm() -> Any:
    """A two-layer LSTM sequence classifier (the project's own code: no library has it as a class)."""
    import torch

    class LstmClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(input_size=64, hidden_size=128, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            seq, _ = self.lstm(x)
            return seq, self.head(seq[:, -1, :])

    return _seeded(LstmClassifier)


ARCHITECTURES = (
    "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "vit_b_16", "swin_tiny",
    "segformer_b0", "yolos_tiny", "bert_tiny", "bert_base", "gpt2_small", "lstm",
)
