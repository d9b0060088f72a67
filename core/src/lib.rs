//! picogan: generative adversarial networks small enough to train on a microcontroller.
//!
//! Everything here is `no_std` and allocation-free. A network is a type: its layers and
//! every size are const generics, so weights, gradients, optimizer state and activation
//! scratch are plain arrays whose size the compiler knows, and a network can live in a
//! `static`. Forward and backward passes are written by hand, layer by layer.
//!
//! Dimension names used throughout:
//!
//! | name  | meaning                                   |
//! |-------|-------------------------------------------|
//! | `IN`  | input width of a layer                    |
//! | `OUT` | output width of a layer                   |
//! | `N`   | width of an element-wise layer            |
//! | `Z`   | noise width, the Generator's input        |
//! | `X`   | data width, the Generator's output        |
//! | `B`   | minibatch size (a runtime count, never a buffer size) |
//!
//! # Examples
//!
//! A Generator and a Discriminator for 2-D points, defined in user code:
//!
//! ```
//! use picogan::{seq, Gan, Init, Layer, Linear, Relu, LeakyRelu, StepConfig};
//! use picogan::optim::{Adam, AdamConfig};
//! use rand_xoshiro::Xoshiro128PlusPlus;
//! use rand_core::SeedableRng;
//!
//! type Gen = seq![Linear<2, 16>, Relu<16>, Linear<16, 2>];
//! // The Discriminator ends in a logit: its Sigmoid is fused into the loss.
//! type Disc = seq![Linear<2, 16>, LeakyRelu<16, 200>, Linear<16, 1>];
//!
//! let mut rng = Xoshiro128PlusPlus::seed_from_u64(1);
//! let mut g = Gen::ZEROED;
//! let mut d = Disc::ZEROED;
//! g.init(Init::PyTorchDefault, &mut rng);
//! d.init(Init::PyTorchDefault, &mut rng);
//!
//! let adam = AdamConfig::GAN;
//! let mut gan = Gan::new(g, d, Adam::new(adam), Adam::new(adam));
//! let cfg = StepConfig { batch: 8, ..StepConfig::DEFAULT };
//! let mut noise_rng = Xoshiro128PlusPlus::seed_from_u64(2);
//! let stats = gan
//!     .step(
//!         &cfg,
//!         |x: &mut [f32; 2]| *x = [1.0, 0.0],
//!         |z: &mut [f32; 2]| picogan::noise::gaussian(&mut noise_rng, z),
//!     )
//!     .unwrap();
//! assert!(stats.d_loss.is_finite() && stats.g_loss.is_finite());
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
mod chain;
pub mod fixed;
pub mod gan;
pub mod init;
mod kernels;
mod layer;
pub mod linear;
pub mod loss;
pub mod mixture;
pub mod models;
pub mod noise;
pub mod optim;
pub mod quant;
pub mod recipe;
pub mod safetensors;
pub mod scalar;
pub mod streams;

pub use activation::{LeakyRelu, Relu, Sigmoid, Tanh};
pub use chain::Chain;
pub use fixed::Q16;
pub use gan::{Gan, StepConfig, StepStats, TrainError};
pub use init::Init;
pub use layer::{Layer, ParamKind, TensorInfo, Vector};
pub use linear::Linear;
pub use loss::GeneratorLoss;
pub use scalar::Scalar;

/// Re-exported so that users name the same trait versions as the core.
pub use rand_core;
