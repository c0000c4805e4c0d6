//! OpenAPI path templates to standin path conditions.

use standin_model::PathMatcher;

/// `/pets/{petId}` stays a pattern; a template whose parameter shares a segment with
/// text (`/files/{name}.{ext}`, `/users/{id}:activate`), or whose text would read as a
/// wildcard, becomes a regex with one named group per parameter.
pub(crate) fn matcher(template: &str) -> PathMatcher {
    let whole_segments = template.split('/').all(|seg| {
        if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            valid_name(inner)
        } else {
            !seg.contains(['{', '}', '*'])
        }
    });
    if whole_segments {
        PathMatcher::Pattern(template.to_string())
    } else {
        PathMatcher::Regex(regex(template))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('*')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn regex(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    let mut used = std::collections::HashSet::new();
    while let Some(open) = rest.find('{') {
        out.push_str(&regex_syntax::escape(&rest[..open]));
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&regex_syntax::escape(&rest[open..]));
            rest = "";
            break;
        };
        let name = group_name(&rest[open + 1..open + close]);
        if used.insert(name.clone()) {
            out.push_str(&format!("(?P<{name}>[^/]+)"));
        } else {
            out.push_str("[^/]+");
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&regex_syntax::escape(rest));
    out
}

/// A regex group name: letters, digits and `_`, not starting with a digit.
pub(crate) fn group_name(name: &str) -> String {
    let mut g: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if g.is_empty() || g.starts_with(|c: char| c.is_ascii_digit()) {
        g.insert(0, 'p');
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_segment_parameters_stay_patterns() {
        assert_eq!(
            matcher("/pets/{petId}"),
            PathMatcher::Pattern("/pets/{petId}".into())
        );
        assert_eq!(matcher("/"), PathMatcher::Pattern("/".into()));
    }

    #[test]
    fn parameters_inside_a_segment_become_named_groups() {
        assert_eq!(
            matcher("/files/{name}.{ext}"),
            PathMatcher::Regex(r"/files/(?P<name>[^/]+)\.(?P<ext>[^/]+)".into())
        );
        assert_eq!(
            matcher("/users/{user-id}:activate"),
            PathMatcher::Regex(r"/users/(?P<user_id>[^/]+):activate".into())
        );
    }

    #[test]
    fn a_literal_star_is_not_a_wildcard() {
        assert_eq!(matcher("/a/*"), PathMatcher::Regex(r"/a/\*".into()));
    }
}
