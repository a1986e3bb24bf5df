//! Token streams → Rust source text: parsed with syn, printed with prettyplease.
//!
//! A generated module is formatted one top-level item at a time.
//! prettyplease ends every top-level item with a line break at indentation 0 and puts
//! nothing between items, so the concatenation is byte for byte the text of the whole
//! file; but each syntax tree is parsed, printed and freed while it is small and in the
//! cache, instead of one tree for the whole module (tens of MB of Rust for a large spec)
//! built, printed and then freed at once. It also lets threads share a module's items
//! (see `pipeline`).

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::{Error, Result};

/// Formats `tokens` (a sequence of items, optionally led by inner attributes) as a file.
/// `what` names the file in the error when the tokens are not valid Rust.
pub fn format(tokens: TokenStream, what: &str) -> Result<String> {
    let items = top_level_items(tokens.clone());
    if items.len() <= 1 {
        return format_whole(tokens, what);
    }
    let mut out = String::new();
    for item in items {
        match syn::parse2::<syn::File>(item) {
            Ok(file) => out.push_str(&prettyplease::unparse(&file)),
            // The tokens do not parse (or were split where an item goes on): the whole
            // file gives the same text, or the error with its real position.
            Err(_) => return format_whole(tokens, what),
        }
    }
    Ok(out)
}

/// Formats `tokens` as one syn file.
fn format_whole(tokens: TokenStream, what: &str) -> Result<String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| Error::Internal {
        what: what.to_string(),
        message: e.to_string(),
    })?;
    Ok(prettyplease::unparse(&file))
}

/// Splits a sequence of items where one ends: after a `;` or a `{ … }` block at the top
/// level (a block followed by `;` belongs to an item ending with that `;`, as in
/// `const X: T = T { .. };`). Inner attributes and attributes stay with the item that
/// follows them. A split inside an item (a block in generic arguments, say) leaves a
/// part that does not parse, which [`format`] notices.
fn top_level_items(tokens: TokenStream) -> Vec<TokenStream> {
    let mut items = Vec::new();
    let mut item: Vec<TokenTree> = Vec::new();
    let mut trees = tokens.into_iter().peekable();
    while let Some(tree) = trees.next() {
        let ends_item = match &tree {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => {
                g.delimiter() == Delimiter::Brace
                    && !matches!(trees.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ';')
            }
            _ => false,
        };
        item.push(tree);
        if ends_item {
            items.push(item.drain(..).collect());
        }
    }
    if !item.is_empty() {
        items.push(item.into_iter().collect());
    }
    items
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn whole(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).expect("test tokens parse"))
    }

    #[test]
    fn items_one_by_one_print_the_same_text_as_the_whole_file() {
        let tokens = quote! {
            #![allow(clippy::all)]
            //! Module docs.
            use ::std::fmt;
            /// A struct with a doc comment long enough to need more than one line of output when it is printed.
            #[derive(Debug, Clone)]
            pub struct S { pub a: u32, pub b: ::std::vec::Vec<::std::string::String> }
            pub struct T(u8);
            const X: S = S { a: 1, b: ::std::vec::Vec::new() };
            static Y: &[u8] = &[1, 2, 3];
            pub type Z = ::std::collections::BTreeMap<::std::string::String, ::std::vec::Vec<u64>>;
            impl fmt::Display for S {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { if self.a > 1 { write!(f, "{}", self.a) } else { Ok(()) } }
            }
            pub enum E { A { x: u8 }, B(u16), C }
            pub mod inner { pub fn f() -> u8 { 1 } pub struct U; }
            macro_rules! m { ($x:expr) => { $x }; }
            m!(1);
            extern "C" {}
            pub trait Tr { fn g(&self) {} }
        };
        let items = top_level_items(tokens.clone());
        assert_eq!(items.len(), 13, "{items:#?}");
        assert_eq!(format(tokens.clone(), "test").unwrap(), whole(tokens));
    }

    #[test]
    fn a_block_inside_an_item_falls_back_to_the_whole_file() {
        // `{ 3 }` ends nothing: the first part does not parse on its own.
        let tokens = quote! {
            pub struct A;
            impl Tr<{ 3 }> for A {}
            pub struct B;
        };
        assert_eq!(format(tokens.clone(), "test").unwrap(), whole(tokens));
    }

    #[test]
    fn invalid_tokens_name_the_file() {
        let err = format(quote!(pub struct A; fn {} struct), "src/broken.rs").unwrap_err();
        let Error::Internal { what, message } = err else {
            panic!("not an internal error: {err:?}");
        };
        assert_eq!(what, "src/broken.rs");
        assert!(!message.is_empty());
    }

    #[test]
    fn empty_and_single_item_files() {
        assert_eq!(format(TokenStream::new(), "empty").unwrap(), "");
        let one = quote!(
            pub struct A {
                pub x: u8,
            }
        );
        assert_eq!(format(one.clone(), "one").unwrap(), whole(one));
    }
}
