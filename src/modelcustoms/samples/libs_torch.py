"""Object graphs of torch, argparse and transformers objects, as their pickles hold them."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

from modelcustoms.samples.libs import array
from modelcustoms.samples.pickle_fake import Reduced, Storage, glob, instance

_TORCH_STORAGE = {
    "f4": "FloatStorage",
    "f2": "HalfStorage",
    "i8": "LongStorage",
    "u1": "ByteStorage",
}


class TorchTensors:
    """Allocates storages for one ``torch.save`` call (keys "0", "1", ... in creation order)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.storages: list[Storage] = []

    def tensor(self, code: str, shape: tuple[int, ...], *, param: bool = False) -> Reduced:
        """A contiguous CPU tensor (``_rebuild_tensor_v2``), optionally an ``nn.Parameter``."""
        n = 1
        for d in shape:
            n *= d
        data = array(code, (n,), self.rng).data if code != "f2" else bytes(2 * n)
        st = Storage(str(len(self.storages)), _TORCH_STORAGE[code], n, data=data)
        self.storages.append(st)
        stride: list[int] = []
        acc = 1
        for d in reversed(shape):
            stride.insert(0, acc)
            acc *= d
        args: tuple[Any, ...] = (st, 0, tuple(shape), tuple(stride), False, OrderedDict())
        t = Reduced(glob("torch._utils", "_rebuild_tensor_v2"), args)
        if param:
            return Reduced(glob("torch._utils", "_rebuild_parameter"), (t, True, OrderedDict()))
        return t


def state_dict(
    tt: TorchTensors, layers: list[tuple[str, tuple[int, ...]]]
) -> OrderedDict[str, Any]:
    """A module ``state_dict()``: an OrderedDict of tensors with its ``_metadata`` attribute."""
    sd: OrderedDict[str, Any] = OrderedDict()
    prefixes: list[str] = [""]
    for name, shape in layers:
        code = "i8" if name.endswith("num_batches_tracked") else "f4"
        sd[name] = tt.tensor(code, shape)
        prefix = name.rpartition(".")[0]
        if prefix not in prefixes:
            prefixes.append(prefix)
    meta: OrderedDict[str, Any] = OrderedDict((p, {"version": 1}) for p in prefixes)
    sd._metadata = meta  # type: ignore[attr-defined]
    return sd


def mlp_layers(rng: random.Random, depth: int) -> list[tuple[str, tuple[int, ...]]]:
    """Parameter names and shapes of a small MLP / conv net."""
    layers: list[tuple[str, tuple[int, ...]]] = []
    width = rng.choice([4, 8, 16])
    for i in range(depth):
        out = rng.choice([4, 8, 16])
        layers += [(f"layers.{i}.weight", (out, width)), (f"layers.{i}.bias", (out,))]
        if rng.random() < 0.3:
            layers += [
                (f"norm{i}.weight", (out,)),
                (f"norm{i}.bias", (out,)),
                (f"norm{i}.running_mean", (out,)),
                (f"norm{i}.running_var", (out,)),
                (f"norm{i}.num_batches_tracked", ()),
            ]
        width = out
    return layers


def namespace(values: dict[str, Any]) -> Reduced:
    """An ``argparse.Namespace`` (plain instance: NEWOBJ + BUILD of its ``__dict__``)."""
    return instance(glob("argparse", "Namespace"), dict(values))


def enum_member(module: str, cls: str, value: str) -> Reduced:
    """An Enum member: ``cls(value)`` (``REDUCE``)."""
    return Reduced(glob(module, cls), (value,))


def training_arguments(rng: random.Random) -> Reduced:
    """What ``transformers.Trainer`` pickles into ``training_args.bin``."""
    tu = "transformers.trainer_utils"
    state: dict[str, Any] = {
        "output_dir": f"./results-{rng.randrange(1000)}",
        "overwrite_output_dir": False,
        "do_train": True,
        "do_eval": True,
        "eval_strategy": enum_member(tu, "IntervalStrategy", "steps"),
        "per_device_train_batch_size": rng.choice([8, 16, 32]),
        "learning_rate": rng.choice([5e-5, 2e-5, 1e-4]),
        "num_train_epochs": float(rng.randrange(1, 5)),
        "lr_scheduler_type": enum_member("transformers.trainer_utils", "SchedulerType", "linear"),
        "logging_strategy": enum_member(tu, "IntervalStrategy", "steps"),
        "save_strategy": enum_member(tu, "SaveStrategy", "epoch"),
        "seed": 42,
        "optim": enum_member("transformers.training_args", "OptimizerNames", "adamw_torch"),
        "report_to": ["tensorboard"],
        "push_to_hub": False,
        "hub_strategy": enum_member(tu, "HubStrategy", "every_save"),
    }
    return instance(glob("transformers.training_args", "TrainingArguments"), state)
