//! XML Schema (XSD 1.0) validation of request bodies, for MockServer's `XML_SCHEMA` body
//! matcher: an engine of our own over `roxmltree`, for the part of XSD that request
//! schemas use.
//!
//! Supported: global and local `element`s (`type`, `ref`, `minOccurs`/`maxOccurs`,
//! `nillable`, `fixed`), named and anonymous `complexType` and `simpleType`, `sequence`,
//! `choice`, `all` and `any`, `attribute` (`use`, `fixed`, `default`) and `anyAttribute`,
//! `mixed` content, `simpleContent` and `complexContent` by `extension`, `simpleType`
//! `restriction` with the facets `enumeration`, `pattern`, `length`, `minLength`,
//! `maxLength`, `minInclusive`, `maxInclusive`, `minExclusive`, `maxExclusive`,
//! `totalDigits` and `fractionDigits`, `list`, and the built-in types (strings, numbers
//! with their ranges, booleans, dates and times, binary, names, `anyType`).
//!
//! Refused when the schema is compiled, by name: what reaches outside the schema
//! (`import`, `include`, `redefine`) and what is not implemented (`group` and
//! `attributeGroup` references, identity constraints, substitution groups, `union`,
//! restriction of complex content). Content models are matched greedily, which XSD's
//! Unique Particle Attribution rule makes exact. Validation spends the budget per element,
//! attribute and text byte.

use crate::budget::Budget;
use std::collections::HashMap;

const XS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Element nesting beyond this is refused (in the schema's types and in documents).
const MAX_DEPTH: usize = 128;

/// A compiled schema.
#[derive(Debug)]
pub struct Schema {
    target: Option<String>,
    qualified: bool,
    elements: HashMap<String, Element>,
    types: HashMap<String, Type>,
}

#[derive(Debug, Clone)]
struct Element {
    name: String,
    ty: TypeRef,
    min: u64,
    max: Option<u64>,
    nillable: bool,
    fixed: Option<String>,
    /// `ref=`: the global element of this name.
    reference: bool,
}

#[derive(Debug, Clone)]
enum TypeRef {
    Builtin(Builtin),
    Named(String),
    Inline(Box<Type>),
}

#[derive(Debug, Clone)]
enum Type {
    Simple(Simple),
    Complex(Complex),
}

#[derive(Debug, Clone)]
struct Simple {
    base: TypeRef,
    facets: Facets,
    /// `list`: whitespace-separated items of `base`.
    list: bool,
}

#[derive(Debug, Clone, Default)]
struct Facets {
    enumeration: Vec<String>,
    patterns: Vec<regex::Regex>,
    length: Option<usize>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    min_inclusive: Option<f64>,
    max_inclusive: Option<f64>,
    min_exclusive: Option<f64>,
    max_exclusive: Option<f64>,
    total_digits: Option<usize>,
    fraction_digits: Option<usize>,
}

#[derive(Debug, Clone)]
struct Complex {
    content: Content,
    attributes: Vec<Attribute>,
    any_attribute: bool,
    mixed: bool,
    /// `complexContent/extension`: the base type's content comes first.
    extends: Option<String>,
}

#[derive(Debug, Clone)]
enum Content {
    Empty,
    Simple(TypeRef),
    Particle(Particle),
}

#[derive(Debug, Clone)]
struct Attribute {
    name: String,
    ty: TypeRef,
    required: bool,
    fixed: Option<String>,
}

#[derive(Debug, Clone)]
enum Particle {
    Element(Element),
    Sequence(Vec<Particle>, u64, Option<u64>),
    Choice(Vec<Particle>, u64, Option<u64>),
    All(Vec<Particle>, u64, Option<u64>),
    Any(u64, Option<u64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    AnyType,
    String,
    Boolean,
    Decimal,
    Integer {
        min: Option<i128>,
        max: Option<i128>,
    },
    Float,
    Date,
    DateTime,
    Time,
    Duration,
    GYear,
    Base64,
    Hex,
    Name,
}

fn builtin(local: &str) -> Option<Builtin> {
    use Builtin::*;
    let int = |min: Option<i128>, max: Option<i128>| Integer { min, max };
    Some(match local {
        "anyType" | "anySimpleType" => AnyType,
        "string" | "normalizedString" | "token" | "language" | "anyURI" | "NOTATION" => String,
        "boolean" => Boolean,
        "decimal" => Decimal,
        "integer" => int(None, None),
        "long" => int(Some(i64::MIN as i128), Some(i64::MAX as i128)),
        "int" => int(Some(i32::MIN as i128), Some(i32::MAX as i128)),
        "short" => int(Some(i16::MIN as i128), Some(i16::MAX as i128)),
        "byte" => int(Some(i8::MIN as i128), Some(i8::MAX as i128)),
        "nonNegativeInteger" => int(Some(0), None),
        "positiveInteger" => int(Some(1), None),
        "nonPositiveInteger" => int(None, Some(0)),
        "negativeInteger" => int(None, Some(-1)),
        "unsignedLong" => int(Some(0), Some(u64::MAX as i128)),
        "unsignedInt" => int(Some(0), Some(u32::MAX as i128)),
        "unsignedShort" => int(Some(0), Some(u16::MAX as i128)),
        "unsignedByte" => int(Some(0), Some(u8::MAX as i128)),
        "float" | "double" => Float,
        "date" => Date,
        "dateTime" => DateTime,
        "time" => Time,
        "duration" => Duration,
        "gYear" | "gYearMonth" | "gMonth" | "gMonthDay" | "gDay" => GYear,
        "base64Binary" => Base64,
        "hexBinary" => Hex,
        "Name" | "NCName" | "ID" | "IDREF" | "IDREFS" | "ENTITY" | "ENTITIES" | "NMTOKEN"
        | "NMTOKENS" | "QName" => Name,
        _ => return None,
    })
}

type R<T> = Result<T, String>;

fn occurs(n: roxmltree::Node<'_, '_>) -> R<(u64, Option<u64>)> {
    let min = match n.attribute("minOccurs") {
        None => 1,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("minOccurs=\"{v}\" is not a number"))?,
    };
    let max = match n.attribute("maxOccurs") {
        None => Some(1),
        Some("unbounded") => None,
        Some(v) => Some(
            v.trim()
                .parse()
                .map_err(|_| format!("maxOccurs=\"{v}\" is not a number"))?,
        ),
    };
    Ok((min, max))
}

fn xs_children<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(XS))
        .filter(|c| c.tag_name().name() != "annotation")
}

/// The local part of a QName (`xs:string` → `string`), and whether it names a built-in
/// type (its prefix is bound to the XML Schema namespace).
fn qname(n: roxmltree::Node<'_, '_>, value: &str) -> (String, bool) {
    match value.split_once(':') {
        Some((prefix, local)) => (
            local.to_string(),
            n.lookup_namespace_uri(Some(prefix)) == Some(XS),
        ),
        None => (value.to_string(), n.lookup_namespace_uri(None) == Some(XS)),
    }
}

fn type_ref(n: roxmltree::Node<'_, '_>, value: &str) -> R<TypeRef> {
    let (local, xs) = qname(n, value);
    if xs {
        return builtin(&local)
            .map(TypeRef::Builtin)
            .ok_or_else(|| format!("xs:{local} is not a built-in type standin knows"));
    }
    Ok(TypeRef::Named(local))
}

struct Compiler {
    depth: usize,
}

impl Compiler {
    fn refuse(&self, n: roxmltree::Node<'_, '_>) -> R<()> {
        let name = n.tag_name().name();
        let why = match name {
            "import" | "include" | "redefine" | "override" => {
                "reads another schema, which standin cannot fetch"
            }
            "group" | "attributeGroup" if n.attribute("ref").is_some() => {
                "references to groups are not supported by standin yet"
            }
            "key" | "keyref" | "unique" => "identity constraints are not supported by standin",
            "union" => "union types are not supported by standin yet",
            "notation" => "notations are not supported by standin",
            _ => return Ok(()),
        };
        Err(format!("xs:{name}: {why}"))
    }

    fn element(&mut self, n: roxmltree::Node<'_, '_>, global: bool) -> R<Element> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the schema nests deeper than {MAX_DEPTH}"));
        }
        if n.attribute("substitutionGroup").is_some() || n.attribute("abstract") == Some("true") {
            return Err("substitution groups are not supported by standin".into());
        }
        let (min, max) = if global { (1, Some(1)) } else { occurs(n)? };
        let (name, ty, reference) = if let Some(r) = n.attribute("ref") {
            (qname(n, r).0, TypeRef::Builtin(Builtin::AnyType), true)
        } else {
            let name = n
                .attribute("name")
                .ok_or("an xs:element needs a name or a ref")?
                .to_string();
            let mut ty = match n.attribute("type") {
                Some(t) => type_ref(n, t)?,
                None => TypeRef::Builtin(Builtin::AnyType),
            };
            for c in xs_children(n) {
                self.refuse(c)?;
                match c.tag_name().name() {
                    "complexType" => ty = TypeRef::Inline(Box::new(self.complex(c)?)),
                    "simpleType" => ty = TypeRef::Inline(Box::new(self.simple(c)?)),
                    _ => {}
                }
            }
            (name, ty, false)
        };
        self.depth -= 1;
        Ok(Element {
            name,
            ty,
            min,
            max,
            nillable: n.attribute("nillable") == Some("true"),
            fixed: n.attribute("fixed").map(str::to_string),
            reference,
        })
    }

    fn particle(&mut self, n: roxmltree::Node<'_, '_>) -> R<Option<Particle>> {
        self.refuse(n)?;
        let (min, max) = occurs(n)?;
        Ok(Some(match n.tag_name().name() {
            "element" => Particle::Element(self.element(n, false)?),
            "any" => Particle::Any(min, max),
            kind @ ("sequence" | "choice" | "all") => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(format!("the schema nests deeper than {MAX_DEPTH}"));
                }
                let mut items = Vec::new();
                for c in xs_children(n) {
                    if let Some(p) = self.particle(c)? {
                        items.push(p);
                    }
                }
                self.depth -= 1;
                match kind {
                    "sequence" => Particle::Sequence(items, min, max),
                    "choice" => Particle::Choice(items, min, max),
                    _ => Particle::All(items, min, max),
                }
            }
            _ => return Ok(None),
        }))
    }

    fn attribute(&mut self, n: roxmltree::Node<'_, '_>) -> R<Attribute> {
        let name = n
            .attribute("name")
            .or_else(|| n.attribute("ref"))
            .ok_or("an xs:attribute needs a name")?;
        let mut ty = match n.attribute("type") {
            Some(t) => type_ref(n, t)?,
            None => TypeRef::Builtin(Builtin::String),
        };
        for c in xs_children(n) {
            if c.tag_name().name() == "simpleType" {
                ty = TypeRef::Inline(Box::new(self.simple(c)?));
            }
        }
        Ok(Attribute {
            name: qname(n, name).0,
            ty,
            required: n.attribute("use") == Some("required"),
            fixed: n.attribute("fixed").map(str::to_string),
        })
    }

    fn complex(&mut self, n: roxmltree::Node<'_, '_>) -> R<Type> {
        let mut c = Complex {
            content: Content::Empty,
            attributes: Vec::new(),
            any_attribute: false,
            mixed: n.attribute("mixed") == Some("true"),
            extends: None,
        };
        self.complex_body(n, &mut c)?;
        Ok(Type::Complex(c))
    }

    fn complex_body(&mut self, n: roxmltree::Node<'_, '_>, c: &mut Complex) -> R<()> {
        for ch in xs_children(n) {
            self.refuse(ch)?;
            match ch.tag_name().name() {
                "sequence" | "choice" | "all" => {
                    if let Some(p) = self.particle(ch)? {
                        c.content = Content::Particle(p);
                    }
                }
                "attribute" => {
                    let a = self.attribute(ch)?;
                    c.attributes.push(a);
                }
                "anyAttribute" => c.any_attribute = true,
                "simpleContent" => {
                    for d in xs_children(ch) {
                        let base = d.attribute("base").ok_or("a simpleContent needs a base")?;
                        c.content = Content::Simple(type_ref(d, base)?);
                        if d.tag_name().name() == "restriction" {
                            let s = self.simple_restriction(d)?;
                            c.content = Content::Simple(TypeRef::Inline(Box::new(Type::Simple(s))));
                        }
                        self.complex_body(d, c)?;
                        if let Content::Particle(_) = c.content {
                            return Err("a simpleContent cannot have elements".into());
                        }
                    }
                }
                "complexContent" => {
                    if ch.attribute("mixed") == Some("true") {
                        c.mixed = true;
                    }
                    for d in xs_children(ch) {
                        if d.tag_name().name() != "extension" {
                            return Err(format!(
                                "xs:complexContent/xs:{}: only extension is supported by standin",
                                d.tag_name().name()
                            ));
                        }
                        let base = d.attribute("base").ok_or("an extension needs a base")?;
                        let (local, xs) = qname(d, base);
                        if !(xs && local == "anyType") {
                            c.extends = Some(local);
                        }
                        self.complex_body(d, c)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn simple(&mut self, n: roxmltree::Node<'_, '_>) -> R<Type> {
        for ch in xs_children(n) {
            self.refuse(ch)?;
            match ch.tag_name().name() {
                "restriction" => return Ok(Type::Simple(self.simple_restriction(ch)?)),
                "list" => {
                    let base = match ch.attribute("itemType") {
                        Some(t) => type_ref(ch, t)?,
                        None => match xs_children(ch).find(|c| c.tag_name().name() == "simpleType")
                        {
                            Some(s) => TypeRef::Inline(Box::new(self.simple(s)?)),
                            None => TypeRef::Builtin(Builtin::String),
                        },
                    };
                    return Ok(Type::Simple(Simple {
                        base,
                        facets: Facets::default(),
                        list: true,
                    }));
                }
                _ => {}
            }
        }
        Err("an xs:simpleType needs a restriction or a list".into())
    }

    fn simple_restriction(&mut self, r: roxmltree::Node<'_, '_>) -> R<Simple> {
        let base = match r.attribute("base") {
            Some(b) => type_ref(r, b)?,
            None => match xs_children(r).find(|c| c.tag_name().name() == "simpleType") {
                Some(s) => TypeRef::Inline(Box::new(self.simple(s)?)),
                None => TypeRef::Builtin(Builtin::String),
            },
        };
        let mut f = Facets::default();
        for facet in xs_children(r) {
            let value = facet.attribute("value").unwrap_or_default();
            let number = || {
                value.trim().parse::<f64>().map_err(|_| {
                    format!("xs:{}=\"{value}\" is not a number", facet.tag_name().name())
                })
            };
            let count = || {
                value.trim().parse::<usize>().map_err(|_| {
                    format!("xs:{}=\"{value}\" is not a count", facet.tag_name().name())
                })
            };
            match facet.tag_name().name() {
                "enumeration" => f.enumeration.push(value.to_string()),
                "pattern" => f.patterns.push(
                    regex::RegexBuilder::new(&format!("^(?:{})$", xsd_regex(value)))
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| format!("xs:pattern \"{value}\": {e}"))?,
                ),
                "length" => f.length = Some(count()?),
                "minLength" => f.min_length = Some(count()?),
                "maxLength" => f.max_length = Some(count()?),
                "minInclusive" => f.min_inclusive = Some(number()?),
                "maxInclusive" => f.max_inclusive = Some(number()?),
                "minExclusive" => f.min_exclusive = Some(number()?),
                "maxExclusive" => f.max_exclusive = Some(number()?),
                "totalDigits" => f.total_digits = Some(count()?),
                "fractionDigits" => f.fraction_digits = Some(count()?),
                _ => {}
            }
        }
        Ok(Simple {
            base,
            facets: f,
            list: false,
        })
    }
}

/// XSD's regex dialect in the regex crate's: the multi-character escapes of names (`\i`,
/// `\c`) as classes; the rest is shared.
fn xsd_regex(p: &str) -> String {
    p.replace("\\i", "[_:A-Za-z]")
        .replace("\\I", "[^_:A-Za-z]")
        .replace("\\c", "[-._:A-Za-z0-9]")
        .replace("\\C", "[^-._:A-Za-z0-9]")
}

/// Compiles a schema; the error names what is wrong or not supported.
pub fn compile(text: &str) -> Result<Schema, String> {
    let doc = super::read(text).map_err(|e| format!("the schema is not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(XS) || root.tag_name().name() != "schema" {
        return Err("the schema's root must be xs:schema".into());
    }
    let mut c = Compiler { depth: 0 };
    let mut s = Schema {
        target: root.attribute("targetNamespace").map(str::to_string),
        qualified: root.attribute("elementFormDefault") == Some("qualified"),
        elements: HashMap::new(),
        types: HashMap::new(),
    };
    for n in xs_children(root) {
        c.refuse(n)?;
        let name = n.attribute("name").map(str::to_string);
        match n.tag_name().name() {
            "element" => {
                let e = c.element(n, true)?;
                s.elements.insert(e.name.clone(), e);
            }
            "complexType" => {
                let t = c.complex(n)?;
                s.types
                    .insert(name.ok_or("a global xs:complexType needs a name")?, t);
            }
            "simpleType" => {
                let t = c.simple(n)?;
                s.types
                    .insert(name.ok_or("a global xs:simpleType needs a name")?, t);
            }
            "group" | "attributeGroup" => {
                return Err(format!(
                    "xs:{}: named groups are not supported by standin yet",
                    n.tag_name().name()
                ));
            }
            _ => {}
        }
    }
    if s.elements.is_empty() {
        return Err("the schema declares no global element".into());
    }
    s.check()?;
    Ok(s)
}

impl Schema {
    /// Every named type and element reference resolves.
    fn check(&self) -> R<()> {
        fn ty(s: &Schema, t: &TypeRef) -> R<()> {
            match t {
                TypeRef::Builtin(_) => Ok(()),
                TypeRef::Named(n) if s.types.contains_key(n) => Ok(()),
                TypeRef::Named(n) => Err(format!("the type \"{n}\" is not defined in the schema")),
                TypeRef::Inline(t) => def(s, t),
            }
        }
        fn def(s: &Schema, t: &Type) -> R<()> {
            match t {
                Type::Simple(x) => ty(s, &x.base),
                Type::Complex(c) => {
                    if let Some(b) = &c.extends
                        && !s.types.contains_key(b)
                    {
                        return Err(format!(
                            "the base type \"{b}\" is not defined in the schema"
                        ));
                    }
                    for a in &c.attributes {
                        ty(s, &a.ty)?;
                    }
                    match &c.content {
                        Content::Empty => Ok(()),
                        Content::Simple(t) => ty(s, t),
                        Content::Particle(p) => particle(s, p),
                    }
                }
            }
        }
        fn particle(s: &Schema, p: &Particle) -> R<()> {
            match p {
                Particle::Element(e) if e.reference => {
                    if s.elements.contains_key(&e.name) {
                        Ok(())
                    } else {
                        Err(format!(
                            "the element \"{}\" is not defined in the schema",
                            e.name
                        ))
                    }
                }
                Particle::Element(e) => ty(s, &e.ty),
                Particle::Sequence(items, ..)
                | Particle::Choice(items, ..)
                | Particle::All(items, ..) => items.iter().try_for_each(|i| particle(s, i)),
                Particle::Any(..) => Ok(()),
            }
        }
        for e in self.elements.values() {
            ty(self, &e.ty)?;
        }
        for t in self.types.values() {
            def(self, t)?;
        }
        Ok(())
    }

    /// Whether `body` is a document valid against the schema; the error says where and
    /// why it is not.
    pub fn validate(&self, body: &[u8], budget: &Budget) -> Result<(), String> {
        let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
        let doc = super::parse_document(text, budget).ok_or("the body is not well-formed XML")?;
        let root = doc.root_element();
        let name = root.tag_name().name();
        let decl = self
            .elements
            .get(name)
            .ok_or_else(|| format!("<{name}> is not a global element of the schema"))?;
        if root.tag_name().namespace() != self.target.as_deref() {
            return Err(format!("<{name}> is not in the schema's target namespace"));
        }
        let mut v = Validator {
            schema: self,
            budget,
            depth: 0,
        };
        v.element(root, decl, &format!("/{name}"))
    }
}

struct Validator<'s, 'b> {
    schema: &'s Schema,
    budget: &'b Budget,
    depth: usize,
}

enum Step {
    Matched(usize),
    NoMatch,
}

type V = Result<Step, String>;

impl<'s> Validator<'s, '_> {
    fn spend(&self, units: u64) -> R<()> {
        if self.budget.spend(units) {
            Ok(())
        } else {
            Err("the validation ran out of its work budget".into())
        }
    }

    fn resolve<'x>(&self, t: &'x TypeRef) -> Option<&'x Type>
    where
        's: 'x,
    {
        match t {
            TypeRef::Builtin(_) => None,
            TypeRef::Named(n) => self.schema.types.get(n),
            TypeRef::Inline(t) => Some(t),
        }
    }

    fn element(&mut self, n: roxmltree::Node<'_, '_>, decl: &'s Element, at: &str) -> R<()> {
        self.spend(1)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("{at}: nested deeper than {MAX_DEPTH}"));
        }
        let decl = if decl.reference {
            self.schema
                .elements
                .get(&decl.name)
                .ok_or("unresolved reference")?
        } else {
            decl
        };
        if decl.nillable && n.attribute((XSI, "nil")) == Some("true") {
            self.depth -= 1;
            return if n
                .children()
                .any(|c| c.is_element() || c.text().is_some_and(|t| !t.trim().is_empty()))
            {
                Err(format!("{at}: a nil element must be empty"))
            } else {
                Ok(())
            };
        }
        if let Some(f) = &decl.fixed {
            let text: String = n.children().filter_map(|c| c.text()).collect();
            if text.trim() != f.trim() {
                return Err(format!("{at}: must be \"{f}\""));
            }
        }
        match &decl.ty {
            TypeRef::Builtin(Builtin::AnyType) => {}
            TypeRef::Builtin(b) => self.simple_element(
                n,
                &Simple {
                    base: TypeRef::Builtin(*b),
                    facets: Facets::default(),
                    list: false,
                },
                at,
            )?,
            t => match self.resolve(t) {
                Some(Type::Simple(s)) => self.simple_element(n, s, at)?,
                Some(Type::Complex(c)) => self.complex(n, c, at)?,
                None => return Err(format!("{at}: its type is not defined")),
            },
        }
        self.depth -= 1;
        Ok(())
    }

    fn simple_element(&mut self, n: roxmltree::Node<'_, '_>, s: &Simple, at: &str) -> R<()> {
        if let Some(c) = n.children().find(|c| c.is_element()) {
            return Err(format!(
                "{at}: a simple value cannot hold <{}>",
                c.tag_name().name()
            ));
        }
        if let Some(a) = n.attributes().find(|a| a.namespace() != Some(XSI)) {
            return Err(format!(
                "{at}: the attribute \"{}\" is not allowed",
                a.name()
            ));
        }
        let text: String = n.children().filter_map(|c| c.text()).collect();
        self.value(&text, s, at)
    }

    /// A text value against a simple type.
    fn value(&self, raw: &str, s: &Simple, at: &str) -> R<()> {
        self.spend(1 + raw.len() as u64 / 16)?;
        if s.list {
            for item in raw.split_whitespace() {
                self.base_value(item, &s.base, at)?;
            }
            let n = raw.split_whitespace().count();
            return self.length_facets(n, &s.facets, at, raw);
        }
        self.base_value(raw, &s.base, at)?;
        let f = &s.facets;
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let is_string = self.string_like(&s.base);
        let v = if is_string {
            raw.to_string()
        } else {
            collapsed
        };
        if !f.enumeration.is_empty() && !f.enumeration.contains(&v) {
            return Err(format!("{at}: \"{v}\" is not one of {:?}", f.enumeration));
        }
        if let Some(p) = f.patterns.iter().find(|p| !p.is_match(&v)) {
            return Err(format!(
                "{at}: \"{v}\" does not match the pattern {}",
                p.as_str()
            ));
        }
        self.length_facets(v.chars().count(), f, at, &v)?;
        if f.min_inclusive.is_some()
            || f.max_inclusive.is_some()
            || f.min_exclusive.is_some()
            || f.max_exclusive.is_some()
        {
            let x: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{at}: \"{v}\" is not a number"))?;
            let bad = f.min_inclusive.is_some_and(|m| x < m)
                || f.max_inclusive.is_some_and(|m| x > m)
                || f.min_exclusive.is_some_and(|m| x <= m)
                || f.max_exclusive.is_some_and(|m| x >= m);
            if bad {
                return Err(format!("{at}: {v} is out of the allowed range"));
            }
        }
        if f.total_digits.is_some() || f.fraction_digits.is_some() {
            let digits = v.trim().trim_start_matches(['-', '+']);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let frac = frac.trim_end_matches('0');
            let int = int.trim_start_matches('0');
            if f.total_digits.is_some_and(|t| int.len() + frac.len() > t)
                || f.fraction_digits.is_some_and(|t| frac.len() > t)
            {
                return Err(format!("{at}: {v} has too many digits"));
            }
        }
        Ok(())
    }

    fn length_facets(&self, n: usize, f: &Facets, at: &str, v: &str) -> R<()> {
        if f.length.is_some_and(|l| n != l)
            || f.min_length.is_some_and(|l| n < l)
            || f.max_length.is_some_and(|l| n > l)
        {
            return Err(format!("{at}: \"{v}\" has the wrong length"));
        }
        Ok(())
    }

    fn string_like(&self, t: &TypeRef) -> bool {
        match t {
            TypeRef::Builtin(b) => matches!(b, Builtin::String | Builtin::AnyType),
            other => match self.resolve(other) {
                Some(Type::Simple(s)) => !s.list && self.string_like(&s.base),
                _ => false,
            },
        }
    }

    fn base_value(&self, raw: &str, t: &TypeRef, at: &str) -> R<()> {
        match t {
            TypeRef::Builtin(b) => {
                builtin_value(raw, *b).map_err(|why| format!("{at}: \"{raw}\" {why}"))
            }
            other => match self.resolve(other) {
                Some(Type::Simple(s)) => self.value(raw, s, at),
                _ => Err(format!("{at}: a value's type must be simple")),
            },
        }
    }

    fn complex(&mut self, n: roxmltree::Node<'_, '_>, c: &'s Complex, at: &str) -> R<()> {
        // The chain of extensions, base first.
        let mut chain = vec![c];
        let mut cur = c;
        while let Some(b) = &cur.extends {
            match self.schema.types.get(b) {
                Some(Type::Complex(base)) => {
                    if chain.len() > MAX_DEPTH {
                        return Err(format!("{at}: the type extends itself"));
                    }
                    chain.push(base);
                    cur = base;
                }
                _ => return Err(format!("{at}: the base type \"{b}\" is not a complex type")),
            }
        }
        chain.reverse();
        // Attributes.
        let declared: Vec<&Attribute> = chain.iter().flat_map(|c| c.attributes.iter()).collect();
        let any_attribute = chain.iter().any(|c| c.any_attribute);
        for a in n.attributes() {
            self.spend(1)?;
            if a.namespace() == Some(XSI) {
                continue;
            }
            match declared.iter().find(|d| d.name == a.name()) {
                Some(d) => {
                    if let Some(f) = &d.fixed
                        && a.value() != f
                    {
                        return Err(format!("{at}/@{}: must be \"{f}\"", a.name()));
                    }
                    if !matches!(d.ty, TypeRef::Builtin(Builtin::AnyType)) {
                        self.base_value(a.value(), &d.ty, &format!("{at}/@{}", a.name()))?;
                    }
                }
                None if any_attribute => {}
                None => {
                    return Err(format!(
                        "{at}: the attribute \"{}\" is not allowed",
                        a.name()
                    ));
                }
            }
        }
        if let Some(missing) = declared
            .iter()
            .find(|d| d.required && n.attribute(d.name.as_str()).is_none())
        {
            return Err(format!(
                "{at}: the attribute \"{}\" is required",
                missing.name
            ));
        }
        // Content.
        let mixed = chain.iter().any(|c| c.mixed);
        let simple = chain.iter().rev().find_map(|c| match &c.content {
            Content::Simple(t) => Some(t),
            _ => None,
        });
        if let Some(t) = simple {
            let s = Simple {
                base: t.clone(),
                facets: Facets::default(),
                list: false,
            };
            if let Some(ch) = n.children().find(|c| c.is_element()) {
                return Err(format!(
                    "{at}: a simple value cannot hold <{}>",
                    ch.tag_name().name()
                ));
            }
            let text: String = n.children().filter_map(|c| c.text()).collect();
            // A temporary simple type over a named or built-in base.
            return match t {
                TypeRef::Builtin(Builtin::AnyType) => Ok(()),
                TypeRef::Builtin(b) => {
                    builtin_value(&text, *b).map_err(|why| format!("{at}: \"{text}\" {why}"))
                }
                _ => self.value_owned(&text, s, at),
            };
        }
        if !mixed
            && let Some(t) = n
                .children()
                .find(|c| c.is_text() && c.text().is_some_and(|t| !t.trim().is_empty()))
        {
            return Err(format!(
                "{at}: text \"{}\" is not allowed here",
                crate::parse::ellipsize(t.text().unwrap_or_default().trim())
            ));
        }
        let children: Vec<roxmltree::Node<'_, '_>> =
            n.children().filter(|c| c.is_element()).collect();
        let particles: Vec<&'s Particle> = chain
            .iter()
            .filter_map(|c| match &c.content {
                Content::Particle(p) => Some(p),
                _ => None,
            })
            .collect();
        let mut pos = 0;
        for p in particles {
            match self.occurs(p, &children, pos, at)? {
                Step::Matched(n) => pos = n,
                Step::NoMatch => {
                    return Err(match children.get(pos) {
                        Some(c) => format!("{at}: <{}> is not expected here", c.tag_name().name()),
                        None => format!("{at}: {} is missing", expected(p)),
                    });
                }
            }
        }
        if let Some(extra) = children.get(pos) {
            return Err(format!(
                "{at}: <{}> is not expected here",
                extra.tag_name().name()
            ));
        }
        Ok(())
    }

    fn value_owned(&self, raw: &str, s: Simple, at: &str) -> R<()> {
        // `s` borrows nothing of the schema but its base, which `value` resolves.
        let base = match &s.base {
            TypeRef::Named(n) => self.schema.types.get(n),
            TypeRef::Inline(t) => Some(&**t),
            TypeRef::Builtin(_) => None,
        };
        match base {
            Some(Type::Simple(inner)) => self.value(raw, inner, at),
            Some(Type::Complex(_)) => Err(format!("{at}: a simpleContent's base must be simple")),
            None => Ok(()),
        }
    }

    /// A particle with its occurrence bounds, from `pos`.
    fn occurs(
        &mut self,
        p: &'s Particle,
        children: &[roxmltree::Node<'_, '_>],
        pos: usize,
        at: &str,
    ) -> V {
        let (min, max) = match p {
            Particle::Element(e) => (e.min, e.max),
            Particle::Sequence(_, a, b) | Particle::Choice(_, a, b) | Particle::All(_, a, b) => {
                (*a, *b)
            }
            Particle::Any(a, b) => (*a, *b),
        };
        let start = pos;
        let mut pos = pos;
        let mut count = 0u64;
        while max.is_none_or(|m| count < m) {
            self.spend(1)?;
            match self.once(p, children, pos, at)? {
                Step::Matched(n) if n > pos => {
                    pos = n;
                    count += 1;
                }
                // Matched nothing: as many more times as needed, at no cost.
                Step::Matched(_) => {
                    count = count.max(min);
                    break;
                }
                Step::NoMatch => break,
            }
        }
        if count < min {
            if pos == start {
                return Ok(Step::NoMatch);
            }
            return Err(format!("{at}: {} is missing", expected(p)));
        }
        Ok(Step::Matched(pos))
    }

    fn once(
        &mut self,
        p: &'s Particle,
        children: &[roxmltree::Node<'_, '_>],
        pos: usize,
        at: &str,
    ) -> V {
        match p {
            Particle::Element(e) => match children.get(pos) {
                Some(c) if c.tag_name().name() == e.name && self.in_namespace(c, e) => {
                    let path = format!("{at}/{}[{}]", e.name, pos + 1);
                    self.element(*c, e, &path)?;
                    Ok(Step::Matched(pos + 1))
                }
                _ => Ok(Step::NoMatch),
            },
            Particle::Any(..) => Ok(if pos < children.len() {
                Step::Matched(pos + 1)
            } else {
                Step::NoMatch
            }),
            Particle::Sequence(items, ..) => {
                let mut cur = pos;
                for (i, item) in items.iter().enumerate() {
                    match self.occurs(item, children, cur, at)? {
                        Step::Matched(n) => cur = n,
                        Step::NoMatch if i == 0 || cur == pos => return Ok(Step::NoMatch),
                        Step::NoMatch => {
                            return Err(match children.get(cur) {
                                Some(c) => format!(
                                    "{at}: <{}> is not expected here; {} is",
                                    c.tag_name().name(),
                                    expected(item)
                                ),
                                None => format!("{at}: {} is missing", expected(item)),
                            });
                        }
                    }
                }
                Ok(Step::Matched(cur))
            }
            Particle::Choice(items, ..) => {
                let mut empty = false;
                for item in items {
                    match self.occurs(item, children, pos, at)? {
                        Step::Matched(n) if n > pos => return Ok(Step::Matched(n)),
                        Step::Matched(_) => empty = true,
                        Step::NoMatch => {}
                    }
                }
                Ok(if empty {
                    Step::Matched(pos)
                } else {
                    Step::NoMatch
                })
            }
            Particle::All(items, ..) => {
                let mut used = vec![false; items.len()];
                let mut cur = pos;
                'next: while let Some(c) = children.get(cur) {
                    for (i, item) in items.iter().enumerate() {
                        if let Particle::Element(e) = item
                            && !used[i]
                            && c.tag_name().name() == e.name
                        {
                            let path = format!("{at}/{}", e.name);
                            self.element(*c, e, &path)?;
                            used[i] = true;
                            cur += 1;
                            continue 'next;
                        }
                    }
                    break;
                }
                if let Some((i, _)) = items
                    .iter()
                    .enumerate()
                    .find(|(i, it)| !used[*i] && matches!(it, Particle::Element(e) if e.min > 0))
                {
                    if cur == pos {
                        return Ok(Step::NoMatch);
                    }
                    return Err(format!("{at}: {} is missing", expected(&items[i])));
                }
                Ok(Step::Matched(cur))
            }
        }
    }

    fn in_namespace(&self, c: &roxmltree::Node<'_, '_>, e: &Element) -> bool {
        let want = if e.reference || self.schema.qualified {
            self.schema.target.as_deref()
        } else {
            None
        };
        c.tag_name().namespace() == want
    }
}

fn expected(p: &Particle) -> String {
    match p {
        Particle::Element(e) => format!("<{}>", e.name),
        Particle::Sequence(items, ..) | Particle::Choice(items, ..) | Particle::All(items, ..) => {
            items.first().map_or_else(|| "an element".into(), expected)
        }
        Particle::Any(..) => "an element".into(),
    }
}

/// A value of a built-in type (whitespace collapsed for all but strings).
fn builtin_value(raw: &str, b: Builtin) -> Result<(), &'static str> {
    let v = raw.trim();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let decimal = |s: &str| {
        let s = s.strip_prefix(['-', '+']).unwrap_or(s);
        match s.split_once('.') {
            Some((a, b)) => {
                (digits(a) || a.is_empty())
                    && (digits(b) || b.is_empty())
                    && !(a.is_empty() && b.is_empty())
            }
            None => digits(s),
        }
    };
    let ok = match b {
        Builtin::AnyType | Builtin::String => true,
        Builtin::Boolean => matches!(v, "true" | "false" | "1" | "0"),
        Builtin::Decimal => decimal(v),
        Builtin::Integer { min, max } => {
            let s = v.strip_prefix('+').unwrap_or(v);
            match s.parse::<i128>() {
                Ok(n) => min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m),
                Err(_) => false,
            }
        }
        Builtin::Float => {
            matches!(v, "INF" | "-INF" | "NaN")
                || (v.parse::<f64>().is_ok() && !v.contains(['i', 'I', 'n', 'N']))
        }
        Builtin::Date => date(v).is_some_and(tz),
        Builtin::DateTime => v
            .split_once('T')
            .is_some_and(|(d, t)| date(d).is_some_and(str::is_empty) && time(t).is_some_and(tz)),
        Builtin::Time => time(v).is_some_and(tz),
        Builtin::Duration => {
            let s = v.strip_prefix('-').unwrap_or(v);
            s.starts_with('P')
                && s.len() > 1
                && s[1..]
                    .bytes()
                    .all(|c| c.is_ascii_digit() || b"YMDTHS.".contains(&c))
        }
        Builtin::GYear => {
            !v.is_empty()
                && v.bytes()
                    .all(|c| c.is_ascii_digit() || b"-:+Z".contains(&c))
        }
        Builtin::Base64 => {
            let s: String = v.split_whitespace().collect();
            s.len().is_multiple_of(4)
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
        }
        Builtin::Hex => v.len().is_multiple_of(2) && v.bytes().all(|c| c.is_ascii_hexdigit()),
        Builtin::Name => {
            !v.is_empty()
                && v.split_whitespace()
                    .all(|n| n.chars().all(|c| c.is_alphanumeric() || "-._:".contains(c)))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(match b {
            Builtin::Boolean => "is not a boolean",
            Builtin::Decimal | Builtin::Float => "is not a number",
            Builtin::Integer { .. } => "is not an integer in range",
            Builtin::Date => "is not a date (YYYY-MM-DD)",
            Builtin::DateTime => "is not a dateTime (YYYY-MM-DDThh:mm:ss)",
            Builtin::Time => "is not a time (hh:mm:ss)",
            _ => "is not a valid value of its type",
        })
    }
}

/// `YYYY-MM-DD` at the start; the rest.
fn date(v: &str) -> Option<&str> {
    let s = v.strip_prefix('-').unwrap_or(v);
    let (y, rest) = s.split_once('-')?;
    let (m, rest) = rest.split_at_checked(2)?;
    let rest = rest.strip_prefix('-')?;
    let (d, rest) = rest.split_at_checked(2)?;
    let ok = y.len() >= 4
        && y.bytes().all(|c| c.is_ascii_digit())
        && m.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && d.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d));
    ok.then_some(rest)
}

/// `hh:mm:ss(.s+)?` at the start; the rest.
fn time(v: &str) -> Option<&str> {
    let (h, rest) = v.split_at_checked(2)?;
    let rest = rest.strip_prefix(':')?;
    let (m, rest) = rest.split_at_checked(2)?;
    let rest = rest.strip_prefix(':')?;
    let (s, mut rest) = rest.split_at_checked(2)?;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.len() - f.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if n == 0 {
            return None;
        }
        rest = &f[n..];
    }
    let ok = h.parse::<u8>().is_ok_and(|h| h <= 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
        && s.parse::<u8>().is_ok_and(|s| s < 61);
    ok.then_some(rest)
}

/// An optional time zone: `Z` or `±hh:mm`.
fn tz(rest: &str) -> bool {
    rest.is_empty()
        || rest == "Z"
        || (rest.len() == 6
            && rest.starts_with(['+', '-'])
            && rest.as_bytes()[3] == b':'
            && rest[1..3].parse::<u8>().is_ok()
            && rest[4..6].parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified" attributeFormDefault="unqualified">
  <xs:element name="notes">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="note" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="to" minOccurs="1" maxOccurs="1" type="xs:string"></xs:element>
              <xs:element name="from" minOccurs="1" maxOccurs="1" type="xs:string"></xs:element>
              <xs:element name="heading" minOccurs="1" maxOccurs="1" type="xs:string"></xs:element>
              <xs:element name="body" minOccurs="1" maxOccurs="1" type="xs:string"></xs:element>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>"#;

    fn ok(schema: &Schema, doc: &str) -> R<()> {
        schema.validate(doc.as_bytes(), &Budget::unlimited())
    }

    #[test]
    fn mockservers_documented_schema() {
        let s = compile(NOTES).unwrap();
        let note = "<note><to>Bob</to><from>Bill</from><heading>Reminder</heading><body>Buy milk</body></note>";
        assert!(ok(&s, &format!("<notes>{note}{note}</notes>")).is_ok());
        let e = ok(
            &s,
            "<notes><note><to>Bob</to><from>Bill</from><body>x</body></note></notes>",
        )
        .unwrap_err();
        assert!(e.contains("heading"), "{e}");
        assert!(ok(&s, "<notes></notes>").unwrap_err().contains("note"));
        assert!(ok(&s, "<other/>").unwrap_err().contains("global element"));
        assert!(ok(&s, "not xml").is_err());
        assert!(
            ok(&s, &format!("<notes>{note}<extra/></notes>"))
                .unwrap_err()
                .contains("extra")
        );
    }

    #[test]
    fn simple_types_facets_and_attributes() {
        let s = compile(r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{3}"/></xs:restriction></xs:simpleType>
          <xs:simpleType name="Qty"><xs:restriction base="xs:int"><xs:minInclusive value="1"/><xs:maxExclusive value="100"/></xs:restriction></xs:simpleType>
          <xs:element name="order">
            <xs:complexType>
              <xs:choice>
                <xs:element name="item" maxOccurs="3">
                  <xs:complexType>
                    <xs:simpleContent><xs:extension base="Qty"><xs:attribute name="code" type="Code" use="required"/></xs:extension></xs:simpleContent>
                  </xs:complexType>
                </xs:element>
                <xs:element name="none" type="xs:boolean"/>
              </xs:choice>
              <xs:attribute name="on" type="xs:date"/>
            </xs:complexType>
          </xs:element>
        </xs:schema>"#).unwrap();
        assert!(ok(&s, r#"<order on="2024-02-29"><item code="ABC">5</item><item code="XYZ">99</item></order>"#).is_ok());
        assert!(ok(&s, "<order><none>true</none></order>").is_ok());
        for (doc, why) in [
            (r#"<order><item code="abc">5</item></order>"#, "pattern"),
            (r#"<order><item code="ABC">100</item></order>"#, "range"),
            (r#"<order><item>5</item></order>"#, "required"),
            (r#"<order on="yesterday"><none>1</none></order>"#, "date"),
            (r#"<order><none>yes</none></order>"#, "boolean"),
        ] {
            let e = ok(&s, doc).unwrap_err();
            assert!(e.contains(why), "{doc}: {e}");
        }
        let four = r#"<item code="ABC">1</item>"#.repeat(4);
        assert!(ok(&s, &format!("<order>{four}</order>")).is_err());
    }

    #[test]
    fn named_types_extension_all_and_namespaces() {
        let s = compile(r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">
          <xs:complexType name="Base"><xs:sequence><xs:element name="id" type="xs:long"/></xs:sequence></xs:complexType>
          <xs:complexType name="User"><xs:complexContent><xs:extension base="t:Base">
            <xs:all><xs:element name="name" type="xs:string"/><xs:element name="age" type="xs:nonNegativeInteger" minOccurs="0"/></xs:all>
          </xs:extension></xs:complexContent></xs:complexType>
          <xs:element name="user" type="t:User"/>
        </xs:schema>"#).unwrap();
        assert!(
            ok(
                &s,
                r#"<user xmlns="urn:t"><id>7</id><age>3</age><name>a</name></user>"#
            )
            .is_ok()
        );
        assert!(ok(&s, r#"<user xmlns="urn:t"><id>7</id><name>a</name></user>"#).is_ok());
        assert!(
            ok(
                &s,
                r#"<user xmlns="urn:t"><id>7</id><age>-3</age><name>a</name></user>"#
            )
            .is_err()
        );
        assert!(
            ok(&s, r#"<user><id>7</id><name>a</name></user>"#)
                .unwrap_err()
                .contains("namespace")
        );
        assert!(ok(&s, r#"<user xmlns="urn:t"><name>a</name></user>"#).is_err());
    }

    #[test]
    fn what_is_not_supported_is_refused_by_name() {
        for (schema, word) in [
            (
                r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="x"/><xs:element name="a"/></xs:schema>"#,
                "import",
            ),
            (
                r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="Missing"/></xs:schema>"#,
                "Missing",
            ),
            (
                r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a"><xs:complexType><xs:group ref="g"/></xs:complexType></xs:element></xs:schema>"#,
                "group",
            ),
            ("<schema/>", "xs:schema"),
            ("not xml", "well-formed"),
        ] {
            let e = compile(schema).unwrap_err();
            assert!(e.contains(word), "{schema}: {e}");
        }
    }

    #[test]
    fn validation_is_bounded() {
        let s = compile(NOTES).unwrap();
        let note = "<note><to>Bob</to><from>Bill</from><heading>Reminder</heading><body>Buy milk</body></note>";
        let doc = format!("<notes>{}</notes>", note.repeat(2000));
        let e = s.validate(doc.as_bytes(), &Budget::new(5_000)).unwrap_err();
        assert!(e.contains("budget") || e.contains("XML"), "{e}");
    }
}
