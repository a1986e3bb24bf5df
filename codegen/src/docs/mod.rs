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
const MACROS: &str = include_str!("../../../templates/macros.md.j2");
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
        ("macros.md.j2", MACROS),
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

fn render(
    env: &Environment,
    name: &str,
    ctx: minijinja::Value,
    links: TypeLinks,
) -> Result<String> {
    let template = env
        .get_template(name)
        .map_err(|e| template_error(name, e))?;
    let out = template.render(ctx).map_err(|e| template_error(name, e))?;
    Ok(finish(out, links))
}

/// A page as written (by a template or [`pages`]) made final: the type links pointed
/// the page's way, at most one blank line in a row, and one trailing newline, whatever
/// the templates' whitespace control left.
fn finish(mut out: String, links: TypeLinks) -> String {
    let placeholder = format!("]({}", fields::TYPE_LINK);
    if out.contains(&placeholder) {
        out = out.replace(&placeholder, links.prefix());
    }
    if out.contains("\n\n\n") {
        out = collapse_blank_lines(&out);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `text` with every run of three or more newlines cut to two, in one pass.
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\n\n") {
        out.push_str(&rest[..at + 2]);
        rest = rest[at + 2..].trim_start_matches('\n');
    }
    out.push_str(rest);
    out
}

/// The documentation files, keyed by path relative to the crate root (`docs/...`).
pub fn generate(spec: &Spec, header: &str) -> Result<BTreeMap<PathBuf, String>> {
    let env = &environment()?;
    let ctx = context::build(spec);
    // Converted once: the README and the HTML frame read the whole document (the
    // operations and types there are summaries; their pages are written by [`pages`]).
    let doc = minijinja::Value::from_serialize(&ctx);
    let marker = format!("<!-- {} -->\n\n", header.trim().trim_start_matches("// "));
    let readme = |single_page: bool, links| {
        let ctx = minijinja::context! { doc => doc.clone(), single_page };
        render(env, "README.md.j2", ctx, links)
    };
    let operation = |op, single_page, links| {
        let mut text = String::new();
        pages::operation(&mut text, &ctx, op, single_page);
        finish(text, links)
    };
    let types = |single_page, links| {
        let mut text = String::new();
        pages::types(&mut text, &ctx, single_page);
        finish(text, links)
    };

    // Markdown: pages link to each other.
    let mut files = BTreeMap::new();
    files.insert(
        PathBuf::from("docs/README.md"),
        format!("{marker}{}", readme(false, TypeLinks::FromReadme)?),
    );
    for op in ctx.all_operations() {
        let text = operation(op, false, TypeLinks::FromOperation);
        files.insert(
            PathBuf::from(format!("docs/operations/{}.md", op.slug)),
            format!("{marker}{text}"),
        );
    }
    if !ctx.types.is_empty() {
        files.insert(
            PathBuf::from("docs/types.md"),
            format!("{marker}{}", types(false, TypeLinks::FromTypes)),
        );
    }

    // HTML: the same Markdown as one page, links become anchors. Each part is converted
    // on its own (a part is a whole Markdown document; one unclosed construct in a
    // spec's text cannot swallow the rest of the page).
    let mut body = markdown_to_html(&readme(true, TypeLinks::SinglePage)?);
    for op in ctx.all_operations() {
        body.push_str(&markdown_to_html(&operation(
            op,
            true,
            TypeLinks::SinglePage,
        )));
    }
    if !ctx.types.is_empty() {
        body.push_str(&markdown_to_html(&types(true, TypeLinks::SinglePage)));
    }
    // The page around the body; the body is put in afterwards, as it is (not run
    // through the template's whitespace clean-up).
    const BODY: &str = "\u{0}jetwire-docs-body\u{0}";
    let html = render(
        env,
        "index.html.j2",
        minijinja::context! { doc => doc.clone(), body => BODY, marker => header.trim().trim_start_matches("// ") },
        TypeLinks::SinglePage,
    )?;
    let html = html.replacen(BODY, &body, 1);
    files.insert(PathBuf::from("docs/index.html"), html);
    Ok(files)
}

fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    // The spec's texts cannot script the page: raw HTML is shown as text, and links or
    // images with a scheme other than http(s)/mailto (or a relative one) go nowhere.
    let safe = |url: CowStr<'static>| -> CowStr<'static> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            None | Some("http" | "https" | "mailto") => url,
            Some(s) if s.contains(['/', '#', '?']) => url,
            Some(_) => CowStr::Borrowed("#"),
        }
    };
    let parser = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe(dest_url.into_static()),
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
            dest_url: safe(dest_url.into_static()),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::{collapse_blank_lines, markdown_to_html};

    #[test]
    fn runs_of_blank_lines_become_one() {
        assert_eq!(
            collapse_blank_lines("a\n\n\n\n\nb\nc\n\nd\n\n\n"),
            "a\n\nb\nc\n\nd\n\n"
        );
        assert_eq!(collapse_blank_lines("\n\n\nx"), "\n\nx");
        assert_eq!(collapse_blank_lines("x"), "x");
    }

    #[test]
    fn spec_texts_cannot_script_the_page() {
        let html = markdown_to_html(
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
