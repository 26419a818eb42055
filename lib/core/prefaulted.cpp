#include "core/prefaulted.hpp"

#include <sys/mman.h>

#include <cstring>

namespace vtap {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kLine = 64;  // a cache line
}

void* alloc_prefaulted(size_t bytes) noexcept {
    const size_t align = bytes >= kHugePage ? kHugePage : kLine;
    const size_t size = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, size == 0 ? align : size);
    if (p == nullptr) return nullptr;
    if (align == kHugePage) (void)madvise(p, size, MADV_HUGEPAGE);  // best effort
    std::memset(p, 0, size);
    return p;
}

}  // namespace vtap
