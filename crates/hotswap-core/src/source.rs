//! Source decoding: file bytes → text, the way Python's tokenizer decodes a module.
//!
//! UTF-8 is the default (PEP 3120); a UTF-8 BOM is dropped; a PEP 263 coding cookie in the first
//! two lines selects another encoding. Latin-1 and ASCII are decoded here; any other declared
//! encoding is handed back to the caller, which asks Python's codecs.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Bytes that are not valid in the file's encoding, at this 1-based line and column.
    Invalid { encoding: String, line: u32, column: u32 },
    /// A coding cookie names an encoding this module does not decode itself.
    OtherEncoding(String),
    /// NUL bytes: a binary file, or one caught half-written.
    Binary { line: u32 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Invalid { encoding, line, column } => write!(
                f,
                "bytes at line {line}, column {column} are not valid {encoding}; \
                 save the file as UTF-8 or declare its encoding (PEP 263)"
            ),
            DecodeError::OtherEncoding(name) => write!(f, "source declares encoding {name:?}"),
            DecodeError::Binary { line } => {
                write!(f, "file contains NUL bytes (line {line}): not Python source")
            }
        }
    }
}

/// Decodes module source bytes to text (without a BOM).
pub fn decode_source(bytes: &[u8]) -> Result<String, DecodeError> {
    let (bytes, had_bom) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    // `contains` searches a word at a time (every module is checked at start-up).
    if bytes.contains(&0) {
        let pos = bytes.iter().position(|&b| b == 0).unwrap_or_default();
        return Err(DecodeError::Binary { line: line_of(bytes, pos) });
    }
    let declared = if had_bom { None } else { coding_cookie(bytes) };
    match declared.as_deref().map(normalize_encoding).as_deref() {
        None | Some("utf-8") | Some("utf-8-sig") => decode_utf8(bytes),
        Some("latin-1") => Ok(bytes.iter().map(|&b| b as char).collect()),
        Some("ascii") => match bytes.iter().position(|b| !b.is_ascii()) {
            Some(pos) => Err(invalid("ascii", bytes, pos)),
            None => decode_utf8(bytes),
        },
        Some(_) => Err(DecodeError::OtherEncoding(declared.unwrap_or_default())),
    }
}

fn decode_utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(invalid("utf-8", bytes, e.valid_up_to())),
    }
}

fn invalid(encoding: &str, bytes: &[u8], pos: usize) -> DecodeError {
    let line_start = bytes[..pos].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    DecodeError::Invalid {
        encoding: encoding.to_owned(),
        line: line_of(bytes, pos),
        column: (pos - line_start + 1) as u32,
    }
}

fn line_of(bytes: &[u8], pos: usize) -> u32 {
    bytes[..pos].iter().filter(|&&b| b == b'\n').count() as u32 + 1
}

/// The encoding named by a PEP 263 cookie (`# -*- coding: latin-1 -*-`) in the first two lines.
/// The second line only counts if the first is blank or a comment.
fn coding_cookie(bytes: &[u8]) -> Option<String> {
    let mut lines = bytes.split(|&b| b == b'\n');
    for _ in 0..2 {
        let line = lines.next()?;
        let indent = line.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\x0c')).count();
        let trimmed = &line[indent..];
        if trimmed.first() != Some(&b'#') {
            if trimmed.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return None;
        }
        let text = String::from_utf8_lossy(trimmed);
        if let Some(at) = text.find("coding") {
            let rest = &text[at + "coding".len()..];
            if let Some(rest) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
                let name: String = rest
                    .trim_start_matches([' ', '\t'])
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if !name.is_empty() {
                    return Some(name);
                }
            }
        }
    }
    None
}

/// Python's tokenizer normalises a few spellings; the rest go to the codec registry.
fn normalize_encoding(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace('_', "-");
    if lower == "utf-8" || lower == "utf8" || lower.starts_with("utf-8-") {
        return if lower == "utf-8-sig" { lower } else { "utf-8".into() };
    }
    match lower.as_str() {
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1" => "latin-1".into(),
        "ascii" | "us-ascii" => "ascii".into(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_plain_and_bom() {
        assert_eq!(decode_source(b"x = 1\n").unwrap(), "x = 1\n");
        assert_eq!(decode_source(b"\xef\xbb\xbfx = '\xc3\xa9'\n").unwrap(), "x = '\u{e9}'\n");
    }

    #[test]
    fn latin1_cookie() {
        let src = b"# -*- coding: latin-1 -*-\nx = '\xe9'\n";
        assert_eq!(decode_source(src).unwrap(), "# -*- coding: latin-1 -*-\nx = '\u{e9}'\n");
        let second_line = b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-1 :\ny='\xff'\n";
        assert!(decode_source(second_line).unwrap().ends_with("y='\u{ff}'\n"));
    }

    #[test]
    fn cookie_after_code_is_ignored() {
        let src = b"x = 1\n# coding: latin-1\ny = '\xe9'\n";
        assert_eq!(decode_source(src), Err(DecodeError::Invalid { encoding: "utf-8".into(), line: 3, column: 6 }));
    }

    #[test]
    fn invalid_utf8_position() {
        let err = decode_source(b"a = 1\nb = '\xff'\n").unwrap_err();
        assert_eq!(err, DecodeError::Invalid { encoding: "utf-8".into(), line: 2, column: 6 });
        assert!(err.to_string().contains("line 2, column 6"));
    }

    #[test]
    fn other_encodings_are_delegated() {
        let src = b"# coding: cp1252\nx = '\x80'\n";
        assert_eq!(decode_source(src), Err(DecodeError::OtherEncoding("cp1252".into())));
    }

    #[test]
    fn binary_is_rejected() {
        assert_eq!(decode_source(b"\x7fELF\x02\x01\n\x00\x00"), Err(DecodeError::Binary { line: 2 }));
    }
}
