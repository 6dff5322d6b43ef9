//! Numbers and times as people read them, on every screen.

/// Formats a count with thousands separators, as people read numbers: 37512 → "37,512".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A `YYYY-MM-DD` date as people read it: `2020-12-31` → "31 Dec 2020" (the text unchanged when
/// it is not such a date).
pub fn day_text(iso: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = iso.split('-').collect();
    match (parts.as_slice(), parts.get(1).and_then(|m| m.parse::<usize>().ok())) {
        ([y, _, d], Some(m)) if (1..=12).contains(&m) && d.len() == 2 && y.len() == 4 => {
            format!("{} {} {y}", d.trim_start_matches('0'), MONTHS[m - 1])
        }
        _ => iso.to_string(),
    }
}

/// A UTC instant as people read it: `2020-12-15 22:00:00 UTC`.
pub fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// "21:04" in the device's local time.
pub fn clock_time(ms: f64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
        format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::{day_text, thousands, utc};

    #[test]
    fn dates_read_day_month_year() {
        assert_eq!(day_text("2020-12-31"), "31 Dec 2020");
        assert_eq!(day_text("2021-01-05"), "5 Jan 2021");
        assert_eq!(day_text("2021-13-05"), "2021-13-05", "not a date: unchanged");
        assert_eq!(day_text("soon"), "soon");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(37_512), "37,512");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn utc_times_read_as_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_608_069_600), "2020-12-15 22:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
