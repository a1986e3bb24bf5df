//! YAML (and therefore JSON) text → a `serde_json::Value` plus the line/column of every
//! node, found by JSON pointer, so that later errors can say where they are.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

use super::pointer::push_escaped;
use crate::error::{Error, Result};
use crate::ir::Location;

/// Nesting deeper than this is refused: no AsyncAPI document needs it, and it keeps
/// recursive consumers of the value (drop, serialisation) far from the stack limit.
const MAX_DEPTH: usize = 128;
/// The YAML merge key.
const MERGE_KEY: &str = "<<";
/// Upper bound on nodes created, aliases included (guards against alias bombs).
const MAX_NODES: usize = 2_000_000;

/// Where each node of a file starts: (1-based line, 1-based column) of its first
/// character, found by JSON pointer.
///
/// A node is stored as its parent and its own (escaped) reference token, indexed by
/// the pair: a pointer is found one token at a time, and no node needs a string of its
/// whole pointer (a document has a node per ~20 bytes, and pointers are long). A file
/// parsed in two pieces (see [`parse`]) has a segment per piece; node ids are global
/// (a segment's ids start at its `base`), and the second piece's top-level keys hang
/// off its own root, found as children of the first piece's node it continues.
#[derive(Debug, Clone)]
pub struct Positions {
    segments: Vec<Segment>,
    /// The last pointer walked: the lowering asks for many pointers in a row that share
    /// a long prefix (the fields of one object), and the walk resumes where they part.
    last_walk: RefCell<LastWalk>,
}

/// The nodes of one parsed piece of text.
#[derive(Debug, Clone, Default)]
struct Segment {
    /// The global id of `nodes[0]`.
    base: u32,
    /// Added to the lines of the piece (the lines before it in the file).
    line_offset: u32,
    nodes: Vec<PositionNode>,
    /// The nodes' escaped reference tokens, end to end.
    tokens: String,
    /// Hash of (parent, token) → the newest node with that hash; older nodes with the
    /// same hash are chained through [`PositionNode::next`].
    index: FastMap<u32, u32>,
    root: Option<u32>,
    /// For a second piece: the node of the first piece whose children its root's
    /// children are.
    continues: Option<u32>,
}

/// A pointer and, for each of its leading tokens that was found, the byte offset where
/// the token ends and the node it leads to.
#[derive(Debug, Clone, Default)]
struct LastWalk {
    pointer: String,
    ends: Vec<(usize, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct PositionNode {
    parent: u32,
    token_start: u32,
    token_end: u32,
    line: u32,
    column: u32,
    /// The previous node with the same index hash ([`NO_NODE`] at the end).
    next: u32,
}

const NO_NODE: u32 = u32::MAX;
/// The first node id of the second piece of a file parsed in two (above any count of
/// nodes [`MAX_NODES`] allows in the first).
const SECOND_PIECE_BASE: u32 = 1 << 30;

impl Segment {
    /// 32 bits of the hash of (parent, token): enough to spread the nodes (a match is
    /// checked against the node), and the index stays small enough to stay in cache.
    fn hash(parent: u32, token: &str) -> u32 {
        let mut hasher = PointerHasher::default();
        hasher.add(u64::from(parent));
        hasher.write(token.as_bytes());
        // The multiplication leaves its best-mixed bits at the top.
        (hasher.finish() >> 32) as u32
    }

    fn holds(&self, id: u32) -> bool {
        id >= self.base && ((id - self.base) as usize) < self.nodes.len()
    }

    fn node(&self, id: u32) -> &PositionNode {
        &self.nodes[(id - self.base) as usize]
    }

    fn token(&self, node: &PositionNode) -> &str {
        &self.tokens[node.token_start as usize..node.token_end as usize]
    }

    /// The newest child of `parent` (a node of this segment) with the escaped token.
    fn child(&self, parent: u32, token: &str) -> Option<u32> {
        let mut id = *self.index.get(&Self::hash(parent, token))?;
        while id != NO_NODE {
            let node = self.node(id);
            if node.parent == parent && self.token(node) == token {
                return Some(id);
            }
            id = node.next;
        }
        None
    }
}

impl Positions {
    /// Room for `nodes` nodes, numbered from `base`, on lines `line_offset` further down.
    fn with_capacity(nodes: usize, base: u32, line_offset: u32) -> Self {
        Positions {
            segments: vec![Segment {
                base,
                line_offset,
                nodes: Vec::with_capacity(nodes),
                tokens: String::with_capacity(nodes * 8),
                index: FastMap::with_capacity_and_hasher(nodes, Default::default()),
                root: None,
                continues: None,
            }],
            last_walk: RefCell::default(),
        }
    }

    /// Adds the root node (`parent: None`), or a child of `parent` whose escaped token
    /// `push_token` appends to the string it is given (to the only segment: while a
    /// piece is parsed).
    fn add(
        &mut self,
        parent: Option<u32>,
        (line, column): (u32, u32),
        push_token: impl FnOnce(&mut String),
    ) -> u32 {
        let segment = &mut self.segments[0];
        let id = segment.base + segment.nodes.len() as u32;
        let token_start = segment.tokens.len() as u32;
        push_token(&mut segment.tokens);
        let token_end = segment.tokens.len() as u32;
        let mut node = PositionNode {
            parent: parent.unwrap_or(NO_NODE),
            token_start,
            token_end,
            line,
            column,
            next: NO_NODE,
        };
        match parent {
            None => segment.root = Some(id),
            Some(parent) => {
                let token = &segment.tokens[token_start as usize..token_end as usize];
                let hash = Segment::hash(parent, token);
                if let Some(previous) = segment.index.insert(hash, id) {
                    node.next = previous;
                }
            }
        }
        segment.nodes.push(node);
        id
    }

    fn segment(&self, id: u32) -> &Segment {
        self.segments
            .iter()
            .find(|s| s.holds(id))
            .unwrap_or(&self.segments[0])
    }

    fn root(&self) -> Option<u32> {
        self.segments.first()?.root
    }

    /// The newest child of `parent` with the escaped reference token `token`: in the
    /// parent's segment, or among the root's children of a segment continuing it.
    fn child(&self, parent: u32, token: &str) -> Option<u32> {
        let segment = self.segment(parent);
        if segment.holds(parent) {
            if let Some(child) = segment.child(parent, token) {
                return Some(child);
            }
        }
        self.segments
            .iter()
            .filter(|s| s.continues == Some(parent))
            .find_map(|s| s.child(s.root?, token))
    }

    fn position(&self, id: u32) -> (u32, u32) {
        let segment = self.segment(id);
        let node = segment.node(id);
        (node.line + segment.line_offset, node.column)
    }

    /// The JSON pointer of node `id` (within its piece).
    fn pointer(&self, id: u32) -> String {
        let segment = self.segment(id);
        let mut tokens = Vec::new();
        let mut id = id;
        while segment.holds(id) {
            let node = segment.node(id);
            if node.parent != NO_NODE {
                tokens.push(segment.token(node));
            }
            id = node.parent;
        }
        let mut pointer = String::new();
        for token in tokens.iter().rev() {
            pointer.push('/');
            pointer.push_str(token);
        }
        pointer
    }

    /// The nodes along `pointer` from the root, as far as they exist: the last one
    /// reached and whether it is the whole pointer.
    fn walk(&self, pointer: &str) -> Option<(u32, bool)> {
        let root = self.root()?;
        if pointer.is_empty() {
            return Some((root, true));
        }
        if !pointer.starts_with('/') {
            return None;
        }
        let mut last = self.last_walk.borrow_mut();
        let LastWalk {
            pointer: last_pointer,
            ends,
        } = &mut *last;
        // Resume after the deepest token this pointer shares with the last one.
        let common = last_pointer
            .bytes()
            .zip(pointer.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let bytes = pointer.as_bytes();
        let shared = ends
            .iter()
            .take_while(|(end, _)| *end <= common && (*end == bytes.len() || bytes[*end] == b'/'))
            .count();
        ends.truncate(shared);
        last_pointer.clear();
        last_pointer.push_str(pointer);
        let (mut offset, mut node) = ends.last().copied().unwrap_or((0, root));
        while offset < bytes.len() {
            // `bytes[offset]` is the `/` before the next token.
            let start = offset + 1;
            let end = bytes[start..]
                .iter()
                .position(|b| *b == b'/')
                .map_or(bytes.len(), |n| start + n);
            match self.child(node, &pointer[start..end]) {
                Some(child) => {
                    node = child;
                    offset = end;
                    ends.push((end, child));
                }
                None => return Some((node, false)),
            }
        }
        Some((node, true))
    }

    /// The position of the node at exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<(u32, u32)> {
        match self.walk(pointer)? {
            (node, true) => Some(self.position(node)),
            (_, false) => None,
        }
    }

    /// The position of the node at `pointer` or else of its nearest ancestor that has
    /// one (a pointer past the end of the document is placed at its deepest existing
    /// parent); none when not even the root matches.
    pub fn nearest(&self, pointer: &str) -> Option<(u32, u32)> {
        self.walk(pointer).map(|(node, _)| self.position(node))
    }
}

/// A hash map with [`PointerHasher`]: for the loader's own keys (pointers, subject
/// tokens), where iteration order never shows in the output.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PointerHasher>>;

/// One parsed file: its value and where each node starts.
#[derive(Debug, Clone)]
pub struct ParsedText {
    pub value: Value,
    pub positions: Positions,
}

/// The position index holds a key per node of the document: a multiplicative hash (as
/// rustc's FxHash) of 8 bytes at a time hashes them several times faster than SipHash.
/// The keys come from the local document being read, so hash flooding is no concern.
#[derive(Default)]
pub struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl PointerHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A container being filled while events stream in.
enum Frame {
    Sequence {
        items: Vec<Value>,
        /// The container's node in [`Positions`].
        node: u32,
        anchor: usize,
    },
    Mapping {
        map: Map<String, Value>,
        node: u32,
        anchor: usize,
        /// The key read, waiting for its value.
        pending_key: Option<String>,
        /// Keys that came from a `<<` merge: explicit keys may override them.
        merged: HashSet<String>,
    },
}

/// Parses `text` (the content of `path`) as one YAML document.
///
/// A large document whose root is a block mapping is parsed in two pieces at once,
/// split before a top-level key; when anything could make that differ from parsing
/// it whole (an error, anchors, aliases or merge keys, a key in both pieces, directives
/// or document markers), it is parsed whole, so the result and every error are the
/// same either way.
pub fn parse(path: &Path, text: &str) -> Result<ParsedText> {
    // Editors on some systems start UTF-8 files with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(parsed) = parse_in_two(path, text) {
        return Ok(parsed);
    }
    parse_piece(path, text, 0, 0).map(|piece| piece.parsed)
}

/// Documents smaller than this are parsed on one thread (a thread costs more).
const SPLIT_MIN_BYTES: usize = 256 << 10;

/// [`parse`] on two threads, when the document allows (see there).
fn parse_in_two(path: &Path, text: &str) -> Option<ParsedText> {
    if text.len() < SPLIT_MIN_BYTES {
        return None;
    }
    parse_split(path, text)
}

/// [`parse_in_two`] whatever the size of `text`.
fn parse_split(path: &Path, text: &str) -> Option<ParsedText> {
    let split = split_point(text)?;
    let (first, second) = text.split_at(split.at);
    let (first, second) = std::thread::scope(|scope| {
        let second = std::thread::Builder::new()
            .name("jetwire-yaml".into())
            .spawn_scoped(scope, || {
                parse_piece(path, second, SECOND_PIECE_BASE, split.line_offset)
            })
            .ok()?;
        let first = parse_piece(path, first, 0, 0);
        Some((first, second.join().ok()?))
    })?;
    let (first, second) = (first.ok()?, second.ok()?);
    if !first.plain || !second.plain || first.nodes + second.nodes > MAX_NODES {
        return None;
    }
    let ParsedText {
        mut value,
        mut positions,
    } = first.parsed;
    let ParsedText {
        value: Value::Object(rest),
        positions: rest_positions,
    } = second.parsed
    else {
        return None;
    };
    // The second piece's keys continue the mapping the first piece ends in: the last
    // entry at each level of `split.path`.
    let mut target = value.as_object_mut()?;
    let mut pointer = String::new();
    for key in &split.path {
        let (last_key, last_value) = target.iter_mut().next_back()?;
        if last_key != key {
            return None;
        }
        pointer.push('/');
        push_escaped(&mut pointer, key);
        target = last_value.as_object_mut()?;
    }
    if rest.keys().any(|key| target.contains_key(key)) {
        return None;
    }
    target.extend(rest);
    let (continued, true) = positions.walk(&pointer)? else {
        return None;
    };
    for mut segment in rest_positions.segments {
        segment.continues = Some(continued);
        positions.segments.push(segment);
    }
    Some(ParsedText { value, positions })
}

/// Where [`parse_in_two`] splits a text, and the keys of the mappings the split line
/// is inside (outermost first).
struct Split {
    at: usize,
    line_offset: u32,
    path: Vec<String>,
}

/// The line nearest the middle of `text` that is a `key:` line after which no line is
/// indented less (so the rest is entries of the same mapping), inside mappings that
/// are all `key:` lines. None when there is no such line, or the text has directives,
/// document markers or tab indentation.
fn split_point(text: &str) -> Option<Split> {
    let bytes = text.as_bytes();
    // Start, end and indentation (None: blank or comment) of each line.
    let mut lines: Vec<(usize, usize, Option<usize>)> = Vec::with_capacity(text.len() / 20);
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |n| start + n);
        let line = &bytes[start..end];
        if line.starts_with(b"%") || line.starts_with(b"---") || line.starts_with(b"...") {
            return None;
        }
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let indent = match line[indent..].first() {
            None | Some(b'\r' | b'#') => None,
            Some(b'\t') => return None,
            Some(_) => Some(indent),
        };
        lines.push((start, end, indent));
        start = end + 1;
    }
    let middle = text.len() / 2;
    let mut least_after = usize::MAX;
    let mut best: Option<usize> = None;
    for i in (1..lines.len()).rev() {
        let (start, end, Some(indent)) = lines[i] else {
            continue;
        };
        if indent <= least_after
            && is_key_line(&bytes[start + indent..end])
            && best.is_none_or(|b| middle.abs_diff(start) < middle.abs_diff(lines[b].0))
        {
            best = Some(i);
        }
        least_after = least_after.min(indent);
    }
    let best = best?;
    let (at, _, indent) = lines[best];
    // The enclosing `key:` lines, innermost first.
    let mut path = Vec::new();
    let mut inside = indent?;
    for &(start, end, indent) in lines[..best].iter().rev() {
        if inside == 0 {
            break;
        }
        let Some(indent) = indent.filter(|i| *i < inside) else {
            continue;
        };
        let line = &text[start + indent..end];
        let key = line.trim_end_matches('\r').strip_suffix(':')?;
        if !is_plain_key(key) {
            return None;
        }
        path.push(key.to_string());
        inside = indent;
    }
    if inside != 0 {
        return None;
    }
    path.reverse();
    Some(Split {
        at,
        line_offset: u32::try_from(best).ok()?,
        path,
    })
}

/// `key:` or `key: ...` with a plain key.
fn is_key_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return false;
    };
    matches!(line.get(colon + 1), None | Some(b' ' | b'\r'))
        && std::str::from_utf8(&line[..colon]).is_ok_and(is_plain_key)
}

/// A key that reads the same wherever it is: letters, digits, `_`, `-`, `.`, starting
/// with a letter, a digit or `_`.
fn is_plain_key(key: &str) -> bool {
    key.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// One parsed piece of a file, and what [`parse_in_two`] must know to join two.
struct Piece {
    parsed: ParsedText,
    /// No anchors, aliases or merge keys (whose meaning crosses pieces).
    plain: bool,
    nodes: usize,
}

/// Parses `text`, the piece of the file starting after `line_offset` lines, numbering
/// its nodes from `base`.
fn parse_piece(path: &Path, text: &str, base: u32, line_offset: u32) -> Result<Piece> {
    let mut builder = Builder {
        path,
        // About one node per 20 bytes of a typical document: the index rarely regrows.
        positions: Positions::with_capacity(text.len() / 20, base, line_offset),
        anchors: HashMap::new(),
        stack: Vec::new(),
        root: None,
        nodes: 0,
        plain: true,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            syntax(
                path,
                e.marker(),
                format!("invalid YAML: {}", e.info()),
                String::new(),
            )
        })?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart => {
                if builder.root.is_some() {
                    return Err(syntax(
                        path,
                        &mark,
                        "more than one YAML document in the file".into(),
                        String::new(),
                    ));
                }
            }
            other => builder.event(other, mark)?,
        }
    }
    Ok(Piece {
        parsed: ParsedText {
            value: builder.root.unwrap_or(Value::Null),
            positions: builder.positions,
        },
        plain: builder.plain,
        nodes: builder.nodes,
    })
}

fn syntax(path: &Path, mark: &Marker, message: String, pointer: String) -> Error {
    Error::Syntax {
        location: Location {
            file: path.to_path_buf(),
            pointer,
            line: Some(mark.line() as u32),
            column: Some(mark.col() as u32 + 1),
        },
        message,
    }
}

struct Builder<'a> {
    path: &'a Path,
    positions: Positions,
    anchors: HashMap<usize, Value>,
    stack: Vec<Frame>,
    root: Option<Value>,
    nodes: usize,
    /// No anchor, alias or merge key met so far.
    plain: bool,
}

impl Builder<'_> {
    fn event(&mut self, event: Event, mark: Marker) -> Result<()> {
        match &event {
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _)
                if *anchor > 0 =>
            {
                self.plain = false
            }
            Event::Alias(_) => self.plain = false,
            _ => {}
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                // A scalar in key position is a key, not a value.
                if let Some(Frame::Mapping {
                    pending_key: pending @ None,
                    ..
                }) = self.stack.last_mut()
                {
                    if anchor > 0 {
                        self.anchors.insert(anchor, Value::String(text.clone()));
                    }
                    *pending = Some(text);
                    return Ok(());
                }
                let tagged_str = tag
                    .as_ref()
                    .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
                let value = if style == TScalarStyle::Plain && !tagged_str {
                    plain_scalar(text)
                } else {
                    Value::String(text)
                };
                self.place(&mark)?;
                self.record(anchor, &value);
                self.finish(value)
            }
            Event::SequenceStart(anchor, _) => {
                self.check_key_position(&mark, "a sequence")?;
                let node = self.place(&mark)?;
                self.push(
                    Frame::Sequence {
                        items: Vec::new(),
                        node,
                        anchor,
                    },
                    &mark,
                )
            }
            Event::MappingStart(anchor, _) => {
                self.check_key_position(&mark, "a mapping")?;
                let node = self.place(&mark)?;
                self.push(
                    Frame::Mapping {
                        map: Map::new(),
                        node,
                        anchor,
                        pending_key: None,
                        merged: HashSet::new(),
                    },
                    &mark,
                )
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Mapping { map, anchor, .. }) => (Value::Object(map), anchor),
                    None => {
                        return Err(syntax(
                            self.path,
                            &mark,
                            "unbalanced YAML structure".into(),
                            String::new(),
                        ))
                    }
                };
                self.record(anchor, &value);
                self.finish(value)
            }
            Event::Alias(id) => {
                if let Some(Frame::Mapping {
                    pending_key: pending @ None,
                    ..
                }) = self.stack.last_mut()
                {
                    // An aliased key: only scalar keys make sense in JSON.
                    return match self.anchors.get(&id) {
                        Some(Value::String(s)) => {
                            *pending = Some(s.clone());
                            Ok(())
                        }
                        Some(v) if !v.is_object() && !v.is_array() => {
                            *pending = Some(scalar_key(v));
                            Ok(())
                        }
                        _ => Err(syntax(
                            self.path,
                            &mark,
                            "mapping keys must be scalars".into(),
                            self.current_pointer(),
                        )),
                    };
                }
                let value = self.anchors.get(&id).cloned().ok_or_else(|| {
                    syntax(
                        self.path,
                        &mark,
                        "alias to an unknown anchor".into(),
                        self.current_pointer(),
                    )
                })?;
                self.nodes = self.nodes.saturating_add(count_nodes(&value));
                self.place(&mark)?;
                self.finish(value)
            }
            _ => Ok(()),
        }
    }

    fn check_key_position(&self, mark: &Marker, what: &str) -> Result<()> {
        if let Some(Frame::Mapping {
            pending_key: None, ..
        }) = self.stack.last()
        {
            return Err(syntax(
                self.path,
                mark,
                format!("{what} cannot be a mapping key (keys must be scalars)"),
                self.current_pointer(),
            ));
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, mark: &Marker) -> Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(syntax(
                self.path,
                mark,
                format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
                self.current_pointer(),
            ));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn current_pointer(&self) -> String {
        match self.stack.last() {
            Some(Frame::Sequence { node, .. }) | Some(Frame::Mapping { node, .. }) => {
                self.positions.pointer(*node)
            }
            None => String::new(),
        }
    }

    /// Records the node starting at `mark` (at the place the open containers give it)
    /// and its position.
    fn place(&mut self, mark: &Marker) -> Result<u32> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(syntax(
                self.path,
                mark,
                format!("the document has more than {MAX_NODES} nodes"),
                self.current_pointer(),
            ));
        }
        let at = position(mark);
        let node = match self.stack.last_mut() {
            None => self.positions.add(None, at, |_| {}),
            Some(Frame::Sequence { items, node, .. }) => {
                let index = items.len();
                self.positions.add(Some(*node), at, |out| {
                    // Writing a number into a String cannot fail.
                    let _ = std::fmt::Write::write_fmt(out, format_args!("{index}"));
                })
            }
            Some(Frame::Mapping {
                node,
                pending_key,
                map,
                merged,
                ..
            }) => {
                let key = pending_key.as_deref().unwrap_or_default();
                if map.contains_key(key) && !merged.remove(key) {
                    return Err(syntax(
                        self.path,
                        mark,
                        format!("duplicate key `{key}`"),
                        self.positions.pointer(*node),
                    ));
                }
                self.positions
                    .add(Some(*node), at, |out| push_escaped(out, key))
            }
        };
        Ok(node)
    }

    fn record(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
    }

    /// Stores a completed node in its parent (or as the root).
    fn finish(&mut self, value: Value) -> Result<()> {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping {
                map,
                pending_key,
                merged,
                node,
                ..
            }) => {
                let key = pending_key.take().unwrap_or_default();
                if key != MERGE_KEY {
                    map.insert(key, value);
                    return Ok(());
                }
                self.plain = false;
                // YAML merge keys (`<<: *defaults` or `<<: [*a, *b]`): keys already
                // present win, and earlier sources win over later ones.
                map.remove(MERGE_KEY);
                let sources = match value {
                    Value::Object(source) => vec![source],
                    Value::Array(items) if items.iter().all(Value::is_object) => items
                        .into_iter()
                        .filter_map(|v| match v {
                            Value::Object(o) => Some(o),
                            _ => None,
                        })
                        .collect(),
                    _ => {
                        let at = format!("{}/{MERGE_KEY}", self.positions.pointer(*node));
                        let (line, column) = self.positions.get(&at).unwrap_or((1, 1));
                        return Err(Error::Syntax {
                            location: Location {
                                file: self.path.to_path_buf(),
                                pointer: at,
                                line: Some(line),
                                column: Some(column),
                            },
                            message: "a merge key `<<` needs a mapping or a list of mappings"
                                .into(),
                        });
                    }
                };
                for source in sources {
                    for (k, v) in source {
                        if !map.contains_key(&k) {
                            merged.insert(k.clone());
                            map.insert(k, v);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// (1-based line, 1-based column) of `mark`.
fn position(mark: &Marker) -> (u32, u32) {
    (mark.line() as u32, mark.col() as u32 + 1)
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(text: String) -> Value {
    match Yaml::from_str(&text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            // `.inf` / `.nan` have no JSON form: keep the text.
            .unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
}

fn scalar_key(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn count_nodes(value: &Value) -> usize {
    // Iterative: aliased values may be deep.
    let mut count = 0;
    let mut todo = vec![value];
    while let Some(v) = todo.pop() {
        count += 1;
        match v {
            Value::Array(items) => todo.extend(items),
            Value::Object(map) => todo.extend(map.values()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(text: &str) -> ParsedText {
        parse(Path::new("t.yaml"), text).unwrap()
    }

    #[test]
    fn values_and_positions() {
        let t = p("a: 1\nb:\n  - x\n  - 'y'\n  - {c: true, d: null, e: 1.5}\nf: \"2\"\n");
        assert_eq!(
            t.value,
            json!({"a": 1, "b": ["x", "y", {"c": true, "d": null, "e": 1.5}], "f": "2"})
        );
        assert_eq!(t.positions.get("/a"), Some((1, 4)));
        assert_eq!(t.positions.get("/b/1"), Some((4, 5)));
        assert_eq!(t.positions.get("/b/2/d"), Some((5, 18)));
        assert!(t.positions.get("").is_some());
        // Past the end of the document: the deepest existing parent.
        assert_eq!(t.positions.get("/b/2/d/x"), None);
        assert_eq!(t.positions.nearest("/b/2/d/x/y"), Some((5, 18)));
        assert_eq!(t.positions.nearest("/b/01"), t.positions.get("/b"));
        assert_eq!(t.positions.nearest("b"), None);
    }

    #[test]
    fn json_is_yaml() {
        let t = p("{\"a\": [1, {\"b/c\": \"x\"}]}");
        assert_eq!(t.value, json!({"a": [1, {"b/c": "x"}]}));
        assert!(t.positions.get("/a/1/b~1c").is_some());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse(Path::new("t.yaml"), "a: [1, 2\nb: 3\n").unwrap_err();
        let loc = err.location().unwrap();
        assert!(loc.line.is_some(), "{err}");
        let err = parse(Path::new("t.yaml"), "a: 1\na: 2\n").unwrap_err();
        assert!(err.to_string().contains("duplicate key"), "{err}");
        assert_eq!(err.location().unwrap().line, Some(2));
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let t = p("\u{feff}a: 1\n");
        assert_eq!(t.value, json!({"a": 1}));
    }

    #[test]
    fn merge_keys() {
        let t = p("base: &b {a: 1, b: 2}\nother: &o {c: 3}\nx:\n  <<: [*b, *o]\n  b: 20\n");
        assert_eq!(t.value["x"], json!({"a": 1, "b": 20, "c": 3}));
        assert!(parse(Path::new("t.yaml"), "x:\n  <<: 1\n").is_err());
        assert!(parse(Path::new("t.yaml"), "x:\n  a: 1\n  a: 2\n").is_err());
    }

    #[test]
    fn anchors_and_deep_nesting() {
        let t = p("a: &x {b: 1}\nc: *x\n");
        assert_eq!(t.value["c"], json!({"b": 1}));
        let deep = "[".repeat(10_000);
        assert!(parse(Path::new("t.yaml"), &deep).is_err());
    }

    /// A large document parsed in two pieces gives the same value and positions as
    /// parsed whole; one with anchors is parsed whole.
    #[test]
    fn two_pieces_read_as_one() {
        let mut text = String::from("top: 1\nouter:\n  list:\n  - 1\n  inner:\n");
        for i in 0..6_000 {
            text.push_str(&format!(
                "    k{i}:\n      # note\n      x: {i}\n      y: [1, 'two']\n      z:\n        w: null\n"
            ));
        }
        let path = Path::new("t.yaml");
        let whole = parse_piece(path, &text, 0, 0).unwrap().parsed;
        let split = split_point(&text).unwrap();
        assert_eq!(split.path, ["outer", "inner"]);
        let two = parse_in_two(path, &text).unwrap();
        assert_eq!(two.value, whole.value);
        let mut pointers = vec![
            String::new(),
            "/top".into(),
            "/outer/list/0".into(),
            "/outer/inner/nope".into(),
        ];
        for i in (0..6_000).step_by(7) {
            for rest in ["", "/x", "/y/1", "/z/w", "/z/w/past"] {
                pointers.push(format!("/outer/inner/k{i}{rest}"));
            }
        }
        for pointer in &pointers {
            assert_eq!(
                two.positions.get(pointer),
                whole.positions.get(pointer),
                "{pointer}"
            );
            assert_eq!(
                two.positions.nearest(pointer),
                whole.positions.nearest(pointer),
                "{pointer}"
            );
        }
        let anchored = text.replace("    k5999:\n", "    k5999: &a\n");
        assert!(parse_in_two(path, &anchored).is_none());
        assert_eq!(
            parse(path, &anchored).unwrap().value["outer"]["inner"]["k0"],
            whole.value["outer"]["inner"]["k0"]
        );
    }

    /// Errors in a large document are the errors of parsing it whole.
    #[test]
    fn errors_in_pieces_are_reported_as_for_the_whole() {
        let mut text = String::from("outer:\n");
        for i in 0..20_000 {
            text.push_str(&format!("  k{i}:\n    x: {i}\n"));
        }
        let path = Path::new("t.yaml");
        assert!(parse_in_two(path, &text).is_some());
        let duplicate = format!("{text}  k1:\n    x: 1\n");
        let bad_syntax = format!("{text}  k20000: [1, 2\n");
        for text in [duplicate, bad_syntax] {
            let err = parse(path, &text).unwrap_err();
            let whole = parse_piece(path, &text, 0, 0).err().unwrap();
            assert_eq!(err.to_string(), whole.to_string());
            assert_eq!(err.location(), whole.location());
        }
    }

    /// Every pointer in `value` (all nodes, and one past each leaf).
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let mut next = at.clone();
                    next.push('/');
                    push_escaped(&mut next, key);
                    pointers(value, next, out);
                }
            }
            Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    pointers(value, format!("{at}/{i}"), out);
                }
            }
            _ => out.push(format!("{at}/past")),
        }
        out.push(at);
    }

    /// Every real document here and in the shared AsyncAPI examples, split wherever the
    /// splitter chooses (whatever its size), reads as when parsed whole: the same value,
    /// and the same position for every node.
    #[test]
    fn real_documents_split_read_as_whole() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![
            root.join("../asyncapi.yaml"),
            root.join("../examples/coordinate/asyncapi.yaml"),
        ];
        let mut dirs = vec![
            root.join("../../shared/asyncapi/examples"),
            root.join("tests/fixtures"),
        ];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut split = 0;
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let Ok(whole) = parse_piece(path, text, 0, 0) else {
                assert!(parse_split(path, text).is_none(), "{}", path.display());
                continue;
            };
            let Some(two) = parse_split(path, text) else {
                continue;
            };
            split += 1;
            let whole = whole.parsed;
            assert_eq!(two.value, whole.value, "{}", path.display());
            let mut all = Vec::new();
            pointers(&whole.value, String::new(), &mut all);
            for pointer in &all {
                assert_eq!(
                    two.positions.get(pointer),
                    whole.positions.get(pointer),
                    "{} {pointer}",
                    path.display()
                );
                assert_eq!(
                    two.positions.nearest(pointer),
                    whole.positions.nearest(pointer),
                    "{} {pointer}",
                    path.display()
                );
            }
        }
        assert!(
            split > 10,
            "only {split} of {} documents split",
            files.len()
        );
    }
}
