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
