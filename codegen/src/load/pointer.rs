//! JSON pointers (RFC 6901) and the `$ref` strings that carry them.

use percent_encoding::percent_decode_str;

/// Escapes one reference token: `~` → `~0`, `/` → `~1`.
pub fn escape_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    push_escaped(&mut out, token);
    out
}

/// Appends `token` escaped as [`escape_token`] does (pointers are built for every node
/// of a document: this spares the intermediate strings).
pub fn push_escaped(out: &mut String, token: &str) {
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
        out.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Undoes [`escape_token`].
pub fn unescape_token(token: &str) -> String {
    if !token.contains('~') {
        return token.to_string();
    }
    token.replace("~1", "/").replace("~0", "~")
}

/// `pointer` extended by one (unescaped) token.
pub fn child(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + 1 + token.len());
    out.push_str(pointer);
    out.push('/');
    push_escaped(&mut out, token);
    out
}

/// The pointer's unescaped tokens (`""` → none).
pub fn tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(unescape_token)
        .collect()
}

/// The last unescaped token, when the pointer is not the root.
pub fn last_token(pointer: &str) -> Option<String> {
    pointer.rsplit_once('/').map(|(_, t)| unescape_token(t))
}

/// A `$ref` split into its file part (empty = the same file) and its JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTarget {
    pub file: String,
    pub pointer: String,
}

/// Why a `$ref` string cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefSyntaxError {
    Remote,
    NotAPointer,
    BadEncoding,
}

impl std::fmt::Display for RefSyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RefSyntaxError::Remote => {
                "remote references are not supported: jetwire never fetches documents over \
                 the network (copy the target next to the document and use a relative path)"
            }
            RefSyntaxError::NotAPointer => {
                "the fragment after `#` must be a JSON pointer starting with `/` \
                 (named anchors are not supported)"
            }
            RefSyntaxError::BadEncoding => "invalid %-encoding (not UTF-8)",
        })
    }
}

/// Splits and decodes a `$ref` string: `other.yaml#/components/schemas/A%20B`.
pub fn parse_ref(reference: &str) -> Result<RefTarget, RefSyntaxError> {
    let (file, fragment) = match reference.split_once('#') {
        Some((file, fragment)) => (file, fragment),
        None => (reference, ""),
    };
    if has_scheme(file) {
        return Err(RefSyntaxError::Remote);
    }
    let decode = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| RefSyntaxError::BadEncoding)
    };
    let pointer = decode(fragment)?;
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(RefSyntaxError::NotAPointer);
    }
    Ok(RefTarget {
        file: decode(file)?,
        pointer,
    })
}

/// `http:`, `https:`, `file:`, `urn:` ... (a Windows drive letter is one character).
fn has_scheme(file: &str) -> bool {
    match file.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_escape_and_unescape() {
        assert_eq!(escape_token("plain"), "plain");
        assert_eq!(escape_token("a/b~c~1"), "a~1b~0c~01");
        assert_eq!(unescape_token(&escape_token("a/b~c~1")), "a/b~c~1");
        assert_eq!(child("/x", "a/b"), "/x/a~1b");
        assert_eq!(child("", "é~"), "/é~0");
        assert_eq!(tokens(&child("/x~1y", "~1")), ["x/y", "~1"]);
    }

    #[test]
    fn refs_are_split_and_decoded() {
        assert_eq!(
            parse_ref("#/components/schemas/a~1b%20c").unwrap(),
            RefTarget {
                file: String::new(),
                pointer: "/components/schemas/a~1b c".into()
            }
        );
        assert_eq!(
            parse_ref("../common/x.yaml#/A").unwrap().file,
            "../common/x.yaml"
        );
        assert_eq!(parse_ref("x.yaml").unwrap().pointer, "");
        assert_eq!(
            parse_ref("https://example.com/x.json#/a"),
            Err(RefSyntaxError::Remote)
        );
        assert_eq!(parse_ref("#anchor"), Err(RefSyntaxError::NotAPointer));
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(tokens("/a~1b/c~0d"), vec!["a/b", "c~d"]);
        assert_eq!(child("/x", "a/b"), "/x/a~1b");
        assert_eq!(last_token("/x/a~1b").as_deref(), Some("a/b"));
        assert!(tokens("").is_empty());
    }
}
