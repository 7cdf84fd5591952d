//! The client-go `util/jsonpath` template language as CRD printer columns
//! use it: the column's path is wrapped in `{…}`, parsed, and evaluated with
//! missing keys allowed. Parsing follows upstream's parser closely so that
//! odd paths fail (or succeed) the same way; evaluation errors simply yield
//! no value.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// A nested action (`{…}`); union members and filter sides are lists too.
    List(Vec<Node>),
    Text(String),
    Field(String),
    Wildcard,
    Recursive,
    Array([Param; 3]),
    Union(Vec<Vec<Node>>),
    Filter {
        left: Vec<Node>,
        op: String,
        right: Vec<Node>,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Identifier(String),
}

/// One of `start:end:step` in an array selector.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Param {
    value: i64,
    known: bool,
    /// `end` implied by a single index (`[i]` means `[i:i+1]`).
    derived: bool,
}

/// A parsed template: top-level text and action nodes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct JsonPath {
    root: Vec<Node>,
}

impl JsonPath {
    /// Parse a printer column path the way the CRD convertor does (`{path}`).
    pub(super) fn parse_column(path: &str) -> Result<JsonPath, String> {
        JsonPath::parse(&format!("{{{path}}}"))
    }

    pub(super) fn parse(template: &str) -> Result<JsonPath, String> {
        let mut p = Parser::new(template);
        let mut root = Vec::new();
        p.parse_text(&mut root)?;
        Ok(JsonPath { root })
    }

    /// `FindResults(...)[0]`: the values the first template node selects.
    /// `None` on evaluation errors; an empty list when nothing matched.
    pub(super) fn first_results<'a>(&self, data: &'a Value) -> Option<Vec<Cow<'a, Value>>> {
        let node = self.root.first()?;
        walk(vec![Cow::Borrowed(data)], node).ok()
    }
}

// === Parser ===

struct Parser {
    input: Vec<char>,
    pos: usize,
    start: usize,
    width: usize,
}

fn is_terminator(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(
            c,
            ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
        ),
    }
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_ascii_digit()
}

impl Parser {
    fn new(input: &str) -> Parser {
        Parser {
            input: input.chars().collect(),
            pos: 0,
            start: 0,
            width: 0,
        }
    }

    fn next(&mut self) -> Option<char> {
        match self.input.get(self.pos) {
            Some(&c) => {
                self.width = 1;
                self.pos += 1;
                Some(c)
            }
            None => {
                self.width = 0;
                None
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn has_prefix(&self, prefix: &str) -> bool {
        prefix
            .chars()
            .enumerate()
            .all(|(i, c)| self.input.get(self.pos + i) == Some(&c))
    }

    fn consume_text(&mut self) -> String {
        let text: String = self.input[self.start..self.pos].iter().collect();
        self.start = self.pos;
        text
    }

    fn parse_text(&mut self, root: &mut Vec<Node>) -> Result<(), String> {
        loop {
            if self.has_prefix("{") {
                if self.pos > self.start {
                    root.push(Node::Text(self.consume_text()));
                }
                self.pos += 1;
                self.consume_text();
                let mut list = Vec::new();
                self.parse_inside_action(&mut list)?;
                root.push(Node::List(list));
                continue;
            }
            if self.next().is_none() {
                break;
            }
        }
        if self.pos > self.start {
            root.push(Node::Text(self.consume_text()));
        }
        Ok(())
    }

    /// Parse nodes up to and including the closing `}`.
    fn parse_inside_action(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            if self.has_prefix("}") {
                self.pos += 1;
                self.consume_text();
                return Ok(());
            }
            if self.has_prefix("[?(") {
                self.parse_filter(cur)?;
                continue;
            }
            if self.has_prefix("..") {
                self.parse_recursive(cur)?;
                continue;
            }
            match self.next() {
                None | Some('\r') | Some('\n') => return Err("unclosed action".to_string()),
                Some(' ') | Some('@') | Some('$') => {
                    self.consume_text();
                }
                Some('[') => self.parse_array(cur)?,
                Some(q @ ('"' | '\'')) => self.parse_quote(cur, q)?,
                Some('.') => self.parse_field(cur),
                Some(c) if c == '+' || c == '-' || c.is_ascii_digit() => {
                    self.backup();
                    self.parse_number(cur)?;
                }
                Some(c) if is_alphanumeric(c) => {
                    self.backup();
                    self.parse_identifier(cur);
                }
                Some(c) => return Err(format!("unrecognized character in action: {c:?}")),
            }
        }
    }

    fn parse_identifier(&mut self, cur: &mut Vec<Node>) {
        loop {
            let c = self.next();
            if is_terminator(c) {
                self.backup();
                break;
            }
        }
        let value = self.consume_text();
        cur.push(match value.as_str() {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            _ => Node::Identifier(value),
        });
    }

    fn parse_recursive(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if cur.last() == Some(&Node::Recursive) {
            return Err("invalid multiple recursive descent".to_string());
        }
        self.pos += 2;
        self.consume_text();
        cur.push(Node::Recursive);
        if self.peek().is_some_and(is_alphanumeric) {
            self.parse_field(cur);
        }
        Ok(())
    }

    fn parse_number(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(self.peek(), Some('+') | Some('-')) {
            self.next();
        }
        loop {
            match self.next() {
                Some(c) if c == '.' || c.is_ascii_digit() => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        let value = self.consume_text();
        if let Ok(i) = value.parse::<i64>() {
            cur.push(Node::Int(i));
        } else if let Ok(f) = value.parse::<f64>() {
            cur.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}"));
        }
        Ok(())
    }

    fn parse_array(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_string()),
                Some(']') => break,
                Some(_) => {}
            }
        }
        let text = self.consume_text();
        let inner: String = {
            let chars: Vec<char> = text.chars().collect();
            chars[1..chars.len() - 1].iter().collect()
        };
        let inner = if inner == "*" { ":".to_string() } else { inner };

        let parts: Vec<&str> = inner.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::new();
            for part in parts {
                union.push(parse_action(&format!("[{}]", part.trim_matches(' ')))?);
            }
            cur.push(Node::Union(union));
            return Ok(());
        }

        // A quoted key, `['name']`, is read as the field path `.name`.
        if inner.len() >= 2
            && inner.starts_with('\'')
            && inner.ends_with('\'')
            && !inner[1..inner.len() - 1].contains('\'')
        {
            cur.extend(parse_action(&format!(".{}", &inner[1..inner.len() - 1]))?);
            return Ok(());
        }

        cur.push(Node::Array(parse_slice(&inner)?));
        Ok(())
    }

    fn parse_filter(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        self.pos += 3;
        self.consume_text();
        let (mut begin, mut end) = (false, false);
        let mut pair = '"';
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_string()),
                Some(q @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = q;
                        continue;
                    }
                    if self.input[self.pos - 2] != '\\' && q == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                Some(_) => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_string());
        }
        let text = self.consume_text();
        let chars: Vec<char> = text.chars().collect();
        let text: String = chars[..chars.len() - 2].iter().collect();
        match split_comparison(&text) {
            None => cur.push(Node::Filter {
                left: parse_action(&text)?,
                op: "exists".to_string(),
                right: Vec::new(),
            }),
            Some((left, op, right)) => cur.push(Node::Filter {
                left: parse_action(left)?,
                op: op.to_string(),
                right: parse_action(right)?,
            }),
        }
        Ok(())
    }

    fn parse_quote(&mut self, cur: &mut Vec<Node>, quote: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_string()),
                Some(c) if c == quote && self.input[self.pos - 2] != '\\' => break,
                Some(_) => {}
            }
        }
        let value = self.consume_text();
        cur.push(Node::Text(unquote(&value)?));
        Ok(())
    }

    fn parse_field(&mut self, cur: &mut Vec<Node>) {
        self.consume_text();
        loop {
            let c = self.next();
            if c == Some('\\') {
                self.next();
            } else if is_terminator(c) {
                self.backup();
                break;
            }
        }
        let value = self.consume_text();
        if value == "*" {
            cur.push(Node::Wildcard);
        } else {
            cur.push(Node::Field(value.replace('\\', "")));
        }
    }
}

/// `parseAction`: parse `{text}` and return its node list.
fn parse_action(text: &str) -> Result<Vec<Node>, String> {
    let parsed = JsonPath::parse(&format!("{{{text}}}"))?;
    match parsed.root.into_iter().next() {
        Some(Node::List(nodes)) => Ok(nodes),
        _ => Err(format!("invalid action {text}")),
    }
}

/// The filter regex `^([^!<>=]+)([!<>=]+)(.+?)$`: left side, operator, right side.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let i = text.find(is_op)?;
    if i == 0 {
        return None;
    }
    let rest = &text[i..];
    let run = rest.find(|c: char| !is_op(c)).unwrap_or(rest.len());
    // The right side needs at least one character, taken back from the operator if need be.
    let run = if run == rest.len() { run - 1 } else { run };
    if run == 0 {
        return None;
    }
    Some((&text[..i], &rest[..run], &rest[run..]))
}

/// The slice regex `^(-?\d*)(:-?\d*)?(:-?\d*)?$` and its parameter rules.
fn parse_slice(text: &str) -> Result<[Param; 3], String> {
    let invalid = || format!("invalid array index {text}");
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err(invalid());
    }
    let well_formed = |s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        digits.chars().all(|c| c.is_ascii_digit())
    };
    if !parts.iter().all(|p| well_formed(p)) {
        return Err(invalid());
    }
    let mut params = [Param::default(); 3];
    for i in 0..3 {
        match parts.get(i) {
            // Present but empty after the colon: unbounded.
            Some(s) if i > 0 && s.is_empty() => params[i].known = false,
            Some(s) if !s.is_empty() => {
                params[i].known = true;
                params[i].value = s
                    .parse()
                    .map_err(|_| format!("array index {s} is not a number"))?;
            }
            _ if i == 1 => {
                params[1] = Param {
                    value: params[0].value + 1,
                    known: true,
                    derived: true,
                };
            }
            _ => params[i] = Param::default(),
        }
    }
    Ok(params)
}

/// `UnquoteExtend`: Go string unquoting that also accepts single quotes.
fn unquote(s: &str) -> Result<String, String> {
    let err = || format!("unquote string {s} error invalid syntax");
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 || chars[0] != chars[chars.len() - 1] || !matches!(chars[0], '"' | '\'') {
        return Err(err());
    }
    let quote = chars[0];
    let body = &chars[1..chars.len() - 1];
    let mut out = String::new();
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c == quote {
            return Err(err());
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = *body.get(i).ok_or_else(err)?;
        i += 1;
        let hex = |i: &mut usize, n: usize| -> Result<char, String> {
            let digits: String = body.get(*i..*i + n).ok_or_else(err)?.iter().collect();
            *i += n;
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(err)
        };
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' | '"' if e == quote => out.push(e),
            'x' => out.push(hex(&mut i, 2)?),
            'u' => out.push(hex(&mut i, 4)?),
            'U' => out.push(hex(&mut i, 8)?),
            '0'..='7' => {
                let digits: String = body.get(i - 1..i + 2).ok_or_else(err)?.iter().collect();
                i += 2;
                let n = u32::from_str_radix(&digits, 8).map_err(|_| err())?;
                out.push(char::from_u32(n).filter(|_| n <= 255).ok_or_else(err)?);
            }
            _ => return Err(err()),
        }
    }
    Ok(out)
}

// === Evaluation ===

type Values<'a> = Vec<Cow<'a, Value>>;

/// Evaluation failed; the column shows no value.
struct EvalError;

/// `v` itself unless it is JSON null (Go's nil interface).
fn non_null<'a, 'b>(v: &'b Cow<'a, Value>) -> Option<&'b Cow<'a, Value>> {
    (!v.is_null()).then_some(v)
}

/// A child of a possibly-borrowed value, borrowed when the parent is.
fn child<'a>(
    v: &Cow<'a, Value>,
    pick: impl Fn(&Value) -> Option<&Value>,
) -> Option<Cow<'a, Value>> {
    match v {
        Cow::Borrowed(b) => pick(b).map(Cow::Borrowed),
        Cow::Owned(o) => pick(o).cloned().map(Cow::Owned),
    }
}

/// All direct children (map values, array items) of a value.
fn children<'a>(v: &Cow<'a, Value>) -> Values<'a> {
    match v {
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Object(m)) => m.values().cloned().map(Cow::Owned).collect(),
        Cow::Owned(Value::Array(a)) => a.iter().cloned().map(Cow::Owned).collect(),
        _ => Vec::new(),
    }
}

fn walk<'a>(input: Values<'a>, node: &Node) -> Result<Values<'a>, EvalError> {
    match node {
        Node::List(nodes) => eval_list(input, nodes),
        Node::Text(t) => Ok(vec![Cow::Owned(Value::String(t.clone()))]),
        Node::Int(i) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*i))).collect()),
        Node::Float(f) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*f))).collect()),
        Node::Bool(b) => Ok(input.iter().map(|_| Cow::Owned(Value::from(*b))).collect()),
        Node::Field(name) => Ok(eval_field(&input, name)),
        Node::Wildcard => Ok(input
            .iter()
            .filter_map(non_null)
            .flat_map(children)
            .collect()),
        Node::Recursive => Ok(eval_recursive(&input)),
        Node::Array(params) => eval_array(input, params),
        Node::Union(lists) => {
            let mut out = Vec::new();
            for list in lists {
                out.extend(eval_list(input.clone(), list)?);
            }
            Ok(out)
        }
        Node::Filter { left, op, right } => eval_filter(&input, left, op, right),
        // Only `range`/`end` are known identifiers, and they make no sense in a column.
        Node::Identifier(_) => Err(EvalError),
    }
}

fn eval_list<'a>(input: Values<'a>, nodes: &[Node]) -> Result<Values<'a>, EvalError> {
    nodes.iter().try_fold(input, walk)
}

fn eval_field<'a>(input: &Values<'a>, name: &str) -> Values<'a> {
    input
        .iter()
        .filter_map(non_null)
        .filter_map(|v| child(v, |v| v.as_object().and_then(|m| m.get(name))))
        .collect()
}

fn eval_recursive<'a>(input: &Values<'a>) -> Values<'a> {
    let mut out = Vec::new();
    for v in input.iter().filter_map(non_null) {
        let kids = children(v);
        if !kids.is_empty() {
            out.push(v.clone());
            out.extend(eval_recursive(&kids));
        }
    }
    out
}

fn eval_array<'a>(input: Values<'a>, params: &[Param; 3]) -> Result<Values<'a>, EvalError> {
    let mut out = Vec::new();
    for v in input.iter().filter_map(non_null) {
        let Some(len) = v.as_array().map(|a| a.len() as i64) else {
            return Err(EvalError);
        };
        let mut p = *params;
        if !p[0].known {
            p[0].value = 0;
        }
        if p[0].value < 0 {
            p[0].value += len;
        }
        if !p[1].known {
            p[1].value = len;
        }
        if p[1].value < 0 || (p[1].value == 0 && p[1].derived) {
            p[1].value += len;
        }
        if p[1].value == p[0].value {
            // Zero elements requested: upstream returns what it collected so far.
            return Ok(out);
        }
        if p[0].value >= len || p[0].value < 0 || p[1].value > len || p[1].value < 0 {
            return Err(EvalError);
        }
        if p[0].value > p[1].value {
            return Err(EvalError);
        }
        let step = if p[2].known {
            if p[2].value <= 0 {
                return Err(EvalError);
            }
            p[2].value as usize
        } else {
            1
        };
        for i in (p[0].value as usize..p[1].value as usize).step_by(step) {
            out.extend(child(v, |v| v.as_array().and_then(|a| a.get(i))));
        }
    }
    Ok(out)
}

fn eval_filter<'a>(
    input: &Values<'a>,
    left: &[Node],
    op: &str,
    right: &[Node],
) -> Result<Values<'a>, EvalError> {
    let mut out = Vec::new();
    for v in input {
        let items = match v {
            Cow::Borrowed(Value::Array(_)) | Cow::Owned(Value::Array(_)) => children(v),
            _ => return Err(EvalError),
        };
        for item in items {
            let lefts = eval_list(vec![item.clone()], left);
            if op == "exists" {
                if lefts.is_ok_and(|l| !l.is_empty()) {
                    out.push(item);
                }
                continue;
            }
            let lefts = lefts?;
            let l = match lefts.as_slice() {
                [] => continue,
                [l] => l,
                _ => return Err(EvalError),
            };
            let rights = eval_list(vec![item.clone()], right)?;
            let r = match rights.as_slice() {
                [] => continue,
                [r] => r,
                _ => return Err(EvalError),
            };
            let pass = match op {
                "==" => equal(l, r)?,
                "!=" => !equal(l, r)?,
                "<" => less(l, r)?,
                "<=" => less(l, r)? || equal(l, r)?,
                ">" => !(less(l, r)? || equal(l, r)?),
                ">=" => !less(l, r)?,
                _ => return Err(EvalError),
            };
            if pass {
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// Go template comparison kinds.
enum Basic<'v> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'v str),
}

fn basic(v: &Value) -> Result<Basic<'_>, EvalError> {
    match v {
        Value::Bool(b) => Ok(Basic::Bool(*b)),
        Value::String(s) => Ok(Basic::Str(s)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Basic::Int(i))
            } else if let Some(u) = n.as_u64() {
                Ok(Basic::Uint(u))
            } else {
                n.as_f64().map(Basic::Float).ok_or(EvalError)
            }
        }
        _ => Err(EvalError),
    }
}

/// Go's `eq`/`lt` on basic kinds: mixed kinds are an error except int/uint.
fn compare(a: &Value, b: &Value, ordered: bool) -> Result<Ordering, EvalError> {
    let int_uint = |i: i64, u: u64| {
        if i < 0 {
            Ordering::Less
        } else {
            (i as u64).cmp(&u)
        }
    };
    match (basic(a)?, basic(b)?) {
        (Basic::Bool(x), Basic::Bool(y)) if !ordered => Ok(x.cmp(&y)),
        (Basic::Int(x), Basic::Int(y)) => Ok(x.cmp(&y)),
        (Basic::Uint(x), Basic::Uint(y)) => Ok(x.cmp(&y)),
        (Basic::Int(x), Basic::Uint(y)) => Ok(int_uint(x, y)),
        (Basic::Uint(x), Basic::Int(y)) => Ok(int_uint(y, x).reverse()),
        (Basic::Float(x), Basic::Float(y)) => x.partial_cmp(&y).ok_or(EvalError),
        (Basic::Str(x), Basic::Str(y)) => Ok(x.cmp(y)),
        _ => Err(EvalError),
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, EvalError> {
    compare(a, b, false).map(|o| o == Ordering::Equal)
}

fn less(a: &Value, b: &Value) -> Result<bool, EvalError> {
    compare(a, b, true).map(|o| o == Ordering::Less)
}
