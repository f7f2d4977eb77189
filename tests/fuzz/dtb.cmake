# 1. Device-tree discovery as the boot runs it, and passage-inspect's path.
passage_fuzzer(dtb SOURCES dtb_fuzz.cpp LIBS passage_platform)
