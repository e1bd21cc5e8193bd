//! The drill's report: one self-contained SVG with every action's latency over time, coloured by
//! the region that answered (red when none did), the fault windows shaded, and the figures; and
//! every action as a CSV row, to find which ones were slow.

use std::fmt::Write;

use super::faults::{Kind, Window};
use super::shopper::Record;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 40.0;
/// More points than this are thinned (fast actions only), to keep the file small.
const MAX_POINTS: usize = 1_500;
/// Answered by us-east-1, by us-west-1, failed.
const COLOURS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#d62728"];

pub fn svg(records: &[Record], windows: &[Window], end_ms: u64, figures: &str) -> String {
    let slowest = records.iter().map(|r| r.duration_ms).max().unwrap_or(0);
    let y_max = (slowest.max(1_000) as f64 / 500.0).ceil() * 500.0;
    let x_max = end_ms.max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |ms: f64| LEFT + ms / x_max * plot_w;
    let y = |ms: f64| TOP + plot_h - ms / y_max * plot_h;

    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<title>Unishop drill: action latency over time</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="{LEFT}" y="20" font-size="14" font-weight="bold">Unishop drill: every shopper action, latency over time</text>
<text x="{LEFT}" y="38">{}</text>
"##,
        escape(figures)
    );
    for window in windows {
        let fill = match window.kind {
            Kind::Refused => "#f4c7c3",
            Kind::Hung => "#fce8b2",
            Kind::Switched => "#d2e3fc",
        };
        let (x0, x1) = (x(window.start_ms as f64), x(window.end_ms as f64));
        let _ = writeln!(
            out,
            r#"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{plot_h}" fill="{fill}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            (x1 - x0).max(1.0),
            x0 + 3.0,
            TOP + 14.0,
            window.kind.label()
        );
    }
    // Axes and grid.
    let mut tick = 0.0;
    while tick <= y_max {
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{tick:.0}</text>"##,
            WIDTH - RIGHT,
            y(tick),
            y(tick),
            LEFT - 6.0,
            y(tick) + 4.0
        );
        tick += if y_max > 4_000.0 { 1_000.0 } else { 500.0 };
    }
    let step_s = [5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|step| x_max / 1000.0 / step <= 12.0)
        .unwrap_or(600.0);
    let mut second = 0.0;
    while second * 1000.0 <= x_max {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{second:.0}</text>"#,
            x(second * 1000.0),
            HEIGHT - BOTTOM + 16.0
        );
        second += step_s;
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the start</text><text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">action latency (ms)</text>"##,
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    // Points: every slow or failed action, the fast ones thinned evenly; one path of round dots
    // per colour keeps the file small.
    let fast = records
        .iter()
        .filter(|r| r.ok && r.duration_ms < 500)
        .count();
    let keep_every = (fast / MAX_POINTS.max(1)).max(1);
    let mut seen_fast = 0;
    let mut dots = [String::new(), String::new(), String::new()];
    for record in records {
        if record.ok && record.duration_ms < 500 {
            seen_fast += 1;
            if seen_fast % keep_every != 0 {
                continue;
            }
        }
        let series = match (record.ok, record.region.as_deref()) {
            (false, _) => 2,
            (true, Some("us-west-1")) => 1,
            _ => 0,
        };
        let _ = write!(
            dots[series],
            "M{:.0} {:.0}h0",
            x(record.start_ms as f64),
            y(record.duration_ms as f64)
        );
    }
    for (path, colour) in dots.iter().zip(COLOURS) {
        if !path.is_empty() {
            let _ = writeln!(
                out,
                r#"<path d="{path}" stroke="{colour}" stroke-width="3.2" stroke-linecap="round"/>"#
            );
        }
    }
    let legend_y = 56.0;
    for (i, (colour, label)) in COLOURS
        .iter()
        .zip(["answered by us-east-1", "answered by us-west-1", "failed"])
        .enumerate()
    {
        let lx = LEFT + i as f64 * 190.0;
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            lx + 4.0,
            legend_y - 4.0,
            lx + 12.0,
            legend_y
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One row per action, in the order given: `shopper,action,start_ms,duration_ms,region,status,ok`
/// (region and status empty when no answer came). No field holds a comma or a quote.
pub fn csv(records: &[Record]) -> String {
    let mut out = String::from("shopper,action,start_ms,duration_ms,region,status,ok\n");
    for r in records {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            r.shopper,
            r.action,
            r.start_ms,
            r.duration_ms,
            r.region.as_deref().unwrap_or(""),
            r.status.map_or(String::new(), |s| s.to_string()),
            r.ok
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{csv, svg, Kind, Record, Window};

    #[test]
    fn one_csv_row_per_action_with_empty_fields_for_no_answer() {
        let mut unanswered = record(900, 2_000, "us-east-1", false);
        unanswered.region = None;
        unanswered.status = None;
        let csv = csv(&[record(0, 10, "us-east-1", true), unanswered]);
        assert_eq!(
            csv,
            "shopper,action,start_ms,duration_ms,region,status,ok\n\
             0,browse,0,10,us-east-1,200,true\n\
             0,browse,900,2000,,,false\n"
        );
    }

    fn record(start_ms: u64, duration_ms: u64, region: &str, ok: bool) -> Record {
        Record {
            shopper: 0,
            action: "browse",
            start_ms,
            duration_ms,
            region: Some(region.to_owned()),
            status: Some(200),
            ok,
        }
    }

    #[test]
    fn one_point_per_action_coloured_by_region_and_the_windows_shaded() {
        let records = [
            record(0, 10, "us-east-1", true),
            record(500, 3_100, "us-west-1", true),
            record(900, 20, "us-east-1", false),
        ];
        let windows = [Window {
            kind: Kind::Hung,
            start_ms: 400,
            end_ms: 800,
        }];
        let svg = svg(&records, &windows, 1_000, "drill: actions=3 <x>");
        assert_eq!(svg.matches("h0").count(), 3, "one dot per action");
        assert_eq!(svg.matches("<path").count(), 3, "one path per colour");
        assert!(svg.contains(r##"stroke="#d62728""##));
        assert!(svg.contains("primary frozen"));
        assert!(svg.contains("drill: actions=3 &lt;x&gt;"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
