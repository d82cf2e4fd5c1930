//! The global allocator: a bump arena in front of the system allocator.
//!
//! A launch allocates some tens of KiB and exits within a millisecond or two. musl's
//! allocator hands memory back to the kernel eagerly, so such a run made ~50 `mmap`/`munmap`
//! calls (each a page-table update and TLB flush) for memory it used once. Here the first
//! `SIZE` bytes come from a static arena (zero pages in `.bss`, touched only when used), by
//! an atomic bump pointer; freeing the most recent block rolls the pointer back, any other
//! arena block is simply not reused. Once the arena is used up, the system allocator serves
//! everything, so a long-running supervisor or waiter costs at most `SIZE` bytes more than
//! before, never unbounded memory.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes served from the arena before the system allocator takes over.
const SIZE: usize = 1 << 20;

/// The arena's bytes.
#[repr(C, align(4096))]
pub struct Space(UnsafeCell<[u8; SIZE]>);

impl Space {
    pub const fn new() -> Space {
        Space(UnsafeCell::new([0; SIZE]))
    }
}

impl Default for Space {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: one arena's bump pointer hands out disjoint ranges of its space; the bytes are
// only reached through the pointers handed out.
unsafe impl Sync for Space {}

static SPACE: Space = Space::new();

/// The allocator: `#[global_allocator]` in `main.rs` is `Arena::global()`.
pub struct Arena {
    space: &'static Space,
    /// Offset of the first free byte in `space`.
    next: AtomicUsize,
}

impl Arena {
    /// The process's arena.
    pub const fn global() -> Arena {
        Arena::over(&SPACE)
    }

    /// An arena over `space`, which no other arena may use.
    pub const fn over(space: &'static Space) -> Arena {
        Arena {
            space,
            next: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.space.0.get() as usize
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        (self.base()..self.base() + SIZE).contains(&(ptr as usize))
    }

    /// A fresh block of the arena for `layout`, or None when it does not fit any more.
    fn reserve(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            // `align` is a power of two; checked sums: no wrap-around for huge layouts.
            let start =
                ((base + next).checked_add(layout.align() - 1)? & !(layout.align() - 1)) - base;
            let end = start
                .checked_add(layout.size())
                .filter(|&end| end <= SIZE)?;
            match self
                .next
                .compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some((base + start) as *mut u8),
                Err(now) => next = now,
            }
        }
    }
}

// SAFETY: `alloc` returns either a block of the arena that no other live allocation
// overlaps (reserved by a compare-exchange on `next`), aligned and `layout.size()` long
// within its space, or the system allocator's block; `dealloc` gives system blocks back to
// the system allocator and arena blocks back to the arena only when nothing was reserved
// after them.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.reserve(layout) {
            Some(block) => block,
            // SAFETY: forwarded with the caller's valid layout.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.owns(ptr) {
            // The most recent block: roll back, so alloc/free pairs in a loop reuse it.
            let start = ptr as usize - self.base();
            let _ = self.next.compare_exchange(
                start + layout.size(),
                start,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        } else {
            // SAFETY: not ours, so the system allocator gave it out with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_disjoint_and_roll_back() {
        static S: Space = Space::new();
        let a = Arena::over(&S);
        let l8 = Layout::from_size_align(24, 8).unwrap();
        let l64 = Layout::from_size_align(100, 64).unwrap();
        // SAFETY: valid layouts; blocks freed with the layouts they were allocated with.
        unsafe {
            let p = a.alloc(l8);
            let q = a.alloc(l64);
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 24);
            std::ptr::write_bytes(q, 0xab, 100);
            a.dealloc(q, l64);
            let r = a.alloc(l64);
            assert_eq!(r, q, "the last block is reused");
            a.dealloc(r, l64);
            // p is not the most recent block (the alignment padding after it is), so it
            // stays in use; a new block follows it.
            a.dealloc(p, l8);
            let s = a.alloc(l8);
            assert!(s as usize >= p as usize + 24);
            a.dealloc(s, l8);
        }
    }

    #[test]
    fn beyond_the_arena_the_system_serves() {
        static S: Space = Space::new();
        let a = Arena::over(&S);
        let big = Layout::from_size_align(SIZE + 1, 8).unwrap();
        let huge = Layout::from_size_align(isize::MAX as usize - 4096, 4096).unwrap();
        // SAFETY: valid layouts; the system block is freed with its layout.
        unsafe {
            let p = a.alloc(big);
            assert!(!p.is_null() && !a.owns(p));
            a.dealloc(p, big);
            assert!(
                a.alloc(huge).is_null(),
                "the system refuses, no wrap-around"
            );
        }
    }
}
