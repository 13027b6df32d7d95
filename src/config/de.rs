//! A serde `Deserializer` over [`Node`], so the typed model can be derived while every error keeps
//! the line and column of the value that caused it.
//!
//! Two things a generic deserializer would not do:
//! - errors raised while a node is being read get that node's span (the innermost wins), and the
//!   dotted path of the key, for messages like "`functions.hello.memorySize`: expected an integer";
//! - for every struct, keys that are not among its fields are skipped and reported as warnings
//!   (Serverless' "unrecognized property"), with a did-you-mean; `configValidationMode: error`
//!   turns them into errors later.
//!
//! Numbers and booleans written as strings are accepted where a number or boolean is expected,
//! because `${env:…}` and `--param` values always arrive as strings.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use crate::diag::{Problem, Span, did_you_mean};

use super::yaml::{Entry, Node, Value};

#[derive(Debug)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    pub path: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            span: None,
            path: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format!(
            "expected {}, found {}",
            expected_words(&exp.to_string()),
            unexpected_words(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format!(
            "invalid value {}, expected {}",
            unexpected_words(&unexp),
            expected_words(&exp.to_string())
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut msg = format!(
            "unknown value `{variant}`, expected one of {}",
            list(expected)
        );
        if let Some(s) = did_you_mean(variant, expected.iter().copied()) {
            msg.push_str(&format!(" (did you mean `{s}`?)"));
        }
        Self::custom(msg)
    }

    fn missing_field(field: &'static str) -> Self {
        Self::custom(format!("missing required key `{field}`"))
    }
}

impl DeError {
    fn at(mut self, span: Span, path: &str) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
            self.path = Some(path.to_string());
        }
        self
    }

    pub fn into_problem(self) -> Problem {
        let message = match &self.path {
            Some(p) if !p.is_empty() => format!("`{p}`: {}", self.message),
            _ => self.message,
        };
        Problem::error(message, self.span)
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn expected_words(exp: &str) -> String {
    match exp {
        e if e.starts_with("struct ") || e == "a map" => "a mapping (key: value pairs)".into(),
        "a sequence" => "a list".into(),
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "usize" | "isize" => {
            "a whole number".into()
        }
        "f32" | "f64" => "a number".into(),
        "a borrowed string" => "a string".into(),
        e if e.starts_with("variant identifier") => "a known value".into(),
        e => e.to_string(),
    }
}

fn unexpected_words(u: &Unexpected<'_>) -> String {
    match u {
        Unexpected::Bool(b) => format!("the boolean `{b}`"),
        Unexpected::Unsigned(i) => format!("the number `{i}`"),
        Unexpected::Signed(i) => format!("the number `{i}`"),
        Unexpected::Float(f) => format!("the number `{f}`"),
        // Never the text itself: it may have come from `${env:…}`, and secrets stay out of output.
        // The snippet under the message shows what the user wrote.
        Unexpected::Str(_) => "a string".into(),
        Unexpected::Unit => "null (an empty value)".into(),
        Unexpected::Seq => "a list".into(),
        Unexpected::Map => "a mapping".into(),
        Unexpected::Other(k) if super::model::is_intrinsic(k) => format!(
            "the CloudFormation function `{k}`, which sls cannot resolve here yet (write the value itself, e.g. the name or ARN, or a variable such as ${{self:custom.tableName}})"
        ),
        other => other.to_string(),
    }
}

/// Collects unknown-key warnings while deserializing.
#[derive(Default)]
pub struct Collector {
    pub unknown: RefCell<Vec<Problem>>,
    /// Problems no validation mode changes: keys that are known but not deployed (errors when
    /// deploying) and keys that have no effect (notes).
    pub fixed: RefCell<Vec<Problem>>,
}

/// Keys Serverless knows that only shape its CloudFormation stack, which sls does not have:
/// nothing in AWS would differ, so they are noted and ignored.
fn cloudformation_only(struct_name: &str) -> &'static [&'static str] {
    match struct_name {
        "Provider" => &[
            "stackTags",
            "stackName",
            "stackPolicy",
            "stackParameters",
            "cfnRole",
            "notificationArns",
            "disableRollback",
            "rollbackConfiguration",
            "deploymentMethod",
            "lambdaHashingVersion",
        ],
        "Function" => &["condition", "dependsOn"],
        _ => &[],
    }
}

/// Keys Serverless deploys and sls does not yet: refused, whatever `configValidationMode`
/// says, because a service deployed without them would run differently from what its config
/// says.
fn not_deployed(struct_name: &str) -> &'static [&'static str] {
    match struct_name {
        "Provider" => &[
            "eventBridge",
            "s3",
            "ecr",
            "cloudFront",
            "alb",
            "kinesis",
            "resourcePolicy",
            "usagePlan",
            "apiName",
            "endpointType",
            "deploymentPrefix",
        ],
        "Function" => &[
            "snapStart",
            "fileSystemConfig",
            "runtimeManagement",
            "tenancy",
        ],
        _ => &[],
    }
}

pub struct NodeDe<'a> {
    node: &'a Node,
    path: String,
    cx: &'a Collector,
}

impl<'a> NodeDe<'a> {
    pub fn new(node: &'a Node, cx: &'a Collector) -> Self {
        NodeDe {
            node,
            path: String::new(),
            cx,
        }
    }

    fn child(&self, node: &'a Node, key: &str) -> NodeDe<'a> {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        NodeDe {
            node,
            path,
            cx: self.cx,
        }
    }

    fn wrap<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(self.node.span, &self.path))
    }

    fn parse_int(&self) -> Option<i64> {
        match &self.node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match &self.node.value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Int(i) => Unexpected::Signed(*i),
            Value::Float(f) => Unexpected::Float(*f),
            Value::Str(s) => Unexpected::Str(s),
            Value::Seq(_) => Unexpected::Seq,
            // `{Ref: X}`, `{Fn::GetAtt: …}`: named, so that the error says what it is.
            Value::Map(entries) => match entries.as_slice() {
                [e] if super::model::is_intrinsic(&e.key) => Unexpected::Other(&e.key),
                _ => Unexpected::Map,
            },
        }
    }

    fn map_access(
        &self,
        entries: &'a [Entry],
        fields: Option<&'static [&'static str]>,
    ) -> MapDe<'a> {
        MapDe {
            entries: entries.iter(),
            parent: self.path.clone(),
            pending: None,
            fields,
            cx: self.cx,
        }
    }

    fn report_unknown(&self, entries: &[Entry], name: &str, fields: &'static [&'static str]) {
        let where_ = if self.path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", self.path)
        };
        for e in entries.iter().filter(|e| !fields.contains(&e.key.as_str())) {
            if not_deployed(name).contains(&e.key.as_str()) {
                self.cx.fixed.borrow_mut().push(
                    Problem::error(
                        format!("`{}` {where_} is not deployed by sls yet", e.key),
                        Some(e.key_span),
                    )
                    .help(super::validate::NOT_DEPLOYED_HELP)
                    .only_when_deploying(),
                );
                continue;
            }
            // A known key without effect is a note in every validation mode: it is not a
            // mistake, whatever `configValidationMode: error` says of unknown ones.
            if cloudformation_only(name).contains(&e.key.as_str()) {
                self.cx.fixed.borrow_mut().push(Problem::warning(
                    format!(
                        "`{}` {where_} shapes Serverless' CloudFormation stack, which sls does not use; it has no effect",
                        e.key
                    ),
                    Some(e.key_span),
                ));
                continue;
            }
            let mut p = Problem::warning(
                format!("unknown key `{}` {where_}; it is ignored", e.key),
                Some(e.key_span),
            );
            if let Some(s) = did_you_mean(&e.key, fields.iter().copied()) {
                p = p.help(format!("did you mean `{s}`?"));
            }
            self.cx.unknown.borrow_mut().push(p);
        }
    }
}

macro_rules! int_method {
    ($name:ident, $visit:ident, $t:ty) => {
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.parse_int() {
                Some(i) => match <$t>::try_from(i) {
                    Ok(v) => self.wrap(visitor.$visit(v)),
                    Err(_) => self.wrap(Err(de::Error::custom(format!(
                        "the number {i} is out of range"
                    )))),
                },
                None => self.wrap(Err(de::Error::invalid_type(self.unexpected(), &visitor))),
            }
        }
    };
}

impl<'de, 'a> de::Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                parent: &self,
            }),
            Value::Map(entries) => visitor.visit_map(self.map_access(entries, None)),
        };
        self.wrap(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Str(s) if s == "true" => visitor.visit_bool(true),
            Value::Str(s) if s == "false" => visitor.visit_bool(false),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => visitor.visit_f64(f),
                Err(_) => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
            },
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Scalars read as text where text is expected: `frameworkVersion: 3`, `payload: 2.0`.
        let r = match &self.node.value {
            Value::Str(s) => visitor.visit_str(s),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                visitor.visit_string(self.node.scalar_text().unwrap_or_default())
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(NodeDe {
                node: self.node,
                path: self.path.clone(),
                cx: self.cx,
            }),
        };
        self.wrap(r)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let path = self.path.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.at(span, &path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                parent: &self,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Map(entries) => visitor.visit_map(self.map_access(entries, None)),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Map(entries) => {
                self.report_unknown(entries, name, fields);
                visitor.visit_map(self.map_access(entries, Some(fields)))
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Str(s) => visitor.visit_enum(BareVariant { name: s }),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(EnumDe {
                entry: &entries[0],
                parent: &self,
            }),
            Value::Map(entries) => Err(de::Error::custom(format!(
                "expected a mapping with exactly one key (the kind), found {} keys",
                entries.len()
            ))),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    parent: &'p NodeDe<'a>,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqDe<'a, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let child = self.parent.child(node, &i.to_string());
                let path = child.path.clone();
                seed.deserialize(child)
                    .map(Some)
                    .map_err(|e| e.at(node.span, &path))
            }
        }
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    parent: String,
    pending: Option<&'a Entry>,
    /// For structs: keys outside this list were reported already and are skipped here.
    fields: Option<&'static [&'static str]>,
    cx: &'a Collector,
}

impl<'de, 'a> de::MapAccess<'de> for MapDe<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for e in self.entries.by_ref() {
            if self.fields.is_some_and(|f| !f.contains(&e.key.as_str())) {
                continue;
            }
            self.pending = Some(e);
            let key_de: de::value::StrDeserializer<'_, DeError> =
                e.key.as_str().into_deserializer();
            return seed
                .deserialize(key_de)
                .map(Some)
                .map_err(|err| err.at(e.key_span, &self.parent));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let e = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("value without a key"))?;
        let path = if self.parent.is_empty() {
            e.key.clone()
        } else {
            format!("{}.{}", self.parent, e.key)
        };
        let child = NodeDe {
            node: &e.value,
            path: path.clone(),
            cx: self.cx,
        };
        seed.deserialize(child)
            .map_err(|err| err.at(e.value.span, &path))
    }
}

struct EnumDe<'a, 'p> {
    entry: &'a Entry,
    parent: &'p NodeDe<'a>,
}

impl<'de, 'a, 'p> de::EnumAccess<'de> for EnumDe<'a, 'p> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDe<'a>), DeError> {
        let key_de: de::value::StrDeserializer<'_, DeError> =
            self.entry.key.as_str().into_deserializer();
        let v = seed
            .deserialize(key_de)
            .map_err(|e| e.at(self.entry.key_span, &self.parent.path))?;
        Ok((v, self.parent.child(&self.entry.value, &self.entry.key)))
    }
}

/// An enum written as a bare word: fine for plain values (`arm64`), but a kind that needs settings
/// (`- httpApi` with nothing after it) gets a message that says so.
struct BareVariant<'a> {
    name: &'a str,
}

impl<'de, 'a> de::EnumAccess<'de> for BareVariant<'a> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let key_de: de::value::StrDeserializer<'_, DeError> = self.name.into_deserializer();
        Ok((seed.deserialize(key_de)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for BareVariant<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, DeError> {
        Err(de::Error::custom(format!(
            "`{}` needs settings after it, e.g. `{}: …`",
            self.name, self.name
        )))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, DeError> {
        self.newtype_variant_seed(std::marker::PhantomData::<()>)
            .map(|_| unreachable!())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, DeError> {
        self.newtype_variant_seed(std::marker::PhantomData::<()>)
            .map(|_| unreachable!())
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.node.value {
            Value::Null => Ok(()),
            _ => self.wrap(Err(de::Error::custom("this kind takes no settings"))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

/// Deserializes `T` from a node, returning it with the unknown-key warnings found on the way.
/// The typed value, the unknown keys (warnings) and the problems no validation mode changes.
pub fn from_node<'de, T: serde::Deserialize<'de>>(
    node: &Node,
) -> Result<(T, Vec<Problem>, Vec<Problem>), Problem> {
    let cx = Collector::default();
    let value = T::deserialize(NodeDe::new(node, &cx)).map_err(DeError::into_problem)?;
    Ok((value, cx.unknown.into_inner(), cx.fixed.into_inner()))
}
