# 7. Stage 2: map/unmap/protect/lookup sequences checked against the unit
# tests' reference model over their fake environment. The engine is header
# templates: stage2_engine.cpp instantiates it outside SOURCES so it keeps
# its coverage instrumentation while the harness and fakes go without.
passage_fuzzer(stage2 SOURCES stage2_fuzz.cpp ${FUZZ_UNIT}/stage2/fake_env.cpp ${FUZZ_UNIT}/stage2/model.cpp
               LIBS passage_stage2)
target_sources(fuzz_stage2 PRIVATE stage2_engine.cpp)
