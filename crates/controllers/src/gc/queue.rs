//! A de-duplicating work queue with per-item exponential back-off, shaped like
//! client-go's rate-limited workqueue: an item is queued at most once, and
//! one that is re-added while a worker holds it runs again after `done`, so
//! no two workers ever process the same item at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::pin::pin;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

const BASE_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);

pub struct WorkQueue<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

struct State<T> {
    ready: VecDeque<T>,
    queued: HashSet<T>,
    processing: HashSet<T>,
    /// Re-added while processing: queue again on `done`.
    dirty: HashSet<T>,
    delayed: Vec<(Instant, T)>,
    failures: HashMap<T, u32>,
}

impl<T: Hash + Eq + Clone> Default for WorkQueue<T> {
    fn default() -> Self {
        WorkQueue {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                queued: HashSet::new(),
                processing: HashSet::new(),
                dirty: HashSet::new(),
                delayed: Vec::new(),
                failures: HashMap::new(),
            }),
            notify: Notify::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> State<T> {
    fn add(&mut self, item: T) -> bool {
        if self.processing.contains(&item) {
            self.dirty.insert(item);
            return false;
        }
        if self.queued.insert(item.clone()) {
            self.ready.push_back(item);
            return true;
        }
        false
    }

    fn promote_due(&mut self, now: Instant) -> bool {
        let mut woke = false;
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                let (_, item) = self.delayed.swap_remove(i);
                woke |= self.add(item);
            } else {
                i += 1;
            }
        }
        woke
    }
}

impl<T: Hash + Eq + Clone> WorkQueue<T> {
    pub fn add(&self, item: T) {
        if self.state.lock().add(item) {
            self.notify.notify_one();
        }
    }

    pub fn add_all(&self, items: impl IntoIterator<Item = T>) {
        let mut n = 0;
        {
            let mut s = self.state.lock();
            for i in items {
                n += usize::from(s.add(i));
            }
        }
        for _ in 0..n {
            self.notify.notify_one();
        }
    }

    pub fn add_after(&self, item: T, delay: Duration) {
        self.state
            .lock()
            .delayed
            .push((Instant::now() + delay, item));
        // A sleeping worker must learn the new, possibly earlier, deadline.
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Retry after an exponentially growing delay.
    pub fn add_rate_limited(&self, item: T) {
        let delay = {
            let mut s = self.state.lock();
            let n = s.failures.entry(item.clone()).or_insert(0);
            *n = n.saturating_add(1);
            BASE_DELAY
                .saturating_mul(1 << (*n - 1).min(20))
                .min(MAX_DELAY)
        };
        self.add_after(item, delay);
    }

    /// The item succeeded: reset its back-off.
    pub fn forget(&self, item: &T) {
        self.state.lock().failures.remove(item);
    }

    /// The next item; the caller must call [`WorkQueue::done`] with it.
    pub async fn next(&self) -> T {
        loop {
            let mut notified = pin!(self.notify.notified());
            notified.as_mut().enable();
            let deadline = {
                let mut s = self.state.lock();
                s.promote_due(Instant::now());
                if let Some(item) = s.ready.pop_front() {
                    s.queued.remove(&item);
                    s.processing.insert(item.clone());
                    return item;
                }
                s.delayed.iter().map(|(at, _)| *at).min()
            };
            match deadline {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    pub fn done(&self, item: &T) {
        let again = {
            let mut s = self.state.lock();
            s.processing.remove(item);
            s.dirty.remove(item) && s.add(item.clone())
        };
        if again {
            self.notify.notify_one();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().ready.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedups_and_defers_items_being_processed() {
        let q = WorkQueue::default();
        q.add(1);
        q.add(1);
        q.add(2);
        assert_eq!(q.len(), 2);
        let a = q.next().await;
        assert_eq!(a, 1);
        // Re-added while processing: not handed out until done.
        q.add(1);
        assert_eq!(q.next().await, 2);
        assert_eq!(q.len(), 0);
        q.done(&1);
        assert_eq!(q.next().await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_items_come_back_later_and_back_off() {
        let q = WorkQueue::default();
        q.add_rate_limited("x");
        let start = Instant::now();
        assert_eq!(q.next().await, "x");
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        q.done(&"x");
        q.add_rate_limited("x");
        let start = Instant::now();
        assert_eq!(q.next().await, "x");
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        q.done(&"x");
        q.forget(&"x");
        q.add_rate_limited("x");
        let start = Instant::now();
        q.next().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }
}
