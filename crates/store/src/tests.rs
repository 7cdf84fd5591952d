use super::*;
use std::time::Duration;

fn open(dir: &Path) -> Store {
    Store::open(
        dir,
        Options {
            ring_capacity: 100,
            durability: Durability::Normal,
            keep_revisions: 1_000_000,
        },
    )
    .expect("open")
}

async fn with_timeout<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn create_update_delete_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    with_timeout(async {
        let a = s.create("/a/1", b"one".to_vec()).await.expect("create");
        assert_eq!(a.rev, 1);
        assert!(matches!(
            s.create("/a/1", b"x".to_vec()).await,
            Err(StoreError::AlreadyExists)
        ));
        let b = s
            .put("/a/1", b"two".to_vec(), Precondition::Revision(1))
            .await
            .expect("update");
        assert_eq!((b.rev, b.create_rev), (2, 1));
        assert!(matches!(
            s.put("/a/1", b"three".to_vec(), Precondition::Revision(1))
                .await,
            Err(StoreError::Conflict { current: 2 })
        ));
        assert!(matches!(
            s.put("/a/2", b"x".to_vec(), Precondition::Exists).await,
            Err(StoreError::NotFound)
        ));
        let d = s
            .delete("/a/1", Precondition::Exists)
            .await
            .expect("delete");
        assert_eq!(d.rev, 3);
        assert_eq!(&d.value[..], b"two");
        assert!(s.get("/a/1").is_none());
        assert_eq!(s.revision(), 3);
    })
    .await;
}

#[tokio::test]
async fn list_prefix_and_at_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    with_timeout(async {
        s.create("/p/ns1/a", b"a1".to_vec()).await.expect("c");
        s.create("/p/ns1/b", b"b1".to_vec()).await.expect("c");
        s.create("/p/ns2/c", b"c1".to_vec()).await.expect("c");
        s.create("/q/x", b"q".to_vec()).await.expect("c");
        s.put("/p/ns1/a", b"a2".to_vec(), Precondition::Exists)
            .await
            .expect("u");
        s.delete("/p/ns1/b", Precondition::Exists).await.expect("d");
        let now = s.list("/p/");
        let keys: Vec<_> = now.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["/p/ns1/a", "/p/ns2/c"]);
        assert_eq!(s.list("/p/ns1/").entries.len(), 1);
        let then = s.list_at("/p/", "", 3, usize::MAX).expect("list_at");
        let vals: Vec<_> = then
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.to_vec()))
            .collect();
        assert_eq!(
            vals,
            [
                ("/p/ns1/a", b"a1".to_vec()),
                ("/p/ns1/b", b"b1".to_vec()),
                ("/p/ns2/c", b"c1".to_vec())
            ]
        );
        let page = s.list_at("/p/", "/p/ns1/b", 3, 1).expect("page");
        assert_eq!(page.entries[0].key, "/p/ns1/b");
        s.compact(5).await.expect("compact");
        assert!(matches!(
            s.list_at("/p/", "", 3, 10),
            Err(StoreError::Expired { .. })
        ));
        assert_eq!(s.list_at("/p/", "", 5, 10).expect("at 5").entries.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn watch_from_revision_and_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(
        dir.path(),
        Options {
            ring_capacity: 3,
            durability: Durability::Normal,
            keep_revisions: 1_000_000,
        },
    )
    .expect("open");
    with_timeout(async {
        let mut w = s.watch("/w/", 0).expect("watch");
        s.create("/w/a", b"1".to_vec()).await.expect("c");
        s.create("/other", b"x".to_vec()).await.expect("c");
        s.put("/w/a", b"2".to_vec(), Precondition::Exists)
            .await
            .expect("u");
        let evs = w.next().await.expect("events");
        let got: Vec<_> = evs.iter().map(|e| (e.rev, e.kind)).collect();
        assert_eq!(got, [(1, EventKind::Put), (3, EventKind::Put)]);
        assert_eq!(evs[1].prev.as_deref(), Some(&b"1"[..]));
        s.delete("/w/a", Precondition::Exists).await.expect("d");
        let evs = w.next().await.expect("events");
        assert_eq!(evs[0].kind, EventKind::Delete);
        // Ring of 3 holds revisions 2..=4 now; revision 0 is gone.
        assert!(matches!(s.watch("/w/", 0), Err(StoreError::Expired { .. })));
        assert!(s.watch("/w/", 1).is_ok());
    })
    .await;
}

#[tokio::test]
async fn survives_reopen_with_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = open(dir.path());
        with_timeout(async {
            for i in 0..10 {
                s.create(&format!("/k/{i}"), format!("v{i}").into_bytes())
                    .await
                    .expect("c");
            }
            s.delete("/k/3", Precondition::Exists).await.expect("d");
        })
        .await;
    }
    // The writer thread exits when the last handle drops; give it a moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = open(dir.path());
    assert_eq!(s.revision(), 11);
    assert_eq!(s.list("/k/").entries.len(), 9);
    assert_eq!(s.get("/k/5").map(|e| (e.rev, e.create_rev)), Some((6, 6)));
    with_timeout(async {
        let mut w = s.watch("/k/", 9).expect("resume");
        let evs = w.next().await.expect("replayed");
        assert_eq!(evs.iter().map(|e| e.rev).collect::<Vec<_>>(), [10, 11]);
        assert_eq!(evs[1].kind, EventKind::Delete);
        let c = s.create("/k/new", b"n".to_vec()).await.expect("c");
        assert_eq!(c.rev, 12);
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_group_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    with_timeout(async {
        let mut handles = Vec::new();
        for t in 0..16 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                for i in 0..50 {
                    s.create(&format!("/c/{t}/{i}"), vec![0u8; 16])
                        .await
                        .expect("c");
                }
            }));
        }
        for h in handles {
            h.await.expect("join");
        }
        assert_eq!(s.revision(), 800);
        assert_eq!(s.list("/c/").entries.len(), 800);
    })
    .await;
}

#[tokio::test]
async fn compare_and_swap_race_has_one_winner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = open(dir.path());
    with_timeout(async {
        let e = s.create("/x", b"0".to_vec()).await.expect("c");
        let mut handles = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                s.put("/x", vec![i], Precondition::Revision(e.rev))
                    .await
                    .is_ok()
            }));
        }
        let mut wins = 0;
        for h in handles {
            if h.await.expect("join") {
                wins += 1;
            }
        }
        assert_eq!(wins, 1);
    })
    .await;
}
