# 6. PSCI/SMCCC calls in sequences over a CPU table of 1-8 CPUs.
passage_fuzzer(psci SOURCES psci_fuzz.cpp LIBS passage_vcpu)
