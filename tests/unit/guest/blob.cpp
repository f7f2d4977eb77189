#include "blob.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

namespace guest_test {

Blob load_dtb(const std::string& name)
{
    std::string path = std::string(PASSAGE_TEST_DATA_DIR) + "/" + name;
    std::ifstream f(path, std::ios::binary);
    INFO("fixture " << path);
    REQUIRE(f.good());
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Blob b;
    b.size = raw.size();
    b.words.resize(raw.size() / 8 + 1);
    std::memcpy(b.words.data(), raw.data(), raw.size());
    return b;
}

Blob buffer(usize size)
{
    Blob b;
    b.size = size;
    b.words.resize(size / 8 + 1);
    return b;
}

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
