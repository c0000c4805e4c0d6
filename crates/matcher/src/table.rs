//! Every published service, found by host or by the longest base-path prefix.

use crate::{CompiledService, TableError};
use std::collections::HashMap;
use std::sync::Arc;

/// Every published service, found by host or by the longest base-path prefix.
#[derive(Debug, Default)]
pub struct RouteTable {
    services: Vec<Arc<CompiledService>>,
    by_base: HashMap<String, u32>,
    by_host: HashMap<String, u32>,
    max_depth: usize,
}

impl RouteTable {
    pub fn new(services: Vec<Arc<CompiledService>>) -> Result<Self, TableError> {
        let mut by_base = HashMap::new();
        let mut by_host = HashMap::new();
        let mut max_depth = 0;
        let name = |s: &CompiledService| format!("{}/{}", s.info.team, s.info.slug);
        for (i, s) in services.iter().enumerate() {
            if let Some(prev) = by_base.insert(s.info.base_path.clone(), i as u32) {
                return Err(TableError::DuplicateBasePath {
                    base: s.info.base_path.clone(),
                    first: name(&services[prev as usize]),
                    second: name(s),
                });
            }
            for h in &s.info.hosts {
                if let Some(prev) = by_host.insert(h.clone(), i as u32) {
                    return Err(TableError::DuplicateHost {
                        host: h.clone(),
                        first: name(&services[prev as usize]),
                        second: name(s),
                    });
                }
            }
            max_depth = max_depth.max(standin_eval::parse::segments(&s.info.base_path).count());
        }
        Ok(RouteTable {
            services,
            by_base,
            by_host,
            max_depth,
        })
    }

    pub fn services(&self) -> &[Arc<CompiledService>] {
        &self.services
    }

    /// The service for a request and the path relative to its base path. A `Host` listed by
    /// a service wins; otherwise the longest base path that is a whole-segment prefix.
    pub fn resolve<'p>(
        &self,
        host: Option<&str>,
        path: &'p str,
    ) -> Option<(&Arc<CompiledService>, &'p str)> {
        if let Some(h) = host.filter(|_| !self.by_host.is_empty()) {
            let name = h
                .rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(n, _)| n);
            if let Some(&i) = self.by_host.get(&name.to_ascii_lowercase()) {
                return Some((&self.services[i as usize], path));
            }
        }
        // Ends of the first `max_depth` segments, longest first.
        let mut ends = Vec::with_capacity(self.max_depth + 1);
        let mut depth = 0;
        for (pos, b) in path.bytes().enumerate().skip(1) {
            if b == b'/' && pos > 0 && path.as_bytes()[pos - 1] != b'/' {
                depth += 1;
                ends.push(pos);
                if depth >= self.max_depth {
                    break;
                }
            }
        }
        if depth < self.max_depth && path.len() > 1 && !path.ends_with('/') {
            ends.push(path.len());
        }
        for &end in ends.iter().rev() {
            if let Some(&i) = self.by_base.get(&path[..end]) {
                return Some((&self.services[i as usize], &path[end..]));
            }
        }
        self.by_base
            .get("/")
            .map(|&i| (&self.services[i as usize], path))
    }
}
