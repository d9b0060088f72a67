//! What the command-line tests share: running `picogan` and a scratch directory per test.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `picogan` this crate built, with `args`.
pub fn picogan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picogan"))
        .args(args)
        .output()
        .unwrap()
}

/// An empty directory for one test, under the system's temporary directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("picogan-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
