//! The one locking rule of the crate: a poisoned mutex is recovered, not propagated.
//!
//! Every `Mutex` in the server guards state that stays consistent at each await-free step
//! (counters, registries, small queues), so a panic in one session must not take every
//! other session down with a `PoisonError`. Every module locks through [`lock`]; this
//! module depends on nothing else in the crate, so anything may use it.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_still_gives_its_data() {
        let m = std::sync::Arc::new(Mutex::new(41));
        let poisoner = m.clone();
        let _ = std::thread::spawn(move || {
            let mut guard = poisoner.lock().unwrap();
            *guard += 1;
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m), 42);
    }
}
