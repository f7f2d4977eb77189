#include "blob.h"

#include <catch2/catch.hpp>


namespace guest_test {

namespace {

void* arena_map(void* ctx, u64 phys, u64 size)
{
    auto* a = static_cast<Arena*>(ctx);
    if (phys < a->base || size > a->bytes.size() || phys - a->base > a->bytes.size() - size) return nullptr;
    return a->at(phys);
}

}  // namespace

PhysAccess Arena::access() { return PhysAccess{arena_map, this}; }

}  // namespace guest_test
