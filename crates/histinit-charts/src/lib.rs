//! histinit's charts, drawn with plotters on any drawing backend (the page's canvas,
//! the report's PNGs; SVG in tests). Inputs are plain series, so what is drawn can be tested.

use plotters::coord::Shift;
use plotters::prelude::*;
pub use series::{
    distance_series, grad_series, loss_series, on_clock, study_spread_series, StudySpread,
    CLOCK_AXIS, UPDATES_AXIS,
};
pub use trajectory::{
    teacher_spreads, trajectory_axes, trajectory_series, updates_x, Spread, SpreadTrack, INIT_X,
    SPREAD_PROBS,
};

mod series;
mod trajectory;

/// Okabe & Ito's colour-blind-safe palette (yellow left out: unreadable on white).
pub const PALETTE: [(u8, u8, u8); 7] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (0, 0, 0),       // black
];

pub fn colour_hex(index: usize) -> String {
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One line of a chart: points `(x, y)`, optionally a band `(x, low, high)` around it.
/// Serializable: the page builds series where the runs train (a worker) and draws them
/// where the canvases are.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub label: String,
    pub colour: usize,
    #[serde(deserialize_with = "non_finite_as_null::pairs")]
    pub points: Vec<(f64, f64)>,
    #[serde(deserialize_with = "non_finite_as_null::triples")]
    pub band: Vec<(f64, f64, f64)>,
    /// Thin and pale (training loss under the validation loss).
    pub faint: bool,
    /// Filled grey area (a target histogram).
    pub filled: bool,
    /// Values that are upper bounds, not measurements (a speedup some seed never got
    /// to, counted at its best possible value): each drawn as an open circle with an
    /// arrow pointing down, not joined by the line.
    #[serde(deserialize_with = "non_finite_as_null::pairs")]
    pub upper_bounds: Vec<(f64, f64)>,
}

/// JSON has no NaN or infinity: serde_json writes them as `null`. A series keeps its
/// non-finite values (a diverged run's loss), which every chart skips, so `null` reads
/// back as NaN and a series survives the trip to the page whatever it holds.
mod non_finite_as_null {
    use serde::{Deserialize, Deserializer};

    fn value(v: Option<f64>) -> f64 {
        v.unwrap_or(f64::NAN)
    }

    pub fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64)>, D::Error> {
        let raw: Vec<(Option<f64>, Option<f64>)> = Deserialize::deserialize(d)?;
        Ok(raw.into_iter().map(|(x, y)| (value(x), value(y))).collect())
    }

    pub fn triples<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(f64, f64, f64)>, D::Error> {
        let raw: Vec<(Option<f64>, Option<f64>, Option<f64>)> = Deserialize::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(x, lo, hi)| (value(x), value(lo), value(hi)))
            .collect())
    }
}

impl Series {
    pub fn line(label: impl Into<String>, colour: usize, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            colour,
            points,
            band: Vec::new(),
            faint: false,
            filled: false,
            upper_bounds: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub log_x: bool,
    pub log_y: bool,
    /// On a log x axis, where the init (0 updates, which a log axis cannot show) is
    /// drawn: that value's tick is labelled "init", and no grid line lies between it and
    /// 1 (nothing happens between 0 and 1 update). `None`: no init on the axis.
    pub init_x: Option<f64>,
    /// Leaves the top of the plot to the legend (as much as its rows take, at most
    /// half), for data that fill every corner (the legend sits at the upper right).
    pub legend_above: bool,
}

/// Where a chart's data went: the pixels (of the drawing backend) that two corners of
/// the plotted ranges were drawn at, as plotters itself mapped them. Between them a value
/// maps linearly (in `ln` for a log axis), so the page can turn a pointer position back
/// into an x value without knowing the chart's layout.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Frame {
    /// The x range plotted, low to high, and the pixel columns they were drawn at.
    pub x_min: f64,
    pub x_max: f64,
    pub px_min: f64,
    pub px_max: f64,
    /// The y range plotted, low to high, and the pixel rows they were drawn at (the
    /// low value has the larger row: y grows downwards on screen).
    pub y_min: f64,
    pub y_max: f64,
    pub py_min: f64,
    pub py_max: f64,
    pub log_x: bool,
    pub log_y: bool,
}

impl Frame {
    /// The pixel `(column, row)` of a data point (`None` off a log axis's domain).
    pub fn pixel(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let along = |v: f64, low: f64, high: f64, log: bool| {
            if log {
                (v > 0.0).then(|| (v.ln() - low.ln()) / (high.ln() - low.ln()))
            } else {
                Some((v - low) / (high - low))
            }
        };
        let fx = along(x, self.x_min, self.x_max, self.log_x)?;
        let fy = along(y, self.y_min, self.y_max, self.log_y)?;
        Some((
            self.px_min + fx * (self.px_max - self.px_min),
            self.py_min + fy * (self.py_max - self.py_min),
        ))
    }
}

fn finite_range(values: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        low = low.min(v);
        high = high.max(v);
    }
    if low > high {
        return None;
    }
    if high - low < 1e-12 {
        let pad = if log {
            low * 0.5
        } else {
            low.abs().max(1e-6) * 0.05
        };
        return Some((low - pad, high + pad));
    }
    if log {
        Some((low, high))
    } else {
        let pad = (high - low) * 0.04;
        Some((low - pad, high + pad))
    }
}

fn rgb(colour: usize) -> RGBColor {
    let (r, g, b) = PALETTE[colour % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Draws line series (with bands and a legend) on `area` and returns where the data
/// went ([`Frame`]). With nothing to draw yet it draws the empty frame and a hint, so a
/// chart never looks broken, and returns `None`.
pub fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axes: Axes<'_>,
    series: &[Series],
) -> Result<Option<Frame>, String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    area.fill(&WHITE).map_err(err)?;
    let xs = series.iter().flat_map(|s| {
        s.points
            .iter()
            .chain(&s.upper_bounds)
            .map(|p| p.0)
            .chain(s.band.iter().map(|b| b.0))
    });
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .chain(&s.upper_bounds)
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let (Some(x_range), Some(y_range)) =
        (finite_range(xs, axes.log_x), finite_range(ys, axes.log_y))
    else {
        area.titled(axes.title, ("sans-serif", 16)).map_err(err)?;
        let grey = BLACK.mix(0.6);
        let style = TextStyle::from(("sans-serif", 14)).color(&grey);
        area.draw_text("waiting for the first points", &style, (20, 40))
            .map_err(err)?;
        return Ok(None);
    };
    let (x0, x1) = x_range;
    let (y0, mut y1) = y_range;
    if axes.legend_above && !axes.log_y {
        // The legend's rows (13 px text, about 19 px each, plus its border) as a share of
        // the plot's height (the area less the caption, the x labels and the margins).
        let rows = series.iter().filter(|s| !s.label.is_empty()).count() as f64;
        let (_, height) = area.dim_in_pixel();
        let plot = (f64::from(height) - 90.0).max(1.0);
        let share = ((rows * 19.0 + 24.0) / plot).min(0.5);
        y1 = y0 + (y1 - y0) / (1.0 - share);
    }
    // A log x axis gets the y axis's ticks (see `log_ticks`), and the init's, if any.
    let init_x = axes.init_x.filter(|_| axes.log_x);
    let mut x_keys = log_ticks(x0, x1, true);
    let mut x_light = log_ticks(x0, x1, false);
    if let Some(init) = init_x {
        x_keys.retain(|&x| x >= 1.0);
        x_keys.insert(0, init);
        x_light.retain(|&x| x >= 1.0);
    }
    let x_label = |value: &f64| match init_x {
        Some(init) if (value - init).abs() <= init.abs() * 1e-9 => "init".to_string(),
        _ => log_axis_label(value),
    };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(axes.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(56);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(axis_description(axes.x_label, axes.log_x))
                .y_desc(axis_description(axes.y_label, axes.log_y))
                .light_line_style(BLACK.mix(0.05));
            if axes.log_x {
                mesh.x_label_formatter(&x_label);
            }
            if axes.log_y {
                mesh.y_label_formatter(&log_axis_label);
            }
            mesh.draw().map_err(err)?;
            for s in series.iter().filter(|s| !s.band.is_empty()) {
                let colour = rgb(s.colour);
                let upper = s.band.iter().map(|b| (b.0, b.2));
                let lower = s.band.iter().rev().map(|b| (b.0, b.1));
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        upper.chain(lower).collect::<Vec<_>>(),
                        colour.mix(0.18).filled(),
                    )))
                    .map_err(err)?;
            }
            for s in series {
                let colour = rgb(s.colour);
                let style = if s.filled {
                    BLACK.mix(0.25).filled()
                } else if s.faint {
                    colour.mix(0.45).stroke_width(1)
                } else {
                    colour.stroke_width(2)
                };
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| {
                        x.is_finite()
                            && y.is_finite()
                            && (!axes.log_x || *x > 0.0)
                            && (!axes.log_y || *y > 0.0)
                    })
                    .collect();
                let drawn = if s.filled {
                    let base = chart.plotting_area().get_y_range().start;
                    chart.draw_series(AreaSeries::new(points, base, style))
                } else {
                    chart.draw_series(LineSeries::new(points, style))
                }
                .map_err(err)?;
                if !s.label.is_empty() {
                    drawn.label(s.label.clone()).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 4), (x + 16, y + 4)], style.color.filled())
                    });
                }
            }
            for s in series.iter().filter(|s| !s.upper_bounds.is_empty()) {
                let style = rgb(s.colour).stroke_width(2);
                let fill = rgb(s.colour).filled();
                let inside = |(x, y): &(f64, f64)| {
                    x.is_finite()
                        && y.is_finite()
                        && (!axes.log_x || *x > 0.0)
                        && (!axes.log_y || *y > 0.0)
                };
                chart
                    .draw_series(s.upper_bounds.iter().filter(|p| inside(p)).map(|&point| {
                        EmptyElement::at(point)
                            + Circle::new((0, 0), 5, style)
                            + PathElement::new(vec![(0, 5), (0, 16)], style)
                            + Polygon::new(vec![(-4, 14), (4, 14), (0, 21)], fill)
                    }))
                    .map_err(err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(err)?;
            // The corners as plotters maps them (its own rounding included).
            let low = chart.backend_coord(&(x0, y0));
            let high = chart.backend_coord(&(x1, y1));
            Frame {
                x_min: x0,
                x_max: x1,
                px_min: f64::from(low.0),
                px_max: f64::from(high.0),
                y_min: y0,
                y_max: y1,
                py_min: f64::from(low.1),
                py_max: f64::from(high.1),
                log_x: axes.log_x,
                log_y: axes.log_y,
            }
        }};
    }
    let frame = match (axes.log_x, axes.log_y) {
        (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?),
        (true, false) => finish!(builder
            .build_cartesian_2d(
                (x0..x1)
                    .log_scale()
                    .with_key_points(x_keys)
                    .with_light_points(x_light),
                y0..y1
            )
            .map_err(err)?),
        (false, true) => finish!(builder
            .build_cartesian_2d(
                x0..x1,
                (y0..y1)
                    .log_scale()
                    .with_key_points(log_ticks(y0, y1, true))
                    .with_light_points(log_ticks(y0, y1, false))
            )
            .map_err(err)?),
        (true, true) => finish!(builder
            .build_cartesian_2d(
                (x0..x1)
                    .log_scale()
                    .with_key_points(x_keys)
                    .with_light_points(x_light),
                (y0..y1)
                    .log_scale()
                    .with_key_points(log_ticks(y0, y1, true))
                    .with_light_points(log_ticks(y0, y1, false))
            )
            .map_err(err)?),
    };
    area.present().map_err(err)?;
    Ok(Some(frame))
}

/// The ticks of a log axis over `[low, high]`: labelled (`labelled`) at 1, 2 and 5 ×
/// 10^k (over more than 3 decades, at 10^k only), light at every 1..9 × 10^k. plotters'
/// own log ticks start at the first power of ten inside the range, so a range such as
/// 0.4–40 would leave its lowest part without a label.
fn log_ticks(low: f64, high: f64, labelled: bool) -> Vec<f64> {
    if low.is_nan() || low <= 0.0 || high.is_nan() || high < low || high.is_infinite() {
        return Vec::new();
    }
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    let mantissas: &[f64] = match (labelled, last - first > 3) {
        (true, true) => &[1.0],
        (true, false) => &[1.0, 2.0, 5.0],
        (false, _) => &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    };
    (first..=last)
        .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| *v >= low * (1.0 - 1e-9) && *v <= high * (1.0 + 1e-9))
        .collect()
}

/// An axis's description, saying so when its scale is logarithmic.
fn axis_description(label: &str, log: bool) -> String {
    if log {
        format!("{label} (log scale)")
    } else {
        label.to_string()
    }
}

/// A log axis gets a tick at every 1..9 × 10^k; labelling them all runs the labels
/// together ("6.07.08.09.0"), so only 1, 2 and 5 × 10^k are labelled.
fn log_axis_label(value: &f64) -> String {
    if !(value.is_finite() && *value > 0.0) {
        return String::new();
    }
    let exponent = value.log10().floor();
    let mantissa = value / 10f64.powf(exponent);
    let labelled = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 * m);
    match labelled {
        false => String::new(),
        true if *value >= 1.0 => format!("{value:.0}"),
        true => format!("{value:.0$}", (-exponent) as usize),
    }
}

/// A density estimate of `values` on `bins` equal bins over `[low, high]`, as a
/// polyline through bin centres (the area under it is 1).
pub fn density(values: &[f32], low: f64, high: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = (high - low) / bins as f64;
    if width.is_nan() || width <= 0.0 || values.is_empty() {
        return Vec::new();
    }
    let mut counts = vec![0usize; bins];
    for &v in values {
        let v = v as f64;
        if v >= low && v <= high {
            let index = (((v - low) / width) as usize).min(bins - 1);
            counts[index] += 1;
        }
    }
    let total = values.len() as f64 * width;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (low + (i as f64 + 0.5) * width, c as f64 / total))
        .collect()
}

#[cfg(test)]
mod tests;
