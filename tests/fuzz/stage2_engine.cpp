// The engine's operations, instantiated here with coverage (stage2_engine.h).
#include "stage2_engine.h"

namespace passage::stage2::fuzz {

Result<Table> create(test::FakeEnv& env, const Geometry& geo, Encoding enc) { return Table::create(env, geo, enc); }
Status map(Table& pt, u64 ipa, u64 pa, u64 size, Attrs attrs) { return pt.map(IpaAddr(ipa), PhysAddr(pa), size, attrs); }
Status unmap(Table& pt, u64 ipa, u64 size) { return pt.unmap(IpaAddr(ipa), size); }
Status protect(Table& pt, u64 ipa, u64 size, Attrs attrs) { return pt.protect(IpaAddr(ipa), size, attrs); }
Result<Translation> lookup(const Table& pt, u64 ipa) { return pt.lookup(IpaAddr(ipa)); }
void destroy(Table& pt) { pt.destroy(); }
usize pages_needed(const Table& pt, const Op& op) { return pt.pages_needed(op); }
usize pages_needed_by_walk(const Table& pt, const Op& op) { return pt.pages_needed_by_walk(op); }
usize table_pages_by_walk(const Table& pt) { return pt.table_pages_by_walk(); }

}  // namespace passage::stage2::fuzz
