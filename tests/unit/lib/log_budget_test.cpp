// The log budget: a source prints a fixed number of lines, the last one
// saying so, then nothing, however often it is asked.
#include <catch2/catch.hpp>

#include "passage/log.h"

using namespace passage;

TEST_CASE("log budget: limit lines with the last one marked and then none")
{
    LogBudget budget(3);
    CHECK(budget.take() == LogBudget::Slot::Some);
    CHECK(budget.take() == LogBudget::Slot::Some);
    CHECK(budget.take() == LogBudget::Slot::Last);
    for (int i = 0; i < 1000; ++i) REQUIRE(budget.take() == LogBudget::Slot::None);
    LogBudget one(1);
    CHECK(one.take() == LogBudget::Slot::Last);
    CHECK(one.take() == LogBudget::Slot::None);
}
