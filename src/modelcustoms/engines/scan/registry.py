"""The built-in analyzers, listed explicitly (grep-able, no import side effects)."""

from __future__ import annotations

from collections.abc import Sequence

from modelcustoms.core import Format
from modelcustoms.engines.scan.base import Analyzer


def builtin_analyzers() -> tuple[Analyzer, ...]:
    """One instance of every built-in analyzer, in dispatch order."""
    # Imported here so that importing the engine does not import every parser.
    from modelcustoms.engines.scan.archives import (
        CompressedAnalyzer,
        SevenZipAnalyzer,
        TarAnalyzer,
        ZipAnalyzer,
    )
    from modelcustoms.engines.scan.configs import ConfigAnalyzer
    from modelcustoms.engines.scan.gguf import GgufAnalyzer
    from modelcustoms.engines.scan.keras import KerasAnalyzer
    from modelcustoms.engines.scan.numpy import NumpyAnalyzer
    from modelcustoms.engines.scan.onnx import OnnxAnalyzer
    from modelcustoms.engines.scan.pickle import PickleAnalyzer
    from modelcustoms.engines.scan.remote_code import RemoteCodeAnalyzer
    from modelcustoms.engines.scan.safetensors import SafetensorsAnalyzer
    from modelcustoms.engines.scan.savedmodel import SavedModelAnalyzer
    from modelcustoms.engines.scan.secrets import SecretsAnalyzer
    from modelcustoms.engines.scan.torch import TorchZipAnalyzer

    return (
        PickleAnalyzer(),
        TorchZipAnalyzer(),
        NumpyAnalyzer(),
        ZipAnalyzer(),
        TarAnalyzer(),
        CompressedAnalyzer(),
        SevenZipAnalyzer(),
        KerasAnalyzer(),
        SavedModelAnalyzer(),
        OnnxAnalyzer(),
        GgufAnalyzer(),
        SafetensorsAnalyzer(),
        ConfigAnalyzer(),
        RemoteCodeAnalyzer(),
        SecretsAnalyzer(),
    )


def analyzers_for(analyzers: Sequence[Analyzer], fmt: Format) -> tuple[Analyzer, ...]:
    """The analyzers that read ``fmt``, in registry order."""
    return tuple(a for a in analyzers if fmt in a.formats)
