"""Writes the seed inputs of the safetensors fuzz target into seeds/: small valid files
covering each dtype the loader converts, prefixes, renames, extra tensors and checksums."""

import json
import struct
import zlib
from pathlib import Path

FORMATS = {"F32": "<f", "F64": "<d", "I32": "<i", "U8": "<B"}


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
