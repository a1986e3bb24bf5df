//! The bridge to `crate::typegen`: turns schemas into type references and decides how
//! other generated modules spell those references.
//!
//! The type generator writes references as the `types` module itself would (`Foo`,
//! `::std::vec::Vec<Foo>`, `i64`). The client, worker and operations modules are siblings
//! of `types`, and the examples checks sit at the module root, so local type names get a
//! prefix there: `super::types::Foo` or `types::Foo`.

use proc_macro2::{Group, Spacing, TokenStream, TokenTree};
use quote::quote;

use crate::ir::{Diagnostic, SchemaArena, SchemaId};
use crate::typegen::{TypeSettings, TypeSpace};
use crate::Result;

/// The path generated code uses for the runtime crate.
pub const RUNTIME_CRATE: &str = "::jetwire";

pub struct Types<'a> {
    space: TypeSpace<'a>,
}

impl<'a> Types<'a> {
    pub fn new(arena: &'a SchemaArena) -> Self {
        Types {
            space: TypeSpace::new(
                arena,
                TypeSettings {
                    runtime_crate: RUNTIME_CRATE.into(),
                },
            ),
        }
    }

    /// The type of schema `id`, as written inside the `types` module.
    pub fn add(&mut self, id: SchemaId, name_hint: &str) -> Result<TokenStream> {
        self.space.add(id, name_hint)
    }

    pub fn definitions(&self) -> TokenStream {
        self.space.definitions()
    }

    /// The same definitions, to be emitted by ranges of entries on any thread.
    pub fn definitions_in_parts(&self) -> crate::typegen::Definitions<'_> {
        self.space.definitions_in_parts()
    }

    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.space.diagnostics().to_vec()
    }
}

/// `Foo` → `super::types::Foo` (for code in a sibling module of `types`).
pub fn from_sibling(ty: &TokenStream) -> TokenStream {
    prefix_local(ty, &quote!(super::types::))
}

/// `Foo` → `types::Foo` (for code at the generated module root).
pub fn from_root(ty: &TokenStream) -> TokenStream {
    prefix_local(ty, &quote!(types::))
}

/// Prefixes every path that starts with a type name defined in `types`. Such paths are
/// recognised as an identifier starting with an uppercase letter that is not preceded
/// by `::` (fully qualified paths like `::std::string::String` start with `::`;
/// primitives and `crate`/`super` paths start lowercase).
fn prefix_local(ty: &TokenStream, prefix: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    let mut after_colons = false;
    let mut colon_run = 0;
    for tt in ty.clone() {
        match tt {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let local = !after_colons
                    && name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name != "Self";
                if local {
                    out.extend(prefix.clone());
                }
                out.extend([TokenTree::Ident(ident)]);
                after_colons = false;
                colon_run = 0;
            }
            TokenTree::Punct(p) => {
                if p.as_char() == ':' {
                    colon_run += 1;
                    after_colons = colon_run >= 2 || p.spacing() == Spacing::Joint;
                } else {
                    colon_run = 0;
                    after_colons = false;
                }
                out.extend([TokenTree::Punct(p)]);
            }
            TokenTree::Group(g) => {
                let inner = prefix_local(&g.stream(), prefix);
                let mut group = Group::new(g.delimiter(), inner);
                group.set_span(g.span());
                out.extend([TokenTree::Group(group)]);
                after_colons = false;
                colon_run = 0;
            }
            other => {
                out.extend([other]);
                after_colons = false;
                colon_run = 0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_get_the_prefix() {
        let ty = quote!(::std::vec::Vec<Foo>);
        assert_eq!(
            from_sibling(&ty).to_string(),
            quote!(::std::vec::Vec<super::types::Foo>).to_string()
        );
        let ty = quote!(::std::collections::BTreeMap<::std::string::String, Bar>);
        assert_eq!(
            from_root(&ty).to_string(),
            quote!(::std::collections::BTreeMap<::std::string::String, types::Bar>).to_string()
        );
        assert_eq!(from_sibling(&quote!(i64)).to_string(), "i64");
        assert_eq!(from_sibling(&quote!(())).to_string(), "()");
        assert_eq!(
            from_sibling(&quote!(Baz)).to_string(),
            quote!(super::types::Baz).to_string()
        );
    }
}
