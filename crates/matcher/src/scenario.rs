//! Scenarios: named state machines of a service, as WireMock has them. A route in a
//! scenario matches only while the scenario is in its required state, and moves it to
//! its new state when it answers.
//!
//! The states a scenario can be in are the names its routes mention (and `Started`),
//! numbered when the service is compiled; the current state is one atomic number, so the
//! serving path moves it with a compare-and-swap, takes no lock, and under concurrent
//! requests each transition happens exactly once: of two requests racing from `Started`
//! to `Paid`, one wins the swap and the other no longer matches that route.

use standin_model::{SCENARIO_START, ScenarioStep};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// One scenario's states and where it is.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    /// Index 0 is `Started`.
    states: Vec<String>,
    current: AtomicU32,
}

impl Scenario {
    fn new(name: &str, states: Vec<String>) -> Self {
        Scenario {
            name: name.to_string(),
            states,
            current: AtomicU32::new(0),
        }
    }

    /// The current state's name.
    pub fn state(&self) -> &str {
        &self.states[self.current.load(Ordering::Acquire) as usize]
    }

    /// Every state the scenario's routes mention, `Started` first.
    pub fn states(&self) -> &[String] {
        &self.states
    }

    fn index(&self, state: &str) -> Option<u32> {
        self.states
            .iter()
            .position(|s| s == state)
            .map(|i| i as u32)
    }

    /// Moves to `state`; `false` when no route of the scenario mentions it.
    pub fn set(&self, state: &str) -> bool {
        match self.index(state) {
            Some(i) => {
                self.current.store(i, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Back to `Started`.
    pub fn reset(&self) {
        self.current.store(0, Ordering::Release);
    }
}

/// A route's step, bound to its scenario.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    scenario: Arc<Scenario>,
    required: Option<u32>,
    new: Option<u32>,
}

impl Binding {
    /// Takes the step: checks the required state and moves to the new one, as one atomic
    /// step. `false` when the scenario is in another state.
    pub(crate) fn enter(&self) -> bool {
        let current = &self.scenario.current;
        match (self.required, self.new) {
            (Some(r), Some(n)) => current
                .compare_exchange(r, n, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            (Some(r), None) => current.load(Ordering::Acquire) == r,
            (None, Some(n)) => {
                current.store(n, Ordering::Release);
                true
            }
            (None, None) => true,
        }
    }

    /// Undoes [`Binding::enter`] when the route could not be used after all (its `times`
    /// ran out in between), if nothing moved the scenario since.
    pub(crate) fn undo(&self) {
        if let (Some(r), Some(n)) = (self.required, self.new) {
            let _ =
                self.scenario
                    .current
                    .compare_exchange(n, r, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// Why the route does not match now, for near misses.
    pub(crate) fn mismatch(&self) -> Option<String> {
        let r = self.required?;
        let now = self.scenario.current.load(Ordering::Acquire);
        (now != r).then(|| {
            format!(
                "scenario \"{}\" is in state \"{}\", the route needs \"{}\"",
                self.scenario.name,
                self.scenario.states[now as usize],
                self.scenario.states[r as usize]
            )
        })
    }
}

/// The scenarios of one service, by name.
#[derive(Debug, Default)]
pub struct Scenarios {
    by_name: BTreeMap<String, Arc<Scenario>>,
}

impl Scenarios {
    /// Builds the scenarios the routes' steps name, and binds each step.
    pub(crate) fn build<'a>(
        steps: impl Iterator<Item = Option<&'a ScenarioStep>> + Clone,
    ) -> (Self, Vec<Option<Binding>>) {
        let mut states: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for step in steps.clone().flatten() {
            let names = states
                .entry(step.name.as_str())
                .or_insert_with(|| vec![SCENARIO_START.to_string()]);
            for s in [&step.required_state, &step.new_state]
                .into_iter()
                .flatten()
            {
                if !names.contains(s) {
                    names.push(s.clone());
                }
            }
        }
        let by_name: BTreeMap<String, Arc<Scenario>> = states
            .into_iter()
            .map(|(name, states)| (name.to_string(), Arc::new(Scenario::new(name, states))))
            .collect();
        let bindings = steps
            .map(|step| {
                let step = step?;
                let scenario = by_name.get(&step.name)?.clone();
                let required = step
                    .required_state
                    .as_deref()
                    .and_then(|s| scenario.index(s));
                let new = step.new_state.as_deref().and_then(|s| scenario.index(s));
                Some(Binding {
                    scenario,
                    required,
                    new,
                })
            })
            .collect();
        (Scenarios { by_name }, bindings)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Scenario>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Scenario>> {
        self.by_name.values()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Takes over the states of `previous` (the same service before a change). A scenario
    /// whose states are unchanged is the same object afterwards, so a request racing the
    /// publication moves the one state both tables share; one whose states changed starts
    /// in the state it was in, when that state still exists. With `share` false (a
    /// preview), states are copied, never shared.
    pub(crate) fn carry(
        &mut self,
        previous: &Scenarios,
        bindings: &mut [Option<Binding>],
        share: bool,
    ) {
        for (name, scenario) in self.by_name.iter_mut() {
            let Some(old) = previous.by_name.get(name) else {
                continue;
            };
            if share && old.states == scenario.states {
                *scenario = old.clone();
            } else {
                scenario.set(old.state());
            }
        }
        for b in bindings.iter_mut().flatten() {
            if let Some(s) = self.by_name.get(&b.scenario.name) {
                b.scenario = s.clone();
            }
        }
    }
}
