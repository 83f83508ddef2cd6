//! The SVG bar chart of echo server CPU per message.

use crate::report::Record;
use plotters::prelude::*;
use std::path::Path;

/// Grouped bars: one group per echo case, one bar per contender.
pub fn echo_cpu(records: &[Record], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let echo: Vec<&Record> = records
        .iter()
        .filter(|r| r.workload == "echo" && r.cost.is_finite())
        .collect();
    if echo.is_empty() {
        return Err("no echo records".into());
    }
    let mut cases: Vec<&str> = Vec::new();
    let mut contenders: Vec<&str> = Vec::new();
    for r in &echo {
        if !cases.contains(&r.case.as_str()) {
            cases.push(&r.case);
        }
        if !contenders.contains(&r.contender.as_str()) {
            contenders.push(&r.contender);
        }
    }
    // Head room above the tallest bar for the legend.
    let max = echo.iter().map(|r| r.cost).fold(0.0, f64::max) * 1.45;
    let width = 120 + cases.len() as u32 * (contenders.len() as u32 * 14 + 30);
    let root = SVGBackend::new(path, (width.max(640), 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let groups = cases.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "TCP echo: server CPU µs per message (lower is better)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..groups, 0.0..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("µs / message")
        .draw()?;
    // One label under each group (the mesh would place ticks at "nice"
    // numbers, not at the groups).
    let style = ("sans-serif", 13).into_text_style(&root);
    for (i, case) in cases.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.15, 0.0));
        root.draw(&Text::new(case.to_string(), (x, y + 8), style.clone()))?;
    }
    let n = contenders.len() as f64;
    for (k, name) in contenders.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars: Vec<_> = echo
            .iter()
            .filter(|r| r.contender == *name)
            .filter_map(|r| {
                let g = cases.iter().position(|c| *c == r.case)? as f64;
                let x0 = g + 0.1 + 0.8 * k as f64 / n;
                let x1 = x0 + 0.8 / n * 0.9;
                Some(Rectangle::new([(x0, 0.0), (x1, r.cost)], color.filled()))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Rebuild the echo records from a BENCHMARKS.md: every "### C = c
/// connections, S = s B" table's rows, taking the server µs/msg median.
pub fn records_from_markdown(md: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut case = None;
    for line in md.lines() {
        if let Some(rest) = line.strip_prefix("### C = ") {
            let mut words = rest.split_whitespace();
            let c = words.next();
            let s = rest
                .split("S = ")
                .nth(1)
                .and_then(|x| x.split_whitespace().next());
            case = match (c, s) {
                (Some(c), Some(s)) => Some(format!("C={c} S={s}")),
                _ => None,
            };
            continue;
        }
        if line.starts_with("## ") {
            case = None;
        }
        let Some(case) = &case else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | contender | tput | ratio | cpu (min–max) | ratio | ...
        if cells.len() > 5
            && !cells[1].is_empty()
            && cells[1] != "contender"
            && !cells[1].starts_with("---")
        {
            if let Some(cost) = cells[4]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
            {
                records.push(Record {
                    workload: "echo".into(),
                    case: case.clone(),
                    contender: cells[1].to_owned(),
                    cost,
                });
            }
        }
    }
    records
}
