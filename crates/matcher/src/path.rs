//! Path patterns, their specificity, and the segment index that turns a request path into
//! the few routes whose path can match it.

use crate::CompileError;
use regex::Regex;
use standin_eval::parse::{percent_decode, segments};
use std::borrow::Cow;
use std::collections::HashMap;

/// One segment of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Lit(Box<str>),
    /// `{name}` captures the segment; `*` is a capture with no name.
    Param(Option<Box<str>>),
    /// `**` or `{*name}`: the rest of the path, possibly empty. Always last.
    Rest(Option<Box<str>>),
}

/// A compiled path condition.
#[derive(Debug)]
pub(crate) enum CompiledPath {
    /// No condition: every path.
    Any,
    Pattern(Vec<Seg>),
    Regex(PathRegex),
    Not(Box<CompiledPath>),
}

/// A path regex: compiled, or, when it can only ever match one text (up to ASCII case),
/// kept as that text. MockServer's plain paths are case-insensitive regexes of their
/// literal text; thousands of them as regexes cost about 13 KiB each.
#[derive(Debug)]
pub(crate) enum PathRegex {
    Compiled(Regex),
    /// The regex as the user wrote it, and the one text it matches, folded.
    Literal {
        user: Box<str>,
        folded: Box<str>,
    },
}

impl PathRegex {
    pub(crate) fn compile(user: &str, pointer: &str) -> Result<Self, CompileError> {
        // Compiled first, so an invalid regex gets the regex engine's message.
        let compiled = crate::predicate::full_regex(user, pointer)?;
        Ok(match whole_literal(user) {
            Some(folded) => PathRegex::Literal {
                user: user.into(),
                folded: folded.into(),
            },
            None => PathRegex::Compiled(compiled),
        })
    }

    /// The regex as the user wrote it.
    pub(crate) fn user(&self) -> &str {
        match self {
            PathRegex::Compiled(r) => crate::predicate::user_regex(r),
            PathRegex::Literal { user, .. } => user,
        }
    }

    pub(crate) fn is_match(&self, raw: &str) -> bool {
        match self {
            PathRegex::Compiled(r) => r.is_match(raw),
            PathRegex::Literal { folded, .. } => raw.chars().map(fold).eq(folded.chars()),
        }
    }

    fn captures(&self, raw: &str) -> Option<Vec<(Box<str>, String)>> {
        match self {
            PathRegex::Compiled(r) => r.captures(raw).map(|c| {
                r.capture_names()
                    .flatten()
                    .filter_map(|n| c.name(n).map(|m| (Box::from(n), m.as_str().to_string())))
                    .collect()
            }),
            PathRegex::Literal { .. } => self.is_match(raw).then(Vec::new),
        }
    }
}

// Specificity ranks, compared segment by segment: a literal is more specific than a
// parameter, a path that ends is more specific than one that takes any remainder.
const RANK_LIT: u8 = 4;
const RANK_PARAM: u8 = 3;
const RANK_END: u8 = 2;
const RANK_REST: u8 = 1;

impl CompiledPath {
    pub(crate) fn compile(
        m: Option<&standin_model::PathMatcher>,
        pointer: &str,
    ) -> Result<Self, CompileError> {
        use standin_model::PathMatcher as P;
        Ok(match m {
            None => CompiledPath::Any,
            Some(P::Pattern(p)) => CompiledPath::Pattern(parse_pattern(p, pointer)?),
            Some(P::Exact(p)) => CompiledPath::Pattern(
                segments(p)
                    .map(|s| Seg::Lit(percent_decode(s).into()))
                    .collect(),
            ),
            Some(P::Regex(r)) => {
                CompiledPath::Regex(PathRegex::compile(r, &format!("{pointer}/regex"))?)
            }
            Some(P::Not(inner)) => CompiledPath::Not(Box::new(Self::compile(
                Some(inner),
                &format!("{pointer}/not"),
            )?)),
        })
    }

    /// The ordering key among paths that match the same request: greater is more specific.
    pub(crate) fn specificity(&self) -> (u8, Vec<u8>) {
        match self {
            CompiledPath::Pattern(segs) => {
                let mut ranks: Vec<u8> = segs
                    .iter()
                    .map(|s| match s {
                        Seg::Lit(_) => RANK_LIT,
                        Seg::Param(_) => RANK_PARAM,
                        Seg::Rest(_) => RANK_REST,
                    })
                    .collect();
                if !matches!(segs.last(), Some(Seg::Rest(_))) {
                    ranks.push(RANK_END);
                }
                (2, ranks)
            }
            CompiledPath::Regex(_) => (1, Vec::new()),
            CompiledPath::Not(_) | CompiledPath::Any => (0, Vec::new()),
        }
    }

    /// Whether the path (already split into decoded segments) satisfies this condition.
    pub(crate) fn matches(&self, segs: &[Cow<'_, str>], raw: &str) -> bool {
        match self {
            CompiledPath::Any => true,
            CompiledPath::Pattern(p) => pattern_matches(p, segs),
            CompiledPath::Regex(r) => r.is_match(raw),
            CompiledPath::Not(inner) => !inner.matches(segs, raw),
        }
    }

    /// Named values the path yields (for path-value conditions and templates), or `None`
    /// when the path does not fit: a path that does not fit has no values.
    pub(crate) fn captures(
        &self,
        segs: &[Cow<'_, str>],
        raw: &str,
    ) -> Option<Vec<(Box<str>, String)>> {
        match self {
            CompiledPath::Pattern(p) => {
                if !pattern_matches(p, segs) {
                    return None;
                }
                let mut out = Vec::new();
                for (s, i) in p.iter().zip(0..) {
                    match s {
                        Seg::Param(Some(name)) => {
                            out.push((name.clone(), segs.get(i)?.to_string()))
                        }
                        Seg::Rest(Some(name)) => out.push((name.clone(), segs.get(i..)?.join("/"))),
                        _ => {}
                    }
                }
                Some(out)
            }
            CompiledPath::Regex(r) => r.captures(raw),
            CompiledPath::Not(inner) => (!inner.matches(segs, raw)).then(Vec::new),
            CompiledPath::Any => Some(Vec::new()),
        }
    }

    /// How the condition reads in a near-miss report.
    pub(crate) fn describe(&self) -> String {
        match self {
            CompiledPath::Any => "any path".into(),
            CompiledPath::Pattern(p) => format!("path pattern \"{}\"", render(p)),
            CompiledPath::Regex(r) => format!("path regex \"{}\"", r.user()),
            CompiledPath::Not(inner) => format!("not {}", inner.describe()),
        }
    }
}

fn render(p: &[Seg]) -> String {
    if p.is_empty() {
        return "/".into();
    }
    p.iter()
        .map(|s| match s {
            Seg::Lit(l) => format!("/{l}"),
            Seg::Param(Some(n)) => format!("/{{{n}}}"),
            Seg::Param(None) => "/*".into(),
            Seg::Rest(Some(n)) => format!("/{{*{n}}}"),
            Seg::Rest(None) => "/**".into(),
        })
        .collect()
}

fn pattern_matches(p: &[Seg], segs: &[Cow<'_, str>]) -> bool {
    for (i, s) in p.iter().enumerate() {
        match s {
            Seg::Rest(_) => return true,
            Seg::Lit(l) => {
                if segs.get(i).map(|x| x.as_ref()) != Some(l.as_ref()) {
                    return false;
                }
            }
            Seg::Param(_) => {
                if i >= segs.len() {
                    return false;
                }
            }
        }
    }
    p.len() == segs.len()
}

/// Regex paths, indexed by the literal text each requires at the start of the path, so
/// that finding the candidates for a request does not look at every regex. A MockServer
/// expectation's plain path is the case-insensitive regex of its literal text, so with
/// thousands of expectations this turns a scan into one or two hash lookups. Keys and the
/// request path are case-folded alike; the candidates are then checked with their regex,
/// so the index only ever narrows the search.
#[derive(Debug, Default)]
pub(crate) struct RegexIndex {
    by_prefix: HashMap<Box<str>, Vec<u32>>,
    /// The distinct key lengths (bytes of the folded text), ascending.
    lengths: Vec<usize>,
    /// Regexes with no literal prefix, checked by one `RegexSet` pass.
    unindexed: Vec<u32>,
    unindexed_set: Option<regex::RegexSet>,
}

impl RegexIndex {
    /// `routes` are (route index, the regex as the user wrote it).
    pub(crate) fn build(routes: &[(u32, &str)]) -> Result<Self, regex::Error> {
        let mut index = RegexIndex::default();
        let mut loose = Vec::new();
        for &(route, user) in routes {
            match required_prefix(user) {
                Some(prefix) if !prefix.is_empty() => {
                    index.lengths.push(prefix.len());
                    index
                        .by_prefix
                        .entry(prefix.into())
                        .or_default()
                        .push(route);
                }
                _ => {
                    index.unindexed.push(route);
                    loose.push(format!("^(?:{user})$"));
                }
            }
        }
        index.lengths.sort_unstable();
        index.lengths.dedup();
        if !loose.is_empty() {
            index.unindexed_set = Some(regex::RegexSet::new(&loose)?);
        }
        Ok(index)
    }

    /// Appends the routes whose regex may match `raw` (the path as received).
    pub(crate) fn collect(&self, raw: &str, out: &mut Vec<u32>) {
        if !self.lengths.is_empty() {
            let folded: String = raw.chars().map(fold).collect();
            for &len in &self.lengths {
                let Some(prefix) = folded.get(..len) else {
                    break;
                };
                if let Some(routes) = self.by_prefix.get(prefix) {
                    out.extend_from_slice(routes);
                }
            }
        }
        if let Some(set) = &self.unindexed_set {
            out.extend(set.matches(raw).iter().map(|i| self.unindexed[i]));
        }
    }
}

/// Case folding as `(?i)` matches ASCII letters: lower case, with the two non-ASCII
/// characters whose simple case folding is an ASCII letter.
pub(crate) fn fold(c: char) -> char {
    match c {
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

/// The folded literal text every match of `user` (anchored at both ends) starts with, or
/// `None` when the regex does not parse.
pub(crate) fn required_prefix(user: &str) -> Option<String> {
    use regex_syntax::hir::{Class, HirKind, Look};
    let hir = regex_syntax::Parser::new().parse(user).ok()?;
    let parts: Vec<&regex_syntax::hir::Hir> = match hir.kind() {
        HirKind::Concat(parts) => parts.iter().collect(),
        _ => vec![&hir],
    };
    let mut prefix = String::new();
    for part in parts {
        match part.kind() {
            HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF) if prefix.is_empty() => {}
            HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
                Ok(text) => prefix.extend(text.chars().map(fold)),
                Err(_) => break,
            },
            // A class all of whose members fold to one character: a case-insensitive
            // letter such as `[Aa]` (or `[Kk\u{212A}]`).
            HirKind::Class(Class::Unicode(class)) => {
                let mut members = class
                    .ranges()
                    .iter()
                    .flat_map(|r| (r.start()..=r.end()).take(4))
                    .map(fold);
                let Some(first) = members.next() else { break };
                let spans = class.ranges().iter().map(|r| r.len()).sum::<usize>();
                if spans > 4 || !members.all(|m| m == first) {
                    break;
                }
                prefix.push(first);
            }
            _ => break,
        }
    }
    Some(prefix)
}

/// The one text (folded) that `user`, anchored at both ends, matches up to case, or `None`
/// when it can match anything else. Letters count only as case-insensitive classes that
/// hold exactly what folds to them (`(?i)a` is `[Aa]`, `(?i)k` is `[Kk\u{212A}]`), so that
/// comparing folded texts is exactly what the regex would do; a case-sensitive letter,
/// any other class, a repetition or a group keeps the regex.
pub(crate) fn whole_literal(user: &str) -> Option<String> {
    use regex_syntax::hir::{Class, HirKind, Look};
    let hir = regex_syntax::Parser::new().parse(user).ok()?;
    let parts: Vec<&regex_syntax::hir::Hir> = match hir.kind() {
        HirKind::Concat(parts) => parts.iter().collect(),
        _ => vec![&hir],
    };
    let last = parts.len().saturating_sub(1);
    let mut text = String::new();
    for (i, part) in parts.iter().enumerate() {
        match part.kind() {
            HirKind::Look(Look::Start) if i == 0 => {}
            HirKind::Look(Look::End) if i == last => {}
            HirKind::Literal(lit) => {
                let chars = std::str::from_utf8(&lit.0).ok()?;
                // A letter written here is case-sensitive: folding would widen it.
                if chars
                    .chars()
                    .any(|c| fold(c) != c || c.is_ascii_lowercase())
                {
                    return None;
                }
                text.push_str(chars);
            }
            HirKind::Class(Class::Unicode(class)) => {
                let members: Vec<char> = class
                    .ranges()
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .take(4)
                    .collect();
                let first = fold(*members.first()?);
                if !first.is_ascii_lowercase() || members != folds_to(first) {
                    return None;
                }
                text.push(first);
            }
            _ => return None,
        }
    }
    Some(text)
}

/// Every character that [`fold`] maps to the ASCII letter `c`, in order.
fn folds_to(c: char) -> Vec<char> {
    let mut all = vec![c.to_ascii_uppercase(), c];
    match c {
        's' => all.push('\u{17F}'),
        'k' => all.push('\u{212A}'),
        _ => {}
    }
    all
}

fn parse_pattern(p: &str, pointer: &str) -> Result<Vec<Seg>, CompileError> {
    let parts: Vec<&str> = segments(p).collect();
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let seg = if *part == "**" {
            Seg::Rest(None)
        } else if *part == "*" {
            Seg::Param(None)
        } else if let Some(inner) = part.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            if let Some(rest) = inner.strip_prefix('*') {
                Seg::Rest(Some(param_name(rest, p, pointer)?))
            } else {
                Seg::Param(Some(param_name(inner, p, pointer)?))
            }
        } else if part.contains('{') || part.contains('}') {
            return Err(CompileError::new(
                pointer,
                format!(
                    "path pattern \"{p}\": segment \"{part}\" mixes text and a parameter; a parameter must be a whole segment, or use a regex"
                ),
            ));
        } else {
            Seg::Lit(percent_decode(part).into())
        };
        if matches!(seg, Seg::Rest(_)) && !last {
            return Err(CompileError::new(
                pointer,
                format!(
                    "path pattern \"{p}\": \"{part}\" takes the rest of the path and must be the last segment"
                ),
            ));
        }
        out.push(seg);
    }
    Ok(out)
}

fn param_name(name: &str, p: &str, pointer: &str) -> Result<Box<str>, CompileError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(name.into())
    } else {
        Err(CompileError::new(
            pointer,
            format!(
                "path pattern \"{p}\": parameter name \"{name}\" must be letters, digits, '_', '-' or '.'"
            ),
        ))
    }
}

/// A trie over path segments. Each route with a pattern path is stored at the node its
/// pattern ends in; lookups collect every route whose pattern matches, whatever its other
/// conditions, so that a failing header on a literal route can fall back to a parameter route.
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    statics: HashMap<Box<str>, PathIndex>,
    param: Option<Box<PathIndex>>,
    /// Routes whose pattern ends exactly here.
    here: Vec<u32>,
    /// Routes whose pattern takes any remainder from here on.
    rest: Vec<u32>,
}

impl PathIndex {
    pub(crate) fn insert(&mut self, pattern: &[Seg], route: u32) {
        let mut node = self;
        for seg in pattern {
            node = match seg {
                Seg::Lit(l) => node.statics.entry(l.clone()).or_default(),
                Seg::Param(_) => node.param.get_or_insert_with(Default::default),
                Seg::Rest(_) => {
                    node.rest.push(route);
                    return;
                }
            };
        }
        node.here.push(route);
    }

    /// Appends every route whose pattern matches `segs` to `out`.
    pub(crate) fn collect(&self, segs: &[Cow<'_, str>], out: &mut Vec<u32>) {
        out.extend_from_slice(&self.rest);
        match segs.split_first() {
            None => out.extend_from_slice(&self.here),
            Some((first, tail)) => {
                if let Some(child) = self.statics.get(first.as_ref()) {
                    child.collect(tail, out);
                }
                if let Some(child) = &self.param {
                    child.collect(tail, out);
                }
            }
        }
    }

    /// For near-miss reports when no pattern matched: follows the request's segments as far
    /// as the trie allows and returns up to `limit` routes stored at or below that point.
    pub(crate) fn closest(&self, segs: &[Cow<'_, str>], limit: usize, out: &mut Vec<u32>) {
        let mut node = self;
        for seg in segs {
            match node.statics.get(seg.as_ref()).or(node.param.as_deref()) {
                Some(child) => node = child,
                None => break,
            }
        }
        node.gather(limit, out);
    }

    fn gather(&self, limit: usize, out: &mut Vec<u32>) {
        for r in self.here.iter().chain(&self.rest) {
            if out.len() >= limit {
                return;
            }
            out.push(*r);
        }
        for child in self.statics.values().chain(self.param.as_deref()) {
            if out.len() >= limit {
                return;
            }
            child.gather(limit, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use standin_eval::parse::decoded_segments;

    fn pat(p: &str) -> Vec<Seg> {
        parse_pattern(p, "").unwrap()
    }

    #[test]
    fn rest_must_be_last() {
        assert!(parse_pattern("/a/**/b", "/p").is_err());
        assert!(parse_pattern("/a/{x}.json", "/p").is_err());
    }

    #[test]
    fn literal_outranks_param_and_end_outranks_rest() {
        let lit = CompiledPath::Pattern(pat("/users/me")).specificity();
        let param = CompiledPath::Pattern(pat("/users/{id}")).specificity();
        let rest = CompiledPath::Pattern(pat("/users/**")).specificity();
        assert!(lit > param && param > rest);
        let exact_prefix = CompiledPath::Pattern(pat("/a/b")).specificity();
        let rest_prefix = CompiledPath::Pattern(pat("/a/b/**")).specificity();
        assert!(exact_prefix > rest_prefix);
    }

    #[test]
    fn regexes_of_one_text_are_kept_as_text_and_match_exactly_as_the_regex() {
        let literal = [
            "(?i)/api/item/12",
            "(?i)/api/v1\\.json",
            "/1-2",
            "(?is)/Orders/7",
            "(?i)^/x-y_z$",
            "(?i)/kiss",
        ];
        let regex = [
            "/api/item/[0-9]+",
            "/api/v1\\.json",
            "/Api",
            "(?i)/caf\u{e9}",
            "(?i)/a(b)",
            "/a|/b",
            "[Aa]/x",
            "(?i)/item/.*",
        ];
        for user in literal {
            assert!(whole_literal(user).is_some(), "{user} is one text");
        }
        for user in regex {
            assert!(whole_literal(user).is_none(), "{user} is a regex");
        }
        let paths = [
            "/api/item/12",
            "/API/Item/12",
            "/api/item/123",
            "/api/v1.json",
            "/api/v1xjson",
            "/orders/7",
            "/ORDERS/7",
            "/x-y_z",
            "/KISS",
            "/\u{212A}i\u{17F}\u{17F}",
            "/ki\u{17F}",
            "",
            "/",
        ];
        for user in literal {
            let fast = PathRegex::compile(user, "").unwrap();
            assert!(matches!(fast, PathRegex::Literal { .. }), "{user}");
            assert_eq!(fast.user(), user);
            let slow = crate::predicate::full_regex(user, "").unwrap();
            for path in paths {
                assert_eq!(
                    fast.is_match(path),
                    slow.is_match(path),
                    "{user} against {path:?}"
                );
            }
        }
    }

    #[test]
    fn regex_prefixes_are_the_required_literal_text_folded() {
        assert_eq!(
            required_prefix("(?i)/api/item/9999").unwrap(),
            "/api/item/9999"
        );
        assert_eq!(required_prefix("(?i)/Tasks/\\d+").unwrap(), "/tasks/");
        assert_eq!(
            required_prefix("/orders/(?P<n>[0-9]+)").unwrap(),
            "/orders/"
        );
        assert_eq!(required_prefix("^/a.*").unwrap(), "/a");
        assert_eq!(required_prefix("(?is)/api/.*").unwrap(), "/api/");
        assert_eq!(
            required_prefix("/a|/b").unwrap(),
            "",
            "alternatives share no prefix"
        );
        assert_eq!(
            required_prefix("/ab?").unwrap(),
            "/a",
            "an optional letter ends it"
        );
        assert_eq!(required_prefix(".*x").unwrap(), "");
    }

    #[test]
    fn the_regex_index_finds_candidates_by_prefix_case_folded() {
        let routes = [
            (0, "(?i)/api/item/1"),
            (1, "(?i)/api/item/12"),
            (2, "/orders/(?P<n>[0-9]+)"),
            (3, ".*anything"),
        ];
        let index = RegexIndex::build(&routes).unwrap();
        let found = |path: &str| {
            let mut out = Vec::new();
            index.collect(path, &mut out);
            out.sort();
            out
        };
        assert_eq!(
            found("/API/Item/12"),
            [0, 1],
            "both prefixes fit; the regex decides"
        );
        assert_eq!(found("/orders/5"), [2]);
        assert_eq!(found("/x/anything"), [3]);
        assert_eq!(found("/other"), Vec::<u32>::new());
        assert_eq!(found("/\u{17F}"), Vec::<u32>::new());
    }

    #[test]
    fn index_collects_all_matching_patterns() {
        let mut idx = PathIndex::default();
        idx.insert(&pat("/users/me"), 0);
        idx.insert(&pat("/users/{id}"), 1);
        idx.insert(&pat("/users/**"), 2);
        idx.insert(&pat("/other"), 3);
        let mut out = Vec::new();
        idx.collect(&decoded_segments("/users/me"), &mut out);
        out.sort();
        assert_eq!(out, vec![0, 1, 2]);
        out.clear();
        idx.collect(&decoded_segments("/users"), &mut out);
        assert_eq!(out, vec![2]);
    }
}
