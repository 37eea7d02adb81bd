//! Compiles every `.proto` under `proto/` with protox (pure Rust: no system `protoc`), writes the
//! descriptor set for gRPC reflection, and generates prost/tonic code into OUT_DIR.

use std::path::{Path, PathBuf};

use prost::Message;

fn protos(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            protos(&path, root, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let rel = path.strip_prefix(root).map_err(std::io::Error::other)?;
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let root = root.canonicalize()?;
    let mut files = Vec::new();
    protos(&root, &root, &mut files)?;
    files.sort();
    // Relative to this package: clones that share one target dir (CI, worktrees) reuse this
    // build script's output, and an absolute path would watch whichever clone built it last.
    println!("cargo:rerun-if-changed=../../proto");

    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("hwx_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .emit_rerun_if_changed(false)
        .compile_fds(fds)?;
    Ok(())
}
