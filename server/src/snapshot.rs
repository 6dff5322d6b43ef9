//! The Chief's Daily Snapshot as files: CSV (one tidy table, `section,item,measure,value`) and
//! PDF (A4, drawn by `pdf-writer` with the PDF base-14 Helvetica, so nothing is embedded and no
//! browser runs on the server). The page at `/snapshot` shows the same [`Snapshot`].
//!
//! `GET /snapshot/{date}.pdf` and `.csv` are exports: they need [`Action::ExportData`] and
//! leave an audit record each. `server snapshot --date D --out FILE.(html|pdf|csv)` writes the
//! same files from the command line.

use app::snapshot::{change_text, Snapshot};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use protocol::policy::Target;
use protocol::Action;

use app::error::ApiError;

use crate::gate::{asker, gate};
use crate::state::AppState;

/// The file kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One tidy CSV table.
    Csv,
    /// A4 PDF.
    Pdf,
    /// A standalone printable HTML page.
    Html,
}

impl Format {
    /// From a file name's extension.
    pub fn from_name(name: &str) -> Option<(String, Format)> {
        let (stem, ext) = name.rsplit_once('.')?;
        let f = match ext.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv,
            "pdf" => Format::Pdf,
            "html" | "htm" => Format::Html,
            _ => return None,
        };
        Some((stem.to_string(), f))
    }
}

/// `GET /snapshot/{file}`: `YYYY-MM-DD.pdf` or `YYYY-MM-DD.csv`.
pub async fn download(State(state): State<AppState>, Path(file): Path<String>, req: Request) -> Response {
    let what = format!("/snapshot/{file}");
    let grant = match gate(&state, asker(&req), Action::ExportData, Target::City, &what).await {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Some((date, format)) = Format::from_name(&file).filter(|(_, f)| *f != Format::Html) else {
        return ApiError::NotFound("snapshots download as YYYY-MM-DD.pdf or YYYY-MM-DD.csv".into()).into_response();
    };
    let snapshot = match app::snapshot::ssr::snapshot(&state.ctx, &date).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let (bytes, content_type) = match format {
        Format::Csv => (to_csv(&snapshot).into_bytes(), "text/csv; charset=utf-8"),
        _ => (to_pdf(&snapshot), "application/pdf"),
    };
    if let Err(e) = grant.audit(&state.ctx, &what, bodega::audit::Outcome::Success, "snapshot exported").await {
        return e.into_response();
    }
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"beatbook-snapshot-{}.{}\"",
        snapshot.date,
        if format == Format::Csv { "csv" } else { "pdf" }
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The snapshot as one tidy CSV table: `section,item,measure,value`.
pub fn to_csv(s: &Snapshot) -> String {
    let mut w = bodega::export::CsvExport::new(Vec::new());
    let mut row = |section: &str, item: &str, measure: &str, value: String| {
        // Writing to a Vec cannot fail.
        let _ = w.write_record([section, item, measure, value.as_str()]);
    };
    row("snapshot", "date", "", s.date.clone());
    row("snapshot", "time_zone", "", s.time_zone.clone());
    row("snapshot", "data_through", "", s.data_through.clone().unwrap_or_default());
    row("snapshot", "harm_table", "", s.harm_table.clone());
    let opt = |v: Option<f64>| v.map(|c| format!("{c:.1}")).unwrap_or_default();
    for c in &s.categories {
        for wc in &c.windows {
            row("counts", &c.key, &format!("{} current", wc.window), wc.current.to_string());
            row("counts", &c.key, &format!("{} prior", wc.window), wc.prior.map(|p| p.to_string()).unwrap_or_default());
            row("counts", &c.key, &format!("{} last year", wc.window), wc.last_year.to_string());
            row("counts", &c.key, &format!("{} change vs prior %", wc.window), opt(wc.change_prior()));
            row("counts", &c.key, &format!("{} change vs last year %", wc.window), opt(wc.change_last_year()));
        }
        for (i, n) in c.daily.iter().enumerate() {
            row("daily", &c.key, &format!("day -{}", c.daily.len() - 1 - i), n.to_string());
        }
    }
    row("concentration", "cells", "", s.concentration.cells.to_string());
    row("concentration", "top 1%", "share of harm", format!("{:.4}", s.concentration.top_1));
    row("concentration", "top 5%", "share of harm", format!("{:.4}", s.concentration.top_5));
    for (x, y) in &s.concentration.curve {
        row("lorenz", &format!("{x:.3}"), "share of harm", format!("{y:.4}"));
    }
    for h in &s.hot_spots {
        let item = format!("#{}", h.rank);
        row("hot_spot", &item, "cell", format!("{}/{}", h.ix, h.iy));
        row("hot_spot", &item, "place", h.label.clone());
        row("hot_spot", &item, "prior rank", h.prior_rank.map(|r| r.to_string()).unwrap_or_default());
        row("hot_spot", &item, "district", h.district.clone().unwrap_or_default());
        row("hot_spot", &item, "harm", format!("{}", h.harm));
        row("hot_spot", &item, "incidents", h.incidents.to_string());
        row("hot_spot", &item, "most frequent", h.top_offense.clone());
        row("hot_spot", &item, "lat", format!("{:.6}", h.lat));
        row("hot_spot", &item, "lon", format!("{:.6}", h.lon));
    }
    for m in &s.missions {
        row("missions", &m.district, "planned", m.planned.to_string());
        row("missions", &m.district, "acknowledged", m.acknowledged.to_string());
        row("missions", &m.district, "completed", m.completed.to_string());
        row("missions", &m.district, "koper with gps", m.koper_with_gps.to_string());
        row("missions", &m.district, "koper compliant", m.koper_compliant.to_string());
    }
    for (i, n) in s.notable.iter().enumerate() {
        let item = format!("{}", i + 1);
        row("notable", &item, "when", n.when.clone());
        row("notable", &item, "offense", n.offense.clone());
        row("notable", &item, "address", n.address.clone());
        row("notable", &item, "district", n.district.clone().unwrap_or_default());
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

// ---- PDF ------------------------------------------------------------------------------------

/// Text in the PDF's WinAnsiEncoding (Windows-1252): Latin-1 plus the typographic marks the
/// snapshot uses; anything else becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '−' => b'-',
            '▲' => b'+',
            '▼' => b'-',
            _ => b'?',
        })
        .collect()
}

/// Helvetica advance widths (per 1000 em) for what the snapshot right-aligns; other glyphs
/// take an average width.
fn text_width(text: &str, size: f32) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match c {
            '0'..='9' | '+' | '-' | '−' | '$' => 556,
            ',' | '.' | ' ' | '/' => 278,
            '%' => 889,
            '—' => 1000,
            _ => 560,
        })
        .sum();
    units as f32 * size / 1000.0
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 36.0;

struct Pages {
    done: Vec<Content>,
    current: Content,
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Pages { done: Vec::new(), current: Content::new(), y: PAGE_H - MARGIN }
    }

    /// Makes room for `height` points, starting a new page when this one is full.
    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN {
            let full = std::mem::replace(&mut self.current, Content::new());
            self.done.push(full);
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let c = &mut self.current;
        c.begin_text();
        c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
        c.next_line(x, y);
        c.show(Str(&win_ansi(text)));
        c.end_text();
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, text: &str) {
        let x = right - text_width(text, size);
        self.text(x, y, size, false, text);
    }

    fn heading(&mut self, text: &str) {
        self.need(30.0);
        self.y -= 18.0;
        let y = self.y;
        self.text(MARGIN, y, 11.0, true, text);
        self.y -= 6.0;
    }

    fn rule(&mut self, y: f32) {
        let c = &mut self.current;
        c.set_stroke_gray(0.75);
        c.set_line_width(0.5);
        c.move_to(MARGIN, y);
        c.line_to(PAGE_W - MARGIN, y);
        c.stroke();
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.current);
        self.done
    }
}

/// The snapshot as an A4 PDF (one page, two when the notable list is long).
pub fn to_pdf(s: &Snapshot) -> Vec<u8> {
    let mut p = Pages::new();
    p.y -= 16.0;
    let y = p.y;
    p.text(MARGIN, y, 16.0, true, &format!("Chief's Daily Snapshot — {}", s.date));
    p.y -= 14.0;
    let y = p.y;
    p.text(
        MARGIN,
        y,
        8.0,
        false,
        &format!(
            "Local days in {}. Data through {}. Harm weights: {}. Changes shown when the base is at least {}.",
            s.time_zone,
            s.data_through.clone().unwrap_or_else(|| "—".into()),
            s.harm_table,
            app::snapshot::MIN_BASE
        ),
    );

    // Counts by category: label, then per window n / vs prior / vs last year, then a sparkline.
    p.heading("Counts by category");
    let label_w = 118.0;
    let col = 33.0;
    let spark_w = 60.0;
    let windows: Vec<String> =
        s.categories.first().map(|c| c.windows.iter().map(|w| w.window.clone()).collect()).unwrap_or_default();
    p.need(24.0);
    p.y -= 10.0;
    let y = p.y;
    for (i, w) in windows.iter().enumerate() {
        let x = MARGIN + label_w + i as f32 * col * 3.0;
        p.text(x, y, 7.5, true, w);
    }
    p.text(PAGE_W - MARGIN - spark_w, y, 7.5, true, "Last 28 days");
    p.y -= 9.0;
    let y = p.y;
    for i in 0..windows.len() {
        let x = MARGIN + label_w + i as f32 * col * 3.0;
        p.text_right(x + col - 4.0, y, 6.5, "n");
        p.text_right(x + 2.0 * col - 4.0, y, 6.5, "vs prior");
        p.text_right(x + 3.0 * col - 4.0, y, 6.5, "vs last yr");
    }
    p.rule(y - 3.0);
    for c in &s.categories {
        p.need(14.0);
        p.y -= 13.0;
        let y = p.y;
        p.text(MARGIN, y, 8.0, false, &c.label);
        for (i, w) in c.windows.iter().enumerate() {
            let x = MARGIN + label_w + i as f32 * col * 3.0;
            p.text_right(x + col - 4.0, y, 8.0, &w.current.to_string());
            p.text_right(x + 2.0 * col - 4.0, y, 8.0, &change_text(w.change_prior()));
            p.text_right(x + 3.0 * col - 4.0, y, 8.0, &change_text(w.change_last_year()));
        }
        // Sparkline.
        let max = c.daily.iter().copied().max().unwrap_or(0).max(1) as f32;
        let x0 = PAGE_W - MARGIN - spark_w;
        let n = c.daily.len().max(2) as f32 - 1.0;
        let cur = &mut p.current;
        cur.set_stroke_rgb(0.11, 0.31, 0.85);
        cur.set_line_width(0.8);
        for (i, v) in c.daily.iter().enumerate() {
            let (px, py) = (x0 + i as f32 * spark_w / n, y - 1.0 + *v as f32 / max * 9.0);
            if i == 0 {
                cur.move_to(px, py);
            } else {
                cur.line_to(px, py);
            }
        }
        cur.stroke();
    }

    // Concentration (left) and missions (right).
    p.heading("Concentration of harm and missions today");
    p.need(120.0);
    let top = p.y - 4.0;
    let (cw, ch) = (150.0, 100.0);
    let (cx, cy) = (MARGIN + 10.0, top - ch - 4.0);
    {
        let cur = &mut p.current;
        cur.set_stroke_gray(0.5);
        cur.set_line_width(0.5);
        cur.move_to(cx, cy + ch);
        cur.line_to(cx, cy);
        cur.line_to(cx + cw, cy);
        cur.stroke();
        cur.set_stroke_gray(0.75);
        cur.move_to(cx, cy);
        cur.line_to(cx + cw, cy + ch);
        cur.stroke();
        cur.set_stroke_rgb(0.84, 0.15, 0.2);
        cur.set_line_width(1.2);
        for (i, (x, y)) in s.concentration.curve.iter().enumerate() {
            let (px, py) = (cx + *x as f32 * cw, cy + *y as f32 * ch);
            if i == 0 {
                cur.move_to(px, py);
            } else {
                cur.line_to(px, py);
            }
        }
        cur.stroke();
    }
    p.text(cx, cy - 10.0, 7.0, false, "share of area (cells ranked by harm)");
    p.text(
        cx + cw + 12.0,
        top - 12.0,
        8.0,
        false,
        &format!("Top 1% of {} cells: {:.0}% of harm", s.concentration.cells, s.concentration.top_1 * 100.0),
    );
    p.text(cx + cw + 12.0, top - 24.0, 8.0, false, &format!("Top 5%: {:.0}% of harm", s.concentration.top_5 * 100.0));
    // Missions table.
    let mx = MARGIN + 330.0;
    let headers = ["District", "Planned", "Ack.", "Done", "Koper"];
    let xs = [mx, mx + 60.0, mx + 100.0, mx + 135.0, mx + 165.0];
    for (h, x) in headers.iter().zip(xs) {
        p.text(x, top - 12.0, 7.5, true, h);
    }
    let mut my = top - 24.0;
    for m in &s.missions {
        let koper = m.koper_compliance().map(|c| format!("{c:.0}%")).unwrap_or_else(|| "no GPS".into());
        let cells =
            [m.district.clone(), m.planned.to_string(), m.acknowledged.to_string(), m.completed.to_string(), koper];
        for (v, x) in cells.iter().zip(xs) {
            p.text(x, my, 8.0, false, v);
        }
        my -= 11.0;
    }
    p.y = (cy - 14.0).min(my);

    // Top 10 hot spots with a bar each.
    p.heading("Top 10 harm hot spots (28 days)");
    let max = s.hot_spots.iter().map(|h| h.harm).fold(0.0_f64, f64::max).max(1.0);
    for h in &s.hot_spots {
        p.need(12.0);
        p.y -= 11.0;
        let y = p.y;
        p.text_right(MARGIN + 14.0, y, 8.0, &h.rank.to_string());
        p.text(MARGIN + 20.0, y, 8.0, false, &h.movement());
        // The place's name in about 170 points of 8-point type; the cell id is in the CSV.
        let place: String = if h.label.chars().count() > 38 {
            h.label.chars().take(37).chain(std::iter::once('…')).collect()
        } else {
            h.label.clone()
        };
        p.text(MARGIN + 50.0, y, 8.0, false, &place);
        p.text(MARGIN + 222.0, y, 8.0, false, h.district.as_deref().unwrap_or("—"));
        let bar = (h.harm / max) as f32 * 90.0;
        let cur = &mut p.current;
        cur.set_fill_rgb(0.9, 0.22, 0.27);
        cur.rect(MARGIN + 245.0, y - 1.0, bar, 7.0);
        cur.fill_nonzero();
        cur.set_fill_gray(0.0);
        p.text(MARGIN + 340.0, y, 8.0, false, &format!("{:.0}", h.harm));
        p.text(MARGIN + 365.0, y, 8.0, false, &h.top_offense);
    }

    p.heading("Notable incidents (7 days)");
    if s.notable.is_empty() {
        p.y -= 11.0;
        let y = p.y;
        p.text(MARGIN, y, 8.0, false, "None.");
    }
    for n in &s.notable {
        p.need(11.0);
        p.y -= 10.0;
        let y = p.y;
        let place = if n.address.is_empty() { "location withheld" } else { &n.address };
        p.text(
            MARGIN,
            y,
            7.5,
            false,
            &format!("{} · {} · {} · {}", n.when, n.offense, place, n.district.as_deref().unwrap_or("—")),
        );
    }
    let pages = p.finish();
    let mut footer_pages = Vec::with_capacity(pages.len());
    let count = pages.len();
    for (i, mut c) in pages.into_iter().enumerate() {
        c.begin_text();
        c.set_font(Name(b"F1"), 7.0);
        c.next_line(MARGIN, 20.0);
        c.show(Str(&win_ansi(&format!("Beatbook · generated {} · page {} of {}", s.generated_at, i + 1, count))));
        c.end_text();
        footer_pages.push(c);
    }
    write_pdf(footer_pages, &s.date)
}

fn write_pdf(pages: Vec<Content>, date: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 10;
    let page_ids: Vec<Ref> = (0..pages.len()).map(|i| Ref::new(first + 2 * i as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_ids.iter().copied()).count(pages.len() as i32);
    for (f, name) in [(regular, b"Helvetica".as_slice()), (bold, b"Helvetica-Bold".as_slice())] {
        pdf.type1_font(f).base_font(Name(name)).encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(pdf_writer::TextStr(&format!("Chief's Daily Snapshot {date}")))
        .producer(pdf_writer::TextStr("Beatbook"));
    for (i, content) in pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        {
            let mut res = page.resources();
            let mut fonts = res.fonts();
            fonts.pair(Name(b"F1"), regular);
            fonts.pair(Name(b"F2"), bold);
        }
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_base_fonts() {
        assert_eq!(win_ansi("Café — 12%"), b"Caf\xe9 \x97 12%".to_vec());
        assert_eq!(win_ansi("漢"), b"?".to_vec());
        assert_eq!(Format::from_name("2020-11-30.pdf"), Some(("2020-11-30".into(), Format::Pdf)));
        assert_eq!(Format::from_name("2020-11-30.CSV"), Some(("2020-11-30".into(), Format::Csv)));
        assert_eq!(Format::from_name("2020-11-30.exe"), None);
        assert_eq!(Format::from_name("no-extension"), None);
    }
}
