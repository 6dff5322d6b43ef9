//! What free text a person types may hold, the one rule for every field that stores it (notes,
//! mission instructions and reasons, template fields, names, revocation reasons): a bounded
//! length, and no character that hides or rewrites what others read — no control character
//! (NUL included; a line break and a tab only where the field has lines, and no line or
//! paragraph separator in a one-line field), and none of Unicode's bidirectional embeddings,
//! overrides and isolates (U+202A–U+202E, U+2066–U+2069), with which "Trojan Source" text shows
//! one thing and says another. The marks that only steer direction (U+200E, U+200F) and the
//! zero-width joiners stay: scripts officers type need them. The server refuses such text with 422
//! naming the field; a note that came through the sync is rejected with the reason, which the
//! device shows.

/// Whether a field is one line (names, labels) or may hold several (notes, instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: no line breaks or tabs.
    One,
    /// Several lines: `\n`, `\r` and `\t` are allowed.
    Many,
}

/// Checks `value` (as it will be stored) against the rule: at most `max` characters, no hidden
/// characters.
///
/// # Errors
/// The reason, in words for the person who typed it (the caller names the field).
pub fn check(value: &str, max: usize, lines: Lines) -> Result<(), String> {
    let n = value.chars().count();
    if n > max {
        return Err(format!("at most {max} characters ({n} given)"));
    }
    match value.char_indices().find(|&(_, c)| hidden(c, lines)) {
        None => Ok(()),
        Some((at, c)) => {
            let position = value[..at].chars().count() + 1;
            Err(format!("character {position} (U+{:04X}) is a control or direction-changing character", c as u32))
        }
    }
}

fn hidden(c: char, lines: Lines) -> bool {
    let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let control = c.is_control() && !(lines == Lines::Many && matches!(c, '\n' | '\r' | '\t'));
    // Unicode's line and paragraph separators break a one-line field as a newline would.
    let separator = lines == Lines::One && matches!(c, '\u{2028}' | '\u{2029}');
    bidi || control || separator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_and_overlong_text_are_refused_with_where() {
        assert_eq!(check("Quiet block, two contacts", 80, Lines::One), Ok(()));
        assert_eq!(check("line one\nline two\ttab", 80, Lines::Many), Ok(()));
        assert!(check("line one\nline two", 80, Lines::One).is_err(), "a name has one line");
        assert!(check("line one\u{2028}line two", 80, Lines::One).is_err(), "a line separator too");
        let nul = check("ab\0c", 80, Lines::Many).expect_err("NUL");
        assert!(nul.contains("character 3 (U+0000)"), "{nul}");
        let rlo = check("invoice\u{202E}fdp.exe", 80, Lines::Many).expect_err("RLO");
        assert!(rlo.contains("U+202E"), "{rlo}");
        assert!(check("x\u{2066}y", 80, Lines::Many).is_err(), "an isolate");
        assert!(check("\u{7f}", 80, Lines::Many).is_err(), "DEL");
        // Letters of right-to-left scripts are text, not controls.
        assert_eq!(check("שלום مرحبا", 80, Lines::One), Ok(()));
        let long = check(&"é".repeat(2_001), 2_000, Lines::Many).expect_err("long");
        assert_eq!(long, "at most 2000 characters (2001 given)");
        assert_eq!(check(&"é".repeat(2_000), 2_000, Lines::Many), Ok(()), "characters, not bytes");
    }
}
