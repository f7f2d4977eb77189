// Sizes print exactly: the largest unit that divides them.
#include <catch2/catch.hpp>

#include <string>

#include "passage/size_str.h"

using namespace passage;

TEST_CASE("size_str: exact units")
{
    CHECK(std::string(SizeStr(4096).c_str()) == "4 KiB");
    CHECK(std::string(SizeStr(1536 * 1024).c_str()) == "1536 KiB");
    CHECK(std::string(SizeStr(u64{512} << 30).c_str()) == "512 GiB");
    CHECK(std::string(SizeStr(0).c_str()) == "0 bytes");
    CHECK(std::string(SizeStr(100).c_str()) == "0x64 bytes");
}

// PCI messages give register blocks in decimal ("size 32 bytes" in the
// boot log), memory maps in hex.
TEST_CASE("size_str: bytes in decimal when asked and whole units the same either way")
{
    CHECK(std::string(SizeStr(32, Bytes::Decimal).c_str()) == "32 bytes");
    CHECK(std::string(SizeStr(1000, Bytes::Decimal).c_str()) == "1000 bytes");
    CHECK(std::string(SizeStr(256 * 1024, Bytes::Decimal).c_str()) == "256 KiB");
    CHECK(std::string(SizeStr(0, Bytes::Decimal).c_str()) == "0 bytes");
}
