#ifndef KEYGATE_MALLOC_H
#define KEYGATE_MALLOC_H

#include <stddef.h>

/// Sets the C allocator's trim and mmap thresholds (glibc `mallopt`), so freed memory below them stays in
/// the process for reuse instead of going back to the kernel. Returns 1 if both took effect, 0 if not (or
/// on a C library without `mallopt`).
int keygate_malloc_keep_freed(size_t trim_threshold, size_t mmap_threshold);

#endif
