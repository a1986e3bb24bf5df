//! Token streams → Rust source text: parsed with syn, printed with prettyplease.
//!
//! A generated module is formatted one top-level item (or run of items) at a time.
//! prettyplease ends every top-level item with a line break at indentation 0 and puts
//! nothing between items, so the concatenation is byte for byte the text of the whole
//! file; but each syntax tree is parsed, printed and freed while it is small and in the
//! cache, instead of one tree for the whole module (tens of MB of Rust for a large spec)
//! built, printed and then freed at once.
//!
//! [`format_files`] shares the items with worker threads. Token streams cannot leave
//! the thread that made them (`proc_macro2` types are not `Send`), so a worker gets a
//! run of items as token text, which it lexes again before parsing: about 40% more work
//! per item than formatting it from its tokens. So this thread formats items straight
//! from their tokens, front to back, and only hands runs from the back to the workers
//! while they have less than two each to do; the two ends meet in the middle. When no
//! core is free, the workers take little and the cost stays that of one thread.

use std::fmt::Write as _;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::{Error, Result};

/// Token text per run handed to a worker: large enough that handing out costs little,
/// small enough that the threads finish together.
const RUN_BYTES: usize = 32 << 10;

/// Formats several files (each a token stream of items, optionally led by inner
/// attributes, and its name for errors) on up to `std::thread::available_parallelism()`
/// threads, this one included. The texts are in the order of `files`, each the same as
/// [`format`] gives.
pub fn format_files(files: &[(&TokenStream, &str)]) -> Result<Vec<String>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    format_on(files, threads)
}

/// [`format_files`] on `threads` threads (this one included).
fn format_on(files: &[(&TokenStream, &str)], threads: usize) -> Result<Vec<String>> {
    // Every item of every file, in order; a file of one item (or none) is formatted
    // whole, as `format` does.
    let mut items: Vec<(usize, TokenStream)> = Vec::new();
    let mut whole = vec![false; files.len()];
    for (file, (tokens, _)) in files.iter().enumerate() {
        let split = top_level_items((*tokens).clone());
        if split.len() <= 1 {
            whole[file] = true;
        } else {
            items.extend(split.into_iter().map(|item| (file, item)));
        }
    }
    // The text of item `i`, or of the run starting at `i`, once printed; `None` when it
    // did not parse on its own (the whole file then gives the same text, or the error
    // with its real position).
    let mut printed: Vec<Option<Option<String>>> = vec![None; items.len()];

    let (run_tx, run_rx) = mpsc::channel::<Run>();
    let run_rx = Mutex::new(run_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        let mut workers = 0;
        for n in 1..threads {
            let (run_rx, done_tx) = (&run_rx, done_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("jetwire-fmt-{n}"))
                .spawn_scoped(scope, move || work(run_rx, &done_tx));
            // No thread to be had: this one does its share.
            workers += usize::from(spawned.is_ok());
        }
        let (mut sent, mut finished) = (0, 0);
        let mut front = 0;
        let mut back = items.len();
        while front < back {
            for done in done_rx.try_iter() {
                printed[done.first] = Some(done.text);
                finished += 1;
            }
            if sent - finished < 2 * workers {
                // A worker is short of work: the run of items at the back of the file
                // that the last item belongs to.
                let file = items[back - 1].0;
                let mut first = back;
                let mut bytes = 0;
                let mut texts = Vec::new();
                while first > front && items[first - 1].0 == file && bytes < RUN_BYTES {
                    first -= 1;
                    let text = items[first].1.to_string();
                    bytes += text.len() + 1;
                    texts.push(text);
                }
                let mut text = String::with_capacity(bytes);
                for item in texts.iter().rev() {
                    // Token text never fails to print into a String.
                    let _ = writeln!(text, "{item}");
                }
                // The workers live until this scope ends.
                let _ = run_tx.send(Run { first, text });
                sent += 1;
                back = first;
            } else {
                let item = std::mem::take(&mut items[front].1);
                printed[front] = Some(
                    syn::parse2::<syn::File>(item)
                        .ok()
                        .map(|file| prettyplease::unparse(&file)),
                );
                front += 1;
            }
        }
        // Runs not yet taken are done here; then the ones in the workers' hands.
        drop(run_tx);
        work(&run_rx, &done_tx);
        drop(done_tx);
        for done in done_rx {
            printed[done.first] = Some(done.text);
        }
    });

    let mut texts: Vec<String> = files.iter().map(|_| String::new()).collect();
    for ((file, _), text) in items.iter().zip(printed) {
        match text {
            Some(Some(text)) => texts[*file].push_str(&text),
            Some(None) => whole[*file] = true,
            // Inside a run, printed with its first item.
            None => {}
        }
    }
    files
        .iter()
        .zip(texts)
        .zip(whole)
        .map(|(((tokens, what), text), whole)| {
            if whole {
                format_whole((*tokens).clone(), what)
            } else {
                Ok(text)
            }
        })
        .collect()
}

/// A run of items (the first at index `first`), as token text.
struct Run {
    first: usize,
    text: String,
}

/// A run printed by prettyplease (`None`: it did not parse).
struct Done {
    first: usize,
    text: Option<String>,
}

/// Formats runs until there are none left.
fn work(runs: &Mutex<Receiver<Run>>, done: &Sender<Done>) {
    loop {
        let run = match runs.lock() {
            Ok(runs) => runs.recv(),
            // Another worker panicked; the scope passes its panic on.
            Err(_) => return,
        };
        let Ok(Run { first, text }) = run else { return };
        let printed = syn::parse_str::<syn::File>(&text)
            .ok()
            .map(|file| prettyplease::unparse(&file));
        drop(text);
        let _ = done.send(Done {
            first,
            text: printed,
        });
    }
}

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

    /// Many items (several runs' worth), varied enough to need real formatting.
    fn big_file(n: usize) -> TokenStream {
        let items = (0..n).map(|i| {
            let s = quote::format_ident!("S{i}");
            let doc = format!("Item {i}, with a doc comment long enough to be wrapped by nothing.");
            quote! {
                #[doc = #doc]
                #[derive(Debug, Clone)]
                pub struct #s { pub a: u32, pub b: ::std::vec::Vec<::std::string::String> }
                impl #s {
                    pub fn get(&self) -> u32 { if self.a > #i { self.a - 1 } else { match self.b.len() { 0 => 1, n => n as u32 } } }
                }
            }
        });
        quote! {
            #![allow(clippy::all)]
            #(#items)*
        }
    }

    #[test]
    fn files_on_several_threads_print_what_each_file_alone_prints() {
        let big = big_file(400);
        let one = quote!(
            pub struct One;
        );
        let small = quote!(
            pub struct A;
            pub struct B(u8);
        );
        let split = quote!(pub struct A; impl Tr<{ 3 }> for A {} pub struct B;);
        let files = [
            (&big, "big"),
            (&one, "one"),
            (&small, "small"),
            (&split, "split"),
            (&big, "big again"),
        ];
        let expected: Vec<String> = files
            .iter()
            .map(|(tokens, _)| whole((*tokens).clone()))
            .collect();
        assert!(
            expected[0].len() > 4 * RUN_BYTES,
            "the big file makes several runs"
        );
        for threads in [1, 2, 4] {
            assert_eq!(
                format_on(&files, threads).unwrap(),
                expected,
                "{threads} threads"
            );
        }
        assert_eq!(format_files(&files).unwrap(), expected);
    }

    #[test]
    fn an_invalid_file_among_several_is_named() {
        let good = big_file(50);
        let broken = quote!(pub struct A; fn {} struct);
        for threads in [1, 3] {
            let err =
                format_on(&[(&good, "good"), (&broken, "src/broken.rs")], threads).unwrap_err();
            let Error::Internal { what, .. } = err else {
                panic!("not an internal error: {err:?}");
            };
            assert_eq!(what, "src/broken.rs");
        }
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
