//! The contract every [`Store`] keeps, written once and run against each implementation.
//!
//! Each case is a generic async function over an [`Opener`], which opens a store of one
//! kind on a directory; opening the same directory again must find what was committed
//! there, so reopening is part of the contract. [`contract!`] instantiates every case as a
//! `#[tokio::test]` for one kind of store. SQLite runs it below; the PostgreSQL store will
//! add one `contract!` line with an opener of its own, so nothing in the cases may depend
//! on how a store keeps its data.
//!
//! Faults that need a particular engine to provoke them (a full disk, a busy database, a
//! row planted behind the store's back) stay with that engine's own tests.

use serde_json::{Value, json};
use standin_model::{ChangeEvent, ChangeKind, EntityKind};
use standin_store::{Batch, Change, EventFilter, SqliteStore, Store, UsageRow};
use std::future::Future;
use std::path::Path;

/// Opens a store of one kind whose data lives in (or is named after) `dir`.
trait Opener {
    type Store: Store;
    fn open(&self, dir: &Path) -> impl Future<Output = Self::Store>;
}

struct Sqlite;

impl Opener for Sqlite {
    type Store = SqliteStore;
    async fn open(&self, dir: &Path) -> SqliteStore {
        SqliteStore::open(dir).await.expect("open the SQLite store")
    }
}

/// Instantiates every contract case as a test, in a module named after the store.
macro_rules! contract {
    (@cases $opener:expr; $($case:ident,)*) => {
        $(
            #[tokio::test]
            async fn $case() {
                super::$case(&$opener).await;
            }
        )*
    };
    ($module:ident, $opener:expr) => {
        mod $module {
            contract!(@cases $opener;
                a_new_store_is_empty,
                commits_survive_reopen_with_their_events,
                key_prefix_filters_by_whole_segments,
                events_come_newest_first_and_seq_is_never_reused,
                a_batch_shares_its_id_actor_and_time,
                an_update_keeps_the_previous_after_as_its_before,
                after_seq_and_before_seq_page_through_the_events,
                limit_caps_the_events_keeping_the_newest,
                the_entity_filter_keeps_one_kind,
                usage_adds_up_per_day_and_service_and_survives_reopen,
            );
        }
    };
}

contract!(sqlite, super::Sqlite);

// ---------------------------------------------------------------------------------------
// Building batches
// ---------------------------------------------------------------------------------------

fn batch(changes: Vec<Change>) -> Batch {
    Batch {
        actor: "tester".into(),
        at: "2026-11-22T00:00:00Z".into(),
        id: "b1".into(),
        changes,
    }
}

/// A batch with its own id, actor and time, to tell batches apart.
fn batch_by(id: &str, actor: &str, at: &str, changes: Vec<Change>) -> Batch {
    Batch {
        actor: actor.into(),
        at: at.into(),
        id: id.into(),
        changes,
    }
}

fn put(key: &str, doc: Value) -> Change {
    create(EntityKind::Team, key, doc)
}

fn create(entity: EntityKind, key: &str, doc: Value) -> Change {
    Change {
        kind: ChangeKind::Create,
        entity,
        key: key.into(),
        before: None,
        after: Some(doc),
    }
}

fn update(key: &str, before: Value, after: Value) -> Change {
    Change {
        kind: ChangeKind::Update,
        entity: EntityKind::Team,
        key: key.into(),
        before: Some(before),
        after: Some(after),
    }
}

fn delete(key: &str, before: Value) -> Change {
    Change {
        kind: ChangeKind::Delete,
        entity: EntityKind::Team,
        key: key.into(),
        before: Some(before),
        after: None,
    }
}

/// Every event, newest first (far more than any case commits).
async fn all_events(store: &impl Store) -> Vec<ChangeEvent> {
    events(store, EventFilter::default()).await
}

/// The events `filter` selects; a limit of 0 in `filter` is read as "no limit" here, so
/// cases that do not test the limit need not give one.
async fn events(store: &impl Store, mut filter: EventFilter) -> Vec<ChangeEvent> {
    if filter.limit == 0 {
        filter.limit = 10_000;
    }
    store.events(filter).await.expect("read events")
}

fn seqs(events: &[ChangeEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn keys(events: Vec<ChangeEvent>) -> Vec<String> {
    events.into_iter().map(|e| e.key).collect()
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

async fn a_new_store_is_empty(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    let snap = store.load().await.unwrap();
    assert!(snap.documents.is_empty(), "{:?}", snap.documents);
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
    assert_eq!(snap.last_seq, 0);
    assert!(all_events(&store).await.is_empty());
}

async fn commits_survive_reopen_with_their_events(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = o.open(dir.path()).await;
        let events = store
            .commit(batch(vec![
                put("a", json!({"slug": "a"})),
                put("b", json!({"slug": "b"})),
            ]))
            .await
            .unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        let del = Change {
            kind: ChangeKind::Delete,
            entity: EntityKind::Team,
            key: "a".into(),
            before: Some(json!({"slug": "a"})),
            after: None,
        };
        store.commit(batch(vec![del])).await.unwrap();
    }
    let store = o.open(dir.path()).await;
    let snap = store.load().await.unwrap();
    assert_eq!(snap.documents.len(), 1);
    assert_eq!(snap.documents[0].1, "b");
    assert_eq!(snap.last_seq, 3);
    let history = store
        .events(EventFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|e| (e.seq, e.kind)).collect::<Vec<_>>(),
        [
            (3, ChangeKind::Delete),
            (2, ChangeKind::Create),
            (1, ChangeKind::Create)
        ]
    );
    assert_eq!(history[0].before, Some(json!({"slug": "a"})));
}

async fn key_prefix_filters_by_whole_segments(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    store
        .commit(batch(vec![
            put("t", json!({})),
            put("t/s", json!({})),
            put("t/s/r", json!({})),
            put("tt/s", json!({})),
        ]))
        .await
        .unwrap();
    let f = EventFilter {
        key_prefix: Some("t".into()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(keys(store.events(f).await.unwrap()), ["t/s/r", "t/s", "t"]);
    let f = EventFilter {
        key_prefix: Some("t/s".into()),
        after_seq: Some(2),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(keys(store.events(f).await.unwrap()), ["t/s/r"]);
}

/// Events are read newest first, and a sequence number is never handed out twice: not
/// after documents are deleted, and not after the store is closed and opened again.
async fn events_come_newest_first_and_seq_is_never_reused(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let mut committed = Vec::new();
    {
        let store = o.open(dir.path()).await;
        committed.extend(
            store
                .commit(batch(vec![put("a", json!(1)), put("b", json!(1))]))
                .await
                .unwrap(),
        );
        committed.extend(
            store
                .commit(batch(vec![delete("a", json!(1)), delete("b", json!(1))]))
                .await
                .unwrap(),
        );
    }
    let store = o.open(dir.path()).await;
    let last_before_reopen = committed.last().unwrap().seq;
    assert_eq!(store.load().await.unwrap().last_seq, last_before_reopen);
    let after_reopen = store.commit(batch(vec![put("a", json!(2))])).await.unwrap();
    assert!(
        after_reopen[0].seq > last_before_reopen,
        "{} was handed out again after the reopen",
        after_reopen[0].seq
    );
    committed.extend(after_reopen);

    let given = seqs(&committed);
    assert!(
        given.windows(2).all(|w| w[0] < w[1]),
        "seq increases strictly in commit order: {given:?}"
    );
    let read = all_events(&store).await;
    let mut expected = committed.clone();
    expected.reverse();
    assert_eq!(
        read, expected,
        "every event read back as committed, newest first"
    );
    assert_eq!(store.load().await.unwrap().last_seq, *given.last().unwrap());
}

/// A batch's events carry the batch's id, actor and time, in the order of its changes;
/// the events `commit` returns are the ones read back.
async fn a_batch_shares_its_id_actor_and_time(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    let first = store
        .commit(batch_by(
            "batch-1",
            "alice",
            "2026-01-01T10:00:00Z",
            vec![
                create(EntityKind::Team, "t", json!({"slug": "t"})),
                create(EntityKind::Service, "t/s", json!({"slug": "s"})),
                create(EntityKind::Route, "t/s/r", json!({"id": "r"})),
            ],
        ))
        .await
        .unwrap();
    let second = store
        .commit(batch_by(
            "batch-2",
            "bob",
            "2026-01-02T10:00:00Z",
            vec![update(
                "t",
                json!({"slug": "t"}),
                json!({"slug": "t", "memo": "m"}),
            )],
        ))
        .await
        .unwrap();

    assert_eq!(
        first
            .iter()
            .map(|e| (e.entity, e.key.as_str(), e.kind))
            .collect::<Vec<_>>(),
        [
            (EntityKind::Team, "t", ChangeKind::Create),
            (EntityKind::Service, "t/s", ChangeKind::Create),
            (EntityKind::Route, "t/s/r", ChangeKind::Create),
        ],
        "the events follow the batch's changes"
    );
    for e in &first {
        let stamp = (e.batch.as_str(), e.actor.as_str(), e.at.as_str());
        assert_eq!(stamp, ("batch-1", "alice", "2026-01-01T10:00:00Z"), "{e:?}");
    }
    let stamp = (
        second[0].batch.as_str(),
        second[0].actor.as_str(),
        second[0].at.as_str(),
    );
    assert_eq!(stamp, ("batch-2", "bob", "2026-01-02T10:00:00Z"));

    let mut expected: Vec<ChangeEvent> = first.into_iter().chain(second).collect();
    expected.reverse();
    assert_eq!(all_events(&store).await, expected);
}

/// An update keeps the document it replaced as its `before`: reading a key's history,
/// each event's `before` is the `after` of the event before it, and the current document
/// is the last `after`.
async fn an_update_keeps_the_previous_after_as_its_before(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    let versions = [
        json!({"slug": "t", "memo": "one"}),
        json!({"slug": "t", "memo": "two", "tags": ["x"]}),
        json!({"slug": "t", "memo": "three", "nested": {"deep": [1, 2, {"a": null}]}}),
    ];
    store
        .commit(batch(vec![put("t", versions[0].clone())]))
        .await
        .unwrap();
    store
        .commit(batch(vec![put("other", json!({"slug": "other"}))]))
        .await
        .unwrap();
    for pair in versions.windows(2) {
        store
            .commit(batch(vec![update("t", pair[0].clone(), pair[1].clone())]))
            .await
            .unwrap();
    }

    let snap = store.load().await.unwrap();
    let current: Vec<&Value> = snap
        .documents
        .iter()
        .filter(|(entity, key, _)| *entity == EntityKind::Team && key == "t")
        .map(|(_, _, doc)| doc)
        .collect();
    assert_eq!(
        current,
        [&versions[2]],
        "the current document is the last after"
    );

    let mut history = events(
        &store,
        EventFilter {
            key_prefix: Some("t".into()),
            ..Default::default()
        },
    )
    .await;
    history.reverse();
    let kinds: Vec<ChangeKind> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::Create, ChangeKind::Update, ChangeKind::Update]
    );
    assert_eq!(history[0].before, None);
    for pair in history.windows(2) {
        assert_eq!(
            pair[1].before, pair[0].after,
            "{:?} follows {:?}",
            pair[1], pair[0]
        );
    }
    let afters: Vec<Option<Value>> = history.iter().map(|e| e.after.clone()).collect();
    let expected: Vec<Option<Value>> = versions.iter().cloned().map(Some).collect();
    assert_eq!(afters, expected, "documents come back as committed");

    store
        .commit(batch(vec![delete("t", versions[2].clone())]))
        .await
        .unwrap();
    let newest = &events(
        &store,
        EventFilter {
            key_prefix: Some("t".into()),
            limit: 1,
            ..Default::default()
        },
    )
    .await[0];
    assert_eq!(newest.kind, ChangeKind::Delete);
    assert_eq!(newest.before.as_ref(), Some(&versions[2]));
    assert_eq!(newest.after, None);
    let keys: Vec<String> = store
        .load()
        .await
        .unwrap()
        .documents
        .into_iter()
        .map(|d| d.1)
        .collect();
    assert_eq!(keys, ["other"], "a delete removes the document");
}

/// `after_seq` and `before_seq` bound the events exclusively, alone or together, so a
/// reader can page back from the newest or catch up from where it stopped.
async fn after_seq_and_before_seq_page_through_the_events(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    for i in 0..7 {
        store
            .commit(batch(vec![put(&format!("k{i}"), json!(i))]))
            .await
            .unwrap();
    }
    let all = seqs(&all_events(&store).await);
    assert_eq!(all.len(), 7);
    let page = |after: Option<u64>, before: Option<u64>, limit: u32| {
        let store = &store;
        async move {
            seqs(
                &store
                    .events(EventFilter {
                        after_seq: after,
                        before_seq: before,
                        limit,
                        ..Default::default()
                    })
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(page(None, None, 3).await, all[..3]);
    assert_eq!(page(None, Some(all[2]), 3).await, all[3..6]);
    assert_eq!(page(None, Some(all[5]), 3).await, all[6..]);
    assert_eq!(
        page(None, Some(all[6]), 3).await,
        [0u64; 0],
        "nothing before the first"
    );
    assert_eq!(page(Some(all[2]), None, 10).await, all[..2]);
    assert_eq!(
        page(Some(all[0]), None, 10).await,
        [0u64; 0],
        "nothing after the newest"
    );
    assert_eq!(page(Some(all[5]), Some(all[1]), 10).await, all[2..5]);
    assert_eq!(page(Some(all[3]), Some(all[3]), 10).await, [0u64; 0]);
    // With a limit, a window keeps its newest events.
    assert_eq!(page(Some(all[6]), Some(all[0]), 2).await, all[1..3]);
}

/// `limit` caps how many events come back, keeping the newest; 0 gives none.
async fn limit_caps_the_events_keeping_the_newest(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    let changes = (0..5).map(|i| put(&format!("k{i}"), json!(i))).collect();
    store.commit(batch(changes)).await.unwrap();
    let all = seqs(&all_events(&store).await);
    for (limit, expected) in [
        (0, &all[..0]),
        (1, &all[..1]),
        (3, &all[..3]),
        (5, &all[..]),
        (50, &all[..]),
    ] {
        let got = store
            .events(EventFilter {
                limit,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(seqs(&got), expected, "limit {limit}");
    }
}

/// The entity filter keeps the events of one kind of document, alone and together with
/// the other filters.
async fn the_entity_filter_keeps_one_kind(o: &impl Opener) {
    let dir = tempfile::tempdir().unwrap();
    let store = o.open(dir.path()).await;
    store
        .commit(batch(vec![
            create(EntityKind::Team, "t", json!({})),
            create(EntityKind::Service, "t/s", json!({})),
            create(EntityKind::Route, "t/s/r1", json!({})),
            create(EntityKind::Team, "u", json!({})),
            create(EntityKind::Service, "u/s", json!({})),
            create(EntityKind::Route, "u/s/r2", json!({})),
            create(EntityKind::Route, "t/s/r3", json!({})),
        ]))
        .await
        .unwrap();
    let cases: [(EntityKind, Option<&str>, u32, &[&str]); 6] = [
        (EntityKind::Team, None, 0, &["u", "t"]),
        (EntityKind::Service, None, 0, &["u/s", "t/s"]),
        (EntityKind::Route, None, 0, &["t/s/r3", "u/s/r2", "t/s/r1"]),
        (EntityKind::Route, Some("t"), 0, &["t/s/r3", "t/s/r1"]),
        (EntityKind::Team, Some("t/s"), 0, &[]),
        (EntityKind::Route, None, 2, &["t/s/r3", "u/s/r2"]),
    ];
    for (entity, key_prefix, limit, expected) in cases {
        let filter = EventFilter {
            entity: Some(entity),
            key_prefix: key_prefix.map(str::to_string),
            limit,
            ..Default::default()
        };
        let described = format!("{filter:?}");
        let got = events(&store, filter).await;
        assert!(
            got.iter().all(|e| e.entity == entity),
            "{described}: {got:?}"
        );
        assert_eq!(keys(got), expected, "{described}");
    }
}

fn calls(day: &str, team: &str, service: &str, calls: u64, last_used: &str) -> UsageRow {
    UsageRow {
        day: day.into(),
        team: team.into(),
        service: service.into(),
        calls,
        last_used: last_used.into(),
    }
}

async fn usage_adds_up_per_day_and_service_and_survives_reopen<O: Opener>(opener: &O) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = opener.open(dir.path()).await;
        store
            .add_usage(vec![
                calls("2026-11-29", "t", "a", 5, "2026-11-29T23:59:00.000Z"),
                calls("2026-11-30", "t", "a", 2, "2026-11-30T08:00:00.000Z"),
                calls("2026-11-30", "u", "b", 1, "2026-11-30T09:00:00.000Z"),
            ])
            .await
            .unwrap();
        // A second batch adds to the counts; an earlier last use does not replace a later.
        store
            .add_usage(vec![
                calls("2026-11-30", "t", "a", 3, "2026-11-30T07:00:00.000Z"),
                calls("2026-11-30", "u", "b", 1, "2026-11-30T10:00:00.000Z"),
            ])
            .await
            .unwrap();
        store.add_usage(Vec::new()).await.unwrap();
    }
    let store = opener.open(dir.path()).await;
    let all = store.usage(None, "2026-11-01".into()).await.unwrap();
    assert_eq!(
        all,
        vec![
            calls("2026-11-29", "t", "a", 5, "2026-11-29T23:59:00.000Z"),
            calls("2026-11-30", "t", "a", 5, "2026-11-30T08:00:00.000Z"),
            calls("2026-11-30", "u", "b", 2, "2026-11-30T10:00:00.000Z"),
        ]
    );
    let t_today = store
        .usage(Some("t".into()), "2026-11-30".into())
        .await
        .unwrap();
    assert_eq!(
        t_today,
        vec![calls("2026-11-30", "t", "a", 5, "2026-11-30T08:00:00.000Z")]
    );
}
