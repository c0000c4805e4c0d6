//! Rules for slugs: the names that appear in URLs.

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlugError(pub String);

impl std::fmt::Display for SlugError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Accepts 1 to 63 characters of lowercase ASCII letters, digits and `-`, not starting or
/// ending with `-`.
///
/// ```
/// assert!(standin_model::validate_slug("payments-v2").is_ok());
/// assert!(standin_model::validate_slug("Payments").is_err());
/// ```
pub fn validate_slug(slug: &str) -> Result<(), SlugError> {
    if slug.is_empty() || slug.len() > 63 {
        return Err(SlugError("must be 1 to 63 characters long".into()));
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(SlugError(
            "may contain only lowercase letters, digits and '-'".into(),
        ));
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return Err(SlugError("must not start or end with '-'".into()));
    }
    Ok(())
}
