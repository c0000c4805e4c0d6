//! Compiles route definitions into an immutable table and matches requests against it.
//!
//! Everything a request needs is built here when a table is published: path indexes,
//! compiled regexes, JSONPath expressions, JSON Schema validators and response bytes. A
//! lookup does no compilation and no IO, takes no lock, and looks only at the routes whose
//! path can match (found through a segment trie and one `RegexSet` pass), so its cost does
//! not grow with the number of routes in the service.
//!
//! Selection: among the routes whose every condition holds, the highest `priority` wins;
//! ties go to the more specific path (literal segment > parameter > end of path > any
//! remainder, compared segment by segment; patterns > regexes > `not`/no path), then to
//! the older route (`created_seq`), then to the smaller id.
//!
//! This crate knows `http` types but no server, store or web framework.
//!
//! ```
//! use standin_matcher::{CompiledRoute, CompiledService, Outcome, Request, RouteCounters, ServiceInfo};
//! use std::sync::Arc;
//!
//! let route: standin_model::Route = serde_json::from_str(r#"{"http": {
//!     "request": {"method": "GET", "path": "/users/{id}"},
//!     "response": {"status": 200, "body": {"text": "user {{request.path.id}}"}, "templated": true}
//! }}"#).unwrap();
//! let compiled = CompiledRoute::compile(&route, 1, Arc::new(RouteCounters::default())).unwrap();
//! let info = ServiceInfo::new("t", "s", "/t/s");
//! let service = CompiledService::build(info, vec![Arc::new(compiled)]).unwrap();
//!
//! let headers = http::HeaderMap::new();
//! let req = Request::new("GET", "/users/42", None, &headers, b"");
//! let Outcome::Matched(m) = service.find(&req) else { panic!("no match") };
//! let rendered = m.route.response.render(&req, &m.path_values).unwrap().unwrap();
//! assert_eq!(&rendered.body[..], b"user 42");
//! ```

mod chaos;
mod conditions;
mod contract;
mod error;
mod forward;
mod latency;
mod metrics;
mod path;
mod predicate;
mod response;
mod route;
mod scenario;
mod service;
mod table;
mod upstream;

pub use chaos::{ChaosEffect, CompiledChaos};
pub use conditions::CompiledRequestMatcher;
pub use error::{CompileError, TableError, escape_pointer};
pub use metrics::{
    Histogram, HistogramSnapshot, LATENCY_BUCKETS, RouteMetrics, STATUS_CLASSES, ServiceMetrics,
    StatusCounts,
};
pub use route::{AnswerIndex, CompiledRoute, RouteCounters};
pub use scenario::{Scenario, Scenarios};
pub use service::{CompiledService, Match, NEAR_MISS_LIMIT, NearMiss, Outcome, ServiceInfo};
pub use table::RouteTable;
pub use upstream::{CircuitBreaker, Upstream};

pub use contract::{CompiledContract, Violation};
pub use forward::CompiledForward;
pub use latency::{CompiledDelay, MAX_DELAY_MS, Pacing, next_unit};
pub use response::{CompiledFault, CompiledResponse, RawFraming, RenderFailure, RenderedParts};
pub use standin_eval::{Budget, DEFAULT_FUEL, Exhausted, Request};
pub use standin_template::{RenderedRequest, RenderedResponse, title_case};
