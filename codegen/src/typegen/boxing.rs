//! Breaking infinitely sized types: a cycle of entries that contain each other directly
//! (as a field, an `Option`, a tuple element; not through `Vec` or a map, which already
//! allocate) gets one `Box` per cycle, on the edge that closes it.

use super::model::{EntryId, Ty, TyKind};
use super::{entry_tys, entry_tys_mut, TypeSpace};

/// Where a `Ty` sits inside an entry: the slot (field/variant) and the steps into it.
type Position = (usize, Vec<usize>);

impl TypeSpace<'_> {
    pub(crate) fn box_cycles(&mut self) {
        // Entries from earlier calls are complete, refer only to each other and have had
        // their cycles boxed, so a search from them finds nothing new: only the entries
        // added since need visiting (in order, as a search over all entries would).
        let first = self.boxed_entries;
        self.boxed_entries = self.entries.len();
        let edges: Vec<Vec<(Position, EntryId)>> = self.entries[first..]
            .iter()
            .map(|e| {
                let mut out = Vec::new();
                for (slot, ty) in entry_tys(&e.kind).into_iter().enumerate() {
                    direct_named(ty, &mut vec![], slot, &mut out);
                }
                out
            })
            .collect();
        let mut state = vec![Visit::New; edges.len()];
        let mut back_edges = Vec::new();
        for start in 0..edges.len() {
            if state[start] == Visit::New {
                dfs(start, first, &edges, &mut state, &mut back_edges);
            }
        }
        for (e, (slot, path)) in back_edges {
            let mut tys = entry_tys_mut(&mut self.entries[e].kind);
            let mut ty: &mut Ty = &mut *tys.swap_remove(slot);
            for step in path {
                ty = match &mut ty.kind {
                    TyKind::Option(inner) => inner,
                    TyKind::Tuple(elems) => &mut elems[step],
                    _ => unreachable!("positions only step through options and tuples"),
                };
            }
            let inner = std::mem::replace(ty, Ty::prim(super::model::Prim::Unit));
            *ty = Ty::wrap(TyKind::Box, inner);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    OnStack,
    Done,
}

/// Depth-first search over the entries from `first` on (`e` and `edges`/`state` indices
/// are relative to `first`; earlier entries count as done). Back edges are absolute.
fn dfs(
    e: usize,
    first: EntryId,
    edges: &[Vec<(Position, EntryId)>],
    state: &mut [Visit],
    back_edges: &mut Vec<(EntryId, Position)>,
) {
    state[e] = Visit::OnStack;
    for (position, target) in &edges[e] {
        let Some(target) = target.checked_sub(first) else {
            continue;
        };
        match state[target] {
            Visit::OnStack => back_edges.push((first + e, position.clone())),
            Visit::New => dfs(target, first, edges, state, back_edges),
            Visit::Done => {}
        }
    }
    state[e] = Visit::Done;
}

/// Entries contained directly (without an allocation in between) in `ty`.
fn direct_named(ty: &Ty, path: &mut Vec<usize>, slot: usize, out: &mut Vec<(Position, EntryId)>) {
    match &ty.kind {
        TyKind::Named(e) => out.push(((slot, path.clone()), *e)),
        TyKind::Option(inner) => {
            path.push(0);
            direct_named(inner, path, slot, out);
            path.pop();
        }
        TyKind::Tuple(elems) => {
            for (i, elem) in elems.iter().enumerate() {
                path.push(i);
                direct_named(elem, path, slot, out);
                path.pop();
            }
        }
        TyKind::Prim(_) | TyKind::Box(_) | TyKind::Vec(_) | TyKind::Map(_) => {}
    }
}
