//! A small regular-expression engine for OpenAPI `pattern`.
//!
//! Upstream compiles patterns with Go's RE2 (`regexp.MatchString`: unanchored
//! search, linear time). We have no regex dependency, so this implements the
//! subset CRDs use in practice, with the same linear-time guarantee (a Pike VM):
//! literals, `.`, `[...]`/`[^...]` classes with ranges, `\d \w \s \D \W \S`,
//! escaped punctuation, `\t \n \r \f \v`, `\xHH`, `^ $ \A \z \b \B`, groups
//! `(...)`, `(?:...)`, named groups `(?P<n>...)`, alternation `|`, and the
//! quantifiers `* + ? {n} {n,} {n,m}` (lazy variants accepted; laziness is
//! irrelevant for a yes/no match). A leading `(?i)` makes the match
//! ASCII-case-insensitive.
//!
//! Syntax Go would reject is reported as [`RegexError::Invalid`] with Go's
//! message; valid RE2 syntax beyond this subset (`\p{..}`, `[[:alpha:]]`,
//! other flags) is [`RegexError::Unsupported`], which callers treat as "do not
//! check" rather than as an error.

use std::fmt;

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// Go's `regexp.Compile` would fail too; the text mirrors its error.
    Invalid(String),
    /// Valid RE2 that this engine does not implement.
    Unsupported,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegexError::Invalid(s) => f.write_str(s),
            RegexError::Unsupported => f.write_str("unsupported regular expression syntax"),
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    prog: Vec<Inst>,
    fold_case: bool,
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class(Class),
    TextStart,
    TextEnd,
    WordBoundary(bool),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Debug, Clone)]
struct Class {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl Class {
    fn matches(&self, c: char, fold: bool) -> bool {
        let hit = |c: char| self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
        let mut m = hit(c);
        if !m && fold {
            m = hit(c.to_ascii_lowercase()) || hit(c.to_ascii_uppercase());
        }
        m != self.negated
    }
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Class),
    Split(usize, usize),
    Jmp(usize),
    TextStart,
    TextEnd,
    WordBoundary(bool),
    Match,
}

/// `{min,max}` of a counted repetition; `None` max is unbounded.
type Counts = (u32, Option<u32>);

/// Programs larger than this (huge counted repetitions) are not worth it.
const MAX_PROG: usize = 20_000;
/// RE2's limit on `{n,m}` counts.
const MAX_REPEAT: u32 = 1000;

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let (body, fold_case) = match pattern.strip_prefix("(?i)") {
            Some(rest) => (rest, true),
            None => (pattern, false),
        };
        let mut p = Parser {
            chars: body.chars().collect(),
            pos: 0,
            whole: pattern,
        };
        let node = p.parse_alt()?;
        if p.pos < p.chars.len() {
            // Only an unmatched ')' stops the top-level alternation early.
            return Err(p.invalid("unexpected )", pattern));
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog)?;
        prog.push(Inst::Match);
        Ok(Regex { prog, fold_case })
    }

    /// Unanchored search, like Go's `MatchString`.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut clist: Vec<usize> = Vec::with_capacity(n);
        let mut nlist: Vec<usize> = Vec::with_capacity(n);
        let mut seen = vec![usize::MAX; n];
        for pos in 0..=chars.len() {
            // A new thread starts at every position: the search is unanchored.
            if self.add(&mut clist, &mut seen, pos, 0, &chars) {
                return true;
            }
            if pos == chars.len() {
                break;
            }
            let c = chars[pos];
            nlist.clear();
            for &pc in &clist {
                let ok = match &self.prog[pc] {
                    Inst::Char(want) => {
                        *want == c || (self.fold_case && want.eq_ignore_ascii_case(&c))
                    }
                    Inst::Any => c != '\n',
                    Inst::Class(cls) => cls.matches(c, self.fold_case),
                    _ => false,
                };
                if ok && self.add(&mut nlist, &mut seen, pos + 1, pc + 1, &chars) {
                    return true;
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
        }
        false
    }

    /// Follow empty transitions from `pc` at `pos`; true once `Match` is reachable.
    fn add(
        &self,
        list: &mut Vec<usize>,
        seen: &mut [usize],
        pos: usize,
        pc: usize,
        text: &[char],
    ) -> bool {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == pos {
                continue;
            }
            seen[pc] = pos;
            match &self.prog[pc] {
                Inst::Match => return true,
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::TextStart => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::TextEnd => {
                    if pos == text.len() {
                        stack.push(pc + 1);
                    }
                }
                Inst::WordBoundary(want) => {
                    let before = pos > 0 && is_word(text[pos - 1]);
                    let after = pos < text.len() && is_word(text[pos]);
                    if (before != after) == *want {
                        stack.push(pc + 1);
                    }
                }
                Inst::Char(_) | Inst::Any | Inst::Class(_) => list.push(pc),
            }
        }
        false
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    whole: &'a str,
}

impl Parser<'_> {
    fn invalid(&self, code: &str, arg: &str) -> RegexError {
        RegexError::Invalid(format!("error parsing regexp: {code}: `{arg}`"))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn parse_alt(&mut self) -> Result<Node, RegexError> {
        let mut alts = vec![self.parse_concat()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.parse_concat()?);
        }
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Alt(alts)
        })
    }

    fn parse_concat(&mut self) -> Result<Node, RegexError> {
        let mut items: Vec<Node> = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.parse_atom()?;
            let atom = self.parse_repeats(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.remove(0),
            _ => Node::Concat(items),
        })
    }

    fn parse_repeats(&mut self, mut atom: Node) -> Result<Node, RegexError> {
        let mut first_op: Option<usize> = None;
        loop {
            let op_start = self.pos;
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.pos += 1;
                    (0, None)
                }
                Some('+') => {
                    self.pos += 1;
                    (1, None)
                }
                Some('?') => {
                    self.pos += 1;
                    (0, Some(1))
                }
                Some('{') => match self.parse_counts()? {
                    Some(r) => r,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            if self.peek() == Some('?') {
                self.pos += 1;
            }
            if let Some(first) = first_op {
                let text: String = self.chars[first..self.pos].iter().collect();
                return Err(self.invalid("invalid nested repetition operator", &text));
            }
            if matches!(atom, Node::Empty) {
                let text: String = self.chars[op_start..self.pos].iter().collect();
                return Err(self.invalid("missing argument to repetition operator", &text));
            }
            first_op = Some(op_start);
            atom = Node::Repeat {
                node: Box::new(atom),
                min,
                max,
            };
        }
    }

    /// `{n}`, `{n,}`, `{n,m}`; `None` (and nothing consumed) when `{` is a literal.
    fn parse_counts(&mut self) -> Result<Option<Counts>, RegexError> {
        let save = self.pos;
        self.pos += 1;
        let num = |p: &mut Self| -> Option<u64> {
            let s = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
            if s == p.pos {
                return None;
            }
            let text: String = p.chars[s..p.pos].iter().collect();
            Some(text.parse::<u64>().unwrap_or(u64::MAX))
        };
        let Some(min) = num(self) else {
            self.pos = save;
            return Ok(None);
        };
        let max = if self.peek() == Some(',') {
            self.pos += 1;
            if self.peek() == Some('}') {
                None
            } else {
                match num(self) {
                    Some(m) => Some(m),
                    None => {
                        self.pos = save;
                        return Ok(None);
                    }
                }
            }
        } else {
            Some(min)
        };
        if self.peek() != Some('}') {
            self.pos = save;
            return Ok(None);
        }
        self.pos += 1;
        let limit = u64::from(MAX_REPEAT);
        if min > limit || max.is_some_and(|m| m > limit || m < min) {
            let text: String = self.chars[save..self.pos].iter().collect();
            return Err(self.invalid("invalid repeat count", &text));
        }
        Ok(Some((min as u32, max.map(|m| m as u32))))
    }

    fn parse_atom(&mut self) -> Result<Node, RegexError> {
        let Some(c) = self.peek() else {
            return Ok(Node::Empty);
        };
        self.pos += 1;
        match c {
            '.' => Ok(Node::Any),
            '^' => Ok(Node::TextStart),
            '$' => Ok(Node::TextEnd),
            '[' => self.parse_class(),
            '(' => {
                if self.peek() == Some('?') {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    if rest.starts_with("?:") {
                        self.pos += 2;
                    } else if rest.starts_with("?P<") || rest.starts_with("?<") {
                        let Some(end) = rest.find('>') else {
                            return Err(self.invalid("invalid named capture", self.whole));
                        };
                        self.pos += rest[..=end].chars().count();
                    } else {
                        return Err(RegexError::Unsupported);
                    }
                }
                let inner = self.parse_alt()?;
                if self.peek() != Some(')') {
                    return Err(self.invalid("missing closing )", self.whole));
                }
                self.pos += 1;
                Ok(inner)
            }
            ')' => Err(self.invalid("unexpected )", self.whole)),
            '*' | '+' | '?' => {
                Err(self.invalid("missing argument to repetition operator", &c.to_string()))
            }
            '\\' => self.parse_escape(false).map(|e| match e {
                Escape::Char(c) => Node::Char(c),
                Escape::Class(cls) => Node::Class(cls),
                Escape::Node(n) => n,
            }),
            c => Ok(Node::Char(c)),
        }
    }

    fn parse_escape(&mut self, in_class: bool) -> Result<Escape, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("trailing backslash at end of expression", ""));
        };
        self.pos += 1;
        let class = |ranges: &[(char, char)], negated: bool| {
            Escape::Class(Class {
                ranges: ranges.to_vec(),
                negated,
            })
        };
        const DIGIT: &[(char, char)] = &[('0', '9')];
        const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
        const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];
        Ok(match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            't' => Escape::Char('\t'),
            'n' => Escape::Char('\n'),
            'r' => Escape::Char('\r'),
            'f' => Escape::Char('\x0c'),
            'v' => Escape::Char('\x0b'),
            'a' => Escape::Char('\x07'),
            'x' => Escape::Char(self.parse_hex()?),
            'A' if !in_class => Escape::Node(Node::TextStart),
            'z' if !in_class => Escape::Node(Node::TextEnd),
            'b' if !in_class => Escape::Node(Node::WordBoundary(true)),
            'B' if !in_class => Escape::Node(Node::WordBoundary(false)),
            'p' | 'P' | 'Q' | 'C' => return Err(RegexError::Unsupported),
            c if c.is_ascii_punctuation() => Escape::Char(c),
            c => return Err(self.invalid("invalid escape sequence", &format!("\\{c}"))),
        })
    }

    fn parse_hex(&mut self) -> Result<char, RegexError> {
        let digits: String = if self.peek() == Some('{') {
            self.pos += 1;
            let s = self.pos;
            while self.peek().is_some_and(|c| c != '}') {
                self.pos += 1;
            }
            let d: String = self.chars[s..self.pos].iter().collect();
            if self.peek() != Some('}') {
                return Err(self.invalid("invalid escape sequence", "\\x{"));
            }
            self.pos += 1;
            d
        } else {
            let end = (self.pos + 2).min(self.chars.len());
            let d: String = self.chars[self.pos..end].iter().collect();
            self.pos = end;
            d
        };
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.invalid("invalid escape sequence", &format!("\\x{digits}")))
    }

    fn parse_class(&mut self) -> Result<Node, RegexError> {
        let open = self.pos - 1;
        let mut cls = Class {
            ranges: Vec::new(),
            negated: false,
        };
        if self.peek() == Some('^') {
            cls.negated = true;
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                let text: String = self.chars[open..].iter().collect();
                return Err(self.invalid("missing closing ]", &text));
            };
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            if c == '[' && self.chars.get(self.pos + 1) == Some(&':') {
                return Err(RegexError::Unsupported);
            }
            let lo = self.class_char()?;
            let lo = match lo {
                Escape::Char(c) => c,
                Escape::Class(inner) => {
                    if inner.negated {
                        // `[\D]`-style negations inside a class: rare; not worth the code.
                        return Err(RegexError::Unsupported);
                    }
                    cls.ranges.extend(inner.ranges);
                    continue;
                }
                Escape::Node(_) => return Err(RegexError::Unsupported),
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&c| c != ']') {
                let dash = self.pos;
                self.pos += 1;
                let hi = match self.class_char()? {
                    Escape::Char(c) => c,
                    _ => {
                        let text: String = self.chars[dash - 1..self.pos].iter().collect();
                        return Err(self.invalid("invalid character class range", &text));
                    }
                };
                if hi < lo {
                    let text: String = self.chars[dash - 1..self.pos].iter().collect();
                    return Err(self.invalid("invalid character class range", &text));
                }
                cls.ranges.push((lo, hi));
            } else {
                cls.ranges.push((lo, lo));
            }
        }
        Ok(Node::Class(cls))
    }

    fn class_char(&mut self) -> Result<Escape, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("missing closing ]", self.whole));
        };
        self.pos += 1;
        if c == '\\' {
            self.parse_escape(true)
        } else {
            Ok(Escape::Char(c))
        }
    }
}

enum Escape {
    Char(char),
    Class(Class),
    Node(Node),
}

fn compile(node: &Node, prog: &mut Vec<Inst>) -> Result<(), RegexError> {
    if prog.len() > MAX_PROG {
        return Err(RegexError::Unsupported);
    }
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Any => prog.push(Inst::Any),
        Node::Class(c) => prog.push(Inst::Class(c.clone())),
        Node::TextStart => prog.push(Inst::TextStart),
        Node::TextEnd => prog.push(Inst::TextEnd),
        Node::WordBoundary(b) => prog.push(Inst::WordBoundary(*b)),
        Node::Concat(items) => {
            for n in items {
                compile(n, prog)?;
            }
        }
        Node::Alt(alts) => {
            let mut jumps = Vec::new();
            for (i, alt) in alts.iter().enumerate() {
                if i + 1 < alts.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(alt, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(alt, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                compile(node, prog)?;
            }
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(node, prog)?;
                    prog.push(Inst::Jmp(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(prog.len() + 1, 0));
                        compile(node, prog)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}
