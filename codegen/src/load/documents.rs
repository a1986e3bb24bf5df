//! The set of files a document is made of: the root plus every file reached through a
//! relative `$ref`. Follows `$ref`s (one step, or whole chains with cycle detection),
//! locates JSON pointers (line/column) and hashes what was read.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::pointer::{self, parse_ref};
use super::schema::RefResolver;
use super::yaml;
use crate::error::{Error, Result};
use crate::ir::Location;

/// How many `$ref`s one pointer walk may pass through before it is called a loop.
const MAX_HOPS: usize = 64;
/// Referenced files larger than this are refused.
const MAX_FILE_BYTES: u64 = 64 << 20;

enum LoadFailure {
    Unreadable(String),
    Parse(Error),
}

struct Document {
    /// Shared, so the lowering can hold the root while it resolves `$ref`s (which
    /// borrows the documents mutably) without a copy of the whole tree.
    value: Rc<Value>,
    positions: yaml::Positions,
    /// The file's content, for [`Documents::sha256`] (empty for the root, hashed at once).
    bytes: Vec<u8>,
}

/// Every file read so far, by normalised path.
pub struct Documents {
    root: PathBuf,
    files: BTreeMap<PathBuf, Document>,
    /// The hash state after the root file, which the hash starts with (kept instead of a
    /// copy of the root's text).
    root_hash: Sha256,
}

impl Documents {
    /// Parses the root document `text` (the content of `path`).
    pub fn new(path: &Path, text: &str) -> Result<Self> {
        let root = normalize(path);
        let parsed = yaml::parse(&root, text)?;
        let mut files = BTreeMap::new();
        files.insert(
            root.clone(),
            Document {
                value: Rc::new(parsed.value),
                positions: parsed.positions,
                bytes: Vec::new(),
            },
        );
        let mut root_hash = Sha256::new();
        root_hash.update(text.as_bytes());
        Ok(Documents {
            root,
            files,
            root_hash,
        })
    }

    pub fn root_path(&self) -> &Path {
        &self.root
    }

    /// The root document's value, shared.
    pub fn root_shared(&self) -> Rc<Value> {
        Rc::clone(&self.files[&self.root].value)
    }

    /// The location of `pointer` in the root document.
    pub fn root_at(&self, pointer: &str) -> Location {
        self.locate(&self.root.clone(), pointer)
    }

    /// Hex SHA-256 over the root file and then every other file read, in path order.
    pub fn sha256(&self) -> String {
        let mut hasher = self.root_hash.clone();
        for (path, doc) in &self.files {
            if *path != self.root {
                hasher.update(&doc.bytes);
            }
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Resolves a chain of `$ref` objects starting with `value` (found at `at`) down to
    /// the first value that is not a `$ref`. A chain that comes back to a location it
    /// has passed is an error naming the whole cycle.
    pub fn deref(&mut self, at: Location, value: Value) -> Result<(Location, Value)> {
        let mut at = at;
        let mut value = value;
        let mut seen = vec![at.clone()];
        while let Some(reference) = ref_of(&value) {
            let reference = reference.map_err(|()| {
                Error::invalid(
                    self.locate(&at.file, &pointer::child(&at.pointer, "$ref")),
                    "`$ref` must be a string",
                )
            })?;
            let (next_at, next_value) = self.resolve(&at, &reference)?;
            if seen.iter().any(|s| same_place(s, &next_at)) {
                let cycle: Vec<String> = seen
                    .iter()
                    .chain(std::iter::once(&next_at))
                    .map(|l| format!("{}#{}", l.file.display(), l.pointer))
                    .collect();
                return Err(Error::Ref {
                    location: self.locate(&at.file, &pointer::child(&at.pointer, "$ref")),
                    reference,
                    reason: format!("reference cycle: {}", cycle.join(" → ")),
                });
            }
            seen.push(next_at.clone());
            at = next_at;
            value = next_value;
        }
        Ok((at, value))
    }

    /// The location of the value at `tokens` of `file`, walking through `$ref`s met on
    /// the way (so that `#/channels/a/messages/b` works when `channels/a` is itself a
    /// `$ref`), and the file and tokens that lead to it directly (see [`Self::descend`]).
    fn walk(
        &mut self,
        from: &Location,
        reference: &str,
        file: PathBuf,
        tokens: Vec<String>,
    ) -> Result<(Location, PathBuf, Vec<String>)> {
        let fail = |this: &Self, reason: String| Error::Ref {
            location: this.locate(&from.file, &pointer::child(&from.pointer, "$ref")),
            reference: reference.to_string(),
            reason,
        };
        let mut file = file;
        let mut tokens = tokens;
        let mut hops = 0;
        loop {
            self.load(&file).map_err(|failure| match failure {
                LoadFailure::Unreadable(reason) => fail(self, reason),
                LoadFailure::Parse(error) => error,
            })?;
            let (i, value, current) = self.descend(&file, &tokens);
            if i == tokens.len() {
                let at = self.locate(&file, &current);
                return Ok((at, file, tokens));
            }
            // Blocked: step through a `$ref` here, if there is one.
            let Some(Ok(reference_here)) = ref_of(value) else {
                let missing = pointer::child(&current, &tokens[i]);
                return Err(fail(self, format!("no `#{missing}` in {}", file.display())));
            };
            hops += 1;
            if hops > MAX_HOPS {
                return Err(fail(
                    self,
                    "too many nested `$ref`s (a reference loop?)".into(),
                ));
            }
            let next = parse_ref(&reference_here).map_err(|e| fail(self, e.to_string()))?;
            let mut rest = pointer::tokens(&next.pointer);
            rest.extend_from_slice(&tokens[i..]);
            file = self.target_file(&file, &next.file);
            tokens = rest;
        }
    }

    /// Follows `tokens` down from the root of the loaded `file` as far as they match:
    /// how many did, the value reached and its pointer.
    fn descend(&self, file: &Path, tokens: &[String]) -> (usize, &Value, String) {
        let mut value: &Value = &self.files[file].value;
        let mut i = 0;
        while i < tokens.len() {
            let next = match value {
                Value::Object(map) => map.get(&tokens[i]),
                Value::Array(items) => tokens[i].parse::<usize>().ok().and_then(|n| items.get(n)),
                _ => None,
            };
            let Some(next) = next else { break };
            value = next;
            i += 1;
        }
        let mut current = String::new();
        for token in &tokens[..i] {
            current.push('/');
            pointer::push_escaped(&mut current, token);
        }
        (i, value, current)
    }

    /// Follows `reference` from `from`: the location it leads to, and the file and
    /// tokens that reach it directly.
    fn follow(
        &mut self,
        from: &Location,
        reference: &str,
    ) -> Result<(Location, PathBuf, Vec<String>)> {
        // Schemas are read recursively through their `$ref`s; a chain of thousands of
        // distinct schemas would exhaust the stack, so it is refused before that.
        if stack_depth::used() > stack_depth::BUDGET {
            return Err(Error::Ref {
                location: self.locate(&from.file, &pointer::child(&from.pointer, "$ref")),
                reference: reference.to_string(),
                reason: "schemas nest too deeply through `$ref`s (thousands of levels)".into(),
            });
        }
        let target = parse_ref(reference).map_err(|e| Error::Ref {
            location: self.locate(&from.file, &pointer::child(&from.pointer, "$ref")),
            reference: reference.to_string(),
            reason: e.to_string(),
        })?;
        let file = self.target_file(&from.file, &target.file);
        self.walk(from, reference, file, pointer::tokens(&target.pointer))
    }

    fn target_file(&self, from_file: &Path, file_part: &str) -> PathBuf {
        if file_part.is_empty() {
            return from_file.to_path_buf();
        }
        let base = from_file.parent().unwrap_or(Path::new(""));
        normalize(&base.join(file_part))
    }

    /// Reads and parses `file` unless it is already known. A file that cannot be read
    /// is reported by the caller at the `$ref`; a file that does not parse is a syntax
    /// error in that file.
    fn load(&mut self, file: &Path) -> std::result::Result<(), LoadFailure> {
        if self.files.contains_key(file) {
            return Ok(());
        }
        let cannot = |e: &dyn std::fmt::Display| {
            LoadFailure::Unreadable(format!("cannot read {}: {e}", file.display()))
        };
        // Only regular files: a reference to a device or a FIFO must not hang or
        // exhaust memory.
        let metadata = std::fs::metadata(file).map_err(|e| cannot(&e))?;
        if !metadata.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(cannot(&format!("larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        let bytes = std::fs::read(file).map_err(|e| cannot(&e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            LoadFailure::Unreadable(format!("{} is not UTF-8 text", file.display()))
        })?;
        let parsed = yaml::parse(file, text).map_err(LoadFailure::Parse)?;
        self.files.insert(
            file.to_path_buf(),
            Document {
                value: Rc::new(parsed.value),
                positions: parsed.positions,
                bytes,
            },
        );
        Ok(())
    }
}

impl RefResolver for Documents {
    fn resolve(&mut self, from: &Location, reference: &str) -> Result<(Location, Value)> {
        let (at, file, tokens) = self.follow(from, reference)?;
        let (_, value, _) = self.descend(&file, &tokens);
        Ok((at, value.clone()))
    }

    fn resolve_location(&mut self, from: &Location, reference: &str) -> Result<Location> {
        self.follow(from, reference).map(|(at, _, _)| at)
    }

    fn locate(&self, file: &Path, pointer: &str) -> Location {
        let mut location = Location {
            file: file.to_path_buf(),
            pointer: pointer.to_string(),
            line: None,
            column: None,
        };
        if let Some(doc) = self.files.get(file) {
            // The nearest node that has a position (a pointer past the end of the
            // document is placed at its deepest existing parent).
            if let Some((line, column)) = doc.positions.nearest(pointer) {
                location.line = Some(line);
                location.column = Some(column);
            }
        }
        location
    }
}

/// How much of the loading thread's stack is in use (see `super::LOADER_STACK_BYTES`).
pub mod stack_depth {
    use std::cell::Cell;

    /// Stack use beyond which `$ref`s are no longer followed.
    pub const BUDGET: usize = super::super::LOADER_STACK_BYTES / 4 * 3;

    thread_local! {
        static BASE: Cell<usize> = const { Cell::new(0) };
    }

    /// Records the current stack position as the base (at the loader's entry).
    pub fn mark_base() {
        let probe = 0u8;
        BASE.with(|base| base.set(std::ptr::addr_of!(probe) as usize));
    }

    /// Bytes of stack used since [`mark_base`] (0 when it was not called; the stack
    /// grows downwards on every supported platform).
    pub fn used() -> usize {
        let probe = 0u8;
        let here = std::ptr::addr_of!(probe) as usize;
        BASE.with(|base| match base.get() {
            0 => 0,
            base => base.saturating_sub(here),
        })
    }
}

/// `Some(Ok(reference))` for a `{"$ref": "..."}` object, `Some(Err(()))` when the `$ref`
/// is not a string, `None` for anything else.
pub fn ref_of(value: &Value) -> Option<std::result::Result<String, ()>> {
    value
        .as_object()
        .and_then(|o| o.get("$ref"))
        .map(|r| r.as_str().map(str::to_string).ok_or(()))
}

fn same_place(a: &Location, b: &Location) -> bool {
    a.file == b.file && a.pointer == b.pointer
}

/// Lexical normalisation: drops `.` and folds `dir/..`, without touching the file
/// system (so the paths in messages stay the ones the user wrote).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            other => out.push(other),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_parent_dirs() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d.yaml")),
            PathBuf::from("/a/c/d.yaml")
        );
        assert_eq!(
            normalize(Path::new("../x/../y.yaml")),
            PathBuf::from("../y.yaml")
        );
        assert_eq!(normalize(Path::new("./y.yaml")), PathBuf::from("y.yaml"));
    }

    #[test]
    fn walks_through_intermediate_refs_and_detects_cycles() {
        let text = "channels:\n  a:\n    $ref: '#/components/channels/a'\ncomponents:\n  channels:\n    a:\n      messages:\n        m: {payload: {type: string}}\n  x: {$ref: '#/components/y'}\n  y: {$ref: '#/components/x'}\n";
        let mut docs = Documents::new(Path::new("d.yaml"), text).unwrap();
        let from = docs.root_at("/operations/o/messages/0");
        let (at, value) = docs.resolve(&from, "#/channels/a/messages/m").unwrap();
        assert_eq!(at.pointer, "/components/channels/a/messages/m");
        assert_eq!(at.line, Some(8));
        assert_eq!(value["payload"]["type"], "string");
        let start = docs.root_at("/components/x");
        let value = docs.root_shared()["components"]["x"].clone();
        let err = docs.deref(start, value).unwrap_err();
        assert!(err.to_string().contains("reference cycle"), "{err}");
    }
}
