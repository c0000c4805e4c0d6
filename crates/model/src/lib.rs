//! standin's definition documents.
//!
//! This crate owns the shapes users write and the store keeps: teams, services, routes,
//! request matchers, responses and change events. They are plain data with serde and
//! OpenAPI schemas; nothing here does IO, compiles a regex or knows a web framework.
//! Compiling definitions into something that can answer requests is `standin-matcher`'s job.
//!
//! A route is protocol-neutral: its common fields (name, memo, priority, times, tags) sit
//! beside exactly one protocol section. Today that is `http`; gRPC and GraphQL sections
//! will sit beside it, and the journal, the history and the UI treat every route alike.
//!
//! ```
//! use standin_model::Route;
//! let route: Route = serde_json::from_str(r#"{
//!     "name": "get user",
//!     "http": {
//!         "request": { "method": "GET", "path": "/users/{id}" },
//!         "response": { "status": 200, "body": { "json": { "id": "{{request.path.id}}" } } }
//!     }
//! }"#).unwrap();
//! assert_eq!(route.priority, 0);
//! assert!(route.enabled);
//! ```

mod event;
mod http;
mod matchers;
mod names;
mod record;
mod route;
mod service;
mod team;

pub use event::{ChangeEvent, ChangeKind, EntityKind};
pub use http::{
    ClientCallback, ContractBody, ContractParameter, Delay, DocumentTemplate, Dribble, Fault,
    Forward, HeaderChanges, HeaderValues, HttpRequestMatcher, HttpResponse, HttpRoute, NamePattern,
    ParameterIn, RequestContract, ResponseBody, ResponseSequence, Rewrite, SequenceMode,
    TemplateEngine,
};
pub use matchers::{BodyMatcher, JsonPathMatcher, PathMatcher, StringMatcher};
pub use names::{SlugError, validate_slug};
pub use record::{Meta, RouteRecord, ServiceRecord, TeamRecord};
pub use route::{Origin, Protocol, Route, SCENARIO_START, ScenarioStep};
pub use service::{
    Breaker, Chaos, ChaosRule, DEFAULT_REDACTED_HEADERS, MatchOrder, NotFound, Recording, Service,
    SyncSource, normalize_base_path,
};
pub use team::Team;
