# 5. ESR decoding and the completion of a trapped load or store.
passage_fuzzer(esr SOURCES esr_fuzz.cpp LIBS passage_vcpu)
