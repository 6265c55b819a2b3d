#include "keygate_malloc.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

int keygate_malloc_keep_freed(size_t trim_threshold, size_t mmap_threshold) {
    int trimmed = mallopt(M_TRIM_THRESHOLD, (int)trim_threshold);
    int mapped = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold);
    return trimmed == 1 && mapped == 1;
}
#else
int keygate_malloc_keep_freed(size_t trim_threshold, size_t mmap_threshold) {
    (void)trim_threshold;
    (void)mmap_threshold;
    return 0;
}
#endif
