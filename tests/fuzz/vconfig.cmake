# 4. Config-space emulation: random guest accesses over the fake ECAM.
passage_fuzzer(vconfig SOURCES vconfig_fuzz.cpp ${FUZZ_UNIT}/pci/fake_ecam.cpp ${FUZZ_UNIT}/pci/vconfig_fakes.cpp
               LIBS passage_pci)
