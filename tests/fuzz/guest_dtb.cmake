# 2. The guest device tree built from a discovered host tree.
# The libfdt build it replaced runs beside it as the reference.
passage_fuzzer(guest_dtb SOURCES guest_dtb_fuzz.cpp ${FUZZ_UNIT}/guest/reference_guest_dtb.cpp
               LIBS passage_guest passage_platform)
