//! Documentation of the contract: Markdown pages (`docs/README.md` with the index, the
//! wire protocol and the `x-jetwire` extension; one page per operation) and one
//! self-contained HTML page (`docs/index.html`) with the same content.
//!
//! [`context`] turns the IR into a template context (schemas flattened into field
//! tables by [`fields`]); the templates in `templates/` do the layout.

pub mod context;
pub mod fields;

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::Environment;

use crate::ir::Spec;
use crate::{Error, Result};

const README: &str = include_str!("../../../templates/README.md.j2");
const OPERATION: &str = include_str!("../../../templates/operation.md.j2");
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
        ("operation.md.j2", OPERATION),
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
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn template_error(name: &str, e: minijinja::Error) -> Error {
    Error::Internal {
        what: format!("documentation template {name}"),
        message: format!("{e:#}"),
    }
}

fn render(env: &Environment, name: &str, ctx: minijinja::Value) -> Result<String> {
    let template = env
        .get_template(name)
        .map_err(|e| template_error(name, e))?;
    let mut out = template.render(ctx).map_err(|e| template_error(name, e))?;
    // At most one blank line in a row, and one trailing newline, whatever the
    // templates' whitespace control left.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The documentation files, keyed by path relative to the crate root (`docs/...`).
pub fn generate(spec: &Spec, header: &str) -> Result<BTreeMap<PathBuf, String>> {
    let env = environment()?;
    let ctx = context::build(spec);
    // Converted once: every page gets the whole document, and converting it per page
    // would make generation quadratic in the number of operations.
    let doc = minijinja::Value::from_serialize(&ctx);
    let mut files = BTreeMap::new();
    let marker = format!("<!-- {} -->\n\n", header.trim().trim_start_matches("// "));

    // Markdown: pages link to each other.
    let md_ctx = minijinja::context! { doc => doc.clone(), single_page => false };
    files.insert(
        PathBuf::from("docs/README.md"),
        format!("{marker}{}", render(&env, "README.md.j2", md_ctx.clone())?),
    );
    // Each operation converted once too, for its Markdown page and its HTML section.
    let operations: Vec<_> = ctx
        .all_operations()
        .map(|op| (op, minijinja::Value::from_serialize(op)))
        .collect();
    for (op, op_value) in &operations {
        let page = render(
            &env,
            "operation.md.j2",
            minijinja::context! { doc => doc.clone(), op => op_value.clone(), single_page => false },
        )?;
        files.insert(
            PathBuf::from(format!("docs/operations/{}.md", op.slug)),
            format!("{marker}{page}"),
        );
    }

    // HTML: the same Markdown as one page, links become anchors.
    let mut markdown = render(
        &env,
        "README.md.j2",
        minijinja::context! { doc => doc.clone(), single_page => true },
    )?;
    for (_, op_value) in &operations {
        markdown.push('\n');
        markdown.push_str(&render(
            &env,
            "operation.md.j2",
            minijinja::context! { doc => doc.clone(), op => op_value.clone(), single_page => true },
        )?);
    }
    let body = markdown_to_html(&markdown);
    let html = render(
        &env,
        "index.html.j2",
        minijinja::context! { doc => doc.clone(), body => body, marker => header.trim().trim_start_matches("// ") },
    )?;
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
    use super::markdown_to_html;

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
