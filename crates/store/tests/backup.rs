//! Backups written while the store is in use restore into an empty directory with the
//! same documents and events; bad targets and files from a newer schema are refused.

use serde_json::json;
use standin_model::{ChangeKind, EntityKind};
use standin_store::backup::{self, BackupError};
use standin_store::{Batch, Change, EventFilter, SqliteStore, Store};

fn team(key: &str, n: u64) -> Batch {
    Batch {
        actor: "tester".into(),
        at: "2026-11-30T00:00:00Z".into(),
        id: format!("b{n}"),
        changes: vec![Change {
            kind: ChangeKind::Create,
            entity: EntityKind::Team,
            key: key.into(),
            before: None,
            after: Some(json!({"slug": key, "n": n})),
        }],
    }
}

async fn everything(store: &SqliteStore) -> (Vec<String>, Vec<String>) {
    let mut docs: Vec<String> = store
        .load()
        .await
        .unwrap()
        .documents
        .into_iter()
        .map(|(e, k, v)| format!("{e:?} {k} {v}"))
        .collect();
    docs.sort();
    let events = store
        .events(EventFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::to_string(&e).unwrap())
        .collect();
    (docs, events)
}

#[tokio::test]
async fn a_backup_taken_while_in_use_restores_the_same_documents_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).await.unwrap();
    for n in 0..20 {
        store.commit(team(&format!("t{n}"), n)).await.unwrap();
    }
    // The store stays open (and locked) while the backup runs, as under a server.
    let files = store.backup_to(&dir.path().join("backups")).await.unwrap();
    store.commit(team("after", 99)).await.unwrap();
    assert_eq!(
        (files.documents, files.events, files.last_seq),
        (20, 20, 20)
    );
    assert!(files.database.is_file() && files.jsonl.is_file());
    // A second kind: the CLI's backup of a directory another process holds.
    let cli = backup::backup_data_dir(&data, &dir.path().join("cli"))
        .await
        .unwrap();
    assert_eq!(cli.documents, 21);

    let (docs, events) = everything(&store).await;
    for from in [&files.database, &files.jsonl] {
        let target = dir.path().join(format!(
            "restored-{}",
            from.extension().unwrap().to_string_lossy()
        ));
        let r = backup::restore(from, &target).await.unwrap();
        assert_eq!(
            (r.documents, r.events, r.last_seq),
            (20, 20, 20),
            "{from:?}"
        );
        let restored = SqliteStore::open(&target).await.unwrap();
        let (d, e) = everything(&restored).await;
        assert_eq!(
            d,
            docs[..]
                .iter()
                .filter(|d| !d.contains(" after "))
                .cloned()
                .collect::<Vec<_>>()
        );
        assert_eq!(
            e[..],
            events[1..],
            "every event but the one after the backup"
        );
        // The restored store goes on numbering events after the last one.
        let next = restored.commit(team("next", 100)).await.unwrap();
        assert_eq!(next[0].seq, 21);
    }
}

#[tokio::test]
async fn restores_refuse_a_used_directory_a_newer_schema_and_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).await.unwrap();
    store.commit(team("a", 1)).await.unwrap();
    let files = store.backup_to(&dir.path().join("b")).await.unwrap();

    let e = backup::restore(&files.database, &data).await.unwrap_err();
    assert!(matches!(e, BackupError::NotEmpty { .. }), "{e}");

    // A JSON-lines file from a newer schema names both versions.
    let text = std::fs::read_to_string(&files.jsonl).unwrap();
    let mut head: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let supported = head["schemaVersion"].as_i64().unwrap();
    head["schemaVersion"] = json!(7);
    let newer = text.replacen(text.lines().next().unwrap(), &head.to_string(), 1);
    let path = dir.path().join("newer.jsonl");
    std::fs::write(&path, newer).unwrap();
    let e = backup::restore(&path, &dir.path().join("x"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("schema version 7")
            && e.to_string()
                .contains(&format!("up to version {supported}")),
        "{e}"
    );
    assert!(
        !dir.path().join("x/standin.db").exists(),
        "nothing is left behind"
    );

    // A broken line is named by its number, and nothing is restored.
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(
        &broken,
        format!(
            "{}\n{{\"event\": {{\"seq\": \"x\"}}}}\n",
            text.lines().next().unwrap()
        ),
    )
    .unwrap();
    let e = backup::restore(&broken, &dir.path().join("y"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("/event/seq"),
        "{e}"
    );
    assert!(!dir.path().join("y/standin.db").exists());
}

#[tokio::test]
async fn a_backup_to_a_directory_that_cannot_be_written_fails_and_the_store_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data")).await.unwrap();
    store.commit(team("a", 1)).await.unwrap();
    // A file where the backup directory should be: no privileges needed to fail.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, "a file").unwrap();
    let e = store.backup_to(&blocked).await.unwrap_err();
    assert!(e.to_string().contains("blocked"), "{e}");
    store.commit(team("b", 2)).await.unwrap();
}
