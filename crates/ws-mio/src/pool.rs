//! A pool of byte buffers, so that a connection holds buffers only while
//! it has bytes in them and the echo path allocates nothing once warm.

/// Idle buffers, reused instead of allocated.
#[derive(Debug)]
pub(crate) struct BufferPool {
    free: Vec<Vec<u8>>,
    max_buffers: usize,
    max_capacity: usize,
}

impl BufferPool {
    pub(crate) fn new(max_buffers: usize, max_capacity: usize) -> Self {
        BufferPool {
            free: Vec::new(),
            max_buffers,
            max_capacity,
        }
    }

    /// An empty buffer, with capacity if one was returned before.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_default()
    }

    /// Return a buffer. Buffers without capacity are ignored; very large
    /// ones are freed so one huge message does not pin its memory.
    pub(crate) fn give(&mut self, mut buffer: Vec<u8>) {
        if buffer.capacity() == 0
            || buffer.capacity() > self.max_capacity
            || self.free.len() >= self.max_buffers
        {
            return;
        }
        buffer.clear();
        self.free.push(buffer);
    }

    /// Buffers waiting for reuse.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_buffer_is_reused_with_its_capacity() {
        let mut pool = BufferPool::new(4, 1024);
        let mut buffer = pool.take();
        buffer.extend_from_slice(&[1; 100]);
        let capacity = buffer.capacity();
        pool.give(buffer);
        let again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), capacity);
    }

    #[test]
    fn oversized_and_surplus_buffers_are_freed() {
        let mut pool = BufferPool::new(1, 64);
        pool.give(Vec::with_capacity(128));
        assert_eq!(pool.len(), 0);
        pool.give(Vec::with_capacity(8));
        pool.give(Vec::with_capacity(8));
        assert_eq!(pool.len(), 1);
        pool.give(Vec::new());
        assert_eq!(pool.len(), 1);
    }
}
