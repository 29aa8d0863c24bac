//! Entities with their expansions, written as their rows arrive. Joined expansions and counts
//! come from the entity's own row; related entities in rows of their own (see `sql::expand`)
//! follow their parent's row in order, so one pass with a stack of open objects writes them:
//! a row of node K closes whatever is open at K's depth or deeper, opens K's member in its
//! parent (`"Nav":[` or `"Nav":`) unless already open, and opens the entity. Members with no
//! row are written empty (`[]`, or `null` for a single entity).

use super::json::{EntityWriter, JsonOptions, RowError};
use crate::odata::bind::Expansion;
use crate::odata::model::EntitySet;
use crate::odata::sql::{EntityLayout, ExpansionLayout, Layout, SortColumn};
use chrono_tz::Tz;
use tokio_postgres::Row;

/// A problem with a page's rows (a writer error, or rows out of the expected order).
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Row(#[from] RowError),
    #[error("a row of expansion node {0} came without its parent entity")]
    Orphan(usize),
}

/// Writes the entities of a page (or one entity) with all their expansions.
pub struct EntityTree {
    root: EntityWriter,
    /// Node `k` is `nodes[k - 1]`.
    nodes: Vec<Node>,
    /// The column naming each row's node, when expansions have rows of their own.
    node_column: Option<usize>,
    stack: Vec<Frame>,
}

struct Node {
    writer: EntityWriter,
    parent: usize,
    /// Index among the parent writer's `rows`.
    position: usize,
    depth: usize,
}

/// An entity whose object is open.
struct Frame {
    node: usize,
    depth: usize,
    /// The member (index into the writer's `rows`) currently open, if any.
    open: Option<usize>,
    /// The first member of `rows` not yet written.
    next: usize,
    /// The counts of `rows`' members, read from the entity's row.
    counts: Vec<Option<i64>>,
    /// Whether the object has a member yet (a `,` goes before the next one).
    has_member: bool,
}

/// Everything the writers need to know besides the layout.
pub struct Settings<'a> {
    pub options: JsonOptions,
    pub time_zone: Tz,
    pub service_root: &'a str,
}

impl EntityTree {
    /// The writer of entities of `set` with `columns` and `expansions`, laid out as `layout`
    /// says; `key_columns` hold the key's text (for full metadata) and `links` are the
    /// navigation properties full metadata links.
    pub fn new(
        set: &EntitySet,
        columns: &[usize],
        expansions: &[Expansion],
        layout: &Layout,
        key_columns: &[SortColumn],
        links: Vec<String>,
        settings: &Settings,
    ) -> EntityTree {
        let mut root = EntityWriter::new(
            set,
            columns,
            &layout.entity,
            settings.options,
            settings.time_zone,
            settings.service_root,
            key_columns,
        );
        root.navigation_links(links);
        let mut nodes = Vec::new();
        attach(&mut root, 0, 0, expansions, &layout.entity, settings, &mut nodes);
        // Children are collected before their parents: put them in id order.
        nodes.sort_by_key(|(id, _)| *id);
        EntityTree {
            root,
            nodes: nodes.into_iter().map(|(_, node)| node).collect(),
            node_column: layout.node,
            stack: Vec::new(),
        }
    }

    /// The writer of the entities of the page themselves, without their expansions.
    pub fn into_root(self) -> EntityWriter {
        self.root
    }

    /// Whether `row` starts an entity of the page (rather than a related one).
    pub fn starts_entity(&self, row: &Row) -> Result<bool, TreeError> {
        Ok(self.node_of(row)? == 0)
    }

    fn node_of(&self, row: &Row) -> Result<usize, TreeError> {
        let Some(at) = self.node_column else { return Ok(0) };
        let node: i32 = row.try_get(at).map_err(|source| RowError::new(at, source))?;
        Ok(usize::try_from(node).unwrap_or(usize::MAX))
    }

    /// Writes a row: an entity of the page (after `close`), or a related entity inside the
    /// entity open.
    pub fn write(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<(), TreeError> {
        let node = self.node_of(row)?;
        if node == 0 {
            self.close(out);
            let has_member = self.root.open(out, row)?;
            let counts = counts(&self.root, row)?;
            self.stack.push(Frame { node: 0, depth: 0, open: None, next: 0, counts, has_member });
            return Ok(());
        }
        let Some(info) = self.nodes.get(node - 1) else { return Err(TreeError::Orphan(node)) };
        let (parent, position, depth) = (info.parent, info.position, info.depth);
        while self.stack.last().is_some_and(|f| f.depth >= depth) {
            self.close_frame(out);
        }
        if self.stack.last().is_none_or(|f| f.node != parent) {
            return Err(TreeError::Orphan(node));
        }
        let mut frame = self.stack.pop().expect("checked above");
        let same_member = frame.open == Some(position);
        let collection = self.writer(parent).rows[position].collection;
        if same_member && !collection {
            // A single-valued member has one entity; the statement never sends a second.
            self.stack.push(frame);
            return Ok(());
        }
        if same_member {
            out.push(b',');
        } else {
            self.close_member(out, &mut frame);
            for skipped in frame.next..position {
                self.empty_member(out, &mut frame, skipped);
            }
            self.member_start(out, &mut frame, position);
            frame.open = Some(position);
            frame.next = position + 1;
        }
        self.stack.push(frame);
        let writer = &mut self.nodes[node - 1].writer;
        let has_member = writer.open(out, row)?;
        let counts = counts(writer, row)?;
        self.stack.push(Frame { node, depth, open: None, next: 0, counts, has_member });
        Ok(())
    }

    /// Closes every open object: the entity of the page last written is complete.
    pub fn close(&mut self, out: &mut Vec<u8>) {
        while !self.stack.is_empty() {
            self.close_frame(out);
        }
    }

    fn writer(&self, node: usize) -> &EntityWriter {
        if node == 0 { &self.root } else { &self.nodes[node - 1].writer }
    }

    fn close_frame(&mut self, out: &mut Vec<u8>) {
        let mut frame = self.stack.pop().expect("a frame is open");
        self.close_member(out, &mut frame);
        let members = self.writer(frame.node).rows.len();
        for rest in frame.next..members {
            self.empty_member(out, &mut frame, rest);
        }
        out.push(b'}');
    }

    /// Ends the open member of `frame`, if any (`]` for a collection).
    fn close_member(&self, out: &mut Vec<u8>, frame: &mut Frame) {
        if let Some(open) = frame.open.take()
            && self.writer(frame.node).rows[open].collection
        {
            out.push(b']');
        }
    }

    /// `[,]["Nav@odata.count":n,]"Nav":` and `[` for a collection.
    fn member_start(&self, out: &mut Vec<u8>, frame: &mut Frame, position: usize) {
        let member = &self.writer(frame.node).rows[position];
        if frame.has_member {
            out.push(b',');
        }
        if let (Some((name, _)), Some(count)) = (&member.count, frame.counts[position]) {
            out.extend_from_slice(name);
            out.extend_from_slice(count.to_string().as_bytes());
            out.push(b',');
        }
        out.extend_from_slice(&member.name);
        if member.collection {
            out.push(b'[');
        }
        frame.has_member = true;
    }

    /// A member without related rows: `[]`, or `null` (left out when nulls are omitted).
    fn empty_member(&self, out: &mut Vec<u8>, frame: &mut Frame, position: usize) {
        let writer = self.writer(frame.node);
        let collection = writer.rows[position].collection;
        if !collection && writer.omits_nulls() {
            return;
        }
        self.member_start(out, frame, position);
        out.extend_from_slice(if collection { b"]" } else { b"null" });
    }
}

/// The counts of a writer's row members, read from the parent entity's row.
fn counts(writer: &EntityWriter, row: &Row) -> Result<Vec<Option<i64>>, RowError> {
    writer
        .rows
        .iter()
        .map(|member| match &member.count {
            Some((_, at)) => row.try_get::<_, i64>(*at).map(Some).map_err(|source| RowError::new(*at, source)),
            None => Ok(None),
        })
        .collect()
}

/// Adds `expansions` (laid out as `layout`) to `writer`, which writes node `node` at `depth`;
/// nodes with rows of their own are collected into `nodes` by id.
fn attach(
    writer: &mut EntityWriter,
    node: usize,
    depth: usize,
    expansions: &[Expansion],
    layout: &EntityLayout,
    settings: &Settings,
    nodes: &mut Vec<(usize, Node)>,
) {
    for (e, at) in expansions.iter().zip(&layout.expansions) {
        let name = &e.navigation.name;
        match at {
            ExpansionLayout::Count { count } => writer.count(name, *count),
            ExpansionLayout::Joined { present, entity } => {
                let mut inner = nested_writer(writer, e, entity, settings);
                attach(&mut inner, node, depth, &e.expand, entity, settings, nodes);
                writer.join(name, *present, inner);
            }
            ExpansionLayout::Rows { node: id, count, entity } => {
                let mut inner = nested_writer(writer, e, entity, settings);
                attach(&mut inner, *id, depth + 1, &e.expand, entity, settings, nodes);
                let position = writer.rows.len();
                writer.rows(name, *count, e.navigation.collection);
                nodes.push((*id, Node { writer: inner, parent: node, position, depth: depth + 1 }));
            }
        }
    }
}

/// The writer of an expansion's entities.
fn nested_writer(parent: &EntityWriter, e: &Expansion, layout: &EntityLayout, settings: &Settings) -> EntityWriter {
    let options = parent.nested_options();
    if e.reference {
        return EntityWriter::references(e.target, settings.service_root, &layout.key, options);
    }
    EntityWriter::new(e.target, &e.columns, layout, options, settings.time_zone, settings.service_root, &[])
}
