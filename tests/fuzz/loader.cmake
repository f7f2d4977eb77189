# 3. The guest loader: Image and ELF parsing, boot modules, placement, copies.
passage_fuzzer(loader SOURCES loader_fuzz.cpp LIBS passage_guest passage_platform)
