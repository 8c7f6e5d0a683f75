use super::*;

/// Registers a system font for text (fonts-dejavu-core, installed by `make setup`).
fn register_font() {
    static FONT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FONT.get_or_init(|| {
        let path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        let bytes = std::fs::read(path)
            .unwrap_or_else(|err| panic!("{path}: {err} (apt-get install fonts-dejavu-core)"));
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes.leak())
            .map_err(|_| "invalid font")
            .unwrap();
    });
}

#[test]
fn a_series_with_non_finite_values_survives_json() {
    let series = Series {
        band: vec![(1.0, f64::NEG_INFINITY, 2.0)],
        upper_bounds: vec![(3.0, f64::INFINITY)],
        faint: true,
        ..Series::line("kaiming", 2, vec![(0.0, 5.5), (1.0, f64::NAN), (2.0, 4.25)])
    };
    let json = serde_json::to_string(&series).unwrap();
    let back: Series = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (back.label.as_str(), back.colour, back.faint),
        ("kaiming", 2, true)
    );
    assert_eq!(back.points[0], (0.0, 5.5));
    assert_eq!(back.points[2], (2.0, 4.25));
    assert!(back.points[1].1.is_nan(), "a NaN loss reads back as NaN");
    assert!(back.band[0].1.is_nan() && back.band[0].2 == 2.0);
    assert!(back.upper_bounds[0].1.is_nan() && back.upper_bounds[0].0 == 3.0);
}

fn svg(series: &[Series], log_x: bool) -> String {
    register_font();
    let mut text = String::new();
    {
        let area = SVGBackend::with_string(&mut text, (640, 360)).into_drawing_area();
        draw_lines(
            &area,
            Axes {
                title: "loss",
                x_label: "step",
                y_label: "nats",
                log_x,
                log_y: false,
                init_x: None,
                legend_above: false,
            },
            series,
        )
        .unwrap();
    }
    text
}

#[test]
fn log_axes_label_one_two_five_only() {
    let labels: Vec<String> = [
        1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 20.0, 40.0, 50.0, 100.0, 0.2, 0.3, 0.05,
    ]
    .iter()
    .map(log_axis_label)
    .collect();
    assert_eq!(
        labels,
        ["1", "2", "", "5", "", "10", "20", "", "50", "100", "0.2", "", "0.05"]
    );
    assert_eq!(log_axis_label(&0.0), "");
    assert_eq!(log_axis_label(&f64::NAN), "");
}

#[test]
fn lines_and_legends_are_drawn() {
    let series = vec![
        Series::line("kaiming", 0, vec![(1.0, 5.5), (10.0, 3.0), (20.0, 2.5)]),
        Series {
            band: vec![(1.0, 5.0, 6.0), (10.0, 2.8, 3.1), (20.0, 2.0, 2.6)],
            ..Series::line("pythia", 1, vec![(1.0, 5.5), (10.0, 2.9), (20.0, 2.3)])
        },
    ];
    for log_x in [false, true] {
        let text = svg(&series, log_x);
        // One data line per series, in the palette's first two colours.
        let line = |colour: &str| {
            let style = format!("stroke=\"{colour}\" stroke-width=\"2\"");
            text.lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(&style))
                .count()
        };
        assert_eq!((line("#0072B2"), line("#D55E00")), (1, 1), "{text}");
        assert!(text.contains("<polygon"), "the band is drawn");
        assert!(text.contains("kaiming") && text.contains("pythia"));
    }
}

fn svg_with(series: &[Series], axes: Axes<'_>) -> String {
    register_font();
    let mut text = String::new();
    {
        let area = SVGBackend::with_string(&mut text, (640, 360)).into_drawing_area();
        draw_lines(&area, axes, series).unwrap();
    }
    text
}

/// Circles of the SVG as (filled, stroke colour).
fn circles(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("<circle"))
        .map(str::to_string)
        .collect()
}

#[test]
fn upper_bounds_are_open_markers_with_arrows_not_points_of_the_line() {
    let axes = Axes {
        title: "speedup",
        x_label: "fraction",
        y_label: "speedup",
        log_x: false,
        log_y: false,
        init_x: None,
        legend_above: false,
    };
    let measured = Series::line("pythia", 1, vec![(0.1, 1.2), (0.25, 1.3), (0.5, 1.25)]);
    let plain = svg_with(std::slice::from_ref(&measured), axes);
    assert!(circles(&plain).is_empty(), "no markers without bounds");
    let bounded = Series {
        upper_bounds: vec![(1.0, 1.4)],
        ..measured.clone()
    };
    let text = svg_with(&[bounded], axes);
    // One open circle in the series' colour, and the arrow's head below it.
    let found = circles(&text);
    assert_eq!(found.len(), 1, "{text}");
    assert!(
        found[0].contains("fill=\"none\"") && found[0].contains("#D55E00"),
        "{}",
        found[0]
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("<polygon") && l.contains("fill=\"#D55E00\"")),
        "no arrow head: {text}"
    );
    // The line still joins only the three measurements.
    let line = text
        .lines()
        .find(|l| l.starts_with("<polyline") && l.contains("stroke=\"#D55E00\""))
        .unwrap();
    let points = line
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(points.split_whitespace().count(), 3, "{line}");
    // The bound widens the x range to 1.0: the plain chart's axis stops before.
    assert!(text.lines().any(|l| l == "1.0") && !plain.lines().any(|l| l == "1.0"));
}

#[test]
fn log_ticks_are_one_two_five_inside_the_range() {
    assert_eq!(log_ticks(0.4, 40.0, true), [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]);
    assert_eq!(log_ticks(1.0, 10.0, true), [1.0, 2.0, 5.0, 10.0]);
    // Five decades: the decades only.
    assert_eq!(log_ticks(0.003, 200.0, true), [0.01, 0.1, 1.0, 10.0, 100.0]);
    assert_eq!(log_ticks(2.5, 4.5, false), [3.0, 4.0]);
    assert!(log_ticks(0.0, 1.0, true).is_empty());
}

#[test]
fn log_axes_say_so_and_label_their_ticks() {
    let axes = Axes {
        title: "gradient norm",
        x_label: "step",
        y_label: "global norm",
        log_x: false,
        log_y: true,
        init_x: None,
        legend_above: false,
    };
    let series = vec![Series::line(
        "kaiming",
        0,
        vec![(0.0, 40.0), (10.0, 3.0), (20.0, 0.4)],
    )];
    let text = svg_with(&series, axes);
    assert!(text.contains("global norm (log scale)"), "{text}");
    assert!(!text.contains(">step (log scale)<"));
    // Ticks at 1, 2, 5 x 10^k from 0.4 to 40, the lowest decade included: 0.5, 1,
    // 2, 5, 10, 20 (not 3, 4, 6...).
    let texts: Vec<&str> = text.lines().collect();
    for label in ["0.5", "1", "2", "5", "10", "20"] {
        assert!(texts.contains(&label), "no tick {label}: {text}");
    }
    for unlabelled in ["3", "4", "6", "30", "0.6"] {
        assert!(!texts.contains(&unlabelled), "{unlabelled}");
    }
}

/// The frame a chart returns maps data to the very pixels plotters drew them at
/// (the page turns pointer positions back into steps with it).
#[test]
fn the_frame_maps_points_where_plotters_drew_them() {
    register_font();
    let points = vec![
        (1.0, 5.5),
        (3.0, 4.0),
        (10.0, 3.0),
        (40.0, 2.5),
        (200.0, 2.25),
    ];
    for (log_x, log_y) in [(false, false), (true, false), (true, true)] {
        let mut text = String::new();
        let frame = {
            let area = SVGBackend::with_string(&mut text, (640, 360)).into_drawing_area();
            let axes = Axes {
                title: "loss",
                x_label: "step",
                y_label: "nats",
                log_x,
                log_y,
                init_x: None,
                legend_above: false,
            };
            draw_lines(&area, axes, &[Series::line("a", 0, points.clone())])
                .unwrap()
                .expect("a frame")
        };
        let line = text
            .lines()
            .find(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
            .expect("the data line");
        let drawn: Vec<(f64, f64)> = line
            .split("points=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("points")
            .split_whitespace()
            .map(|pair| {
                let (x, y) = pair.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect();
        assert_eq!(drawn.len(), points.len(), "{line}");
        for (&(x, y), &(px, py)) in points.iter().zip(&drawn) {
            let (fx, fy) = frame.pixel(x, y).unwrap();
            assert!(
                (fx - px).abs() <= 1.0 && (fy - py).abs() <= 1.0,
                "log {log_x}/{log_y}: ({x}, {y}) drawn at ({px}, {py}), the frame says ({fx}, {fy})"
            );
        }
        assert!(frame.px_min < frame.px_max && frame.py_min > frame.py_max);
    }
    let mut text = String::new();
    let area = SVGBackend::with_string(&mut text, (640, 360)).into_drawing_area();
    let axes = Axes {
        title: "t",
        x_label: "x",
        y_label: "y",
        log_x: false,
        log_y: false,
        init_x: None,
        legend_above: false,
    };
    assert_eq!(draw_lines(&area, axes, &[]).unwrap(), None);
}

#[test]
fn the_trajectory_chart_draws_the_teachers_fan_each_run_and_an_init_tick() {
    let spread = |step: usize, scale: f64| Spread {
        step,
        std: scale,
        values: SPREAD_PROBS
            .iter()
            .map(|p| scale * (p - 0.5) * 6.0)
            .collect(),
    };
    let teacher: Vec<Spread> = [(0, 1.0), (1, 1.0), (64, 1.3), (2000, 2.0)]
        .into_iter()
        .map(|(step, scale)| spread(step, scale))
        .collect();
    let run = SpreadTrack {
        label: "kaiming".into(),
        colour: 1,
        points: vec![spread(0, 0.5), spread(25, 0.6), spread(50, 0.7)],
    };
    let text = svg_with(
        &trajectory_series(&teacher, &[run]),
        trajectory_axes("mlp_in"),
    );
    let lines: Vec<&str> = text.lines().collect();
    // The init has its tick; nothing is labelled between it and 1.
    assert!(lines.contains(&"init") && lines.contains(&"1") && lines.contains(&"1000"));
    assert!(!lines.contains(&"0.5") && !lines.contains(&"0.6"), "{text}");
    // Three nested bands, the teacher's median, the run's two bold and two faint lines.
    let polygons = lines.iter().filter(|l| l.starts_with("<polygon")).count();
    assert_eq!(polygons, 3, "{text}");
    let polylines = |colour: &str, width: &str| {
        lines
            .iter()
            .filter(|l| {
                l.starts_with("<polyline")
                    && l.contains(&format!("stroke=\"{colour}\""))
                    && l.contains(&format!("stroke-width=\"{width}\""))
            })
            .count()
    };
    assert_eq!(polylines("#000000", "2"), 1, "{text}");
    assert_eq!(
        (polylines("#D55E00", "2"), polylines("#D55E00", "1")),
        (2, 2)
    );
    assert!(text.contains("kaiming: 5 % and 95 %") && text.contains("teacher: median"));
}

#[test]
fn empty_and_non_finite_inputs_draw_a_frame_not_an_error() {
    assert!(svg(&[], false).contains("waiting"));
    let nan = vec![Series::line("x", 0, vec![(1.0, f64::NAN)])];
    assert!(svg(&nan, false).contains("waiting"));
}

#[test]
fn densities_integrate_to_one() {
    let values: Vec<f32> = (0..1000).map(|i| (i as f32 / 999.0) * 2.0 - 1.0).collect();
    let curve = density(&values, -1.0, 1.0, 20);
    let area: f64 = curve.iter().map(|(_, d)| d * 0.1).sum();
    assert!((area - 1.0).abs() < 1e-9, "{area}");
    assert!(density(&values, 1.0, 1.0, 10).is_empty());
}
