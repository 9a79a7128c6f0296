//! The `Sec-WebSocket-Extensions` header's grammar (RFC 6455 section
//! 9.1), for any extension: a value is a list of elements, each an
//! extension name with parameters.
//!
//! [`parse_extensions`] walks the caller's `&str` and hands out each
//! [`Extension`] with its [`Params`]; nothing here allocates or knows what
//! an extension means. permessage-deflate (RFC 7692), the one extension
//! this crate implements, is negotiated on top of it in [`crate::deflate`].

use core::fmt;

/// An element of a `Sec-WebSocket-Extensions` value that does not follow
/// the header's grammar, from [`parse_extensions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Malformed;

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed extension header")
    }
}

impl core::error::Error for Malformed {}

/// Parses one `Sec-WebSocket-Extensions` value into its elements:
/// `name *( ";" param )` separated by commas, where a param is
/// `token [ "=" ( token / quoted-string ) ]`, with optional spaces and tabs
/// around `;`, `,` and `=`. Empty elements (`a, , b`) are skipped.
///
/// A malformed element yields [`Malformed`] and parsing resumes after the
/// next comma that is not inside a quoted string, so the elements around
/// it are still seen. A request carrying several header lines is parsed
/// one value at a time.
///
/// ```
/// use ws_proto::extension::parse_extensions;
///
/// let mut elements = parse_extensions(r#"foo; a=1; b="x,y", bar"#);
/// let foo = elements.next().unwrap().unwrap();
/// assert_eq!(foo.name(), "foo");
/// let params: Vec<_> = foo
///     .params()
///     .map(|p| (p.name(), p.value().map(|v| v.chars().collect::<String>())))
///     .collect();
/// assert_eq!(params, [("a", Some("1".into())), ("b", Some("x,y".into()))]);
/// assert_eq!(elements.next().unwrap().unwrap().name(), "bar");
/// assert!(elements.next().is_none());
/// ```
pub fn parse_extensions(value: &str) -> Extensions<'_> {
    Extensions {
        cursor: Cursor {
            text: value,
            pos: 0,
        },
    }
}

/// The elements of a `Sec-WebSocket-Extensions` value, from
/// [`parse_extensions`].
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Result<Extension<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = &mut self.cursor;
        loop {
            c.skip_ows();
            match c.peek() {
                None => return None,
                Some(b',') => c.pos += 1,
                Some(_) => break,
            }
        }
        let Some(name) = c.token() else {
            c.skip_element();
            return Some(Err(Malformed));
        };
        let params_start = c.pos;
        loop {
            c.skip_ows();
            match c.peek() {
                None | Some(b',') => {
                    let params = &c.text[params_start..c.pos];
                    if c.peek().is_some() {
                        c.pos += 1;
                    }
                    return Some(Ok(Extension { name, params }));
                }
                Some(b';') if c.param().is_some() => {}
                Some(_) => {
                    c.skip_element();
                    return Some(Err(Malformed));
                }
            }
        }
    }
}

/// One well-formed element of a `Sec-WebSocket-Extensions` value: an
/// extension name and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    name: &'a str,
    /// The checked `*( OWS ";" OWS param )` text after the name.
    params: &'a str,
}

impl<'a> Extension<'a> {
    /// The extension's name, as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether the name is `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The parameters, in order.
    pub fn params(&self) -> Params<'a> {
        Params {
            cursor: Cursor {
                text: self.params,
                pos: 0,
            },
        }
    }
}

/// The parameters of an [`Extension`], in order.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        self.cursor.skip_ows();
        // The text was checked when the element was parsed, so `param`
        // only fails at its end.
        self.cursor.param()
    }
}

/// One parameter of an [`Extension`]: a name and perhaps a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    name: &'a str,
    value: Option<ParamValue<'a>>,
}

impl<'a> Param<'a> {
    /// The parameter's name, as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Whether the name is `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value after `=`, if there is one.
    pub fn value(&self) -> Option<ParamValue<'a>> {
        self.value
    }
}

/// The value of a [`Param`]: a token or a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamValue<'a> {
    raw: &'a str,
    quoted: bool,
}

impl<'a> ParamValue<'a> {
    /// The value as written: a token, or the inside of a quoted string
    /// with its `\` escapes still in place.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the value was written as a quoted string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The characters of the value, escapes resolved.
    pub fn chars(&self) -> Unescaped<'a> {
        Unescaped {
            chars: self.raw.chars(),
            quoted: self.quoted,
        }
    }

    /// The value as a token: the token itself, or a quoted string whose
    /// content is a token without escapes. `None` otherwise.
    pub fn as_token(&self) -> Option<&'a str> {
        let is_token = !self.raw.is_empty() && self.raw.bytes().all(is_tchar);
        is_token.then_some(self.raw)
    }
}

/// The characters of a [`ParamValue`] with `\` escapes resolved, from
/// [`ParamValue::chars`].
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    chars: core::str::Chars<'a>,
    quoted: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self.chars.next()? {
            '\\' if self.quoted => self.chars.next(),
            c => Some(c),
        }
    }
}

/// `tchar` of RFC 7230 section 3.2.6.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `qdtext` of RFC 7230 section 3.2.6 (bytes of non-ASCII characters are
/// `obs-text`).
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..)
}

/// What may follow `\` in a quoted string.
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=0x7e | 0x80..)
}

/// A position in a header value. It only stops on ASCII bytes or at the
/// end, so every slice it takes falls on character boundaries.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.text[start..self.pos])
    }

    /// A quoted string starting here; its inside, escapes kept. On failure
    /// the cursor stays on the opening quote.
    fn quoted(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Some(&self.text[start + 1..self.pos - 1]);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    if !self.peek().is_some_and(is_quoted_pair_char) {
                        break;
                    }
                    self.pos += 1;
                }
                Some(b) if is_qdtext(b) => self.pos += 1,
                _ => break,
            }
        }
        self.pos = start;
        None
    }

    /// `";" OWS token [ OWS "=" OWS ( token / quoted-string ) ]`, starting
    /// on the `;`. On failure the cursor is left where the grammar broke.
    fn param(&mut self) -> Option<Param<'a>> {
        if !self.eat(b';') {
            return None;
        }
        self.skip_ows();
        let name = self.token()?;
        let after_name = self.pos;
        self.skip_ows();
        if !self.eat(b'=') {
            self.pos = after_name;
            return Some(Param { name, value: None });
        }
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            ParamValue {
                raw: self.quoted()?,
                quoted: true,
            }
        } else {
            ParamValue {
                raw: self.token()?,
                quoted: false,
            }
        };
        Some(Param {
            name,
            value: Some(value),
        })
    }

    /// Recovers from a malformed element: moves past the next comma that
    /// is outside quotes, or to the end.
    fn skip_element(&mut self) {
        let mut in_quotes = false;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => in_quotes = !in_quotes,
                b'\\' if in_quotes && self.peek().is_some_and(|b| b.is_ascii()) => self.pos += 1,
                b',' if !in_quotes => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    use crate::deflate::PERMESSAGE_DEFLATE;

    /// A parameter of permessage-deflate, as a sample name.
    const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

    /// Each element of `value` as `name(p1=v1,p2)` with values unescaped,
    /// or `!` for a malformed one.
    fn parsed(value: &str) -> Vec<String> {
        parse_extensions(value)
            .map(|ext| match ext {
                Err(_) => String::from("!"),
                Ok(ext) => {
                    let params: Vec<String> = ext
                        .params()
                        .map(|p| match p.value() {
                            Some(v) => {
                                std::format!("{}={}", p.name(), v.chars().collect::<String>())
                            }
                            None => String::from(p.name()),
                        })
                        .collect();
                    std::format!("{}({})", ext.name(), params.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn parser_splits_several_elements_in_one_value() {
        assert_eq!(
            parsed("permessage-deflate; client_max_window_bits, permessage-deflate, x-foo"),
            [
                "permessage-deflate(client_max_window_bits)",
                "permessage-deflate()",
                "x-foo()"
            ]
        );
    }

    #[test]
    fn parser_reads_params_with_and_without_values() {
        assert_eq!(parsed("a; b; c=1; d=tok-en; e"), ["a(b,c=1,d=tok-en,e)"]);
    }

    #[test]
    fn parser_unquotes_quoted_values() {
        let ext = parse_extensions(r#"a; b="10"; c="x\"y\\z""#)
            .next()
            .unwrap()
            .unwrap();
        let values: Vec<ParamValue<'_>> = ext.params().map(|p| p.value().unwrap()).collect();
        assert!(values[0].is_quoted());
        assert_eq!(values[0].raw(), "10");
        assert_eq!(values[0].as_token(), Some("10"));
        assert_eq!(values[1].raw(), r#"x\"y\\z"#);
        assert_eq!(values[1].chars().collect::<String>(), r#"x"y\z"#);
        assert_eq!(values[1].as_token(), None);
    }

    #[test]
    fn parser_accepts_whitespace_around_separators() {
        let expected = ["a(b=1,c)", "d()"];
        assert_eq!(parsed("a;b=1;c,d"), expected);
        assert_eq!(parsed(" \ta \t; \tb \t= \t1 ;c \t,\t d \t"), expected);
        assert_eq!(parsed("a ; b= 1; c ,d"), expected);
    }

    #[test]
    fn parser_keeps_commas_inside_quoted_strings() {
        assert_eq!(parsed(r#"a; b="x, y", c"#), ["a(b=x, y)", "c()"]);
        assert_eq!(parsed(r#"a; b="\",", c"#), ["a(b=\",)", "c()"]);
    }

    #[test]
    fn parser_skips_empty_elements() {
        assert_eq!(parsed(" , a,, ,b ,"), ["a()", "b()"]);
        assert!(parsed("").is_empty());
        assert!(parsed(" \t ").is_empty());
    }

    #[test]
    fn parser_reports_garbage_and_resumes_after_the_next_comma() {
        assert_eq!(parsed("permessage-deflate;;"), ["!"]);
        assert_eq!(parsed("; x"), ["!"]);
        assert_eq!(parsed("a; b=\"unterminated"), ["!"]);
        assert_eq!(parsed("a; b=\"unterminated, c"), ["!"]);
        assert_eq!(parsed("a; b=, c"), ["!", "c()"]);
        assert_eq!(parsed("a b, c"), ["!", "c()"]);
        assert_eq!(parsed("a; b=\"x\"y, c"), ["!", "c()"]);
        assert_eq!(parsed("a; \"b,\", c"), ["!", "c()"]);
        assert_eq!(parsed("a; b=x=y, c"), ["!", "c()"]);
        assert_eq!(parsed("a; b=\"\u{1}\", c"), ["!", "c()"]);
        assert_eq!(parsed("a; b=\"x\\"), ["!"]);
        assert_eq!(parsed("é, c"), ["!", "c()"]);
    }

    #[test]
    fn parser_allows_non_ascii_inside_quoted_strings() {
        assert_eq!(parsed("a; b=\"é\\é\""), ["a(b=éé)"]);
    }

    #[test]
    fn parser_matches_names_ignoring_case() {
        let ext = parse_extensions("PerMessage-Deflate; Client_Max_Window_Bits")
            .next()
            .unwrap()
            .unwrap();
        assert!(ext.is(PERMESSAGE_DEFLATE));
        assert!(ext.params().next().unwrap().is(CLIENT_MAX_WINDOW_BITS));
    }
}
