#include "fixture.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

namespace passage::test {

Blob load_dtb(const std::string& name)
{
    std::string path = std::string(PASSAGE_TEST_DATA_DIR) + "/" + name;
    std::ifstream f(path, std::ios::binary);
    INFO("fixture " << path);
    REQUIRE(f.good());
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    Blob b = buffer(raw.size());
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

Discovered discover_blob(const Blob& b, DiscoveryMode mode)
{
    Discovered d;
    if (!check_device_tree(b.data(), b.size, d.diag)) return d;
    d.ok = discover_platform(b.data(), d.p, d.diag, mode).ok();
    return d;
}

Platform load_platform(const std::string& name)
{
    Discovered d = discover_blob(load_dtb(name));
    INFO(name << ": " << d.diag.text);
    REQUIRE(d.ok);
    return d.p;
}

}  // namespace passage::test
