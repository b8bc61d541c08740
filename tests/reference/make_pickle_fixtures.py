#!/usr/bin/env python3
"""Pickle fixtures for src/data/pickle (tests/pickle_formats.rs).

Writes small pickles into tests/fixtures/pickles/ as the NumPy running this script writes
them, for pickle protocols 2, 3, 4 and 5, and records in expected.json what NumPy itself
reads back (shapes, dtypes, checksums, small arrays in full), which the Rust test compares
against. Only the running NumPy major version's files are (re)written, so run it once per
NumPy. From the repository root:

    python3 -m venv /work/venv/np1 && /work/venv/np1/bin/pip install "numpy<2"
    /work/venv/np1/bin/python tests/reference/make_pickle_fixtures.py    # *_np1_*.pkl
    /work/venv/torch/bin/python tests/reference/make_pickle_fixtures.py  # *_np2_*.pkl, foreign_*

Files (V = NumPy major version, P = protocol):
  ref_npV_pP.pkl       the CM-BERT reference's audio layout: a tuple (train, valid, test) of
                       [N, 50, 5] arrays, N = 4, 3, 2; float32 for even P, float64 for odd;
                       position 0 along axis 1 is all zeros
  mmsa_npV_pP.pkl      MMSA aligned_50.pkl layout: {"train"|"valid"|"test": {"raw_text",
                       "audio" (float32 with some -inf), "regression_labels", "text_bert",
                       "id", "vision"}}, N = 1 per split (the fixture
                       folder must stay small; ref_* covers N > 1)
  misc_npV_pP.pkl      edge cases: float16, Fortran order, big-endian, every int width,
                       bool, 0-d, empty and strided arrays, string and object arrays, numpy
                       scalars, bytes, bytearray, sets, OrderedDict, big and negative ints,
                       shared references
  truncated_npV_p4.pkl the first half of ref_npV_p4.pkl
  foreign_p4.pkl       (NumPy 2 run) a dict of plain lists
  foreign_obj_p2.pkl   (NumPy 2 run) instances of classes not on the reader's allow-list
"""
import collections
import datetime
import json
import math
import os
import pickle

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "pickles")
PROTOCOLS = (2, 3, 4, 5)
V = int(np.__version__.split(".")[0])


class Opaque:
    """Stands for any class the Rust reader does not know."""

    def __init__(self):
        self.x = 1
        self.name = "opaque"


def array_summary(a, full=False):
    """What the Rust reader must reproduce: shape, dtype and checksums over the values in
    C order (as float64), and for small arrays every value. wsum weights by position, so a transposed or reordered array
    does not match."""
    flat = np.ascontiguousarray(a).reshape(-1).astype(np.float64)
    finite = np.isfinite(flat)
    weights = (np.arange(flat.size) % 7 + 1).astype(np.float64)
    out = {
        "shape": list(a.shape),
        "dtype": a.dtype.name,  # byte order is gone once converted
        "count": int(flat.size),
        "sum": float(flat[finite].sum()),
        "wsum": float((flat * weights)[finite].sum()),
        "neg_inf": int(np.isneginf(flat).sum()),
        "head": [float(v) for v in flat[:6] if math.isfinite(v)],
    }
    if full:
        # Exact float64 bit patterns: JSON readers need not round decimals correctly.
        out["bits"] = [int(b) for b in flat.view(np.uint64)]
    return out


def ref_content(protocol, rng):
    dtype = np.float32 if protocol % 2 == 0 else np.float64
    splits = []
    for n in (4, 3, 2):
        a = rng.standard_normal((n, 50, 5)).astype(dtype)
        a[:, 0, :] = 0.0  # the [CLS] slot
        splits.append(a)
    return tuple(splits), {str(i): array_summary(a) for i, a in enumerate(splits)}


def mmsa_content(protocol, rng):
    data, arrays, lists = {}, {}, {}
    for split, n in (("train", 1), ("valid", 1), ("test", 1)):
        audio = (rng.integers(-64, 64, (n, 50, 5)) / 8).astype(np.float32)
        audio[0, 3, 1] = -np.inf
        audio[-1, 10 + protocol, 4] = -np.inf
        vision = np.zeros((n, 50, 20), np.float32)
        vision[:, ::7, ::3] = rng.standard_normal((n, 8, 7)).astype(np.float32)
        text_dtype = np.int64 if protocol % 2 == 0 else np.float32
        text_bert = rng.integers(0, 30000, (n, 3, 50)).astype(text_dtype)
        text_bert[:, 1, :] = 1  # attention mask
        item = {
            "raw_text": [f"{split} sentence {i} é" for i in range(n)],
            "audio": audio,
            "regression_labels": rng.uniform(-3, 3, n).astype(np.float32),
            "text_bert": text_bert,
            "id": [f"vid{split}_{i}" for i in range(n)],
            "vision": vision,
        }
        data[split] = item
        for key in ("audio", "regression_labels", "text_bert", "vision"):
            arrays[f"{split}/{key}"] = array_summary(item[key])
        lists[f"{split}/raw_text"] = item["raw_text"]
        lists[f"{split}/id"] = item["id"]
    return data, arrays, lists


def misc_content():
    shared = [1, 2]
    arrays = {
        "f16": np.array([[1.5, -0.0, 65504.0], [6e-8, -2.0, 0.333]], np.float16),
        "f32_fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4) * 1.5),
        "f64_fortran_3d": np.asfortranarray(np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 5),
        "f64_big_endian": np.array([1.25, -3.5, 1e300], ">f8"),
        "i32_big_endian": np.array([-2, 70000], ">i4"),
        "i8": np.array([-128, -1, 0, 127], np.int8),
        "i16": np.array([-32768, 32767], np.int16),
        "i32": np.array([-2147483648, 2147483647], np.int32),
        "i64": np.array([-(2**53), 2**53, -1], np.int64),
        "u8": np.array([0, 255, 7], np.uint8),
        "u16": np.array([65535], np.uint16),
        "u32": np.array([4294967295], np.uint32),
        "u64": np.array([2**40], np.uint64),
        "bool": np.array([True, False, True]),
        "zero_d": np.array(3.5),
        "empty": np.zeros((0, 3), np.float32),
        "strided": np.arange(10, dtype=np.int64)[::3],
    }
    value = dict(arrays)
    value.update(
        {
            "str_array": np.array(["ab", "c"]),
            "bytes_array": np.array([b"xy", b"z"]),
            "object_array": np.array([["a", "bb"], ["c", None]], dtype=object),
            "scalar_f64": np.float64(1.5),
            "scalar_f32": np.float32(-2.25),
            "scalar_i64": np.int64(-7),
            "scalar_u8": np.uint8(200),
            "scalar_bool": np.bool_(True),
            "bytes": b"\x00\xffabc",
            "empty_bytes": b"",
            "bytearray": bytearray(b"xy"),
            "set": {1, 2, 3},
            "frozenset": frozenset(["a"]),
            "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
            "big_int": 2**70,
            "neg_big_int": -(2**70),
            "neg_int": -(2**40),
            "minus_one": -1,
            "float": 1e-300,
            "nan": float("nan"),
            "none": None,
            "true": True,
            "text": "héllo ✓",
            "tuple1": (1,),
            "empty_tuple": (),
            "empty_list": [],
            "empty_dict": {},
            "shared": [shared, shared],
        }
    )
    return value, {k: array_summary(a, full=True) for k, a in arrays.items()}


def write(name, value, protocol):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        pickle.dump(value, f, protocol=protocol)
    with open(path, "rb") as f:
        pickle.load(f)  # round-trips in Python
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    expected_path = os.path.join(OUT, "expected.json")
    expected = {}
    if os.path.exists(expected_path):
        with open(expected_path) as f:
            expected = json.load(f)
    files = expected.setdefault("files", {})
    for name in [n for n in files if f"_np{V}_" in n]:
        del files[name]
    writer = {"numpy": np.__version__}
    for protocol in PROTOCOLS:
        rng = np.random.default_rng(100 * V + protocol)
        value, arrays = ref_content(protocol, rng)
        name = f"ref_np{V}_p{protocol}.pkl"
        write(name, value, protocol)
        files[name] = {"kind": "ref", "protocol": protocol, **writer, "arrays": arrays}

        value, arrays, lists = mmsa_content(protocol, rng)
        name = f"mmsa_np{V}_p{protocol}.pkl"
        write(name, value, protocol)
        files[name] = {"kind": "mmsa", "protocol": protocol, **writer, "arrays": arrays, "lists": lists}

        value, arrays = misc_content()
        name = f"misc_np{V}_p{protocol}.pkl"
        write(name, value, protocol)
        files[name] = {"kind": "misc", "protocol": protocol, **writer, "arrays": arrays}

    with open(os.path.join(OUT, f"ref_np{V}_p4.pkl"), "rb") as f:
        whole = f.read()
    name = f"truncated_np{V}_p4.pkl"
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(whole[: len(whole) // 2])
    files[name] = {"kind": "truncated", "protocol": 4, **writer}

    if V >= 2:
        name = "foreign_p4.pkl"
        write(name, {"a": [1, 2, 3], "b": ["x", "y"], "c": [1.5, None, True]}, 4)
        files[name] = {"kind": "foreign", "protocol": 4}
        name = "foreign_obj_p2.pkl"
        value = {
            "opaque": Opaque(),
            "when": datetime.date(2020, 1, 2),
            "queue": collections.deque([1, 2]),
            "counts": collections.Counter("aab"),
        }
        write(name, value, 2)
        files[name] = {"kind": "foreign_obj", "protocol": 2}

    files = dict(sorted(files.items()))
    expected["files"] = files
    # One line per file keeps the sidecar small and its diffs readable.
    with open(expected_path, "w") as f:
        f.write('{"files": {\n')
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in files.items()))
        f.write("\n}}\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"NumPy {np.__version__}: wrote {OUT}, {total} bytes in all")


if __name__ == "__main__":
    main()
