//! Documentation of the contract: Markdown pages (`docs/README.md` with the index, the
//! wire protocol and the `x-jetwire` extension; one page per operation; `docs/types.md`
//! with every named type once) and one self-contained HTML page (`docs/index.html`)
//! with the same content.
//!
//! [`context`] turns the IR into what the pages show (schemas flattened into field
//! tables by [`fields`], named types as links to their section); the templates in
//! `templates/` lay out the README (with the protocol) and the HTML frame, [`pages`]
//! the per-operation pages and the types page.

pub mod context;
pub mod fields;
pub mod pages;

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::Environment;

use crate::ir::Spec;
use crate::{Error, Result};

const README: &str = include_str!("../../../templates/README.md.j2");
const PROTOCOL: &str = include_str!("../../../templates/protocol.md.j2");
const EXTENSION: &str = include_str!("../../../templates/extension.md.j2");
const HTML: &str = include_str!("../../../templates/index.html.j2");

fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // Markdown output: nothing is HTML-escaped here; the HTML page escapes through
    // the Markdown renderer.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("cell", table_cell);
    for (name, source) in [
        ("README.md.j2", README),
        ("protocol.md.j2", PROTOCOL),
        ("extension.md.j2", EXTENSION),
        ("index.html.j2", HTML),
    ] {
        env.add_template(name, source)
            .map_err(|e| template_error(name, e))?;
    }
    Ok(env)
}

/// A value for a Markdown table cell: one line, `|` escaped.
fn table_cell(value: String) -> String {
    let mut out = String::with_capacity(value.len());
    fields::push_cell(&mut out, &value);
    out
}

fn template_error(name: &str, e: minijinja::Error) -> Error {
    Error::Internal {
        what: format!("documentation template {name}"),
        message: format!("{e:#}"),
    }
}

/// Where a page's links to named types go: the `(@type#<anchor>)` targets the context
/// and templates write become `(<prefix><anchor>)`.
#[derive(Clone, Copy)]
enum TypeLinks {
    /// From `docs/README.md`.
    FromReadme,
    /// From `docs/operations/*.md`.
    FromOperation,
    /// From `docs/types.md` itself.
    FromTypes,
    /// Within the HTML page (ids `type-<anchor>`).
    SinglePage,
}

impl TypeLinks {
    fn prefix(self) -> &'static str {
        match self {
            TypeLinks::FromReadme => "](types.md#",
            TypeLinks::FromOperation => "](../types.md#",
            TypeLinks::FromTypes => "](#",
            TypeLinks::SinglePage => "](#type-",
        }
    }
}

/// A template rendered and made final ([`finish`]).
fn render(
    env: &Environment,
    name: &str,
    ctx: minijinja::Value,
    links: TypeLinks,
) -> Result<String> {
    let template = env
        .get_template(name)
        .map_err(|e| template_error(name, e))?;
    let text = template.render(ctx).map_err(|e| template_error(name, e))?;
    let mut out = String::with_capacity(text.len());
    finish(&mut out, &text, links);
    Ok(out)
}

/// Appends a page as written (by a template or [`pages`]) to `out`, made final: the
/// type links pointed the page's way, at most one blank line in a row, and one
/// trailing newline, whatever the templates' whitespace control left. The pages are
/// most of the documentation's bytes: both steps skip ahead to what they look for
/// (`@` with a byte search, newline runs eight bytes at a time).
fn finish(out: &mut String, text: &str, links: TypeLinks) {
    // `](@type#<anchor>)`: `@` is rare in the pages, `](` and `type#` around it say
    // it is a link to a type (the pattern cannot overlap itself).
    const AT: &str = fields::TYPE_LINK;
    let replaced;
    let text = if text.contains('@') {
        let mut with_links = String::with_capacity(text.len() + 1024);
        let (mut copied, mut from) = (0, 0);
        while let Some(at) = text[from..].find('@').map(|i| from + i) {
            if text[..at].ends_with("](") && text[at..].starts_with(AT) {
                with_links.push_str(&text[copied..at - 2]);
                with_links.push_str(links.prefix());
                copied = at + AT.len();
            }
            from = at + 1;
        }
        with_links.push_str(&text[copied..]);
        replaced = with_links;
        replaced.as_str()
    } else {
        text
    };
    let start = out.len();
    let bytes = text.as_bytes();
    let (mut copied, mut from) = (0, 0);
    while let Some(at) = three_newlines(bytes, from) {
        let run = bytes[at..].iter().take_while(|b| **b == b'\n').count();
        out.push_str(&text[copied..at + 2]);
        copied = at + run;
        from = at + run;
    }
    out.push_str(&text[copied..]);
    while out[start..].ends_with("\n\n") {
        out.pop();
    }
    if !out[start..].ends_with('\n') {
        out.push('\n');
    }
}

/// Where the first `\n\n\n` at or after `from` starts. Eight bytes are read at a
/// time and the six runs starting in them checked at once, so a word steps six bytes.
fn three_newlines(bytes: &[u8], mut from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        // The high bit of each byte that is a newline (exact: no carries between bytes).
        let newline = !(((x & LOW7) + LOW7) | x | LOW7);
        let three = newline & (newline >> 8) & (newline >> 16);
        if three != 0 {
            return Some(from + three.trailing_zeros() as usize / 8);
        }
        from += 6;
    }
    bytes
        .get(from..)?
        .windows(3)
        .position(|w| w == b"\n\n\n")
        .map(|at| from + at)
}

/// The documentation files, keyed by path relative to the crate root (`docs/...`).
pub fn generate(spec: &Spec, header: &str) -> Result<BTreeMap<PathBuf, String>> {
    let env = &environment()?;
    let ctx = context::build(spec);
    // Converted once: the README and the HTML frame read the whole document (the
    // operations and types there are summaries; their pages are written by [`pages`]).
    let doc = minijinja::Value::from_serialize(&ctx);
    let marker = format!("<!-- {} -->\n\n", header.trim().trim_start_matches("// "));
    let readme = |single_page: bool| {
        let ctx = minijinja::context! { doc => doc.clone(), single_page };
        let name = "README.md.j2";
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| template_error(name, e))
    };
    // A Markdown file: the marker, then the page made final.
    let file = |text: &str, links| {
        let mut out = String::with_capacity(marker.len() + text.len());
        out.push_str(&marker);
        finish(&mut out, text, links);
        out
    };
    // Each page is written into `page`, then made final into its file or into `part`
    // (the HTML page's Markdown); both are reused from page to page.
    let mut page = String::new();
    let mut part = String::new();

    // Markdown: pages link to each other.
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("docs/README.md"),
        file(&readme(false)?, TypeLinks::FromReadme),
    );
    for op in ctx.all_operations() {
        page.clear();
        pages::operation(&mut page, &ctx, op, false);
        files.insert(
            PathBuf::from(format!("docs/operations/{}.md", op.slug)),
            file(&page, TypeLinks::FromOperation),
        );
    }
    if !ctx.types.is_empty() {
        page.clear();
        pages::types(&mut page, &ctx, false);
        files.insert(
            PathBuf::from("docs/types.md"),
            file(&page, TypeLinks::FromTypes),
        );
    }

    // HTML: the same Markdown as one page, links become anchors, inside the page
    // around it (the body is put in as it is, not through the template's whitespace
    // clean-up). Each part is converted on its own (a part is a whole Markdown
    // document; one unclosed construct in a spec's text cannot swallow the rest of
    // the page).
    const BODY: &str = "\u{0}jetwire-docs-body\u{0}";
    let frame = render(
        env,
        "index.html.j2",
        minijinja::context! { doc => doc.clone(), body => BODY, marker => header.trim().trim_start_matches("// ") },
        TypeLinks::SinglePage,
    )?;
    let (head, tail) = frame.split_once(BODY).unwrap_or((&frame, ""));
    // HTML is longer than its Markdown: room for it up front saves copying the page
    // each time it outgrows its buffer.
    let markdown_len: usize = files.values().map(String::len).sum();
    let mut html = String::with_capacity(head.len() + 2 * markdown_len + tail.len());
    html.push_str(head);
    let mut push_part = |html: &mut String, text: &str| {
        part.clear();
        finish(&mut part, text, TypeLinks::SinglePage);
        push_markdown_html(html, &part);
    };
    push_part(&mut html, &readme(true)?);
    for op in ctx.all_operations() {
        page.clear();
        pages::operation(&mut page, &ctx, op, true);
        push_part(&mut html, &page);
    }
    if !ctx.types.is_empty() {
        page.clear();
        pages::types(&mut page, &ctx, true);
        push_part(&mut html, &page);
    }
    html.push_str(tail);
    files.insert(PathBuf::from("docs/index.html"), html);
    Ok(files)
}

/// Appends the HTML of a Markdown document to `out`.
fn push_markdown_html(out: &mut String, markdown: &str) {
    use pulldown_cmark::{html, Event, Options, Parser, Tag};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    // The spec's texts cannot script the page: raw HTML is shown as text, and links or
    // images with a scheme other than http(s)/mailto (or a relative one) go nowhere.
    let parser = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    html::push_html(out, parser);
}

/// `url` when its scheme is http(s) or mailto, or it has none (relative); else `#`.
fn safe_url(url: pulldown_cmark::CowStr<'_>) -> pulldown_cmark::CowStr<'_> {
    match url.split_once(':') {
        None => url,
        Some((scheme, _))
            if ["http", "https", "mailto"]
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s)) =>
        {
            url
        }
        Some((scheme, _)) if scheme.contains(['/', '#', '?']) => url,
        Some(_) => pulldown_cmark::CowStr::Borrowed("#"),
    }
}

#[cfg(test)]
mod tests {
    use super::{finish, push_markdown_html, three_newlines, TypeLinks};

    fn finished(text: &str, links: TypeLinks) -> String {
        let mut out = String::from("<!-- marker -->\n\n");
        finish(&mut out, text, links);
        out
    }

    #[test]
    fn runs_of_blank_lines_become_one_and_one_newline_ends_the_page() {
        let links = TypeLinks::FromTypes;
        assert_eq!(
            finished("a\n\n\n\n\nb\nc\n\nd\n\n\n", links),
            "<!-- marker -->\n\na\n\nb\nc\n\nd\n"
        );
        assert_eq!(finished("\n\n\nx", links), "<!-- marker -->\n\n\n\nx\n");
        assert_eq!(finished("x", links), "<!-- marker -->\n\nx\n");
        assert_eq!(finished("", links), "<!-- marker -->\n\n\n");
    }

    #[test]
    fn runs_of_three_newlines_are_found_wherever_they_start() {
        for len in 0..40 {
            for at in 0..len {
                for run in 1..5 {
                    let mut text = vec![b'x'; len];
                    for b in text.iter_mut().skip(at).take(run) {
                        *b = b'\n';
                    }
                    let expected = text.windows(3).position(|w| w == b"\n\n\n");
                    assert_eq!(three_newlines(&text, 0), expected, "{len} {at} {run}");
                    if let Some(first) = expected {
                        assert_eq!(
                            three_newlines(&text, first + 1),
                            text[first + 1..]
                                .windows(3)
                                .position(|w| w == b"\n\n\n")
                                .map(|p| p + first + 1)
                        );
                    }
                }
            }
        }
        assert_eq!(three_newlines(b"ab", 5), None);
    }

    #[test]
    fn type_links_point_the_pages_way() {
        let text = "[`A`](@type#a) | [B](@type#b)@ a@b (@type#c) ](@type";
        assert_eq!(
            finished(text, TypeLinks::FromOperation),
            "<!-- marker -->\n\n[`A`](../types.md#a) | [B](../types.md#b)@ a@b (@type#c) ](@type\n"
        );
        assert_eq!(
            finished(text, TypeLinks::SinglePage),
            "<!-- marker -->\n\n[`A`](#type-a) | [B](#type-b)@ a@b (@type#c) ](@type\n"
        );
    }

    #[test]
    fn spec_texts_cannot_script_the_page() {
        let mut html = String::new();
        push_markdown_html(
            &mut html,
            "<script>alert(1)</script>\n\nText <b>bold</b> [x](javascript:alert(1)) ![i](data:x) \
             [y](https://e.example/a) [z](#op-a)",
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(!html.contains("src=\"data:"), "{html}");
        assert!(html.contains("href=\"https://e.example/a\""), "{html}");
        assert!(html.contains("href=\"#op-a\""), "{html}");
    }
}
