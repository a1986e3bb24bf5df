//! Schema descriptions as rustdoc: Markdown that rustdoc would misread is made safe.
//! Code blocks would become doctests (fenced ones are marked `text`, indented ones are
//! dedented), `[words]` would become intra-doc links (escaped) and bare URLs would be
//! flagged (wrapped in `<>`).

/// `text` (a schema title or description) as rustdoc Markdown.
pub(crate) fn rustdoc_safe(text: &str) -> String {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_fence {
                out.push("```".to_string());
            } else {
                // Only `rust` code would be compiled; anything else is shown as text.
                let lang = if info.trim().is_empty() || info.trim().starts_with("rust") {
                    "text"
                } else {
                    info.trim()
                };
                out.push(format!("```{lang}"));
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push(line.trim_end().to_string());
        } else {
            out.push(escape_inline(trimmed.trim_end()));
        }
    }
    if in_fence {
        out.push("```".to_string());
    }
    out.join("\n")
}

/// Escapes `[` and `]` outside inline code and Markdown links, and wraps bare URLs.
fn escape_inline(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            in_code = !in_code;
            out.push(c);
            i += 1;
            continue;
        }
        if in_code {
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                // `[text](url)` is a real link: keep it.
                if let Some(close) = chars[i..].iter().position(|&c| c == ']') {
                    if chars.get(i + close + 1) == Some(&'(') {
                        let end = chars[i + close..]
                            .iter()
                            .position(|&c| c == ')')
                            .map_or(chars.len(), |p| i + close + p + 1);
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                }
                out.push_str("\\[");
            }
            ']' => out.push_str("\\]"),
            'h' if starts_url(&chars[i..]) && !after_link_opener(&out) => {
                let end = chars[i..]
                    .iter()
                    .position(|c| c.is_whitespace() || matches!(c, '>' | '"' | '\''))
                    .map_or(chars.len(), |p| i + p);
                // A sentence's final punctuation is not part of the URL.
                let mut url_end = end;
                while url_end > i && matches!(chars[url_end - 1], '.' | ',' | ';' | ':' | ')') {
                    url_end -= 1;
                }
                out.push('<');
                out.extend(&chars[i..url_end]);
                out.push('>');
                out.extend(&chars[url_end..end]);
                i = end;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

fn starts_url(chars: &[char]) -> bool {
    let s: String = chars.iter().take(8).collect();
    s.starts_with("http://") || s.starts_with("https://")
}

fn after_link_opener(out: &str) -> bool {
    out.ends_with('<') || out.ends_with('(')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_blocks_do_not_become_doctests() {
        assert_eq!(
            rustdoc_safe("Example:\n```\nlet x = 1;\n```\n    indented code"),
            "Example:\n```text\nlet x = 1;\n```\nindented code"
        );
        assert_eq!(rustdoc_safe("```json\n{}\n"), "```json\n{}\n```");
    }

    #[test]
    fn brackets_and_urls_are_escaped() {
        assert_eq!(rustdoc_safe("one of [a, b]"), "one of \\[a, b\\]");
        assert_eq!(
            rustdoc_safe("see [the spec](https://example.com) or `[x]`"),
            "see [the spec](https://example.com) or `[x]`"
        );
        assert_eq!(
            rustdoc_safe("docs at https://example.com/a."),
            "docs at <https://example.com/a>."
        );
        assert_eq!(
            rustdoc_safe("<https://example.com>"),
            "<https://example.com>"
        );
    }
}
