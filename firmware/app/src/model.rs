//! The Generator embedded at build time (see `build.rs`): its weights live in flash as a
//! `static` of the core's network type.
//!
//! `PICOGAN_MODEL` chooses the file when the firmware is built; by default it is the
//! reference model `models/digits-small.safetensors`, which `picogan train` wrote with its
//! default settings.

include!(concat!(env!("OUT_DIR"), "/model.rs"));
