//! Descriptor tables: for each message, field number → JSON name, type and
//! Go cardinality. The numbers are the ones in upstream `generated.proto`;
//! whether a field is a Go pointer comes from upstream `types.go`, because
//! that decides whether a zero value on the wire was written on purpose.

/// A message type: its upstream name (for diagnostics) and fields.
pub(super) struct Msg {
    // Read by tests and by people; the decoder itself only needs numbers.
    #[allow(dead_code)]
    pub name: &'static str,
    pub fields: &'static [Field],
}

#[derive(Clone, Copy)]
pub(super) struct Field {
    pub num: u32,
    pub name: &'static str,
    pub ty: Ty,
    pub card: Card,
}

/// How Go holds the field, which tells whether a zero value is meaningful.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Card {
    /// Non-pointer: gogo writes it even when zero, JSON (`omitempty`) would not.
    Plain,
    /// Pointer (`*T`): on the wire only when set, so zero values are kept.
    Ptr,
    /// Slice: one wire occurrence per element.
    Rep,
}

#[derive(Clone, Copy)]
pub(super) enum Ty {
    Str,
    I32,
    I64,
    Bool,
    /// `[]byte`, base64 in JSON.
    Bytes,
    Msg(&'static Msg),
    /// Embedded Go struct (`json:",inline"`): its fields land in the parent object.
    Inline(&'static Msg),
    /// `map<string, V>`; V is one of `Str`, `Bytes`, `Qty` or `Msg`.
    Map(&'static Ty),
    /// `meta.v1.Time` → RFC 3339 seconds.
    Time,
    /// `meta.v1.MicroTime` → RFC 3339 with microseconds.
    MicroTime,
    /// `util.intstr.IntOrString` → JSON number or string.
    IntOrStr,
    /// `api.resource.Quantity` → its canonical string.
    Qty,
    /// `runtime.RawExtension` → the embedded JSON document.
    Raw,
    /// `meta.v1.FieldsV1` → the embedded JSON document (managedFields).
    FieldsV1,
}

// === constructors, kept terse so the tables read like the .proto files ===

const fn f(num: u32, name: &'static str, ty: Ty, card: Card) -> Field {
    Field {
        num,
        name,
        ty,
        card,
    }
}

pub(super) const fn s(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Str, Card::Plain)
}
pub(super) const fn sp(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Str, Card::Ptr)
}
pub(super) const fn rs(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Str, Card::Rep)
}
pub(super) const fn i32_(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I32, Card::Plain)
}
pub(super) const fn i32p(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I32, Card::Ptr)
}
pub(super) const fn ri32(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I32, Card::Rep)
}
pub(super) const fn i64_(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I64, Card::Plain)
}
pub(super) const fn i64p(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I64, Card::Ptr)
}
pub(super) const fn ri64(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::I64, Card::Rep)
}
pub(super) const fn b(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Bool, Card::Plain)
}
pub(super) const fn bp(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Bool, Card::Ptr)
}
pub(super) const fn m(n: u32, name: &'static str, msg: &'static Msg) -> Field {
    f(n, name, Ty::Msg(msg), Card::Plain)
}
pub(super) const fn mp(n: u32, name: &'static str, msg: &'static Msg) -> Field {
    f(n, name, Ty::Msg(msg), Card::Ptr)
}
pub(super) const fn rm(n: u32, name: &'static str, msg: &'static Msg) -> Field {
    f(n, name, Ty::Msg(msg), Card::Rep)
}
pub(super) const fn inline(n: u32, msg: &'static Msg) -> Field {
    // The name is never used: an inline struct has no key of its own in JSON.
    f(n, "", Ty::Inline(msg), Card::Plain)
}
pub(super) const fn map_s(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Map(&Ty::Str), Card::Plain)
}
pub(super) const fn map_b(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Map(&Ty::Bytes), Card::Plain)
}
pub(super) const fn map_q(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Map(&Ty::Qty), Card::Plain)
}
pub(super) const fn time(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Time, Card::Plain)
}
pub(super) const fn timep(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Time, Card::Ptr)
}
pub(super) const fn mtime(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::MicroTime, Card::Plain)
}
pub(super) const fn mtimep(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::MicroTime, Card::Ptr)
}
pub(super) const fn ios(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::IntOrStr, Card::Plain)
}
pub(super) const fn iosp(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::IntOrStr, Card::Ptr)
}
pub(super) const fn qty(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Qty, Card::Plain)
}
pub(super) const fn qtyp(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Qty, Card::Ptr)
}
pub(super) const fn raw(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::Raw, Card::Plain)
}
pub(super) const fn fieldsv1p(n: u32, name: &'static str) -> Field {
    f(n, name, Ty::FieldsV1, Card::Ptr)
}

/// Declares a descriptor static: `msg! { NAME, "UpstreamName", [fields...] }`.
/// Braces, because rustfmt leaves brace-delimited macro calls alone and the
/// tables stay one field per line, like the `.proto` files.
macro_rules! msg {
    ($id:ident, $name:literal, [$($field:expr),* $(,)?]) => {
        pub(in crate::protobuf) static $id: $crate::protobuf::desc::Msg =
            $crate::protobuf::desc::Msg { name: $name, fields: &[$($field),*] };
    };
}
pub(super) use msg;
