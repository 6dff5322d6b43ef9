//! The one way Beatbook writes a CSV for people to open ([`CsvExport`]): every export (the Daily
//! Snapshot, the analysts' hot-spot and segment tables, and any export added later) goes through
//! it, so no cell that came from ingested or typed text can run as a spreadsheet formula.
//!
//! OWASP's CSV-injection guidance: a cell that begins with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is read as a formula by Excel, LibreOffice and Google Sheets, so it is written
//! with a leading `'` (shown by none of them). A number (`-1.25`, `+3`) is left as it is: it is
//! not a formula, and analysts' z-scores and changes must stay numbers.

use std::borrow::Cow;
use std::io;

/// A CSV writer whose cells cannot start a formula.
#[derive(Debug)]
pub struct CsvExport<W: io::Write> {
    inner: csv::Writer<W>,
}

impl<W: io::Write> CsvExport<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Self { inner: csv::Writer::from_writer(out) }
    }

    /// Writes one row, each cell neutralised.
    ///
    /// # Errors
    /// The writer's error.
    pub fn write_record<I, T>(&mut self, cells: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let cells: Vec<T> = cells.into_iter().collect();
        let row: Vec<Cow<'_, str>> = cells.iter().map(|c| neutralise(c.as_ref())).collect();
        self.inner.write_record(row.iter().map(|c| c.as_bytes()))
    }

    /// Flushes what is buffered.
    ///
    /// # Errors
    /// The writer's error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// The output, flushed.
    ///
    /// # Errors
    /// The writer's error.
    pub fn into_inner(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

/// `cell`, with a leading `'` when a spreadsheet would read it as a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let formula_start = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula_start && cell.trim().parse::<f64>().map_or(true, |n| !n.is_finite()) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        for formula in ["=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\t=1", "\r=1", "-inf"] {
            assert_eq!(neutralise(formula), format!("'{formula}"), "{formula:?}");
        }
        for kept in ["-1.25", "+3", "-0", "1e-3", "Theft from Vehicle", "100 Block E Hastings", "", "a=b"] {
            assert_eq!(neutralise(kept), kept, "{kept:?}");
        }
    }

    #[test]
    fn every_cell_of_a_row_goes_through_it() {
        let mut w = CsvExport::new(Vec::new());
        w.write_record(["=HYPERLINK(\"http://x\")", "-4.5", "ok"]).expect("write");
        let text = String::from_utf8(w.into_inner().expect("flush")).expect("utf-8");
        assert_eq!(text, "\"'=HYPERLINK(\"\"http://x\"\")\",-4.5,ok\n");
    }
}
