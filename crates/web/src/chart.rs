//! A small SVG writer for the dashboards' monthly charts: lines over months, with a value axis rounded to a
//! readable step. It computes geometry only (points, ticks, labels); the template draws it, and a table beside each
//! chart gives the same numbers for screen readers and print.

/// The drawing's size and margins, in its own units (it scales to the page's width).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 28.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
/// Value-axis ticks, zero included.
const TICKS: u64 = 4;

/// One line of a chart: its catalogue key (its name) and CSS class, and one value per month.
#[derive(Debug, Clone)]
pub struct Series {
    pub key: &'static str,
    pub class: &'static str,
    pub values: Vec<u64>,
}

/// A line as drawn.
#[derive(Debug, Clone)]
pub struct Line {
    pub key: &'static str,
    pub class: &'static str,
    /// `x,y x,y …` for a `<polyline>`.
    pub points: String,
    /// Each month's point, for its marker and tooltip: x, y and the value.
    pub dots: Vec<(String, String, u64)>,
}

/// A label on an axis: where, and what it says.
#[derive(Debug, Clone)]
pub struct Tick {
    pub x: String,
    pub y: String,
    pub label: String,
}

/// A chart ready to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The plot's corners: left, top, right, bottom.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub lines: Vec<Line>,
    /// The value axis: its gridlines' labels and heights.
    pub values: Vec<Tick>,
    /// The month axis.
    pub months: Vec<Tick>,
    /// The series, and per month its label and every series' value, for the table beside the drawing.
    pub series: Vec<Series>,
    pub rows: Vec<(String, Vec<u64>)>,
}

/// The smallest "round" number (1, 2 or 5 times a power of ten) at least `n`.
fn round_up(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= n {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

impl Chart {
    /// The chart of `series` over months labelled `labels` (one value per label in each series).
    pub fn lines(labels: Vec<String>, series: Vec<Series>) -> Chart {
        let most = series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0);
        // The axis's top: a round step per tick, so the gridlines read 0, 5, 10, … rather than 0, 3.25, …
        let top_value = round_up(most.div_ceil(TICKS).max(1)) * TICKS;
        let (right, bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
        let n = labels.len().max(1);
        let x = |i: usize| {
            if n == 1 {
                (LEFT + right) / 2.0
            } else {
                LEFT + (right - LEFT) * i as f64 / (n - 1) as f64
            }
        };
        let y = |v: u64| bottom - (bottom - TOP) * v as f64 / top_value as f64;
        let lines = series
            .iter()
            .map(|s| {
                let dots: Vec<(String, String, u64)> = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{:.1}", x(i)), format!("{:.1}", y(*v)), *v))
                    .collect();
                Line {
                    key: s.key,
                    class: s.class,
                    points: dots
                        .iter()
                        .map(|(x, y, _)| format!("{x},{y}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    dots,
                }
            })
            .collect();
        let values = (0..=TICKS)
            .map(|i| {
                let v = top_value / TICKS * i;
                Tick {
                    x: format!("{:.1}", LEFT - 6.0),
                    y: format!("{:.1}", y(v)),
                    label: v.to_string(),
                }
            })
            .collect();
        // Every month when there are few; else every other, and always the last.
        let every = if n > 12 {
            3
        } else if n > 6 {
            2
        } else {
            1
        };
        let months = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
            .map(|(i, label)| Tick {
                x: format!("{:.1}", x(i)),
                y: format!("{:.1}", bottom + 20.0),
                label: label.clone(),
            })
            .collect();
        let rows = labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let values = series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0))
                    .collect();
                (label.clone(), values)
            })
            .collect();
        Chart {
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            top: TOP,
            right,
            bottom,
            lines,
            values,
            months,
            series,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_to_readable_steps_and_points_span_the_plot() {
        assert_eq!(
            [0, 1, 3, 7, 10, 11, 49, 51, 999].map(round_up),
            [1, 1, 5, 10, 10, 20, 50, 100, 1000]
        );
        let chart = Chart::lines(
            vec!["Jan".into(), "Feb".into(), "Mar".into()],
            vec![Series {
                key: "k",
                class: "c",
                values: vec![0, 13, 7],
            }],
        );
        // 13 over 4 ticks is 3.25 a tick, rounded up to 5: the axis reads 0, 5, 10, 15, 20.
        let labels: Vec<&str> = chart.values.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "5", "10", "15", "20"]);
        let line = &chart.lines[0];
        assert_eq!(line.dots[0].0, format!("{LEFT:.1}"));
        assert_eq!(line.dots[2].0, format!("{:.1}", WIDTH - RIGHT));
        // Zero sits on the bottom axis; 13 of 20 is 65 % of the way up.
        assert_eq!(line.dots[0].1, format!("{:.1}", HEIGHT - BOTTOM));
        let up = (HEIGHT - BOTTOM) - (HEIGHT - BOTTOM - TOP) * 0.65;
        assert_eq!(line.dots[1].1, format!("{up:.1}"));
        assert_eq!(line.points.split(' ').count(), 3);
        // Nothing to draw still draws an axis, not a division by zero.
        let empty = Chart::lines(vec!["Jan".into()], vec![]);
        assert_eq!(empty.values.last().unwrap().label, "4");
    }
}
