import CKeygateMalloc

/// How the C allocator treats freed memory in a long-running gateway.
///
/// By default glibc gives freed memory at the top of a heap back to the kernel as soon as there is more than
/// 128 KiB of it (for the heaps of threads other than the main one, with `madvise(MADV_DONTNEED)`). Under load
/// the credits path's database writes, on threads of their own, freed and re-touched about that much again and
/// again: each give-back flushed the TLBs of both cores (an inter-processor interrupt) and each reuse faulted
/// the pages in afresh, about 8 % of the path's CPU in a profile. Keeping freed memory for reuse ends that churn.
/// The price: after a burst the process stays near its peak size instead of shrinking (the memory is reused by
/// the next burst, not leaked).
public enum MemoryAllocator {
    /// Freed memory at the top of a heap is kept up to this much (64 MiB, which is also the largest heap glibc
    /// gives a thread, so a thread's heap is never trimmed).
    public static let trimThreshold = 64 << 20
    /// Allocations from this size up get pages of their own (and give them back when freed). The default
    /// (128 KiB, then adapting) would send a large request body through `mmap` and `munmap` each time.
    public static let mmapThreshold = 16 << 20

    /// Applies the thresholds to the whole process; call once, early. Returns false where the C library
    /// does not support it (then nothing changes).
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        keygate_malloc_keep_freed(trimThreshold, mmapThreshold) == 1
    }
}
