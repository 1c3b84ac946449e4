//! Where things are in a stage file's text: a small reader of the YAML stage files are written in
//! (block and flow mappings and lists; plain, quoted and block scalars; comments, anchors, aliases and
//! tags) that gives every key and value its line and column, so that an error is reported at the key
//! path it is about, never at the first place the same text occurs.
//!
//! It never fails and never decides what is valid (serde_norway does): on text it does not understand
//! it keeps what it has read so far. Its work is linear in the text, and its nesting is bounded.

use std::collections::BTreeMap;

/// A place in the text: 1-based line and column (columns count characters), and the byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Scalar,
    Alias(String),
    Map(Vec<Entry>),
    Seq(Vec<Node>),
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Where the value starts (its quote or bracket); for an empty value, where its key is.
    pub at: Pos,
    /// The byte offset after the value.
    pub end: usize,
    pub kind: Kind,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The key as YAML reads it (quotes and escapes resolved).
    pub key: String,
    pub key_at: Pos,
    pub value: Node,
}

/// One segment of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A key path as a person reads it: `network.instance_subnet_ids[1]`.
pub(crate) fn show_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A stage file's text, read for positions.
#[derive(Debug)]
pub(crate) struct Doc {
    line_starts: Vec<usize>,
    /// Per line: only ASCII (its columns are its byte offsets).
    ascii: Vec<bool>,
    pub root: Option<Node>,
    anchors: BTreeMap<String, Node>,
    /// Where a second YAML document starts (a `---` or content after `...`).
    pub second_document: Option<Pos>,
    /// The first line that is neither blank nor a comment.
    pub first_content: Option<Pos>,
    /// Where the nesting went deeper than [`MAX_DEPTH`] (the YAML parser refuses past 128 levels, and
    /// takes time quadratic in the depth to get there).
    pub too_deep: Option<Pos>,
}

/// Deeper than this, the rest of the text is taken as one value (serde_norway stops at 128).
pub(crate) const MAX_DEPTH: usize = 150;

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    line_starts: &'a [usize],
    ascii: &'a [bool],
    depth: usize,
    anchors: BTreeMap<String, Node>,
    too_deep: Option<usize>,
}

impl Doc {
    pub fn parse(text: &str) -> Doc {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let ascii = text.split('\n').map(str::is_ascii).collect();
        let mut doc = Doc {
            line_starts,
            ascii,
            root: None,
            anchors: BTreeMap::new(),
            second_document: None,
            first_content: None,
            too_deep: None,
        };
        doc.scan_documents(text);
        let mut p = Parser {
            text,
            b: text.as_bytes(),
            pos: 0,
            line_starts: &doc.line_starts,
            ascii: &doc.ascii,
            depth: 0,
            anchors: BTreeMap::new(),
            too_deep: None,
        };
        if text.starts_with('\u{feff}') {
            p.pos = 3;
        }
        p.skip_prologue();
        let root = p.block(-1);
        doc.anchors = p.anchors;
        doc.too_deep = p.too_deep.map(|o| doc.pos_in(text, o));
        doc.root = root;
        doc
    }

    /// Finds the second document and the first content line.
    fn scan_documents(&mut self, text: &str) {
        let mut seen_content = false;
        let mut ended = false;
        for (i, line) in text.split('\n').enumerate() {
            let start = self.line_starts[i];
            let t = line.trim_start_matches('\u{feff}');
            let trimmed = t.trim_start();
            let marker = |m: &str| {
                t.strip_prefix(m)
                    .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r']))
            };
            if marker("---") {
                if seen_content || ended {
                    self.second_document = Some(self.pos(start));
                    return;
                }
                // Content may follow the marker on its line.
                let rest = t[3..].trim_start();
                if !rest.is_empty() && !rest.starts_with('#') {
                    seen_content = true;
                    self.first_content.get_or_insert(self.pos(start));
                }
                continue;
            }
            if marker("...") {
                ended = seen_content || ended;
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') || (!seen_content && t.starts_with('%')) {
                continue;
            }
            if ended {
                self.second_document = Some(self.pos(start));
                return;
            }
            seen_content = true;
            let indent = line.len() - line.trim_start().len();
            self.first_content.get_or_insert(self.pos(start + indent));
        }
    }

    /// The line and column of a byte offset.
    pub fn pos(&self, offset: usize) -> Pos {
        pos_in(&self.line_starts, &self.ascii, None, offset)
    }

    /// As [`Doc::pos`], counting characters in `text` for the column.
    pub fn pos_in(&self, text: &str, offset: usize) -> Pos {
        pos_in(&self.line_starts, &self.ascii, Some(text), offset)
    }

    /// The nodes along `path`, as far as the text has them: one per segment found.
    fn walk(&self, path: &[Seg]) -> Vec<Step<'_>> {
        let mut out = Vec::new();
        let Some(mut node) = self.root.as_ref() else {
            return out;
        };
        for seg in path {
            node = self.resolve(node);
            let next = match (&node.kind, seg) {
                (Kind::Map(entries), Seg::Key(k)) => entries.iter().find(|e| &e.key == k).map(|e| Step {
                    key_at: Some(e.key_at),
                    node: &e.value,
                }),
                (Kind::Seq(items), Seg::Index(i)) => items.get(*i).map(|n| Step {
                    key_at: None,
                    node: n,
                }),
                _ => None,
            };
            match next {
                Some(step) => {
                    node = step.node;
                    out.push(step);
                }
                None => break,
            }
        }
        out
    }

    /// An alias stands for its anchor's node (one step: an alias of an alias stays).
    fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        match &node.kind {
            Kind::Alias(name) => self.anchors.get(name).unwrap_or(node),
            _ => node,
        }
    }

    /// Where the value at `path` starts, or as near as the text has it: the deepest key or item
    /// found along the path, else the first content.
    pub fn value_at(&self, path: &[Seg]) -> Option<Pos> {
        let steps = self.walk(path);
        if steps.len() == path.len()
            && let Some(last) = steps.last()
        {
            return Some(last.node.at);
        }
        self.nearest(&steps)
    }

    /// Where the key of the last segment of `path` is (for an item of a list, where the item starts),
    /// or as near as the text has it.
    pub fn key_at(&self, path: &[Seg]) -> Option<Pos> {
        let steps = self.walk(path);
        if steps.len() == path.len()
            && let Some(last) = steps.last()
        {
            return Some(last.key_at.unwrap_or(last.node.at));
        }
        self.nearest(&steps)
    }

    /// The first key of the mapping at `path` (where a missing key is reported), else its own key.
    pub fn mapping_at(&self, path: &[Seg]) -> Option<Pos> {
        let steps = self.walk(path);
        if steps.len() == path.len() {
            let node = match steps.last() {
                Some(s) => self.resolve(s.node),
                None => match &self.root {
                    Some(r) => self.resolve(r),
                    None => return self.first_content,
                },
            };
            if let Kind::Map(entries) = &node.kind
                && let Some(first) = entries.first()
            {
                return Some(first.key_at);
            }
            if let Some(last) = steps.last() {
                return Some(last.key_at.unwrap_or(last.node.at));
            }
            return Some(node.at);
        }
        self.nearest(&steps)
    }

    fn nearest(&self, steps: &[Step<'_>]) -> Option<Pos> {
        match steps.last() {
            Some(s) => Some(s.key_at.unwrap_or(s.node.at)),
            None => self.root.as_ref().map(|r| r.at).or(self.first_content),
        }
    }

    /// Every key that repeats an earlier key of its mapping: its path and where it is.
    pub fn repeated_keys(&self) -> Vec<(Vec<Seg>, Pos)> {
        let mut out = Vec::new();
        if let Some(root) = &self.root {
            repeated(root, &mut Vec::new(), &mut out);
        }
        out
    }

    /// The path of the deepest key or item whose value holds byte `offset` (the empty path at the top).
    pub fn path_at(&self, offset: usize) -> Vec<Seg> {
        let mut path = Vec::new();
        let Some(mut node) = self.root.as_ref() else {
            return path;
        };
        loop {
            let next = match &node.kind {
                Kind::Map(entries) => entries.iter().find_map(|e| {
                    (e.key_at.offset <= offset && offset < e.value.end.max(e.key_at.offset + 1))
                        .then(|| (Seg::Key(e.key.clone()), &e.value))
                }),
                Kind::Seq(items) => items.iter().enumerate().find_map(|(i, n)| {
                    (n.at.offset <= offset && offset < n.end).then_some((Seg::Index(i), n))
                }),
                _ => None,
            };
            match next {
                Some((seg, n)) if path.len() < MAX_DEPTH => {
                    path.push(seg);
                    node = n;
                }
                _ => return path,
            }
        }
    }
}

struct Step<'a> {
    key_at: Option<Pos>,
    node: &'a Node,
}

fn repeated(node: &Node, path: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, Pos)>) {
    match &node.kind {
        Kind::Map(entries) => {
            let mut seen = std::collections::BTreeSet::new();
            for e in entries {
                path.push(Seg::Key(e.key.clone()));
                if !seen.insert(e.key.as_str()) {
                    out.push((path.clone(), e.key_at));
                }
                repeated(&e.value, path, out);
                path.pop();
            }
        }
        Kind::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                repeated(n, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn pos_in(line_starts: &[usize], ascii: &[bool], text: Option<&str>, offset: usize) -> Pos {
    let line = line_starts.partition_point(|&s| s <= offset).max(1);
    let start = line_starts[line - 1];
    let column = match text {
        Some(t) if !ascii.get(line - 1).copied().unwrap_or(true) => {
            t.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1
        }
        _ => offset - start + 1,
    };
    Pos { line, column, offset }
}

impl Parser<'_> {
    fn at(&self, offset: usize) -> Pos {
        pos_in(self.line_starts, self.ascii, Some(self.text), offset)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// The column (0-based, in characters) of `offset` in its line.
    fn col(&self, offset: usize) -> usize {
        self.at(offset).column - 1
    }

    fn line_start(&self, offset: usize) -> usize {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        self.line_starts[line - 1]
    }

    fn is_blank(b: Option<u8>) -> bool {
        matches!(b, None | Some(b' ' | b'\t' | b'\n' | b'\r'))
    }

    /// At a `---` or `...` line (which ends a document).
    fn at_marker(&self, offset: usize) -> bool {
        offset == self.line_start(offset)
            && (self.text[offset..].starts_with("---") || self.text[offset..].starts_with("..."))
            && Self::is_blank(self.peek_at(offset + 3))
    }

    /// Skips directives, comments and the first `---`.
    fn skip_prologue(&mut self) {
        loop {
            self.skip_space_and_comments();
            if self.pos < self.b.len() && self.pos == self.line_start(self.pos) && self.peek() == Some(b'%') {
                self.skip_line();
                continue;
            }
            if self.pos < self.b.len()
                && self.text[self.pos..].starts_with("---")
                && Self::is_blank(self.peek_at(self.pos + 3))
            {
                self.pos += 3;
                continue;
            }
            return;
        }
    }

    fn skip_line(&mut self) {
        match self.text[self.pos..].find('\n') {
            Some(i) => self.pos += i + 1,
            None => self.pos = self.b.len(),
        }
    }

    /// Skips spaces, line breaks and comments: to the next content (or the end).
    fn skip_space_and_comments(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => self.skip_to_eol(),
                _ => return,
            }
        }
    }

    /// Skips spaces and a comment on this line; not the line break.
    fn skip_inline_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => self.skip_to_eol(),
                _ => return,
            }
        }
    }

    fn skip_to_eol(&mut self) {
        match self.text[self.pos..].find('\n') {
            Some(i) => self.pos += i,
            None => self.pos = self.b.len(),
        }
    }

    fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// A block node whose content is indented more than `parent` (−1: the document), starting at the
    /// next content; `None` when there is none.
    fn block(&mut self, parent: isize) -> Option<Node> {
        let save = self.pos;
        self.skip_space_and_comments();
        if self.pos >= self.b.len() || self.at_marker(self.pos) {
            self.pos = save;
            return None;
        }
        let col = self.col(self.pos) as isize;
        if col <= parent {
            self.pos = save;
            return None;
        }
        Some(self.node_here(parent))
    }

    /// The node at the current content (which is at a column deeper than `parent`).
    fn node_here(&mut self, parent: isize) -> Node {
        if self.depth >= MAX_DEPTH {
            let at = self.at(self.pos);
            self.too_deep.get_or_insert(self.pos);
            self.pos = self.b.len();
            return Node {
                at,
                end: self.pos,
                kind: Kind::Scalar,
            };
        }
        self.depth += 1;
        let col = self.col(self.pos);
        let node = if self.peek() == Some(b'-') && Self::is_blank(self.peek_at(self.pos + 1)) {
            self.block_seq(col)
        } else if self.key_here().is_some() {
            self.block_map(col)
        } else {
            self.inline_value(parent)
        };
        self.depth -= 1;
        node
    }

    /// When a mapping key starts here (on this line): the offset of its `:`.
    fn key_here(&self) -> Option<usize> {
        let line_end = self.text[self.pos..]
            .find('\n')
            .map_or(self.b.len(), |i| self.pos + i);
        let mut i = self.pos;
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                i = self.quoted_end(i, q, line_end)?;
                while matches!(self.peek_at(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                return (self.peek_at(i) == Some(b':') && Self::is_blank(self.peek_at(i + 1))).then_some(i);
            }
            Some(b'[' | b'{' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'?' | b'%' | b'@' | b'`')
            | None => {
                return None;
            }
            Some(b'-') if Self::is_blank(self.peek_at(i + 1)) => return None,
            _ => {}
        }
        while i < line_end {
            match self.b[i] {
                b':' if Self::is_blank(self.peek_at(i + 1)) => return Some(i),
                b'#' if i > self.pos && matches!(self.b[i - 1], b' ' | b'\t') => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// The offset after a quoted scalar that starts at `start`, when it closes before `limit`.
    fn quoted_end(&self, start: usize, quote: u8, limit: usize) -> Option<usize> {
        let mut i = start + 1;
        while i < limit {
            match self.b[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && self.peek_at(i + 1) == Some(b'\'') => i += 2,
                c if c == quote => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    fn block_map(&mut self, indent: usize) -> Node {
        let at = self.at(self.pos);
        let mut entries = Vec::new();
        while let Some(colon) = self.key_here() {
            let key_at = self.at(self.pos);
            let key = decode_key(&self.text[self.pos..colon]);
            self.pos = colon + 1;
            self.skip_inline_space();
            let value = if self.at_eol() {
                self.value_below(indent as isize, key_at)
            } else {
                self.inline_value(indent as isize)
            };
            entries.push(Entry { key, key_at, value });
            if !self.next_sibling(indent, false) {
                break;
            }
        }
        let end = entries
            .last()
            .map_or(self.pos, |e| e.value.end.max(e.key_at.offset + 1));
        Node {
            at,
            end,
            kind: Kind::Map(entries),
        }
    }

    /// The value of a key (or item) with nothing after it on its line: the block below, a list
    /// at the key's own indent, or nothing (an empty value, placed at `empty_at`).
    fn value_below(&mut self, indent: isize, empty_at: Pos) -> Node {
        let save = self.pos;
        self.skip_space_and_comments();
        let same_indent_list = self.pos < self.b.len()
            && self.col(self.pos) as isize == indent
            && self.peek() == Some(b'-')
            && Self::is_blank(self.peek_at(self.pos + 1))
            && !self.at_marker(self.pos);
        self.pos = save;
        let below = if same_indent_list {
            self.block(indent - 1)
        } else {
            self.block(indent)
        };
        below.unwrap_or(Node {
            at: empty_at,
            end: empty_at.offset + 1,
            kind: Kind::Scalar,
        })
    }

    /// Moves to the next entry (or item) of a block collection at `indent`; false when it ends.
    fn next_sibling(&mut self, indent: usize, item: bool) -> bool {
        let save = self.pos;
        self.skip_space_and_comments();
        let ok = self.pos < self.b.len()
            && !self.at_marker(self.pos)
            && self.pos == self.line_start(self.pos) + indent_of(&self.text[self.line_start(self.pos)..])
            && self.col(self.pos) == indent
            && if item {
                self.peek() == Some(b'-') && Self::is_blank(self.peek_at(self.pos + 1))
            } else {
                self.key_here().is_some()
            };
        if !ok {
            self.pos = save;
        }
        ok
    }

    fn block_seq(&mut self, indent: usize) -> Node {
        let at = self.at(self.pos);
        let mut items = Vec::new();
        loop {
            let dash = self.at(self.pos);
            self.pos += 1;
            self.skip_inline_space();
            let item = if self.at_eol() {
                self.value_below(indent as isize, dash)
            } else {
                // Content after `- `: a nested list or mapping is indented at its own column.
                self.node_here(indent as isize)
            };
            items.push(item);
            if !self.next_sibling(indent, true) {
                break;
            }
        }
        let end = items.last().map_or(self.pos, |n| n.end);
        Node {
            at,
            end,
            kind: Kind::Seq(items),
        }
    }

    /// A value that starts on the current line: properties, an alias, a block scalar, a quoted or
    /// flow value, or a plain scalar (continued on lines deeper than `indent`).
    fn inline_value(&mut self, indent: isize) -> Node {
        let start = self.pos;
        let mut anchor = None;
        while let Some(c @ (b'&' | b'!')) = self.peek() {
            let end = self.token_end(self.pos);
            if c == b'&' {
                anchor = Some(self.text[self.pos + 1..end].to_owned());
            }
            self.pos = end;
            self.skip_inline_space();
        }
        let node = if self.at_eol() {
            let at = self.at(start);
            self.value_below(indent, at)
        } else if self.pos != start && self.key_here().is_some() && self.depth < MAX_DEPTH {
            // `&a key: value`: the properties belong to the mapping.
            let col = self.col(self.pos);
            self.depth += 1;
            let n = self.block_map(col);
            self.depth -= 1;
            n
        } else {
            self.scalar_or_flow(indent)
        };
        if let Some(name) = anchor {
            self.anchors.insert(name, node.clone());
        }
        node
    }

    fn token_end(&self, from: usize) -> usize {
        let mut i = from;
        while i < self.b.len() && !matches!(self.b[i], b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}') {
            i += 1;
        }
        i.max(from + 1).min(self.b.len())
    }

    fn scalar_or_flow(&mut self, indent: isize) -> Node {
        let start = self.pos;
        let at = self.at(start);
        match self.peek() {
            Some(b'*') => {
                let end = self.token_end(start);
                self.pos = end;
                Node {
                    at,
                    end,
                    kind: Kind::Alias(self.text[start + 1..end].to_owned()),
                }
            }
            Some(b'|' | b'>') => {
                self.skip_line();
                while self.pos < self.b.len() {
                    let line = &self.text[self.pos..];
                    let line_end = line.find('\n').map_or(line.len(), |i| i);
                    let content = &line[..line_end];
                    if content.trim().is_empty() || indent_of(content) as isize > indent {
                        self.pos += (line_end + 1).min(line.len());
                    } else {
                        break;
                    }
                }
                Node {
                    at,
                    end: self.pos.max(start + 1),
                    kind: Kind::Scalar,
                }
            }
            Some(q @ (b'"' | b'\'')) => {
                let end = self.quoted_end(start, q, self.b.len()).unwrap_or(self.b.len());
                self.pos = end;
                Node {
                    at,
                    end,
                    kind: Kind::Scalar,
                }
            }
            Some(b'[' | b'{') => self.flow(),
            _ => {
                // Plain: to the end of the line (before a comment), then continuation lines.
                self.plain_line();
                let mut end = self.pos;
                loop {
                    let save = self.pos;
                    if self.pos < self.b.len() && self.b[self.pos] == b'\n' {
                        self.pos += 1;
                    }
                    // Blank lines may separate continuation lines.
                    while self.pos < self.b.len()
                        && self.text[self.pos..]
                            .split('\n')
                            .next()
                            .is_some_and(|l| l.trim().is_empty())
                    {
                        let l = self.text[self.pos..].find('\n');
                        match l {
                            Some(i) => self.pos += i + 1,
                            None => self.pos = self.b.len(),
                        }
                    }
                    let line = &self.text[self.pos..];
                    let first = line.split('\n').next().unwrap_or_default();
                    let deeper = indent_of(first) as isize > indent;
                    let t = first.trim_start();
                    if self.pos >= self.b.len() || !deeper || t.starts_with('#') || self.at_marker(self.pos) {
                        self.pos = save;
                        break;
                    }
                    self.pos += first.len() - t.len();
                    self.plain_line();
                    end = self.pos;
                }
                self.pos = end;
                Node {
                    at,
                    end: end.max(start + 1),
                    kind: Kind::Scalar,
                }
            }
        }
    }

    /// Past a plain scalar's text on this line (up to ` #` or the line's end), trailing spaces left.
    fn plain_line(&mut self) {
        let start = self.pos;
        let mut end = self.pos;
        while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
            let c = self.b[self.pos];
            if c == b'#' && self.pos > start && matches!(self.b[self.pos - 1], b' ' | b'\t') {
                break;
            }
            self.pos += 1;
            if !matches!(c, b' ' | b'\t' | b'\r') {
                end = self.pos;
            }
        }
        self.pos = end;
        self.skip_inline_space();
    }

    /// A flow collection (`[...]` or `{...}`), up to its closing bracket or the end of the text.
    fn flow(&mut self) -> Node {
        let at = self.at(self.pos);
        let close = if self.peek() == Some(b'[') { b']' } else { b'}' };
        self.pos += 1;
        if self.depth >= MAX_DEPTH {
            self.too_deep.get_or_insert(self.pos - 1);
            self.pos = self.b.len();
            return Node {
                at,
                end: self.pos,
                kind: Kind::Scalar,
            };
        }
        self.depth += 1;
        let mut entries = Vec::new();
        let mut items = Vec::new();
        loop {
            self.skip_space_and_comments();
            match self.peek() {
                None => break,
                Some(c) if c == close => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(b']' | b'}') => {
                    // The other bracket: not ours; stop here.
                    break;
                }
                _ => {}
            }
            let before = self.pos;
            let first_at = self.at(self.pos);
            let first = self.flow_node();
            self.skip_space_and_comments();
            let entry = if self.peek() == Some(b':') {
                self.pos += 1;
                self.skip_space_and_comments();
                let value = if matches!(self.peek(), Some(b',') | Some(b']') | Some(b'}') | None) {
                    Node {
                        at: first_at,
                        end: self.pos,
                        kind: Kind::Scalar,
                    }
                } else {
                    self.flow_node()
                };
                let key = decode_key(&self.text[first.at.offset..first.end]);
                Some(Entry {
                    key,
                    key_at: first_at,
                    value,
                })
            } else {
                None
            };
            match (close, entry) {
                (b'}', Some(e)) => entries.push(e),
                (b'}', None) => entries.push(Entry {
                    key: decode_key(&self.text[first.at.offset..first.end]),
                    key_at: first_at,
                    value: first,
                }),
                (_, Some(e)) => {
                    let end = e.value.end;
                    items.push(Node {
                        at: first_at,
                        end,
                        kind: Kind::Map(vec![e]),
                    });
                }
                (_, None) => items.push(first),
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        self.depth -= 1;
        Node {
            at,
            end: self.pos,
            kind: if close == b'}' {
                Kind::Map(entries)
            } else {
                Kind::Seq(items)
            },
        }
    }

    /// One node inside a flow collection.
    fn flow_node(&mut self) -> Node {
        while let Some(b'&' | b'!') = self.peek() {
            self.pos = self.token_end(self.pos);
            self.skip_space_and_comments();
        }
        let start = self.pos;
        let at = self.at(start);
        match self.peek() {
            Some(b'[' | b'{') => self.flow(),
            Some(q @ (b'"' | b'\'')) => {
                let end = self.quoted_end(start, q, self.b.len()).unwrap_or(self.b.len());
                self.pos = end;
                Node {
                    at,
                    end,
                    kind: Kind::Scalar,
                }
            }
            Some(b'*') => {
                let end = self.token_end(start);
                self.pos = end;
                Node {
                    at,
                    end,
                    kind: Kind::Alias(self.text[start + 1..end].to_owned()),
                }
            }
            _ => {
                let mut end = start;
                while self.pos < self.b.len() {
                    let c = self.b[self.pos];
                    if matches!(c, b',' | b'[' | b']' | b'{' | b'}')
                        || (c == b':'
                            && (Self::is_blank(self.peek_at(self.pos + 1))
                                || matches!(self.peek_at(self.pos + 1), Some(b',' | b']' | b'}'))))
                        || (c == b'#'
                            && self.pos > start
                            && matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\n'))
                    {
                        break;
                    }
                    self.pos += 1;
                    if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                        end = self.pos;
                    }
                }
                self.pos = end.max(self.pos.min(end + 1)).max(start);
                Node {
                    at,
                    end: end.max(start + 1).min(self.b.len().max(start + 1)),
                    kind: Kind::Scalar,
                }
            }
        }
    }
}

/// Leading spaces of a line.
fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A key as YAML reads it: quotes and the common escapes resolved, plain keys trimmed.
fn decode_key(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('0') => out.push('\0'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.to_owned())
    }

    fn lc(p: Option<Pos>) -> Option<(usize, usize)> {
        p.map(|p| (p.line, p.column))
    }

    #[test]
    fn keys_items_and_values_have_their_places() {
        let text = "a: 1\nnet:\n  ids: # c\n    - x1\n    - 'x2'\n  flow: [p, {q: r}, \"s\"]\nlist:\n- k: v\n  k2: v2\n- - n\n";
        let d = Doc::parse(text);
        assert_eq!(lc(d.value_at(&[key("a")])), Some((1, 4)));
        assert_eq!(lc(d.key_at(&[key("net"), key("ids")])), Some((3, 3)));
        assert_eq!(
            lc(d.value_at(&[key("net"), key("ids"), Seg::Index(1)])),
            Some((5, 7))
        );
        assert_eq!(
            lc(d.value_at(&[key("net"), key("flow"), Seg::Index(2)])),
            Some((6, 21))
        );
        assert_eq!(
            lc(d.value_at(&[key("net"), key("flow"), Seg::Index(1), key("q")])),
            Some((6, 17))
        );
        assert_eq!(
            lc(d.key_at(&[key("list"), Seg::Index(0), key("k2")])),
            Some((9, 3))
        );
        assert_eq!(
            lc(d.value_at(&[key("list"), Seg::Index(1), Seg::Index(0)])),
            Some((10, 5))
        );
        // Not in the text: the deepest key found.
        assert_eq!(lc(d.value_at(&[key("net"), key("nope")])), Some((2, 1)));
        assert_eq!(lc(d.mapping_at(&[key("net")])), Some((3, 3)));
        assert_eq!(
            d.path_at(text.find("x2").unwrap()),
            vec![key("net"), key("ids"), Seg::Index(1)]
        );
    }

    #[test]
    fn repeated_keys_anchors_and_documents() {
        let d = Doc::parse("a: &x\n  b: 1\n  b: 2\nc: *x\n---\nd: 1\n");
        assert_eq!(d.repeated_keys().len(), 1);
        assert_eq!(d.repeated_keys()[0].1.line, 3);
        assert_eq!(lc(d.value_at(&[key("c"), key("b")])), Some((2, 6)));
        assert_eq!(d.second_document.map(|p| p.line), Some(5));
        assert!(Doc::parse("--- # a\na: 1\n...\n").second_document.is_none());
        assert_eq!(
            Doc::parse("a: 1\n...\nb: 2\n").second_document.map(|p| p.line),
            Some(3)
        );
    }

    #[test]
    fn text_it_does_not_understand_gives_what_was_read() {
        for text in [
            "a: \"open\nb: 1\n",
            "[[[[",
            "a: [1, {",
            "\t- :",
            "? x\n: y\n",
            "a:\n  - b\n - c\n",
            "- \n-",
        ] {
            let d = Doc::parse(text);
            let _ = d.value_at(&[key("a"), Seg::Index(3)]);
            let _ = d.path_at(text.len() / 2);
        }
        let deep = "[".repeat(100_000);
        let d = Doc::parse(&deep);
        assert!(d.root.is_some());
    }
}
