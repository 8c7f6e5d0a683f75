//! The report's charts as PNG files: the page's chart code drawn into an RGB buffer
//! with a system TrueType font, and the buffer encoded as a PNG.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use histinit_charts::{draw_lines, Axes, Series};
use histinit_files::fs::{write_atomically, FileError};
use plotters::prelude::*;

use super::ReportError;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

pub(super) fn register_font(font: Option<&Path>) -> Result<(), ReportError> {
    let candidates: Vec<PathBuf> = match font {
        Some(path) => vec![path.to_path_buf()],
        None => FONT_PATHS.iter().map(PathBuf::from).collect(),
    };
    for path in &candidates {
        if let Ok(bytes) = std::fs::read(path) {
            // plotters keeps registered fonts for the whole process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
    }
    Err(ReportError::NoFont(
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 420;

/// Draws `series` into an RGB buffer and writes it as a PNG.
pub(super) fn chart_png(path: &Path, axes: Axes<'_>, series: &[Series]) -> Result<(), ReportError> {
    let failed = |reason: String| ReportError::Chart {
        path: path.into(),
        reason,
    };
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw_lines(&area, axes, series).map_err(failed)?;
    }
    let png = encode_png(&pixels, WIDTH, HEIGHT).map_err(|err| failed(err.to_string()))?;
    write_atomically(path, &png).map_err(|err| {
        ReportError::File(FileError::Write {
            path: path.into(),
            source: err,
        })
    })
}

/// A minimal PNG (8-bit RGB, no filtering, zlib through flate2). See Cargo.toml for why
/// not the png crate.
pub(super) fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::io::Result<Vec<u8>> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = (width * 3) as usize;
    for line in rgb.chunks(row) {
        encoder.write_all(&[0])?;
        encoder.write_all(line)?;
    }
    let data = encoder.finish()?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}
