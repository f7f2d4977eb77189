# 2. The guest device tree built from a discovered host tree.
passage_fuzzer(guest_dtb SOURCES guest_dtb_fuzz.cpp LIBS passage_guest passage_platform)
