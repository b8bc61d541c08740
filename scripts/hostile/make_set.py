#!/usr/bin/env python3
"""Writes the hostile input set of issue 13's acceptance run (Python 3 standard library only).

    python3 scripts/hostile/make_set.py OUT [--data TINY_DATA] [--ckpt RUN_DIR]

OUT receives one file (or one small directory) per case and `cases.tsv`, which
scripts/hostile/run.sh reads: name, kind (which command reads it), path (relative to OUT),
expected outcome, needle (what a good error line mentions) and a description.

Expected outcomes: `2` (must be refused: exit 2 with one line naming the file), `0` (a valid
input: must succeed), `any` (either a clean refusal or a correct result).

--data: a MOSI-text directory (`cmbert-tui corpus --sizes 8,4,4 --out DIR`); its split sizes
and texts make the token-aligned controls valid, so each hostile variant differs from a file
that loads in one respect only. --ckpt: a finished `train --out` directory (best/, last/);
its checkpoints are the base of the vocabulary, resume and out-of-vocabulary cases.

Every format is written by hand (pickle opcodes, PyTorch's zip layout, npy headers, the
safetensors header, RIFF chunks), because the point is to write what the libraries that
normally produce these files never would.
"""
import argparse
import json
import math
import os
import shutil
import struct
import zipfile
import zlib

CASES = []  # (name, kind, path, expected, needle, description)


def case(name, kind, path, expected, description, needle=None):
    CASES.append((name, kind, path, expected, needle or os.path.basename(path.rstrip("/")), description))


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- pickle opcodes

def p_int(n):
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    if -(2 ** 31) <= n < 2 ** 31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)  # minimal, as Python writes
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def p_str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b  # BINUNICODE


def p_bytes(b):
    return b"B" + struct.pack("<I", len(b)) + b  # BINBYTES (protocol 3)


def p_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_tuple(items):
    return b"(" + b"".join(items) + b"t"


def p_dtype(code):
    """numpy.dtype(code, False, True) with the BUILD state NumPy writes."""
    order = "|" if code[0] in "|O" else code[0]
    return (p_global("numpy", "dtype") + p_str(code.lstrip("<>|")) + b"\x89\x88\x87R"
            + p_tuple([p_int(3), p_str(order), b"N", b"N", b"N", p_int(-1), p_int(-1), p_int(0)]) + b"b")


def p_array(shape, raw, code="<f4"):
    """An ndarray as NumPy 1.x pickles it: _reconstruct(ndarray, (0,), b'b') + BUILD state."""
    return (p_global("numpy.core.multiarray", "_reconstruct") + p_global("numpy", "ndarray")
            + p_int(0) + b"\x85" + p_bytes(b"b") + b"\x87R"
            + p_tuple([p_int(1), p_tuple([p_int(d) for d in shape]), p_dtype(code), b"\x89", p_bytes(raw)])
            + b"b")


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def aligned_values(n, length, dim, seed=1):
    """[n, length, dim] float32 values, zero at position 0 ([CLS]) as the reference's file."""
    out = []
    for i in range(n):
        for t in range(length):
            for d in range(dim):
                out.append(0.0 if t == 0 else math.sin(seed + i * 7.1 + t * 1.3 + d * 0.7))
    return out


def pickle_file(body):
    return b"\x80\x03" + body + b"."


def reference_pickle(sizes, length, dim, code="<f4", mutate=None):
    arrays = []
    for k, n in enumerate(sizes):
        shape = (n, length, dim)
        raw = f32(aligned_values(n, length, dim, k))
        if mutate:
            shape, raw = mutate(k, shape, raw)
        arrays.append(p_array(shape, raw, code))
    return pickle_file(b"(" + b"".join(arrays) + b"t")


def mmsa_pickle(sizes, texts, length, dim, mutate=None):
    body = b"}("
    for k, (split, n) in enumerate(zip(["train", "valid", "test"], sizes)):
        vals = aligned_values(n, length, dim, k)
        if mutate:
            vals = mutate(k, vals)
        body += p_str(split) + b"}(" + p_str("audio") + p_array((n, length, dim), f32(vals))
        body += p_str("raw_text") + b"](" + b"".join(p_str(t) for t in texts[k]) + b"e"
        body += p_str("regression_labels") + p_array((n,), f32([0.0] * n)) + b"u"
    return pickle_file(body + b"u")


def self_ref_array(then):
    """A 0-d object array whose one item is the array itself, then `then`."""
    return (b"\x80\x02" + p_global("numpy.core.multiarray", "_reconstruct") + p_global("numpy", "ndarray")
            + p_int(0) + b"\x85" + p_bytes(b"b") + b"\x87R" + b"q\x01"
            + p_tuple([p_int(1), b")", p_dtype("O8"), b"\x89", b"]h\x01a"]) + b"b" + then + b".")


def write_pickles(out, sizes, texts, length, dim):
    d = os.path.join(out, "audio")
    P = lambda name: os.path.join(d, name)
    ok = reference_pickle(sizes, length, dim)
    write(P("ref_control.pkl"), ok)
    case("ref_control", "audio", "audio/ref_control.pkl", "0" if texts else "any", "control: a valid reference 3-tuple pickle")
    if texts:
        write(P("mmsa_control.pkl"), mmsa_pickle(sizes, texts, length, dim))
        case("mmsa_control", "audio", "audio/mmsa_control.pkl", "0", "control: a valid MMSA dict pickle")

    write(P("pkl_selfref_append.pkl"), self_ref_array(b"Na"))
    case("pkl_selfref_append", "audio", "audio/pkl_selfref_append.pkl", "2",
         "0-d object array that contains itself, then APPEND to it (issue: hangs)")
    write(P("pkl_selfref_reduce.pkl"), self_ref_array(b")R"))
    case("pkl_selfref_reduce", "audio", "audio/pkl_selfref_reduce.pkl", "2",
         "0-d object array that contains itself, then REDUCE with it as the callable")
    write(P("pkl_selfref_build.pkl"), self_ref_array(p_tuple([p_int(1)]) + b"b"))
    case("pkl_selfref_build", "audio", "audio/pkl_selfref_build.pkl", "2",
         "0-d object array that contains itself, then BUILD with a state on it")
    write(P("pkl_selfref_result.pkl"), self_ref_array(b""))
    case("pkl_selfref_result", "audio", "audio/pkl_selfref_result.pkl", "2",
         "0-d object array that contains itself, returned as the result")

    # A 1 MB list (one byte per None), memoised, copied 150 times through builtins.list(x).
    n = 1_000_000
    body = b"\x80\x02(" + b"N" * n + b"lq\x00" + p_global("builtins", "list") + b"q\x010"
    body += b"h\x01h\x00\x85R0" * 150
    write(P("pkl_memo_copy150.pkl"), body + b"h\x00.")
    case("pkl_memo_copy150", "audio", "audio/pkl_memo_copy150.pkl", "2",
         "1 MB list memoised and copied 150 times with list(memo[0]) (issue: 3.8 GB)")

    depth = 500_000
    write(P("pkl_deep_nesting.pkl"), b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b".")
    case("pkl_deep_nesting", "audio", "audio/pkl_deep_nesting.pkl", "2", "lists nested 500,000 deep (1 MB)")
    write(P("pkl_deep_marks.pkl"), b"\x80\x02" + b"(" * depth + b"t" * depth + b".")
    case("pkl_deep_marks", "audio", "audio/pkl_deep_marks.pkl", "2", "tuples nested 500,000 deep through MARK/TUPLE")

    write(P("pkl_truncated.pkl"), ok[: len(ok) // 2])
    case("pkl_truncated", "audio", "audio/pkl_truncated.pkl", "2", "valid reference pickle cut in half")
    write(P("pkl_wrong_dtype.pkl"), reference_pickle(sizes, length, dim, code="<c8",
                                                      mutate=lambda k, s, r: (s, r + r)))
    case("pkl_wrong_dtype", "audio", "audio/pkl_wrong_dtype.pkl", "2", "complex64 arrays")
    write(P("pkl_int_dtype.pkl"), reference_pickle(sizes, length, dim, code="<i4"))
    case("pkl_int_dtype", "audio", "audio/pkl_int_dtype.pkl", "any", "int32 arrays (numbers, another dtype)")
    write(P("pkl_zero_dim.pkl"), reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((s[0], 0, s[2]), b"")))
    case("pkl_zero_dim", "audio", "audio/pkl_zero_dim.pkl", "2", "arrays of shape [N, 0, D] (issue: panics audio.rs:216)")
    write(P("pkl_shape_wrap.pkl"), reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((1, 0, 2 ** 62), b"")))
    case("pkl_shape_wrap", "audio", "audio/pkl_shape_wrap.pkl", "2", "arrays of shape [1, 0, 2^62]: L*D wraps, no data")
    write(P("pkl_zero_dim_huge_n.pkl"),
          reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((2 ** 62, 0, 0), b"")))
    case("pkl_zero_dim_huge_n", "audio", "audio/pkl_zero_dim_huge_n.pkl", "2", "arrays of shape [2^62, 0, 0]: empty but N huge")
    write(P("pkl_shape_lies.pkl"), reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((2 ** 40, s[1], s[2]), r)))
    case("pkl_shape_lies", "audio", "audio/pkl_shape_lies.pkl", "2", "shape claims 2^40 utterances, data holds a few")
    write(P("pkl_negative_dim.pkl"), reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((-1, s[1], s[2]), r)))
    case("pkl_negative_dim", "audio", "audio/pkl_negative_dim.pkl", "2", "a negative dimension")
    write(P("pkl_2d.pkl"), reference_pickle(sizes, length, dim, mutate=lambda k, s, r: ((s[0], s[1] * s[2]), r)))
    case("pkl_2d", "audio", "audio/pkl_2d.pkl", "2", "[N, L*D] arrays (two dimensions)")
    write(P("pkl_os_system.pkl"), b"\x80\x02" + p_global("os", "system") + p_str("touch PWNED") + b"\x85R.")
    case("pkl_os_system", "audio", "audio/pkl_os_system.pkl", "2", "os.system('touch PWNED') (must not run)")
    write(P("pkl_not_pickle.pkl"), b"<html>404 Not Found</html>\n")
    case("pkl_not_pickle", "audio", "audio/pkl_not_pickle.pkl", "2", "an HTML error page saved as .pkl")
    write(P("pkl_empty.pkl"), b"")
    case("pkl_empty", "audio", "audio/pkl_empty.pkl", "2", "an empty file")
    write(P("pkl_long4_huge.pkl"), b"\x80\x02\x8b\xff\xff\xff\x7f" + b"\x00" * 8 + b".")
    case("pkl_long4_huge", "audio", "audio/pkl_long4_huge.pkl", "2", "LONG4 claiming 2 GB of digits")
    write(P("pkl_binbytes8_huge.pkl"), b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 63) + b".")
    case("pkl_binbytes8_huge", "audio", "audio/pkl_binbytes8_huge.pkl", "2", "BINBYTES8 claiming 2^63 bytes")
    if texts:
        nan = lambda k, v: [float("nan")] + v[1:] if k == 1 else v
        write(P("mmsa_nan.pkl"), mmsa_pickle(sizes, texts, length, dim, mutate=nan))
        case("mmsa_nan", "audio", "audio/mmsa_nan.pkl", "2", "MMSA layout with a NaN feature in valid")
        swapped = [texts[0][::-1], texts[1], texts[2]]
        write(P("mmsa_reordered.pkl"), mmsa_pickle(sizes, swapped, length, dim))
        case("mmsa_reordered", "audio", "audio/mmsa_reordered.pkl", "2", "MMSA layout whose raw_text is in another order")
    mmsa_selfref = (b"\x80\x02}(" + p_str("train") + b"}(" + p_str("audio")
                    + self_ref_array(b"")[2:-1] + b"uu.")
    write(P("mmsa_selfref.pkl"), mmsa_selfref)
    case("mmsa_selfref", "audio", "audio/mmsa_selfref.pkl", "2", "MMSA dict whose train audio is a self-containing object array")


# ---------------------------------------------------------------- zip helpers

def zip_stored(path, members):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(name, data)


def deflated_zeros(total, crc=0, chunk=16 << 20):
    """Raw deflate of `total` zero bytes, and the CRC-32 continued from `crc` over them. Built
    by repeating one fully flushed block: a full flush resets the window, so each copy of the
    block decodes on its own."""
    def block(n):
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(b"\0" * n) + c.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(total, chunk)
    stream = block(chunk) * full + (block(rest) if rest else b"")
    zero = b"\0" * chunk
    for _ in range(full):
        crc = zlib.crc32(zero, crc)
    return stream, zlib.crc32(b"\0" * rest, crc)


def zip_with_bomb(path, members, bomb_name, bomb_prefix, total):
    """A zip of STORED `members` and one deflated member: `bomb_prefix` then `total` zeros."""
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros, crc = deflated_zeros(total, zlib.crc32(bomb_prefix))
    data = head.compress(bomb_prefix) + head.flush(zlib.Z_FULL_FLUSH) + zeros
    data += zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # the final (empty) block
    size = len(bomb_prefix) + total
    entries, blob = [], b""
    for name, content in members + [(bomb_name, None)]:
        nb = name.encode()
        if content is None:
            method, comp, c, usize = 8, data, crc, size
        else:
            method, comp, c, usize = 0, content, zlib.crc32(content), len(content)
        entries.append((nb, method, c, len(comp), usize, len(blob)))
        blob += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, c, len(comp), usize, len(nb), 0) + nb + comp
    central = b""
    for nb, method, c, csize, usize, offset in entries:
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, c, csize, usize,
                               len(nb), 0, 0, 0, 0, 0, offset) + nb
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(blob), 0)
    write(path, blob + central + end)


# ---------------------------------------------------------------- PyTorch .bin

TINY_CONFIG = {"vocab_size": 34, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
               "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
               "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
               "initializer_range": 0.02}
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    "there", "are", "some", "funny", "moment", "##s", "i", "just", "wan", "##na", "say", "that", "love", "you",
    "thought", "it", "was", "fun", "the", "a", "movie", "good", "bad", "plot", "acting", "great", "but", "not",
    "really"]


def rebuild(name_storage, numel, size, stride, key="0", storage_cls="FloatStorage", args_cut=None, pid_cut=None):
    pid = [p_str("storage"), p_global("torch", storage_cls), p_str(key), p_str("cpu"), p_int(numel)]
    if pid_cut is not None:
        pid = pid[:pid_cut]
    args = [p_tuple(pid) + b"Q", p_int(0), p_tuple([p_int(s) for s in size]),
            p_tuple([p_int(s) for s in stride]), b"\x89", p_global("collections", "OrderedDict") + b")R"]
    if args_cut is not None:
        args = args[:args_cut]
    return p_str(name_storage) + p_global("torch._utils", "_rebuild_tensor_v2") + p_tuple(args) + b"R"


def state_dict(*entries):
    return b"\x80\x02" + p_global("collections", "OrderedDict") + b")R(" + b"".join(entries) + b"u."


def torch_zip(path, pkl, data=None, extra=()):
    members = [("archive/data.pkl", pkl), ("archive/version", b"3\n")]
    if data is not None:
        members.append(("archive/data/0", data))
    zip_stored(path, members + list(extra))


def bin_case(out, name, description, expected="2", pkl=None, raw=None, data=None):
    d = os.path.join(out, "bin", name)
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "bert_config.json"), json.dumps(TINY_CONFIG, indent=1))
    write(os.path.join(d, "vocab.txt"), "\n".join(TINY_VOCAB) + "\n")
    path = os.path.join(d, "pytorch_model.bin")
    if raw is not None:
        write(path, raw)
    else:
        torch_zip(path, pkl, data)
    case(name, "bin", "bin/%s" % name, expected, description, needle="pytorch_model.bin")


def write_bins(out, repo):
    ref = os.path.join(repo, "tests/fixtures/tiny/reference")
    if os.path.isdir(ref):
        d = os.path.join(out, "bin", "bin_control")
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(ref):
            shutil.copy(os.path.join(ref, f), d)
        case("bin_control", "bin", "bin/bin_control", "0", "control: the repository's tiny reference checkpoint")
    emb = "bert.embeddings.word_embeddings.weight"
    bin_case(out, "bin_small_valid", "a one-tensor state dict (word embeddings 34x32) that candle reads", "0",
             pkl=state_dict(rebuild(emb, 34 * 32, (34, 32), (32, 1))), data=f32([0.01] * (34 * 32)))
    # No POP: candle's unpickler lacks it. Each step leaves its tuple on the stack and memoises it.
    doubling = b"\x80\x02Nq\x00" + b"h\x00h\x00\x86q\x00" * 40 + b"."
    bin_case(out, "bin_memo_doubling", "data.pkl whose memo entry doubles 40 times (~300 bytes; issue: blow-up)",
             pkl=doubling)
    bin_case(out, "bin_short_args", "_rebuild_tensor_v2 called with 2 arguments (issue: candle panics)",
             pkl=state_dict(rebuild(emb, 4, (2, 2), (2, 1), args_cut=2)), data=f32([0.0] * 4))
    bin_case(out, "bin_short_storage", "persistent storage id tuple with 3 items (candle indexes item 4)",
             pkl=state_dict(rebuild(emb, 4, (2, 2), (2, 1), pid_cut=3)), data=f32([0.0] * 4))
    bin_case(out, "bin_storage_beyond_entry", "tensor of 2^34 floats in a 16-byte storage entry",
             pkl=state_dict(rebuild(emb, 2 ** 34, (2 ** 17, 2 ** 17), (2 ** 17, 1))), data=f32([0.0] * 4))
    bin_case(out, "bin_offset_beyond", "storage offset far beyond the entry",
             pkl=state_dict(rebuild(emb, 4, (2, 2), (2, 1)).replace(b"Q" + p_int(0), b"Q" + p_int(2 ** 40))),
             data=f32([0.0] * 4))
    bin_case(out, "bin_missing_entry", "storage key '7' with no archive/data/7 entry",
             pkl=state_dict(rebuild(emb, 4, (2, 2), (2, 1), key="7")), data=f32([0.0] * 4))
    depth = 500_000
    bin_case(out, "bin_deep_nesting", "data.pkl of lists nested 500,000 deep (issue: stack overflow, SIGABRT)",
             pkl=b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b".")
    bin_case(out, "bin_binunicode_4g", "data.pkl BINUNICODE claiming 4 GB (candle allocates it first)",
             pkl=b"\x80\x02X\xff\xff\xff\xff")
    bin_case(out, "bin_os_system", "data.pkl calling os.system (must not run; no tensors)", "any",
             pkl=b"\x80\x02" + p_global("os", "system") + p_str("touch PWNED") + b"\x85R.")
    bin_case(out, "bin_not_zip", "a file of text, not a zip", raw=b"version https://git-lfs.github.com/spec/v1\n")
    good = os.path.join(out, "bin", "bin_small_valid", "pytorch_model.bin")
    with open(good, "rb") as f:
        whole = f.read()
    bin_case(out, "bin_truncated_zip", "the valid one-tensor zip cut in half", raw=whole[: len(whole) // 2])
    # Zip bomb: a tensor of 2^29 floats (2 GiB) whose entry deflates to ~2 MB.
    n = 2 ** 29
    d = os.path.join(out, "bin", "bin_zip_bomb")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "bert_config.json"), json.dumps(TINY_CONFIG, indent=1))
    write(os.path.join(d, "vocab.txt"), "\n".join(TINY_VOCAB) + "\n")
    zip_with_bomb(os.path.join(d, "pytorch_model.bin"),
                  [("archive/data.pkl", state_dict(rebuild(emb, n, (n,), (1,)))), ("archive/version", b"3\n")],
                  "archive/data/0", b"", 4 * n)
    case("bin_zip_bomb", "bin", "bin/bin_zip_bomb", "2",
         "archive/data/0 deflates from 2 MB to 2 GiB, declared as one tensor", needle="pytorch_model.bin")


# ---------------------------------------------------------------- npz / safetensors

def npy(shape, raw, descr="<f4", fortran=False, header=None):
    if header is None:
        dims = ", ".join("%d" % s for s in shape) + ("," if len(shape) == 1 else "")
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, dims)
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + raw


def write_npz(out, sizes, length, dim):
    def arrays(names=("train", "dev", "test"), mutate=None):
        members = []
        for k, (name, n) in enumerate(zip(names, sizes)):
            shape, raw = (n, length, dim), f32(aligned_values(n, length, dim, k))
            data = mutate(k, shape, raw) if mutate else npy(shape, raw)
            members.append((name + ".npy", data))
        return members

    P = lambda name: os.path.join(out, "audio", name)
    zip_stored(P("npz_control.npz"), arrays())
    case("npz_control", "audio", "audio/npz_control.npz", "0", "control: a valid npz (train, dev, test)")
    zip_stored(P("npz_wrong_shape.npz"), arrays(mutate=lambda k, s, r: npy((s[0], s[1] * s[2]), r)))
    case("npz_wrong_shape", "audio", "audio/npz_wrong_shape.npz", "2", "[N, L*D] arrays")
    zip_stored(P("npz_header_lies.npz"), arrays(mutate=lambda k, s, r: npy((10 ** 9, s[1], s[2]), r)))
    case("npz_header_lies", "audio", "audio/npz_header_lies.npz", "2", "npy headers claim 10^9 utterances")
    zip_stored(P("npz_header_overflow.npz"), arrays(mutate=lambda k, s, r: npy((2 ** 62, 2 ** 62, 16), r)))
    case("npz_header_overflow", "audio", "audio/npz_header_overflow.npz", "2", "npy shape product overflows 64 bits")
    zip_stored(P("npz_int_dtype.npz"), arrays(mutate=lambda k, s, r: npy(s, r, descr="<i4")))
    case("npz_int_dtype", "audio", "audio/npz_int_dtype.npz", "2", "int32 arrays")
    zip_stored(P("npz_object_dtype.npz"), arrays(mutate=lambda k, s, r: npy(s, r, descr="|O")))
    case("npz_object_dtype", "audio", "audio/npz_object_dtype.npz", "2", "dtype object (a pickle inside the npy)")
    zip_stored(P("npz_bad_header.npz"), arrays(mutate=lambda k, s, r: npy(s, r, header="{'descr': " + "[" * 5000)))
    case("npz_bad_header", "audio", "audio/npz_bad_header.npz", "2", "npy header that is not a dict literal")
    zip_stored(P("npz_missing_test.npz"), arrays()[:2])
    case("npz_missing_test", "audio", "audio/npz_missing_test.npz", "2", "no test array")
    write(P("npz_not_zip.npz"), b"\x93NUMPY not a zip")
    case("npz_not_zip", "audio", "audio/npz_not_zip.npz", "2", "not a zip archive")
    # Zip bomb: train.npy declares [N, L, D] float32 with N*L*D*4 = 2 GiB, deflated to ~2 MB.
    n = 2 ** 31 // (length * dim * 4)
    header = npy((n, length, dim), b"")
    zip_with_bomb(P("npz_zip_bomb.npz"), arrays()[1:], "train.npy", header, n * length * dim * 4)
    case("npz_zip_bomb", "audio", "audio/npz_zip_bomb.npz", "2", "train.npy deflates from 2 MB to 2 GiB (issue: 3.6 GB)")


def safetensors(tensors, header=None, data=b"", length=None):
    if header is None:
        header = json.dumps(tensors).encode()
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def write_safetensors(out, sizes, length, dim):
    P = lambda name: os.path.join(out, "audio", name)

    def valid(shape_of=None, offsets_of=None, dtype="F32"):
        tensors, data = {}, b""
        for k, (name, n) in enumerate(zip(("train", "dev", "test"), sizes)):
            raw = f32(aligned_values(n, length, dim, k))
            shape = shape_of(k, (n, length, dim)) if shape_of else [n, length, dim]
            offsets = offsets_of(k, len(data), len(data) + len(raw)) if offsets_of else [len(data), len(data) + len(raw)]
            tensors[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}
            data += raw
        return tensors, data

    t, data = valid()
    write(P("st_control.safetensors"), safetensors(t, data=data))
    case("st_control", "audio", "audio/st_control.safetensors", "0", "control: a valid safetensors file")
    write(P("st_header_len_huge.safetensors"), safetensors(t, data=data, length=2 ** 63))
    case("st_header_len_huge", "audio", "audio/st_header_len_huge.safetensors", "2", "header length 2^63")
    write(P("st_header_len_beyond.safetensors"), safetensors(t, data=data, length=90 * 2 ** 20))
    case("st_header_len_beyond", "audio", "audio/st_header_len_beyond.safetensors", "2", "header length 90 MB, beyond the file")
    t2, _ = valid(offsets_of=lambda k, a, b: [a, b + 2 ** 40])
    write(P("st_offsets_beyond.safetensors"), safetensors(t2, data=data))
    case("st_offsets_beyond", "audio", "audio/st_offsets_beyond.safetensors", "2", "data offsets beyond the file")
    t3, _ = valid(shape_of=lambda k, s: [2 ** 32, 2 ** 32, 2 ** 4], offsets_of=lambda k, a, b: [0, 0])
    write(P("st_shape_overflow.safetensors"), safetensors(t3))
    case("st_shape_overflow", "audio", "audio/st_shape_overflow.safetensors", "2", "shape product overflows 64 bits")
    t4, _ = valid(shape_of=lambda k, s: [s[0], 0, s[2]], offsets_of=lambda k, a, b: [0, 0])
    write(P("st_zero_dim.safetensors"), safetensors(t4))
    case("st_zero_dim", "audio", "audio/st_zero_dim.safetensors", "2", "[N, 0, D] tensors")
    write(P("st_deep_header.safetensors"), safetensors(None, header=b"[" * 100000 + b"]" * 100000))
    case("st_deep_header", "audio", "audio/st_deep_header.safetensors", "2", "header JSON nested 100,000 deep")
    t5, _ = valid(dtype="F128")
    write(P("st_bad_dtype.safetensors"), safetensors(t5, data=data))
    case("st_bad_dtype", "audio", "audio/st_bad_dtype.safetensors", "2", "unknown dtype F128")


# ---------------------------------------------------------------- word-level JSONL

def write_jsonl(out, data_dir, dim):
    P = lambda name: os.path.join(out, "audio", name)
    v = [0.5] * dim
    row = lambda **kw: json.dumps(dict({"split": "train", "index": 0, "words": ["a"], "features": [v]}, **kw))
    if data_dir and os.path.isfile(os.path.join(data_dir, "audio.jsonl")):
        shutil.copy(os.path.join(data_dir, "audio.jsonl"), P("jsonl_control.jsonl"))
        case("jsonl_control", "audio", "audio/jsonl_control.jsonl", "0", "control: the corpus's own word-level file")
    write(P("jsonl_index_1e9.jsonl"), row(index=10 ** 9) + "\n")
    case("jsonl_index_1e9", "audio", "audio/jsonl_index_1e9.jsonl", "2", "one line with index 10^9 (issue: 22.8 GB)")
    write(P("jsonl_index_max.jsonl"), row(index=2 ** 64 - 1) + "\n")
    case("jsonl_index_max", "audio", "audio/jsonl_index_max.jsonl", "2", "index 2^64-1 (issue: panics audio.rs:494)")
    write(P("jsonl_index_negative.jsonl"), row(index=-1) + "\n")
    case("jsonl_index_negative", "audio", "audio/jsonl_index_negative.jsonl", "2", "index -1")
    write(P("jsonl_nested_10k.jsonl"),
          '{"split": "train", "index": 0, "words": ["a"], "features": ' + "[" * 10000 + "]" * 10000 + "}\n")
    case("jsonl_nested_10k", "audio", "audio/jsonl_nested_10k.jsonl", "2", "features nested 10,000 arrays deep")
    write(P("jsonl_nan.jsonl"), row().replace("0.5", "NaN", 1) + "\n")
    case("jsonl_nan", "audio", "audio/jsonl_nan.jsonl", "2", "a NaN feature value")
    write(P("jsonl_inf.jsonl"), row().replace("0.5", "1e999", 1) + "\n")
    case("jsonl_inf", "audio", "audio/jsonl_inf.jsonl", "2", "a feature value of 1e999")
    write(P("jsonl_count_mismatch.jsonl"), row(words=["a", "b", "c"]) + "\n")
    case("jsonl_count_mismatch", "audio", "audio/jsonl_count_mismatch.jsonl", "2", "3 words, 1 feature vector")
    write(P("jsonl_dim_1e6.jsonl"), row(features=[[0] * 10 ** 6]) + "\n")
    case("jsonl_dim_1e6", "audio", "audio/jsonl_dim_1e6.jsonl", "2", "a feature vector of 10^6 dimensions (2 MB)")
    write(P("jsonl_dims_differ.jsonl"), row() + "\n" + row(index=1, features=[[0.5] * (dim + 1)]) + "\n")
    case("jsonl_dims_differ", "audio", "audio/jsonl_dims_differ.jsonl", "2", "vectors of different lengths")
    write(P("jsonl_duplicate.jsonl"), row() + "\n" + row() + "\n")
    case("jsonl_duplicate", "audio", "audio/jsonl_duplicate.jsonl", "2", "the same utterance twice")
    write(P("jsonl_bad_header.jsonl"), '{"feature_set": 5}\n' + row() + "\n")
    case("jsonl_bad_header", "audio", "audio/jsonl_bad_header.jsonl", "2", "a feature_set header that is a number")
    write(P("jsonl_not_utf8.jsonl"), b'{"split": "train", "index": 0, "words": ["\xff\xfe"], "features": [[1]]}\n')
    case("jsonl_not_utf8", "audio", "audio/jsonl_not_utf8.jsonl", "2", "invalid UTF-8 in a word")
    write(P("jsonl_many_words.jsonl"), row(words=["a"] * 200000, features=[[0.5]] * 200000) + "\n")
    case("jsonl_many_words", "audio", "audio/jsonl_many_words.jsonl", "2", "one utterance of 200,000 words (3 MB)")


# ---------------------------------------------------------------- WAV and word timings

def wav(rate=16000, channels=1, bits=16, samples=b"", data_len=None, fmt_tag=1, block_align=None,
        byte_rate=None, extensible=None, riff_len=None):
    if block_align is None:
        block_align = channels * bits // 8
    if byte_rate is None:
        byte_rate = (rate * block_align) & 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, byte_rate, block_align, bits)
    if extensible is not None:
        valid_bits, guid = extensible
        fmt += struct.pack("<HHI", 22, valid_bits, 3) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples) if data_len is None else data_len) + samples
    return b"RIFF" + struct.pack("<I", len(body) if riff_len is None else riff_len) + body


def sine16(seconds=1.0, rate=16000, freq=220.0):
    n = int(seconds * rate)
    return struct.pack("<%dh" % n, *(int(16000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))


def textgrid(intervals, xmax=1.0, size=None, tier_count=1, name="words"):
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", "xmax = %s" % xmax,
             "tiers? <exists>", "size = %s" % tier_count, "item []:", "    item [1]:",
             '        class = "IntervalTier"', '        name = "%s"' % name, "        xmin = 0",
             "        xmax = %s" % xmax, "        intervals: size = %s" % (len(intervals) if size is None else size)]
    for i, (a, b, t) in enumerate(intervals):
        lines += ["        intervals [%d]:" % (i + 1), "            xmin = %s" % a, "            xmax = %s" % b,
                  '            text = "%s"' % t]
    return "\n".join(lines) + "\n"


PCM_GUID = b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
GOOD_TG = textgrid([(0, 0.1, ""), (0.1, 0.9, "tone"), (0.9, 1.0, "")])


def features_case(out, name, description, expected="2", wav_bytes=None, align_name="h.TextGrid", align=GOOD_TG,
                  needle=None):
    """A directory for `features`: wavs/{h,d,t}.wav, align/, data/ (train: h, dev: d, test: t)."""
    d = os.path.join(out, "features", name)
    good = wav(samples=sine16())
    write(os.path.join(d, "wavs", "h.wav"), good if wav_bytes is None else wav_bytes)
    for other in ("d", "t"):
        write(os.path.join(d, "wavs", other + ".wav"), good)
        write(os.path.join(d, "align", other + ".TextGrid"), GOOD_TG)
    write(os.path.join(d, "align", align_name), align)
    for split, (label, id_) in {"train": ("1.0", "h"), "dev": ("0.5", "d"), "test": ("-0.5", "t")}.items():
        write(os.path.join(d, "data", split + ".tsv"), "text\tlabel\tid\nTONE\t%s\t%s\n" % (label, id_))
    case(name, "features", "features/%s" % name, expected, description,
         needle=needle or (align_name if wav_bytes is None else "h.wav"))


def write_wavs_and_timings(out):
    features_case(out, "wav_control", "control: 1 s 16 kHz sine and its TextGrid", "0", needle="-")
    tiny = wav(rate=4294967295, bits=8, channels=1, samples=b"\x80" * 16000)
    features_case(out, "wav_rate_max", "8-bit WAV at 4294967295 Hz, 16 KB (issue: 10 GB)", wav_bytes=tiny,
                  align=textgrid([(0, 0.000001, "tone")], xmax=0.000001))
    features_case(out, "wav_zero_channels", "0 channels", wav_bytes=wav(channels=0, block_align=2, samples=sine16()))
    features_case(out, "wav_data_beyond", "data chunk length 0xFFFFFFF0, file 32 KB",
                  wav_bytes=wav(samples=sine16(), data_len=0xFFFFFFF0))
    features_case(out, "wav_zero_bits", "0 bits per sample", wav_bytes=wav(bits=0, block_align=2, samples=sine16()))
    features_case(out, "wav_ext_zero_bits", "WAVE_FORMAT_EXTENSIBLE, 0 bits in both fields",
                  wav_bytes=wav(fmt_tag=0xFFFE, bits=0, block_align=2, samples=sine16(), extensible=(0, PCM_GUID)))
    features_case(out, "wav_ext_valid_bits_huge", "WAVE_FORMAT_EXTENSIBLE, 65535 valid bits in 16-bit samples",
                  wav_bytes=wav(fmt_tag=0xFFFE, samples=sine16(), extensible=(65535, PCM_GUID)))
    features_case(out, "wav_truncated", "header for 1 s, 1000 bytes of it present",
                  wav_bytes=wav(samples=sine16())[:1000])
    features_case(out, "wav_not_wav", "text named .wav", wav_bytes=b"not a wav file\n" * 100)
    features_case(out, "wav_riff_len_huge", "RIFF length 0xFFFFFFFF (the data is intact)", "any", wav_bytes=wav(samples=sine16(), riff_len=0xFFFFFFFF))
    features_case(out, "wav_64bit", "64-bit integer PCM", wav_bytes=wav(bits=64, samples=sine16() * 4))
    features_case(out, "wav_many_channels", "65535 channels", "any", needle="h.",
                  wav_bytes=wav(channels=65535, bits=8, block_align=65535, samples=b"\x80" * 65535 * 2))
    # Word timings, with a good WAV.
    features_case(out, "tg_negative", "TextGrid interval from -5 s", align=textgrid([(-5, 0.9, "tone")]))
    features_case(out, "tg_nan", "TextGrid interval times +nan", align=textgrid([("+nan", "+nan", "tone")]))
    features_case(out, "tg_reversed", "TextGrid interval ending before it starts", align=textgrid([(0.9, 0.1, "tone")]))
    features_case(out, "tg_xmax_1e300", "TextGrid interval to 1e300 s", align=textgrid([(0.1, "1e300", "tone")], xmax="1e300"))
    features_case(out, "tg_interval_count_huge", "TextGrid claims 9,999,999 intervals, holds 1",
                  align=textgrid([(0.1, 0.9, "tone")], size=9999999))
    features_case(out, "tg_interval_count_1e12", "TextGrid claims 10^12 intervals",
                  align=textgrid([(0.1, 0.9, "tone")], size="1e12"))
    features_case(out, "tg_tier_count_huge", "TextGrid claims 9,999,999 tiers",
                  align=textgrid([(0.1, 0.9, "tone")], tier_count=9999999))
    features_case(out, "tg_utf16_odd", "UTF-16 TextGrid with an odd byte count and a lone surrogate",
                  align=b"\xff\xfe" + GOOD_TG.encode("utf-16-le") + b"\x00\xd8\x41")
    features_case(out, "tg_unterminated", "TextGrid whose last text never ends",
                  align=GOOD_TG + '        "unterminated\n')
    features_case(out, "csv_nan", "CSV word times nan", align_name="h.csv", align="word,start,end\ntone,nan,nan\n")
    features_case(out, "csv_reversed", "CSV word ending before it starts", align_name="h.csv",
                  align="word,start,end\ntone,0.9,0.1\n")
    features_case(out, "csv_negative", "CSV word from -1 s", align_name="h.csv", align="word,start,end\ntone,-1,0.5\n")
    features_case(out, "json_1e300", "JSON word end 1e300", align_name="h.json",
                  align='[{"word": "tone", "start": 0.1, "end": 1e300}]')
    features_case(out, "json_deep", "JSON timings nested 100,000 deep", align_name="h.json",
                  align="[" * 100000 + "]" * 100000)
    features_case(out, "json_huge_list", "JSON with 100,000 words for a one-word transcript", align_name="h.json",
                  align=json.dumps([{"word": "tone", "start": i * 1e-6, "end": (i + 1) * 1e-6} for i in range(100000)]))


# ---------------------------------------------------------------- themes

def write_themes(out):
    P = lambda name: os.path.join(out, "theme", name)
    write(P("theme_deep.toml"), "a = " + "[" * 100000 + "]" * 100000 + "\n")
    case("theme_deep", "theme", "theme/theme_deep.toml", "2", "an array nested 100,000 deep")
    write(P("theme_deep_tables.toml"), "[" + ".".join("t%d" % i for i in range(20000)) + "]\nx = 1\n")
    case("theme_deep_tables", "theme", "theme/theme_deep_tables.toml", "2", "a table header 20,000 keys deep")
    write(P("theme_wrong_types.toml"), "[ui]\ntext = 5\n[heatmap]\nsequential = \"#ffffff\"\n")
    case("theme_wrong_types", "theme", "theme/theme_wrong_types.toml", "2", "numbers where colours belong")
    write(P("theme_huge_array.toml"), "[heatmap]\nsequential = [" + ", ".join(['"#102030"'] * 300000) + "]\n")
    case("theme_huge_array", "theme", "theme/theme_huge_array.toml", "any", "a colour map of 300,000 stops (3 MB)")
    write(P("theme_bad_colour.toml"), '[ui]\ntext = "#zzzzzz"\n')
    case("theme_bad_colour", "theme", "theme/theme_bad_colour.toml", "2", "colour #zzzzzz")
    write(P("theme_not_utf8.toml"), b"name = \"\xff\xfe\"\n")
    case("theme_not_utf8", "theme", "theme/theme_not_utf8.toml", "2", "invalid UTF-8")
    write(P("theme_one_stop.toml"), '[heatmap]\nsequential = ["#000000"]\ndiverging = []\n')
    case("theme_one_stop", "theme", "theme/theme_one_stop.toml", "2", "colour maps of one and zero stops")


# ---------------------------------------------------------------- BERT configs (train --bert DIR)

def empty_safetensors():
    return safetensors(None, header=b'{"__metadata__":{"format":"pt"}}')


def write_configs(out):
    def config_case(name, description, expected="2", change=None, text=None):
        d = os.path.join(out, "config", name)
        cfg = dict(TINY_CONFIG)
        cfg.update(change or {})
        write(os.path.join(d, "config.json"), text if text is not None else json.dumps(cfg, indent=1))
        write(os.path.join(d, "vocab.txt"), "\n".join(TINY_VOCAB) + "\n")
        write(os.path.join(d, "model.safetensors"), empty_safetensors())
        case(name, "config", "config/%s" % name, expected, description, needle="config.json")

    config_case("cfg_control", "control: a tiny valid config, no weights (fresh encoder)", "0")
    config_case("cfg_vocab_1e11", "vocab_size 1e11 (issue: blow-up)", change={"vocab_size": 10 ** 11})
    config_case("cfg_intermediate_0", "intermediate_size 0 (issue: panics)", change={"intermediate_size": 0})
    config_case("cfg_eps_negative", "layer_norm_eps -1 (issue: trains to NaN, exits 0)", change={"layer_norm_eps": -1})
    config_case("cfg_dropout_2", "hidden_dropout_prob 2.0 (issue: NaN, exits 0)", change={"hidden_dropout_prob": 2.0})
    config_case("cfg_heads_not_dividing", "hidden 30, 4 heads", change={"hidden_size": 30})
    config_case("cfg_layers_1e6", "num_hidden_layers 10^6", change={"num_hidden_layers": 10 ** 6})
    config_case("cfg_hidden_1e6", "hidden_size 2^20 with 1 head", change={"hidden_size": 2 ** 20, "num_attention_heads": 1})
    config_case("cfg_max_pos_0", "max_position_embeddings 0", change={"max_position_embeddings": 0})
    config_case("cfg_type_vocab_0", "type_vocab_size 0", change={"type_vocab_size": 0})
    config_case("cfg_vocab_small", "vocab_size 3 but a 34-word vocab.txt", change={"vocab_size": 3})
    config_case("cfg_deep_json", "config.json nested 100,000 deep", text='{"a": ' + "[" * 100000 + "]" * 100000 + "}")
    config_case("cfg_negative", "hidden_size -32", text=json.dumps(dict(TINY_CONFIG, hidden_size=-32)))


# ---------------------------------------------------------------- data dirs and checkpoints

def copy_data(data_dir, dst):
    shutil.copytree(data_dir, dst)
    for f in os.listdir(dst):
        if not f.endswith(".tsv"):
            os.remove(os.path.join(dst, f))


def write_tsvs(out, data_dir):
    if not data_dir:
        return

    def tsv_case(name, description, expected, edit, rows=None):
        """A copy of the data whose test.tsv is `edit(bytes)`, or with `rows(header, rows)` edited."""
        d = os.path.join(out, "tsv", name)
        copy_data(data_dir, d)
        p = os.path.join(d, "test.tsv")
        with open(p, "rb") as f:
            content = f.read()
        if rows:
            header, *body = content.split(b"\r\n")
            content = b"\r\n".join([header] + rows([r for r in body if r]))+ b"\r\n"
        write(p, edit(content) if edit else content)
        case(name, "tsv", "tsv/%s" % name, expected, description, needle="test.tsv")

    tsv_case("tsv_bom", "test.tsv with a UTF-8 BOM (spreadsheets write one): must be accepted", "0",
             lambda c: b"\xef\xbb\xbf" + c)
    tsv_case("tsv_utf16", "test.tsv in UTF-16 with a BOM", "2", lambda c: b"\xff\xfe" + c.decode().encode("utf-16-le"))
    tsv_case("tsv_latin1", "test.tsv with a Latin-1 byte in a text", "2", None,
             rows=lambda r: [r[0].replace(b"\t", b" caf\xe9\t", 1)] + r[1:])
    tsv_case("tsv_cr_only", "test.tsv with classic-Mac CR line ends", "2", lambda c: c.replace(b"\r\n", b"\r"))
    tsv_case("tsv_nul", "NUL bytes inside a text", "any", None, rows=lambda r: [r[0].replace(b" ", b"\x00\x00 ", 1)] + r[1:])
    tsv_case("tsv_label_inf", "a label of inf", "2", None, rows=lambda r: [r[0].rsplit(b"\t", 1)[0] + b"\tinf"] + r[1:])
    tsv_case("tsv_long_line", "an utterance of 200,000 words (1 MB line)", "any", None,
             rows=lambda r: [b"good " * 200000 + b"\t0.5"] + r)
    # The data for the out-of-vocabulary case: a test text with words only the grown vocabulary has.
    copy_data(data_dir, os.path.join(out, "tsv", "oov_data"))
    p = os.path.join(out, "tsv", "oov_data", "test.tsv")
    with open(p, "rb") as f:
        header, first, rest = f.read().split(b"\r\n", 2)
    text, label = first.rsplit(b"\t", 1)
    write(p, header + b"\r\n" + text + b" zzhostile3 zzhostile17\t" + label + b"\r\n" + rest)


def write_checkpoint_variants(out, run_dir):
    best, last = os.path.join(run_dir, "best"), os.path.join(run_dir, "last")
    if not (os.path.isdir(best) and os.path.isdir(last)):
        return

    def ckpt_case(name, description, expected, base, edit, kind="vocab", needle=None, sub=""):
        d = os.path.join(out, "ckpt", name, sub)
        shutil.copytree(base, d)
        if sub:
            # A whole run directory: resuming a last/ whose run has a best epoch loads best/ too.
            shutil.copytree(best, os.path.join(out, "ckpt", name, "best"))
        edit(d)
        case(name, kind, os.path.join("ckpt", name, sub), expected, description, needle=needle)

    def replace(fname, data, remove=()):
        def edit(d):
            for r in remove:
                os.remove(os.path.join(d, r))
            write(os.path.join(d, fname), data)
        return edit

    ckpt_case("vocab_empty", "vocab.txt empty", "2", best, replace("vocab.txt", b""), needle="vocab.txt")
    ckpt_case("vocab_no_cls", "vocab.txt without [CLS]", "2", best,
              replace("vocab.txt", "\n".join(t for t in TINY_VOCAB if t != "[CLS]") + "\n"), needle="vocab.txt")
    ckpt_case("vocab_binary", "vocab.txt of binary bytes", "2", best,
              replace("vocab.txt", bytes(range(256)) * 64), needle="vocab.txt")
    ckpt_case("tokenizer_bad_json", "tokenizer.json that is not JSON, no vocab.txt", "2", best,
              replace("tokenizer.json", b"{\"model\": ", remove=("vocab.txt",)), needle="tokenizer.json")
    ckpt_case("tokenizer_deep", "tokenizer.json nested 100,000 deep, no vocab.txt", "2", best,
              replace("tokenizer.json", "[" * 100000 + "]" * 100000, remove=("vocab.txt",)), needle="tokenizer.json")

    def oov(d):
        # Word ids past the embedding table: the vocabulary grows, config.json does not.
        with open(os.path.join(d, "vocab.txt"), "a") as f:
            f.write("".join("zzhostile%d\n" % i for i in range(20)))
    ckpt_case("vocab_oov_ids", "vocab.txt longer than vocab_size, a text using the extra words", "2", best, oov,
              kind="vocab_oov", needle="vocab")

    def spec_edit(name, **changes):
        def edit(d):
            p = os.path.join(d, "config.json")
            with open(p) as f:
                cfg = json.load(f)
            # Output beside the checkpoint (where --resume D/last writes once fixed), so
            # these cases never reach the run they were copied from.
            changes["out"] = os.path.abspath(os.path.join(out, "ckpt", name))
            cfg["cmbert"]["training"]["spec"].update(changes)
            write(p, json.dumps(cfg, indent=1))
        return edit

    for name, description, changes in [
        ("resume_max_len_3e7", "last/ whose run spec says max_len 3e7 (issue: blow-up)", {"max_len": 30000000}),
        ("resume_batch_0", "last/ whose run spec says batch_size 0 (issue: panics)", {"batch_size": 0}),
        ("resume_eval_batch_0", "last/ whose run spec says eval_batch_size 0", {"eval_batch_size": 0}),
        ("resume_negative", "last/ whose run spec says warmup -1, max_grad_norm -1", {"warmup": -1.0, "max_grad_norm": -1.0}),
        ("resume_lr_huge", "last/ whose run spec says lr 1e30 (trains to inf/NaN)", {"groups": "LR"}),
    ]:
        changes = dict(changes, epochs=2)
        if changes.get("groups") == "LR":
            with open(os.path.join(last, "config.json")) as f:
                groups = json.load(f)["cmbert"]["training"]["spec"]["groups"]
            changes["groups"] = dict(groups, lr=1e30, head_lr=1e30)
        # A finite, positive learning rate passes validation; what must happen is a stop at
        # the step that diverged, named as such (nothing saved as best).
        needle = "training diverged" if name == "resume_lr_huge" else name
        ckpt_case(name, description, "2", last, spec_edit(name, **changes), kind="resume", needle=needle, sub="last")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--data", help="MOSI-text dir from `cmbert-tui corpus` (controls match its sizes and texts)")
    ap.add_argument("--ckpt", help="a finished `train --out` dir with best/ and last/")
    ap.add_argument("--len", type=int, default=50, help="token positions of the token-aligned files")
    ap.add_argument("--dim", type=int, default=5, help="feature dimensions")
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    args = ap.parse_args()
    if os.path.exists(args.out) and os.listdir(args.out):
        ap.error("%s exists and is not empty" % args.out)
    os.makedirs(args.out, exist_ok=True)
    sizes, texts = [4, 2, 2], None
    if args.data:
        texts = []
        for split in ("train", "dev", "test"):
            with open(os.path.join(args.data, split + ".tsv"), encoding="utf-8") as f:
                rows = [l.rstrip("\r\n").split("\t") for l in f.read().splitlines()[1:] if l.strip()]
            texts.append([r[0] for r in rows])
        sizes = [len(t) for t in texts]
    write_pickles(args.out, sizes, texts, args.len, args.dim)
    write_bins(args.out, args.repo)
    write_npz(args.out, sizes, args.len, args.dim)
    write_safetensors(args.out, sizes, args.len, args.dim)
    write_jsonl(args.out, args.data, args.dim)
    write_wavs_and_timings(args.out)
    write_themes(args.out)
    write_configs(args.out)
    write_tsvs(args.out, args.data)
    if args.ckpt:
        write_checkpoint_variants(args.out, args.ckpt)
    with open(os.path.join(args.out, "cases.tsv"), "w") as f:
        f.write("name\tkind\tpath\texpected\tneedle\tdescription\n")
        for c in CASES:
            f.write("\t".join(str(x) for x in c) + "\n")
    kinds = {}
    for c in CASES:
        kinds[c[1]] = kinds.get(c[1], 0) + 1
    print("%d cases in %s: %s" % (len(CASES), args.out, ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))


if __name__ == "__main__":
    main()
