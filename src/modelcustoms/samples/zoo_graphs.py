"""TensorFlow SavedModel and ONNX samples, benign and hostile."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from modelcustoms.samples import protobuf as pb
from modelcustoms.samples.items import Item, Plan, folder, one
from modelcustoms.samples.libs import array


def _f32(plan: Plan, *shape: int) -> bytes:
    return array("f4", tuple(shape), plan.rng).data


def savedmodel(plan: Plan) -> Iterator[Item]:
    """SavedModel folders; hostile ones add file-I/O or Python ops to the graph or a function."""
    variables = {
        "variables/variables.data-00000-of-00001": _f32(plan, 4, 4),
        "variables/variables.index": b"\0" * 40 + struct.pack("<Q", 0xDB4775248B80FB57),
    }
    for _ in range(plan.n(1, 5)):
        pbytes = pb.saved_model(pb.model_nodes() + pb.saver_nodes())
        yield folder(
            "saved_model",
            {"saved_model.pb": pbytes, **variables},
            "benign",
            "benign.savedmodel",
            "tf-savedmodel",
        )
    bad = {
        "savedmodel.readfile": pb.node("leak/ReadFile", "ReadFile", ["leak/filename"]),
        "savedmodel.writefile": pb.node("drop/WriteFile", "WriteFile", ["drop/path", "drop/data"]),
        "savedmodel.pyfunc": pb.node(
            "hook/PyFunc",
            "PyFunc",
            ["serving_default_x"],
            [pb.attr("token", pb.attr_s("pyfunc_0"))],
        ),
    }
    ref = "https://github.com/tensorflow/tensorflow/blob/master/SECURITY.md"
    for tech, n in bad.items():
        for in_function in [False, True][: plan.n(1, 2)]:
            consts = [
                pb.node(
                    "leak/filename",
                    "Const",
                    attrs=[pb.attr("value", pb.string_tensor("/etc/passwd"))],
                )
            ]
            nodes, funcs = pb.model_nodes() + pb.saver_nodes() + consts, []
            if in_function:
                funcs = [pb.function_def("__inference_call_42", [n])]
            else:
                nodes.append(n)
            yield folder(
                "saved_model",
                {"saved_model.pb": pb.saved_model(nodes, funcs), **variables},
                "hostile",
                tech,
                "tf-savedmodel",
                ref,
            )


def onnx(plan: Plan) -> Iterator[Item]:
    """MatMul/Add graphs, external data next to the model, and hostile locations / custom ops."""

    def model(ext: str | None = None, custom: bool = False) -> tuple[bytes, bytes]:
        n_in, n_out = plan.rng.randrange(2, 8), plan.rng.randrange(2, 8)
        w = _f32(plan, n_in, n_out)
        if ext is None:
            init = pb.onnx_tensor("W", [n_in, n_out], w)
        else:
            init = pb.onnx_tensor(
                "W", [n_in, n_out], external={"location": ext, "offset": "0", "length": str(len(w))}
            )
        nodes = [
            pb.onnx_node("MatMul", ["x", "W"], ["h"], "matmul"),
            pb.onnx_node("Add", ["h", "B"], ["y"], "add"),
        ]
        opsets = [("", 17)]
        if custom:
            nodes.append(pb.onnx_node("PyOp", ["y"], ["z"], "hook", domain="ai.onnx.contrib"))
            opsets.append(("ai.onnx.contrib", 1))
        b = pb.onnx_tensor("B", [n_out], _f32(plan, n_out))
        out = "z" if custom else "y"
        m = pb.onnx_model(
            nodes,
            [init, b],
            [pb.value_info("x", ["batch", n_in])],
            [pb.value_info(out, ["batch", n_out])],
            opsets,
        )
        return m, w

    for i in range(plan.n(1, 6)):
        if i % 2:
            m, w = model("model.onnx.data")
            yield folder(
                "onnx_model",
                {"model.onnx": m, "model.onnx.data": w},
                "benign",
                "benign.onnx-external",
                "onnx",
            )
        else:
            yield one("model.onnx", model()[0], "benign", "benign.onnx", "onnx")
    ref = "https://github.com/onnx/onnx/security/advisories"
    for tech, loc in (
        ("onnx.external-data-traversal", "../../../../etc/passwd"),
        ("onnx.external-data-absolute", "/etc/passwd"),
    ):
        for _ in range(plan.n(1, 2)):
            yield one("model.onnx", model(loc)[0], "hostile", tech, "onnx", ref)
    for _ in range(plan.n(1, 2)):
        yield one(
            "model.onnx",
            model(custom=True)[0],
            "hostile",
            "onnx.custom-op-pyop",
            "onnx",
            "https://github.com/microsoft/onnxruntime-extensions/blob/main/docs/pyop.md",
        )


FAMILIES = (savedmodel, onnx)
