// The stage-2 engine over the unit tests' fake environment, instantiated
// in stage2_engine.cpp: that file is compiled with coverage (the engine is
// header templates, and the harness is not instrumented), so libFuzzer is
// guided by the page-table code itself.
#pragma once

#include "passage/stage2/page_table.h"
#include "stage2/fake_env.h"

namespace passage::stage2::fuzz {

using Table = PageTable<test::FakeEnv>;

Result<Table> create(test::FakeEnv& env, const Geometry& geo, Encoding enc);
Status map(Table& pt, u64 ipa, u64 pa, u64 size, Attrs attrs);
Status unmap(Table& pt, u64 ipa, u64 size);
Status protect(Table& pt, u64 ipa, u64 size, Attrs attrs);
Result<Translation> lookup(const Table& pt, u64 ipa);
void destroy(Table& pt);
// PageTable::pages_needed() and its reference, the walk deciding every entry.
usize pages_needed(const Table& pt, const Op& op);
usize pages_needed_by_walk(const Table& pt, const Op& op);
usize table_pages_by_walk(const Table& pt);

}  // namespace passage::stage2::fuzz
