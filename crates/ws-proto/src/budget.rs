//! A memory budget for incoming messages, shared by many connections
//! (feature `alloc`).
//!
//! One connection's partial message is capped by
//! [`Config::max_message_size`](crate::Config::max_message_size), but a
//! server with thousands of connections could still be made to hold that
//! much for each of them at once: a peer only has to start a large message
//! (or a small compressed one that inflates to a large one) and never
//! finish it. A [`MemoryBudget`] caps the total. Every connection of a
//! server draws on the same budget through its own [`Reservation`] before
//! its buffer grows, and a connection whose growth does not fit fails with
//! [`ProtocolError::BudgetExhausted`] (close code 1009) instead of
//! allocating.
//!
//! ```
//! use ws_proto::budget::MemoryBudget;
//!
//! let budget = MemoryBudget::new(1000);
//! let mut first = budget.reservation();
//! let mut second = budget.reservation();
//! assert!(first.grow_to(600).is_ok());
//! assert!(second.grow_to(600).is_err()); // 1200 would pass the budget
//! assert!(second.grow_to(400).is_ok());
//! drop(first); // a closed connection gives its share back
//! assert_eq!(budget.used(), 400);
//! ```

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::ProtocolError;

/// Bytes that the connections sharing it may hold for incoming messages
/// not yet handed out, all together. Cloning shares the budget.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    /// `None`: unlimited, and nothing is counted (no allocation, no
    /// atomic operations).
    shared: Option<Arc<Shared>>,
}

#[derive(Debug)]
struct Shared {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// The limit of the default budget of a
    /// [`SessionConfig`](crate::SessionConfig), and so of the transports:
    /// 256 MiB, sixteen messages of the largest default size at once.
    pub const DEFAULT_LIMIT: usize = 256 << 20;

    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            shared: Some(Arc::new(Shared {
                limit,
                used: AtomicUsize::new(0),
            })),
        }
    }

    /// A budget with no limit (each connection is still held to its
    /// message size limit). It counts nothing: [`used`](Self::used) stays 0.
    pub const fn unlimited() -> Self {
        MemoryBudget { shared: None }
    }

    /// The limit in bytes (`usize::MAX` when unlimited).
    pub fn limit(&self) -> usize {
        self.shared
            .as_ref()
            .map_or(usize::MAX, |shared| shared.limit)
    }

    /// Bytes currently reserved by all reservations together.
    pub fn used(&self) -> usize {
        self.shared
            .as_ref()
            .map_or(0, |shared| shared.used.load(Ordering::Relaxed))
    }

    /// A new, empty reservation on this budget, for one connection.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    /// Take `bytes` more if they fit.
    fn try_take(&self, bytes: usize) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        let limit = shared.limit;
        shared
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        if let (Some(shared), 1..) = (&self.shared, bytes) {
            shared.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

/// Budgets are equal when they have the same limit (whether or not they
/// are shared), so that configurations holding them compare by value.
impl PartialEq for MemoryBudget {
    fn eq(&self, other: &Self) -> bool {
        self.limit() == other.limit()
    }
}

impl Eq for MemoryBudget {}

impl Default for MemoryBudget {
    /// [`MemoryBudget::unlimited`].
    fn default() -> Self {
        Self::unlimited()
    }
}

/// One connection's share of a [`MemoryBudget`]; dropping it gives the
/// share back.
#[derive(Debug)]
pub struct Reservation {
    budget: MemoryBudget,
    held: usize,
}

impl Reservation {
    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Hold at least `bytes` in total, taking the difference from the
    /// budget; fails with [`ProtocolError::BudgetExhausted`], holding what
    /// it held before, when the budget cannot spare it.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), ProtocolError> {
        if bytes <= self.held {
            return Ok(());
        }
        if !self.budget.try_take(bytes - self.held) {
            return Err(ProtocolError::BudgetExhausted);
        }
        self.held = bytes;
        Ok(())
    }

    /// Give everything back (the buffer it paid for was freed or handed
    /// out).
    pub fn release(&mut self) {
        self.budget.give_back(self.held);
        self.held = 0;
    }

    /// Make room in `buffer` for `extra` more bytes, paying for the growth
    /// first: the capacity doubles as `Vec` would, up to `max_capacity`,
    /// or grows only to what is needed when the budget cannot pay for the
    /// doubling. Capacity the buffer already had is paid for too. On
    /// failure `buffer` is untouched.
    pub fn reserve(
        &mut self,
        buffer: &mut alloc::vec::Vec<u8>,
        extra: usize,
        max_capacity: usize,
    ) -> Result<(), ProtocolError> {
        let needed = buffer.len().saturating_add(extra);
        if needed <= buffer.capacity() {
            // A recycled buffer's capacity is paid for when first used.
            return self
                .grow_to(buffer.capacity())
                .or_else(|_| self.grow_to(needed));
        }
        let doubled = buffer
            .capacity()
            .saturating_mul(2)
            .min(max_capacity)
            .max(needed);
        let target = if self.grow_to(doubled).is_ok() {
            doubled
        } else {
            self.grow_to(needed)?;
            needed
        };
        buffer.reserve_exact(target - buffer.len());
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn reservations_share_one_limit() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.reservation();
        let mut b = budget.reservation();
        assert_eq!(a.grow_to(70), Ok(()));
        assert_eq!(b.grow_to(40), Err(ProtocolError::BudgetExhausted));
        assert_eq!(b.held(), 0);
        assert_eq!(b.grow_to(30), Ok(()));
        assert_eq!(budget.used(), 100);
    }

    #[test]
    fn growing_takes_only_the_difference() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.reservation();
        a.grow_to(60).unwrap();
        a.grow_to(90).unwrap();
        a.grow_to(50).unwrap(); // already held
        assert_eq!((a.held(), budget.used()), (90, 90));
    }

    #[test]
    fn release_and_drop_give_the_share_back() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.reservation();
        a.grow_to(60).unwrap();
        a.release();
        assert_eq!(budget.used(), 0);
        a.grow_to(100).unwrap();
        drop(a);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn reserve_doubles_within_the_budget_and_falls_back_to_what_is_needed() {
        let budget = MemoryBudget::new(1000);
        let mut a = budget.reservation();
        let mut buffer = Vec::with_capacity(0);
        a.reserve(&mut buffer, 300, usize::MAX).unwrap();
        assert!(buffer.capacity() >= 300);
        buffer.resize(300, 0);
        // Doubling to 600 fits.
        a.reserve(&mut buffer, 1, usize::MAX).unwrap();
        assert_eq!(a.held(), 600);
        buffer.resize(600, 0);
        // Doubling to 1200 does not; 900 does.
        a.reserve(&mut buffer, 300, usize::MAX).unwrap();
        assert_eq!(a.held(), 900);
        buffer.resize(900, 0);
        assert_eq!(
            a.reserve(&mut buffer, 101, usize::MAX),
            Err(ProtocolError::BudgetExhausted)
        );
        assert_eq!(buffer.len(), 900);
    }

    #[test]
    fn reserve_pays_for_capacity_the_buffer_came_with() {
        let budget = MemoryBudget::new(1000);
        let mut a = budget.reservation();
        let mut buffer = Vec::with_capacity(800);
        a.reserve(&mut buffer, 10, usize::MAX).unwrap();
        assert_eq!(a.held(), buffer.capacity());
        let mut b = budget.reservation();
        let mut other = Vec::with_capacity(800);
        // Not all of it fits: only what is used is paid for.
        b.reserve(&mut other, 100, usize::MAX).unwrap();
        assert_eq!(b.held(), 100);
    }

    #[test]
    fn reserve_never_doubles_past_the_cap() {
        let budget = MemoryBudget::unlimited();
        let mut a = budget.reservation();
        let mut buffer = vec![0u8; 100];
        a.reserve(&mut buffer, 1, 150).unwrap();
        assert_eq!(a.held(), 150);
    }
}
