"""The softmax-group head as a sentence-transformers module (torch). Its numpy readings are in heads.py, which web
processes import without loading torch."""

import torch
from sentence_transformers.base.modules.module import Module
from torch import nn


class SoftmaxGroupHead(Module):
    """Linear layer, softmax per group of `group_size` units, concatenated (sentence-transformers module)."""

    config_keys = ["in_features", "groups", "group_size", "temperature"]

    def __init__(self, in_features: int, groups: int = 4, group_size: int = 128, temperature: float = 1.0) -> None:
        super().__init__()
        self.in_features, self.groups, self.group_size, self.temperature = in_features, groups, group_size, temperature
        self.linear = nn.Linear(in_features, groups * group_size)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logits = self.linear(features["sentence_embedding"]).view(-1, self.groups, self.group_size)
        features["sentence_embedding"] = torch.softmax(logits / self.temperature, dim=-1).flatten(1)
        return features

    def get_embedding_dimension(self) -> int:
        return self.groups * self.group_size

    def save(self, output_path: str, *args: object, safe_serialization: bool = True, **kwargs: object) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs: object) -> "SoftmaxGroupHead":
        hub = {key: kwargs[key] for key in ("token", "cache_folder", "revision", "local_files_only") if key in kwargs}
        config = cls.load_config(model_name_or_path, subfolder=subfolder, **hub)
        head = cls(**config)
        return cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=head, **hub)
