//! Text that comes from outside (a link, a file name, a sweep config) as histinit shows
//! or writes it: one table of the characters that can make text pretend to be something
//! else, and the few ways such text is made safe for a message, a CSV field or Markdown.
//!
//! Control characters are the obvious case. The subtler one is Unicode's formatting
//! characters: bidirectional controls reorder what follows them (`txt.exe` can show as
//! `exe.txt`), zero-width and filler characters make two different texts look the same or
//! hide a message inside an innocent one, and tag characters carry invisible ASCII. Shown
//! on the page, text with them can impersonate the project's own words.

use std::borrow::Cow;

/// The code points [`is_formatting`] holds (inclusive ranges, sorted). There is no
/// Unicode crate in the workspace; this is Unicode's `Default_Ignorable_Code_Point` set
/// (as of Unicode 15.1) plus the explicit bidi marks and the line and paragraph
/// separators, less the variation selectors (see [`is_formatting`] for why those stay).
const FORMATTING: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),   // soft hyphen: invisible except at a line's end
    (0x034F, 0x034F),   // combining grapheme joiner
    (0x061C, 0x061C),   // Arabic letter mark (bidi)
    (0x115F, 0x1160),   // Hangul choseong and jungseong fillers: blank letters
    (0x17B4, 0x17B5),   // Khmer inherent vowels: invisible
    (0x180E, 0x180E),   // Mongolian vowel separator
    (0x200B, 0x200F), // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    (0x2028, 0x2029), // line and paragraph separators: a break a message cannot show as one
    (0x202A, 0x202E), // bidi embeddings and overrides
    (0x2060, 0x206F), // word joiner, invisible operators, bidi isolates, deprecated format controls
    (0x3164, 0x3164), // Hangul filler
    (0xFEFF, 0xFEFF), // zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0), // halfwidth Hangul filler
    (0xFFF0, 0xFFFB), // unassigned specials; interlinear annotation controls (hide text)
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0000, 0xE00FF), // tag characters (invisible ASCII) and unassigned ignorables
    (0xE01F0, 0xE0FFF), // unassigned ignorables after the variation selectors supplement
];

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Whether `c` reorders, hides or breaks the text around it without being seen: bidi
/// controls, zero-width and invisible characters, fillers, tag characters, line and
/// paragraph separators (the table [`FORMATTING`]).
///
/// Kept, because they neither reorder nor hide anything: the variation selectors
/// (U+FE00–FE0F, U+E0100–E01EF, Mongolian U+180B–180D, U+180F) only pick a glyph of the
/// character before them (an emoji's colour form, a CJK variant), and emoji and CJK
/// text need them; the visible format characters (Arabic number signs U+0600–0605,
/// Egyptian hieroglyph format controls) show as what they are. The zero-width
/// non-joiner and joiner are in the table, but [`without_formatting`] keeps them between
/// two non-ASCII characters, where Persian, Indic scripts and emoji sequences need them.
pub fn is_formatting(c: char) -> bool {
    let code = c as u32;
    FORMATTING
        .iter()
        .any(|&(low, high)| (low..=high).contains(&code))
}

/// Whether `c` cannot be shown as it is: a control character (C0, DEL, C1) or
/// [`is_formatting`].
pub fn is_unshowable(c: char) -> bool {
    c.is_control() || is_formatting(c)
}

/// `text` without its [`is_formatting`] characters, and how many were removed. A
/// zero-width non-joiner or joiner between two non-ASCII characters that stay (Persian
/// `می‌خواهم`, an emoji family) is kept: it shapes the letters around it. Control
/// characters are left to the caller (a lesson keeps its line breaks).
pub fn without_formatting(text: &str) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut removed = 0;
    for (i, &c) in chars.iter().enumerate() {
        if is_removed(&chars, i) {
            removed += 1;
        } else {
            out.push(c);
        }
    }
    (out, removed)
}

/// The first character of `text` that [`without_formatting`] would remove, if any.
pub fn first_formatting(text: &str) -> Option<char> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .find(|&i| is_removed(&chars, i))
        .map(|i| chars[i])
}

/// Whether [`without_formatting`] removes `chars[i]`.
fn is_removed(chars: &[char], i: usize) -> bool {
    let joins = |at: Option<&char>| at.is_some_and(|&c| !c.is_ascii() && !is_unshowable(c));
    let c = chars[i];
    is_formatting(c)
        && !((c == ZWNJ || c == ZWJ)
            && joins(i.checked_sub(1).and_then(|j| chars.get(j)))
            && joins(chars.get(i + 1)))
}

/// How a character that cannot be shown is written instead: `<U+202E>`.
pub fn code_point(c: char) -> String {
    format!("<U+{:04X}>", c as u32)
}

/// `text` with every [`is_unshowable`] character written as its code point
/// ([`code_point`]), so a message shows exactly what was given: nothing reordered,
/// hidden or broken onto another line.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unshowable) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unshowable(c) {
                    code_point(c)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The most characters of a given value a message quotes (as shown: a code point
/// written out counts as its [`code_point`] text).
pub const SHOWN_CHARS: usize = 40;

/// A value as a message quotes it: [`visible`], cut after [`SHOWN_CHARS`] characters
/// (then `…`), so a quote is at most `SHOWN_CHARS + 10` characters long, whatever it
/// quotes.
pub fn shown(value: &str) -> String {
    let mut text = String::new();
    let mut length = 0;
    for c in value.chars() {
        if length >= SHOWN_CHARS {
            text.push('…');
            return text;
        }
        if is_unshowable(c) {
            let written = code_point(c);
            length += written.len();
            text.push_str(&written);
        } else {
            length += 1;
            text.push(c);
        }
    }
    text
}

/// One CSV field as RFC 4180 writes it: as it is, or in double quotes (inner quotes
/// doubled) when it holds a comma, a quote, a line break or leading or trailing spaces.
/// The one CSV quoting of histinit's text fields ([`crate::run::curve_row`]; a sweep's
/// variant names need none: the sweep config refuses names that would).
pub fn csv_field(text: &str) -> Cow<'_, str> {
    let needs_quotes =
        text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ');
    if needs_quotes {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// Text for one line of Markdown (a table cell, a heading, a list item) that shows as
/// exactly these characters: every ASCII punctuation character Markdown could read as
/// syntax is backslash-escaped (CommonMark lets any of them be), `|` included so a cell
/// stays one cell, line breaks become spaces and [`is_unshowable`] characters are
/// written as code points. Not for code spans (there a backslash is literal).
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if is_unshowable(c) => out.push_str(&markdown_text(&code_point(c))),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind the table holds, and its neighbours that are not in it.
    const EVERY_KIND: &[char] = &[
        '\u{00AD}',
        '\u{034F}',
        '\u{061C}',
        '\u{115F}',
        '\u{17B4}',
        '\u{180E}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{2028}',
        '\u{2029}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2061}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{206F}',
        '\u{3164}',
        '\u{FEFF}',
        '\u{FFA0}',
        '\u{FFF9}',
        '\u{1BCA0}',
        '\u{1D173}',
        '\u{E0001}',
        '\u{E0041}',
        '\u{E007F}',
    ];

    #[test]
    fn reordering_and_invisible_characters_are_formatting_and_their_neighbours_are_not() {
        for &c in EVERY_KIND {
            assert!(is_formatting(c), "{}", code_point(c));
            assert!(is_unshowable(c));
        }
        // Kept: variation selectors, visible format characters, ordinary text.
        for c in [
            '\u{FE0F}',
            '\u{FE00}',
            '\u{E0100}',
            '\u{180B}',
            '\u{0600}',
            '\u{2027}',
            '\u{202F}',
            '\u{2070}',
            'a',
            'é',
            'ع',
            '中',
            '😀',
        ] {
            assert!(!is_formatting(c), "{}", code_point(c));
        }
        assert!(is_unshowable('\u{1B}') && is_unshowable('\u{85}') && !is_formatting('\n'));
        // The table is sorted and its ranges do not overlap (a typo would show here).
        assert!(FORMATTING.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(FORMATTING.iter().all(|(low, high)| low <= high));
    }

    #[test]
    fn formatting_is_removed_except_joiners_between_letters_that_need_them() {
        for &c in EVERY_KIND {
            let text = format!("report{c}.txt");
            assert_eq!(
                without_formatting(&text),
                ("report.txt".into(), 1),
                "{}",
                code_point(c)
            );
            assert_eq!(first_formatting(&text), Some(c));
        }
        // The classic: "gnp.exe" shown reversed as "exe.png".
        assert_eq!(
            without_formatting("photo\u{202E}gnp.exe"),
            ("photognp.exe".into(), 1)
        );
        // A Persian word with a zero-width non-joiner, an emoji family, a red heart
        // with its variation selector: unchanged.
        for kept in [
            "می\u{200C}خواهم",
            "👨\u{200D}👩\u{200D}👧",
            "❤\u{FE0F}\u{200D}🔥",
        ] {
            assert_eq!(without_formatting(kept), (kept.into(), 0));
            assert_eq!(first_formatting(kept), None);
        }
        // Joiners beside ASCII, at the ends, or beside another formatting character go.
        assert_eq!(
            without_formatting("\u{200D}a\u{200C}b é\u{200D}\u{202E}é\u{200D}"),
            ("ab éé".into(), 5)
        );
        assert_eq!(without_formatting("plain"), ("plain".into(), 0));
    }

    #[test]
    fn messages_show_unshowable_characters_as_code_points_and_quote_at_most_40() {
        assert_eq!(
            visible("a\u{202E}b\u{1B}[31mc\n"),
            "a<U+202E>b<U+001B>[31mc<U+000A>"
        );
        assert!(matches!(visible("plain é"), Cow::Borrowed("plain é")));
        assert_eq!(shown("x\u{E0041}"), "x<U+E0041>");
        assert_eq!(shown(&"a".repeat(41)), format!("{}…", "a".repeat(40)));
        assert_eq!(shown(&"a".repeat(40)), "a".repeat(40));
        // The code points written out count: a quote stays short whatever it quotes.
        let worst = shown(&"\u{E007F}".repeat(1000));
        assert_eq!(worst, format!("{}…", "<U+E007F>".repeat(5)));
        assert!(worst.chars().count() <= SHOWN_CHARS + 10);
        assert_eq!(
            shown(&format!("{}\u{202E}", "a".repeat(40))),
            format!("{}…", "a".repeat(40))
        );
    }

    #[test]
    fn csv_fields_are_quoted_exactly_when_they_need_it() {
        assert!(matches!(
            csv_field("lr_scale-2"),
            Cow::Borrowed("lr_scale-2")
        ));
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
        assert_eq!(csv_field(""), "");
        // Read back by splitting on commas outside quotes: one field each.
        for field in ["a,b", "x\"y\"", "p\nq", "plain"] {
            let line = format!("{},end", csv_field(field));
            let (first, rest) = split_csv_field(&line);
            assert_eq!((first.as_str(), rest), (field, "end"));
        }
    }

    /// A minimal RFC 4180 reader of the first field of `line`, for the test above.
    fn split_csv_field(line: &str) -> (String, &str) {
        let Some(quoted) = line.strip_prefix('"') else {
            let (field, rest) = line.split_once(',').unwrap();
            return (field.into(), rest);
        };
        let mut field = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|&(_, c)| c) == Some('"') {
                    field.push('"');
                    chars.next();
                } else {
                    return (field, &quoted[i + 2..]);
                }
            } else {
                field.push(c);
            }
        }
        panic!("unterminated quote in {line}");
    }

    #[test]
    fn markdown_text_escapes_what_markdown_would_read() {
        assert_eq!(markdown_text("a|b"), "a\\|b");
        assert_eq!(
            markdown_text("<img src=x>`code`[l](u)*e*_u_"),
            "\\<img src\\=x\\>\\`code\\`\\[l\\]\\(u\\)\\*e\\*\\_u\\_"
        );
        assert_eq!(markdown_text("two\nlines\r"), "two lines ");
        // The code point is written in Markdown too: `<U+202E>` would look like a tag.
        assert_eq!(markdown_text("x\u{202E}y"), "x\\<U\\+202E\\>y");
        assert_eq!(markdown_text("lr_scale-2 é"), "lr\\_scale\\-2 é");
    }
}
