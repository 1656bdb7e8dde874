//! The timeline: one row per sync period of the autoscaler, saying how many workers ran,
//! how many it decided on, and what it saw. Written as a CSV file (for a spreadsheet or
//! pandas), drawn as a PNG plot, shown as a table.
//!
//! The plot has three panels over the same seconds: the workers (running, and desired, as
//! steps: the count holds until the next decision), the queue's depth, and the workers'
//! CPU. The lag of the desired line behind the queue is the stabilisation window; the
//! stairs are the policies.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use plotters::prelude::*;

use crate::plot;

/// One sync period of the autoscaler.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimelineRow {
    /// Seconds since the autoscaler started.
    pub seconds: f64,
    /// Workers serving when it decided.
    pub replicas: u32,
    /// Workers it decided on.
    pub desired: u32,
    /// Tasks waiting to be taken (the last reading when Redis did not answer).
    pub queue_depth: u64,
    /// The workers' average CPU, in percent of one core each.
    pub cpu_percent: f64,
}

/// The CSV file's first line.
pub const CSV_HEADER: &str = "seconds,replicas,desired,queue_depth,cpu_percent";

/// The rows as CSV text, header first.
pub fn csv(rows: &[TimelineRow]) -> String {
    let mut text = format!("{CSV_HEADER}\n");
    for row in rows {
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "{:.3},{},{},{},{:.1}",
            row.seconds, row.replicas, row.desired, row.queue_depth, row.cpu_percent
        );
    }
    text
}

/// Writes the rows to a CSV file at `path` (its folder created when missing).
pub fn write_csv(path: &Path, rows: &[TimelineRow]) -> Result<()> {
    create_parent(path)?;
    std::fs::write(path, csv(rows)).with_context(|| format!("cannot write {}", path.display()))
}

/// Creates the folder `path` goes in.
fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display())),
        _ => Ok(()),
    }
}

/// The desired count as steps: each decision holds until the next row.
fn desired_steps(rows: &[TimelineRow]) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(rows.len() * 2);
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            points.push((row.seconds, f64::from(rows[index - 1].desired)));
        }
        points.push((row.seconds, f64::from(row.desired)));
    }
    points
}

/// The running count as steps: each row's count is what ran since the row before.
fn running_steps(rows: &[TimelineRow]) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(rows.len() * 2);
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            points.push((rows[index - 1].seconds, f64::from(row.replicas)));
        }
        points.push((row.seconds, f64::from(row.replicas)));
    }
    points
}

/// The top of a panel's y axis: a little above the largest value, never 0.
fn top(values: impl IntoIterator<Item = f64>) -> f64 {
    let largest = values.into_iter().fold(0.0, f64::max);
    if largest > 0.0 { largest * 1.15 } else { 1.0 }
}

/// Draws the rows as a PNG plot at `path` (its folder created when missing).
pub fn draw_png(path: &Path, rows: &[TimelineRow]) -> Result<()> {
    create_parent(path)?;
    let end = rows.last().map_or(1.0, |row| row.seconds.max(1.0));
    plot::png(path, (900, 720), |area| {
        let panels = area.split_evenly((3, 1));

        // Workers: running (thick, below) and desired (thin, on top), as steps. The
        // autoscaler acts at once, so the two lines meet after each decision.
        let workers_top = top(rows.iter().map(|r| f64::from(r.replicas.max(r.desired)))).ceil();
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("workers", ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..end, 0.0..workers_top)?;
        chart
            .configure_mesh()
            .y_desc("workers")
            .y_labels(workers_top as usize + 1)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()?;
        let running = plot::colour(0);
        chart
            .draw_series(LineSeries::new(
                running_steps(rows),
                running.stroke_width(4),
            ))?
            .label("running")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], running));
        let desired = plot::colour(1);
        chart
            .draw_series(LineSeries::new(
                desired_steps(rows),
                desired.stroke_width(2),
            ))?
            .label("desired")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], desired));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;

        // The queue's depth (whole tasks), then the workers' CPU (a decimal: it is often
        // a few percent).
        let depth: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| (r.seconds, r.queue_depth as f64))
            .collect();
        let cpu: Vec<(f64, f64)> = rows.iter().map(|r| (r.seconds, r.cpu_percent)).collect();
        let lower = [
            (
                &panels[1],
                "queue depth",
                "tasks",
                depth,
                0,
                plot::colour(2),
            ),
            (
                &panels[2],
                "workers' CPU",
                "% of a core",
                cpu,
                1,
                plot::colour(3),
            ),
        ];
        for (panel, caption, unit, points, decimals, colour) in lower {
            let y_top = top(points.iter().map(|(_, y)| *y));
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..end, 0.0..y_top)?;
            chart
                .configure_mesh()
                .y_desc(unit)
                .y_label_formatter(&|y| format!("{y:.decimals$}"))
                .x_desc("seconds")
                .draw()?;
            chart.draw_series(LineSeries::new(points, colour.stroke_width(2)))?;
        }
        Ok(())
    })
}

/// The rows as a table for people.
pub fn table(rows: &[TimelineRow]) -> String {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["seconds", "workers", "desired", "queue", "CPU %"]);
    for row in rows {
        table.add_row([
            format!("{:.1}", row.seconds),
            row.replicas.to_string(),
            row.desired.to_string(),
            row.queue_depth.to_string(),
            format!("{:.0}", row.cpu_percent),
        ]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<TimelineRow> {
        [
            (0.0, 1, 1, 0, 0.0),
            (3.75, 1, 2, 120, 95.5),
            (7.5, 2, 2, 80, 60.25),
        ]
        .into_iter()
        .map(
            |(seconds, replicas, desired, queue_depth, cpu_percent)| TimelineRow {
                seconds,
                replicas,
                desired,
                queue_depth,
                cpu_percent,
            },
        )
        .collect()
    }

    #[test]
    fn the_csv_has_the_header_and_a_line_per_row() {
        assert_eq!(
            csv(&rows()),
            "seconds,replicas,desired,queue_depth,cpu_percent\n\
             0.000,1,1,0,0.0\n3.750,1,2,120,95.5\n7.500,2,2,80,60.2\n"
        );
        assert_eq!(csv(&[]), format!("{CSV_HEADER}\n"));
    }

    #[test]
    fn counts_are_drawn_as_steps() {
        // A decision holds until the next one.
        assert_eq!(
            desired_steps(&rows()),
            [(0.0, 1.0), (3.75, 1.0), (3.75, 2.0), (7.5, 2.0), (7.5, 2.0)]
        );
        // A row's running count is what ran since the row before.
        assert_eq!(
            running_steps(&rows()),
            [(0.0, 1.0), (0.0, 1.0), (3.75, 1.0), (3.75, 2.0), (7.5, 2.0)]
        );
    }

    #[test]
    fn files_and_table() {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("new/timeline.csv");
        write_csv(&csv_path, &rows()).unwrap();
        assert!(
            std::fs::read_to_string(&csv_path)
                .unwrap()
                .starts_with(CSV_HEADER)
        );
        let png_path = dir.path().join("timeline.png");
        draw_png(&png_path, &rows()).unwrap();
        assert_eq!(image::image_dimensions(&png_path).unwrap(), (900, 720));
        // No row at all still draws empty axes.
        draw_png(&dir.path().join("empty.png"), &[]).unwrap();
        let table = table(&rows());
        assert!(
            table.contains("desired") && table.contains("120"),
            "{table}"
        );
    }
}
