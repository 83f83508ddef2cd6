//! The criterion micro benchmarks' latest results (`cargo bench -p
//! corio-bench`), folded into the report when they exist.

use crate::report::{fmt_ratio, Report};
use std::path::Path;

/// Median estimate (ns) of one criterion benchmark, from its estimates.json.
fn median_ns(dir: &Path) -> Option<f64> {
    let json = std::fs::read_to_string(dir.join("new/estimates.json")).ok()?;
    let rest = json.split("\"median\"").nth(1)?;
    let rest = rest.split("\"point_estimate\":").nth(1)?;
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

/// Add a table of every group under `target/criterion`, corio first, with
/// each contender's time as a multiple of corio's.
pub fn add_to(report: &mut Report) {
    let root = Path::new("target/criterion");
    let Ok(groups) = std::fs::read_dir(root) else {
        report.section("Runtime micro-costs");
        report.para("Not measured in this run: `cargo bench -p corio-bench` writes them, and a later `all` folds them in.");
        return;
    };
    let mut groups: Vec<_> = groups
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "report"))
        .collect();
    groups.sort();
    report.section("Runtime micro-costs");
    report.para(
        "From `cargo bench -p corio-bench` (criterion; median per operation, each timed inside one \
         `block_on`). *× corio* is the contender's time divided by corio's (above 1: corio faster).",
    );
    let mut rows = Vec::new();
    for group in groups {
        let name = group
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Ok(entries) = std::fs::read_dir(&group) else {
            continue;
        };
        let mut results: Vec<(String, f64)> = entries
            .flatten()
            .filter_map(|e| {
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    median_ns(&e.path())?,
                ))
            })
            .collect();
        results.sort_by_key(|(n, _)| (n != "corio", n.clone()));
        let corio = results.iter().find(|(n, _)| n == "corio").map(|r| r.1);
        for (contender, ns) in results {
            let shown = if ns > 1e6 {
                format!("{:.2} ms", ns / 1e6)
            } else {
                format!("{ns:.1} ns")
            };
            rows.push(vec![
                name.clone(),
                contender,
                shown,
                fmt_ratio(corio.map(|c| ns / c)),
            ]);
        }
    }
    report.table(
        "Median time per operation",
        &["benchmark", "contender", "time", "× corio"],
        &rows,
    );
}
