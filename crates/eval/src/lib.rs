//! Bounded evaluation shared by matching and templates.
//!
//! Everything here runs on the serving path and can cost more than the request's size:
//! so everything spends from the request's [`Budget`] and stops when it runs out. It holds
//! the request context that conditions and templates read ([`Request`], built once per
//! request), the one parser of each part of a request ([`parse`]), JSON comparisons and
//! work bounds ([`json`]), the XML tree and our XPath 1.0 engine ([`xml`]), and the
//! bipartite pairing of unordered lists ([`pairing`]). It knows `http` types and nothing
//! of routes, servers or stores.
//!
//! ```
//! use standin_eval::{Budget, Request};
//! let headers = http::HeaderMap::new();
//! let req = Request::new("GET", "/users/7", Some("a=1"), &headers, b"")
//!     .with_budget(Budget::new(1_000));
//! assert_eq!(req.query_values("a"), ["1"]);
//! assert_eq!(req.segments().len(), 2);
//! ```

mod budget;
pub mod json;
pub mod lenient;
pub mod pairing;
pub mod parse;
mod request;
pub mod xml;

pub use budget::{Budget, Exhausted};
pub use request::{DEFAULT_FUEL, KeyKind, PathValues, Request};
