//! The few C library functions the JPEG 2000 decoder (openjp2, a C-to-Rust port) calls, for
//! wasm32-unknown-unknown, which has no libc: allocation on top of Rust's allocator (a
//! size header in front of each block) and `strcpy`. `free(NULL)` and `realloc(NULL, n)`
//! behave as C says. The global allocator ignores the deallocation of a null pointer, which
//! the port's C idioms can produce and which would otherwise corrupt the heap.

use std::alloc::{alloc, alloc_zeroed, dealloc, GlobalAlloc, Layout, System};

struct NullTolerant;

unsafe impl GlobalAlloc for NullTolerant {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if !p.is_null() {
            System.dealloc(p, l)
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        if p.is_null() {
            return System.alloc(Layout::from_size_align_unchecked(new_size, l.align()));
        }
        System.realloc(p, l, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: NullTolerant = NullTolerant;

const HEADER: usize = 16; // keeps the block 16-byte aligned, as malloc must

unsafe fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

unsafe fn finish(base: *mut u8, size: usize) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    (base as *mut usize).write(size);
    base.add(HEADER)
}

/// # Safety
/// C semantics: the result is freed with `free` only.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut u8 {
    match layout(size) {
        Some(l) => finish(alloc(l), size),
        None => std::ptr::null_mut(),
    }
}

/// # Safety
/// C semantics.
#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut u8 {
    match n.checked_mul(size).and_then(|s| layout(s).map(|l| (s, l))) {
        Some((s, l)) => finish(alloc_zeroed(l), s),
        None => std::ptr::null_mut(),
    }
}

/// # Safety
/// `p` is null or came from malloc/calloc/realloc and was not freed.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let base = p.sub(HEADER);
    let size = (base as *const usize).read();
    dealloc(base, layout(size).expect("size was valid at allocation"));
}

/// # Safety
/// `p` is null or came from malloc/calloc/realloc and was not freed.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(size);
    }
    let old = (p.sub(HEADER) as *const usize).read();
    let q = malloc(size);
    if !q.is_null() {
        std::ptr::copy_nonoverlapping(p, q, old.min(size));
        free(p);
    }
    q
}

/// # Safety
/// `src` is NUL-terminated and `dst` has room for it.
#[no_mangle]
pub unsafe extern "C" fn strcpy(dst: *mut u8, src: *const u8) -> *mut u8 {
    let mut i = 0;
    loop {
        let c = *src.add(i);
        *dst.add(i) = c;
        if c == 0 {
            return dst;
        }
        i += 1;
    }
}
