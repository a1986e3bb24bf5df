//! Writing a benchmark's JSON report.

use std::path::Path;

use anyhow::{Context, Result};

pub fn write(path: &Path, report: &serde_json::Value) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(report).expect("a JSON value always serializes");
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    println!("report: {}", path.display());
    Ok(())
}
