//! CRC-32 checksums of f32 values, computed as `picogan` computes them on the desktop, so
//! that results can be compared bit for bit.
//!
//! The checksum is CRC-32/ISO-HDLC (the one of zlib and PNG) over each value's four
//! little-endian bytes, in order.

use crc::{Crc, Digest, CRC_32_ISO_HDLC};
use picogan::Layer;

/// The CRC-32 algorithm both sides use.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Adds `values`' little-endian bytes to `digest`.
pub fn update(digest: &mut Digest<'_, u32>, values: &[f32]) {
    for v in values {
        digest.update(&v.to_le_bytes());
    }
}

/// CRC-32 of every parameter of `net`, tensor by tensor in [`Layer::tensor`] order.
pub fn crc32_layer<L: Layer>(net: &L) -> u32 {
    let mut digest = CRC32.digest();
    for i in 0..L::TENSORS {
        update(&mut digest, net.tensor(i));
    }
    digest.finalize()
}
