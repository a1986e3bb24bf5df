//! Emits and formats the generated modules on the available threads.
//!
//! Token streams cannot leave the thread that made them (`proc_macro2` types are not
//! `Send`), and the operation model holds some, so this thread builds the model and
//! emits and formats the modules made from it (service, operations, client, worker) one
//! at a time: only one module's tokens are alive at once. The `types` module, usually
//! the largest, is made from the type space, which threads can share: its entries are
//! emitted and formatted in chunks, by worker threads and, once its own modules are
//! done, by this thread. The chunks' texts are joined in entry order, so the text is
//! the same on any number of threads. Work that needs no tokens at all (the docs) is
//! handed in as `side` and runs on a thread of its own from the start.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::ir::Spec;
use crate::rustgen::format::format;
use crate::rustgen::FormattedCode;
use crate::rustgen::{client, code_info, model, operations, service, types, worker};
use crate::typegen::{DefaultFn, Definitions};
use crate::Result;

/// Type entries per chunk: a few milliseconds of work, so that the threads end together.
const ENTRIES_PER_CHUNK: usize = 32;

/// The formatted modules of `spec`, made on up to
/// `std::thread::available_parallelism()` threads, and what `side` returned (it runs
/// on a thread of its own meanwhile).
pub fn generate_formatted<R: Send>(
    spec: &Spec,
    side: impl FnOnce() -> R + Send,
) -> Result<(FormattedCode, R)> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    generate_formatted_on(spec, threads, side)
}

/// [`generate_formatted`] with `threads` threads for the Rust code (this one included).
pub fn generate_formatted_on<R: Send>(
    spec: &Spec,
    threads: usize,
    side: impl FnOnce() -> R + Send,
) -> Result<(FormattedCode, R)> {
    // Taken by whichever runs it: the side thread, or this one when no thread can be had.
    let side = Mutex::new(Some(side));
    let run_side = || {
        side.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .map(|side| side())
    };
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("jetwire-codegen-side".into())
            .spawn_scoped(scope, run_side);
        let code = formatted_modules(spec, threads, ENTRIES_PER_CHUNK);
        let side = match thread {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => run_side(),
        };
        let side = side.ok_or_else(|| crate::Error::Internal {
            what: "code generation".into(),
            message: "the side work did not run".into(),
        })?;
        Ok((code?, side))
    })
}

fn formatted_modules(spec: &Spec, threads: usize, per_chunk: usize) -> Result<FormattedCode> {
    let mut type_space = types::Types::new(&spec.schemas);
    let model = model::build(spec, &mut type_space)?;
    let plan = type_space.definitions_in_parts();
    let chunks = TypeChunks::new(&plan, per_chunk);
    let modules = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads.max(1))
            .filter_map(|n| {
                std::thread::Builder::new()
                    .name(format!("jetwire-codegen-types-{n}"))
                    .spawn_scoped(scope, || chunks.work())
                    .ok()
            })
            .collect();
        let modules = [
            ("service", service::emit as fn(&model::Model) -> _),
            ("operations", operations::emit),
            ("client", client::emit),
            ("worker", worker::emit),
        ]
        .map(|(name, emit)| format(emit(&model), name));
        // Then help with the types.
        chunks.work();
        for worker in workers {
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        modules
    });
    let [service, operations, client, worker] = modules;
    Ok(FormattedCode {
        types: chunks.finish()?,
        service: service?,
        operations: operations?,
        client: client?,
        worker: worker?,
        info: code_info(model),
    })
}

/// A formatted chunk of the `types` module and the defaults its entries refer to.
type Chunk = (String, Vec<DefaultFn>);

/// The `types` module's entries, handed out a chunk at a time to whichever thread asks.
struct TypeChunks<'p> {
    plan: &'p Definitions<'p>,
    per_chunk: usize,
    next: AtomicUsize,
    /// Each finished chunk with its index.
    done: Mutex<Vec<(usize, Result<Chunk>)>>,
}

impl<'p> TypeChunks<'p> {
    fn new(plan: &'p Definitions<'p>, per_chunk: usize) -> Self {
        TypeChunks {
            plan,
            per_chunk: per_chunk.max(1),
            next: AtomicUsize::new(0),
            done: Mutex::new(Vec::new()),
        }
    }

    fn chunk(&self, index: usize) -> Option<Range<usize>> {
        let start = index.checked_mul(self.per_chunk)?;
        (start < self.plan.len()).then(|| start..(start + self.per_chunk).min(self.plan.len()))
    }

    /// Emits and formats chunks until none are left.
    fn work(&self) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = self.chunk(index) else {
                return;
            };
            let (tokens, defaults) = self.plan.emit(range);
            let text = format(tokens, "types").map(|text| (text, defaults));
            // A poisoned lock means another thread panicked; the scope passes it on.
            if let Ok(mut done) = self.done.lock() {
                done.push((index, text));
            }
        }
    }

    /// The module's text: the chunks in order, then the `defaults` module.
    fn finish(self) -> Result<String> {
        let mut done = self
            .done
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        done.sort_unstable_by_key(|(index, _)| *index);
        let mut text = String::new();
        let mut defaults = Vec::new();
        for (_, chunk) in done {
            let (chunk_text, chunk_defaults) = chunk?;
            text.push_str(&chunk_text);
            defaults.extend(chunk_defaults);
        }
        text.push_str(&format(Definitions::defaults_module(defaults), "types")?);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules as one token stream each, formatted on this thread.
    fn formatted_on_one_thread(spec: &Spec) -> Vec<String> {
        let code = crate::rustgen::generate(spec).unwrap();
        code.named()
            .map(|(name, tokens)| format(tokens.clone(), name).unwrap())
            .into()
    }

    #[test]
    fn the_text_is_the_same_on_any_number_of_threads_and_chunks() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let specs = [
            // Dozens of types, some with defaults (which end up in several chunks).
            root.join("../asyncapi.yaml"),
            root.join("tests/fixtures/generate/jobs.yaml"),
            root.join("tests/fixtures/generate/names.yaml"),
            root.join("tests/fixtures/generate/empty.yaml"),
        ];
        for path in specs {
            let spec = crate::load::load_spec(&path).unwrap();
            let expected = formatted_on_one_thread(&spec);
            assert!(!expected[0].is_empty() || path.ends_with("empty.yaml"));
            for (threads, per_chunk) in [(1, 32), (2, 1), (2, 3), (3, 2), (2, ENTRIES_PER_CHUNK)] {
                let code = formatted_modules(&spec, threads, per_chunk).unwrap();
                let got: Vec<String> = code.named().map(|(_, text)| text.clone()).into();
                assert_eq!(
                    got,
                    expected,
                    "{}: {threads} threads, {per_chunk} entries per chunk",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn the_side_work_runs_beside_and_its_result_comes_back() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/generate/jobs.yaml");
        let spec = crate::load::load_spec(&path).unwrap();
        let (code, side) = generate_formatted_on(&spec, 2, || {
            std::thread::current().name().map(str::to_string)
        })
        .unwrap();
        assert_eq!(side.as_deref(), Some("jetwire-codegen-side"));
        assert!(code.client.contains("pub struct Client"));
    }
}
