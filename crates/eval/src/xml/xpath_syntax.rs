//! The compiled form of an XPath 1.0 expression.
//!
//! Operator chains of one precedence level are kept flat (a first operand and a list of
//! further ones) rather than as nested binary nodes, so that a long chain such as
//! `1+1+1+…` costs no recursion when it is evaluated or dropped; only parentheses,
//! predicates and function arguments nest, and the parser bounds those.

/// An XPath expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    /// `a or b or …`, evaluated left to right until one is true.
    Or(Vec<Expr>),
    /// `a and b and …`, evaluated left to right until one is false.
    And(Vec<Expr>),
    /// `a = b != c …` or `a < b >= c …`: each comparison yields a boolean that becomes the
    /// left operand of the next one.
    Compare(Box<Expr>, Vec<(CompareOp, Expr)>),
    /// `a + b - c …` or `a * b div c mod d …`, left to right on numbers.
    Arithmetic(Box<Expr>, Vec<(ArithmeticOp, Expr)>),
    /// One or more unary minus signs in front of an operand; `negate` is false when their
    /// count is even, which still converts the operand to a number.
    Minus {
        negate: bool,
        operand: Box<Expr>,
    },
    /// `a | b | …`: the node-sets merged in document order.
    Union(Vec<Expr>),
    Literal(String),
    Number(f64),
    Call(Function, Vec<Expr>),
    Path(Box<PathExpr>),
}

/// A location path, or a filter expression with predicates and perhaps steps after it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PathExpr {
    pub(super) start: PathStart,
    pub(super) steps: Vec<Step>,
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PathStart {
    /// `/…`: the root node of the document.
    Root,
    /// A relative path: the context node.
    Context,
    /// `(expr)[pred]…`: the node-set the expression yields, filtered by the predicates.
    Filter(Box<Expr>, Vec<Expr>),
}

/// One location step: `axis::test[pred]…`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    pub(super) axis: Axis,
    pub(super) test: NodeTest,
    pub(super) predicates: Vec<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Axis {
    Ancestor,
    AncestorOrSelf,
    Attribute,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Namespace,
    Parent,
    Preceding,
    PrecedingSibling,
    SelfNode,
}

impl Axis {
    /// The axis spelled `name` in `name::`, if there is one.
    pub(super) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfNode,
            _ => return None,
        })
    }

    /// Reverse axes list their nodes nearest first, so proximity positions count
    /// backwards in document order.
    pub(super) fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Ancestor | Axis::AncestorOrSelf | Axis::Preceding | Axis::PrecedingSibling
        )
    }
}

/// What a step keeps of the nodes its axis visits.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum NodeTest {
    /// `*`: any node of the axis's principal type.
    AnyName,
    /// `prefix:*`: any node of the principal type in the prefix's namespace.
    AnyInNamespace(String),
    /// A QName: nodes of the principal type with that expanded name.
    Name {
        prefix: Option<String>,
        local: String,
    },
    /// `node()`
    Node,
    /// `text()`
    Text,
    /// `comment()`
    Comment,
    /// `processing-instruction()` or `processing-instruction('target')`
    ProcessingInstruction(Option<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// The operator that gives the same answer with its operands swapped.
    pub(super) fn mirrored(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }

    pub(super) fn is_equality(self) -> bool {
        matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArithmeticOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

/// The XPath 1.0 core function library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Function {
    Last,
    Position,
    Count,
    Id,
    LocalName,
    NamespaceUri,
    Name,
    String,
    Concat,
    StartsWith,
    Contains,
    SubstringBefore,
    SubstringAfter,
    Substring,
    StringLength,
    NormalizeSpace,
    Translate,
    Boolean,
    Not,
    True,
    False,
    Lang,
    Number,
    Sum,
    Floor,
    Ceiling,
    Round,
}

impl Function {
    /// The core function called `name`, if there is one.
    pub(super) fn from_name(name: &str) -> Option<Function> {
        Some(match name {
            "last" => Function::Last,
            "position" => Function::Position,
            "count" => Function::Count,
            "id" => Function::Id,
            "local-name" => Function::LocalName,
            "namespace-uri" => Function::NamespaceUri,
            "name" => Function::Name,
            "string" => Function::String,
            "concat" => Function::Concat,
            "starts-with" => Function::StartsWith,
            "contains" => Function::Contains,
            "substring-before" => Function::SubstringBefore,
            "substring-after" => Function::SubstringAfter,
            "substring" => Function::Substring,
            "string-length" => Function::StringLength,
            "normalize-space" => Function::NormalizeSpace,
            "translate" => Function::Translate,
            "boolean" => Function::Boolean,
            "not" => Function::Not,
            "true" => Function::True,
            "false" => Function::False,
            "lang" => Function::Lang,
            "number" => Function::Number,
            "sum" => Function::Sum,
            "floor" => Function::Floor,
            "ceiling" => Function::Ceiling,
            "round" => Function::Round,
            _ => return None,
        })
    }

    /// The fewest and the most arguments the function takes (`None`: no upper bound).
    pub(super) fn arity(self) -> (usize, Option<usize>) {
        use Function::*;
        match self {
            Last | Position | True | False => (0, Some(0)),
            Count | Id | Boolean | Not | Lang | Sum | Floor | Ceiling | Round => (1, Some(1)),
            LocalName | NamespaceUri | Name | String | StringLength | NormalizeSpace | Number => {
                (0, Some(1))
            }
            StartsWith | Contains | SubstringBefore | SubstringAfter => (2, Some(2)),
            Substring => (2, Some(3)),
            Translate => (3, Some(3)),
            Concat => (2, None),
        }
    }
}
