//! Mail between the loops of a server: what this loop posts to the
//! others, and what it carries out of its own mailbox.

use std::sync::Arc;

use super::{Core, Event};
use crate::error::{Error, SendError};
use crate::id::ConnectionId;
use crate::mailbox::Delivery;

impl<D> Core<D> {
    /// Hand a delivery to loop `home`'s mailbox.
    pub(super) fn post(&self, home: u16, delivery: Delivery) -> Result<(), SendError> {
        let office = self.office.as_ref().ok_or(SendError::NotFound)?;
        let home = usize::from(home);
        if home >= office.loops() {
            return Err(SendError::NotFound);
        }
        office
            .post(home, delivery)
            .map_err(|_| SendError::QueueFull)
    }

    /// Whether other loops posted mail that this loop has not taken.
    pub(crate) fn has_mail(&self) -> bool {
        self.office
            .as_ref()
            .is_some_and(|office| office.has_mail(usize::from(self.home)))
    }

    /// Carry out what the other loops posted to this one, in the order
    /// they posted it.
    pub(crate) fn deliver_mail(&mut self) {
        let Some(office) = &self.office else {
            return;
        };
        let home = usize::from(self.home);
        let mut mail = std::mem::take(&mut self.mail);
        if office.take(home, &mut mail) {
            let office = Arc::clone(office);
            for delivery in mail.drain(..) {
                self.deliver(&delivery);
                office.delivered(home, &delivery);
            }
        }
        self.mail = mail;
    }

    fn deliver(&mut self, delivery: &Delivery) {
        match delivery {
            Delivery::Send { to, message } => {
                let Some(index) = self.index_of(*to) else {
                    // Gone since it was sent: like a send a moment later.
                    return;
                };
                match self.queue_frame(index, message.kind.opcode(), &message.bytes) {
                    Ok(()) => self.mark_dirty(index),
                    Err(SendError::QueueFull) => self.undelivered(&[*to]),
                    // Closing: nothing more goes to it.
                    Err(_) => {}
                }
            }
            Delivery::Broadcast { except, message } => {
                let (_, full) = self.broadcast_here(message.kind.opcode(), &message.bytes, *except);
                self.undelivered(&full);
            }
            Delivery::Close { id, code, reason } => {
                if let Some(index) = self.index_of(*id) {
                    let _ = self.start_close(index, *code, reason);
                }
            }
        }
    }

    /// Tell the handler that mail for these connections found their
    /// queues full.
    fn undelivered(&mut self, ids: &[ConnectionId]) {
        for &id in ids {
            let error = Error::Undelivered(SendError::QueueFull);
            self.events.push_back(Event::Error { id, error });
        }
    }
}
