"""Writes the seed inputs of the safetensors fuzz target into seeds/: small valid files
covering each dtype the loader converts, prefixes, renames, extra tensors and checksums, and
int8 networks as `picogan quantize` writes them."""

import json
import math
import struct
import zlib
from pathlib import Path

FORMATS = {"F32": "<f", "F64": "<d", "I32": "<i", "U8": "<B", "I8": "<b"}


def half_bits(x, dtype):
    """f16 or bf16 bits of x (bf16 by truncation, exact for the values used here)."""
    if dtype == "F16":
        return struct.unpack("<H", struct.pack("<e", x))[0]
    return struct.unpack("<I", struct.pack("<f", x))[0] >> 16


def pack(values, dtype):
    if dtype in ("F16", "BF16"):
        return b"".join(struct.pack("<H", half_bits(v, dtype)) for v in values)
    return b"".join(struct.pack(FORMATS[dtype], v) for v in values)


def write(path, tensors, metadata=None, crc=False):
    """tensors: (name, dtype, shape, values); data in the order given."""
    header, data = {}, b""
    for name, dtype, shape, values in tensors:
        raw = pack(values, dtype)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    metadata = dict(metadata or {})
    if crc:
        metadata["crc32"] = f"{zlib.crc32(data):08x}"
    if metadata:
        header = {"__metadata__": metadata, **header}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def values(n, seed):
    """n values in [-1, 1) that f16 and bf16 hold exactly (multiples of 1/128)."""
    out, x = [], seed
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2**31
        out.append((x % 256 - 128) / 128)
    return out


def linear(prefix, layer, out, inp, dtype, seed):
    return [
        (f"{prefix}{layer}.weight", dtype, [out, inp], values(out * inp, seed)),
        (f"{prefix}{layer}.bias", dtype, [out], values(out, seed + 1)),
    ]


seeds = Path(__file__).parent / "seeds"
seeds.mkdir(exist_ok=True)
tiny = linear("fc.", 0, 24, 2, "F32", 1) + linear("fc.", 2, 24, 24, "F32", 3) + linear("fc.", 4, 2, 24, "F32", 5)
write(seeds / "tiny-generator.safetensors", tiny, {"format": "pt"}, crc=True)
write(seeds / "linear-f16.safetensors", linear("fc.", 0, 2, 3, "F16", 7))
write(
    seeds / "linear-bf16-f64.safetensors",
    [("fc.0.bias", "F64", [2], [0.1, -0.5]), ("fc.0.weight", "BF16", [2, 3], values(6, 9))],
)
write(
    seeds / "linear-prefixed.safetensors",
    linear("generator.fc.", 0, 2, 3, "F32", 11) + [("discriminator.fc.0.bias", "U8", [3], [1, 2, 3])],
)
write(
    seeds / "linear-renamed.safetensors",
    linear("net.", 0, 2, 3, "F32", 13) + [("net.1.weight", "I32", [1], [7])],
    {"note": "a \"quoted\" word"},
    crc=True,
)
write(seeds / "empty.safetensors", [])


def qlinear(layer, out, inp, params, seed):
    """An int8 fully connected layer: weights, biases, requantization factors, and the
    (scale, zero point) of its input and output. I32 and F32 tensors first, then I8, so that
    every tensor is aligned for its dtype."""
    (s_in, z_in), (s_out, z_out) = params
    wide = [
        (f"fc.{layer}.bias", "I32", [out], [int(v * 1000) for v in values(out, seed)]),
        (f"fc.{layer}.multiplier", "I32", [out], [(1 << 30) + i * 4099 for i in range(out)]),
        (f"fc.{layer}.scales", "F32", [2], [s_in, s_out]),
        (f"fc.{layer}.zero_points", "I32", [2], [z_in, z_out]),
    ]
    narrow = [
        (f"fc.{layer}.shift", "I8", [out], [-3 - i % 5 for i in range(out)]),
        (f"fc.{layer}.weight", "I8", [out, inp], [int(v * 127) for v in values(out * inp, seed + 1)]),
    ]
    return wide, narrow


# the tiny points Generator in int8: 2 → 24 (ReLU) → 24 (ReLU) → 2, each ReLU fused into the
# layer before it (output zero point -128)
noise, h1, h2, out = (0.0453, -1), (0.03, -128), (0.02, -128), (0.01, 5)
layers = [qlinear(0, 24, 2, (noise, h1), 21), qlinear(2, 24, 24, (h1, h2), 23), qlinear(4, 2, 24, (h2, out), 25)]
tiny8 = [t for wide, _ in layers for t in wide] + [t for _, narrow in layers for t in narrow]
write(seeds / "tiny-int8.safetensors", tiny8, {"format": "picogan-int8"}, crc=True)
# without a checksum, so that a changed value reaches the int8 checks
write(seeds / "tiny-int8-unchecked.safetensors", tiny8, {"format": "picogan-int8"})
# a layer and a tanh table: 3 → 2 (Tanh)
wide, narrow = qlinear(0, 2, 3, ((0.05, 0), (0.025, -3)), 27)
table = [("fc.1.table", "I8", [256], [max(-128, min(127, round(128 * math.tanh(0.025 * (q + 3))))) for q in range(-128, 128)])]
write(seeds / "tanh-int8.safetensors", wide + narrow + table, {"format": "picogan-int8"})
